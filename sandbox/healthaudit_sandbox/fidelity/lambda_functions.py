"""Lambda functions as the Lambda API reference describes them, where moto 5.2.5 departs from it.

Configuration fields kept, event source mappings from brokers accepted, ListFunctions in pages of 50.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from typing import Any

from moto.awslambda import models as lambda_models
from moto.awslambda import responses as lambda_responses
from moto.awslambda.exceptions import InvalidParameterValueException

# ------------------------------------------------------------------------------------------------
# Lambda function configuration: DeadLetterConfig kept, TracingConfig updatable
# ------------------------------------------------------------------------------------------------


def install_lambda_configuration_fields() -> None:
    """Keep DeadLetterConfig and LoggingConfig, and let UpdateFunctionConfiguration change TracingConfig.

    moto 5.2.5 drops DeadLetterConfig and LoggingConfig on CreateFunction and
    UpdateFunctionConfiguration, and ignores TracingConfig on update. AWS returns them in every
    FunctionConfiguration (GetFunction, ListFunctions); LoggingConfig always, with LogFormat Text
    and the log group /aws/lambda/<name> by default:
    https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html
    https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html
    https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html
    """
    original_init = lambda_models.LambdaFunction.__init__
    original_update = lambda_models.LambdaFunction.update_configuration
    original_configuration = lambda_models.LambdaFunction.get_configuration

    def __init__(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.dead_letter_config = spec.get("DeadLetterConfig") or {}
        self.logging_config = dict(spec.get("LoggingConfig") or {})

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.dead_letter_config = config_updates["DeadLetterConfig"] or {}
        if "LoggingConfig" in config_updates:
            self.logging_config = {**getattr(self, "logging_config", {}), **config_updates["LoggingConfig"]}
        if "TracingConfig" in config_updates:
            self.tracing_config = {"Mode": config_updates["TracingConfig"].get("Mode", "PassThrough")}
        return original_update(self, config_updates)

    def get_configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        configuration = original_configuration(self, *args, **kwargs)
        target = getattr(self, "dead_letter_config", {}).get("TargetArn")
        if target:
            configuration["DeadLetterConfig"] = {"TargetArn": target}
        logging = getattr(self, "logging_config", {})
        log_format = logging.get("LogFormat", "Text")
        configuration["LoggingConfig"] = {
            "LogFormat": log_format,
            "LogGroup": logging.get("LogGroup") or f"/aws/lambda/{self.function_name}",
        }
        if log_format == "JSON":
            configuration["LoggingConfig"]["ApplicationLogLevel"] = logging.get("ApplicationLogLevel", "INFO")
            configuration["LoggingConfig"]["SystemLogLevel"] = logging.get("SystemLogLevel", "INFO")
        return configuration

    lambda_models.LambdaFunction.__init__ = __init__
    lambda_models.LambdaFunction.update_configuration = update_configuration
    lambda_models.LambdaFunction.get_configuration = get_configuration


# ------------------------------------------------------------------------------------------------
# Lambda event source mappings from Amazon MSK, Amazon MQ and Amazon DocumentDB
# ------------------------------------------------------------------------------------------------


#: Event sources moto cannot model (it has no MSK, MQ or DocumentDB cluster to look the ARN up in).
BROKER_SOURCES = ("arn:aws:kafka:", "arn:aws:mq:", "arn:aws:rds:")


def install_lambda_broker_event_sources() -> None:
    """Accept event source mappings from Amazon MSK, Amazon MQ and Amazon DocumentDB.

    moto 5.2.5 answers "Invalid EventSourceArn" for any source but SQS, DynamoDB and Kinesis. Lambda
    maps these sources too (MSK needs Topics, DocumentDB a DocumentDBEventSourceConfig):
    https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
    The sandbox has no broker to check the ARN against, so it takes the ARN as given.
    """
    original = lambda_models.LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        if not str(spec.get("EventSourceArn", "")).startswith(BROKER_SOURCES):
            return original(self, spec)
        if str(spec["EventSourceArn"]).startswith("arn:aws:kafka:") and not spec.get("Topics"):
            raise InvalidParameterValueException("Topics is required for an Amazon MSK event source")
        function = self._lambdas.get_function_by_name_or_arn_with_qualifier(spec["FunctionName"])
        spec.update(
            {"RegionName": self.region_name, "AccountId": self.account_id, "FunctionArn": function.function_arn}
        )
        mapping = _BrokerEventSourceMapping(spec)
        self._event_source_mappings[mapping.uuid] = mapping
        return mapping

    lambda_models.LambdaBackend.create_event_source_mapping = create_event_source_mapping


class _BrokerEventSourceMapping(lambda_models.EventSourceMapping):
    """A mapping from a broker moto has no model of: the source ARN as given, BatchSize default 100 (max 10,000)."""

    @property
    def event_source_arn(self) -> str:
        return self._event_source_arn

    @event_source_arn.setter
    def event_source_arn(self, event_source_arn: str) -> None:
        self._event_source_arn = event_source_arn

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @batch_size.setter
    def batch_size(self, new_batch_size: int | None) -> None:
        if new_batch_size is not None and not 1 <= int(new_batch_size) <= 10_000:
            raise ValueError("InvalidParameterValueException", f"BatchSize {new_batch_size} is not in 1..10000")
        self._batch_size = 100 if new_batch_size is None else int(new_batch_size)


# ------------------------------------------------------------------------------------------------
# Lambda ListFunctions: pages of at most 50
# ------------------------------------------------------------------------------------------------


LIST_FUNCTIONS_PAGE_LIMIT = 50


def install_lambda_list_functions_paging() -> None:
    """ListFunctions returns at most 50 functions a response, with NextMarker when more remain.

    https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html: "Lambda returns up to
    50 functions per call"; MaxItems is "the maximum number of functions to return in the
    response. Note that ListFunctions returns a maximum of 50 items in each response, even if you
    set the number higher"; Marker is "the pagination token that's returned by a previous
    request"; a bad parameter is an InvalidParameterValueException (HTTP 400).

    moto 5.2.5 returns every function in one response and ignores MaxItems and Marker. Here the
    functions are listed in a stable order (name, then $LATEST before numbered versions) and the
    marker is an opaque token naming the last function returned, so paging survives functions
    being created or deleted between pages.
    """

    def list_functions(self: lambda_responses.LambdaResponse) -> str:
        query = self.querystring
        func_version = query.get("FunctionVersion", [None])[0]
        marker = query.get("Marker", [None])[0]
        max_items = query.get("MaxItems", [None])[0]
        try:
            limit = LIST_FUNCTIONS_PAGE_LIMIT if max_items is None else int(max_items)
        except ValueError:
            raise InvalidParameterValueException(f"Invalid value for MaxItems: {max_items!r}") from None
        if limit < 1:
            raise InvalidParameterValueException(f"MaxItems must be at least 1, got {limit}")
        limit = min(limit, LIST_FUNCTIONS_PAGE_LIMIT)

        functions = sorted(self.backend.list_functions(func_version), key=_function_sort_key)
        start = 0
        if marker:
            start = bisect.bisect_right([_function_sort_key(fn) for fn in functions], _decode_marker(marker))
        page = functions[start : start + limit]
        result: dict[str, Any] = {"Functions": [fn.get_configuration() for fn in page]}
        if start + limit < len(functions):
            result["NextMarker"] = _encode_marker(_function_sort_key(page[-1]))
        return json.dumps(result)

    lambda_responses.LambdaResponse.list_functions = list_functions  # type: ignore[method-assign]


def _function_sort_key(fn: Any) -> tuple[str, int]:
    version = str(fn.version)
    return (fn.function_name, -1 if version == "$LATEST" else int(version))


def _encode_marker(key: tuple[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(["v1", *key]).encode()).decode()


def _decode_marker(marker: str) -> tuple[str, int]:
    try:
        tag, name, version = json.loads(base64.urlsafe_b64decode(marker.encode()))
        if tag != "v1" or not isinstance(name, str) or not isinstance(version, int):
            raise ValueError(marker)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidParameterValueException(f"Invalid Marker: {marker!r}") from None
    return (name, version)
