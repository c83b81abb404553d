"""Lambda asynchronous invocation configs, one per function, version and alias, as the Lambda API keeps them."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import threading
from datetime import UTC, datetime
from typing import Any

from moto.awslambda import models as lambda_models
from moto.awslambda import responses as lambda_responses
from moto.awslambda.exceptions import InvalidParameterValueException

#: "Valid Range: Minimum value of 1. Maximum value of 50." (API_ListFunctionEventInvokeConfigs.html, MaxItems)
EVENT_INVOKE_CONFIGS_PAGE_LIMIT = 50
_LATEST = "$LATEST"
_EVENT_INVOKE_CONFIGS_ATTR = "_healthaudit_event_invoke_configs"
_event_invoke_configs_lock = threading.Lock()


def install_lambda_event_invoke_configs() -> None:
    """Asynchronous invocation configs kept per qualifier ($LATEST, each version, each alias).

    AWS keeps one config per function, version or alias: PutFunctionEventInvokeConfig "configures
    options for asynchronous invocation on a function, version, or alias. If a configuration already
    exists for a function, version, or alias, this operation overwrites it. If you exclude any
    settings, they are removed" (https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html);
    Get, Update and Delete take the same FunctionName and Qualifier
    (API_GetFunctionEventInvokeConfig.html, API_UpdateFunctionEventInvokeConfig.html,
    API_DeleteFunctionEventInvokeConfig.html); ListFunctionEventInvokeConfigs returns them all,
    MaxItems 1 to 50 at a time, with NextMarker while more remain
    (https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctionEventInvokeConfigs.html).
    FunctionArn carries the qualifier, ``:$LATEST`` for the unqualified function, and
    DestinationConfig carries ``OnSuccess`` and ``OnFailure`` (``{}`` when unset), as in the
    service model's examples (botocore ``lambda/2015-03-31/examples-1.json``).

    moto 5.2.5 ignores the Qualifier: it appends every Put to one list per function, so Get
    answers the first config put on any qualifier, Delete drops all of them, and List returns at
    most one. Here each (function, qualifier) has its own config; a qualifier that names no
    version or alias is ResourceNotFoundException, as is Get or Delete of a qualifier without a
    config. Deleting a function drops its configs, deleting a version or an alias drops its own.

    Undocumented, and chosen here: the order of List (``$LATEST``, then versions and aliases by
    name; the caller must not depend on it); Update of a qualifier without a config creates one
    (moto's behaviour) and replaces DestinationConfig as a whole; List with a qualified
    FunctionName lists the function's configs all the same.
    """
    from moto.awslambda.exceptions import UnknownEventConfig

    def put(self: lambda_responses.LambdaResponse) -> tuple[int, dict[str, str], str]:
        arn, qualifier = _event_invoke_target(self, self.path.rsplit("/", 2)[1])
        record = _event_invoke_record(arn, qualifier, self.json_body or {})
        with _event_invoke_configs_lock:
            _event_invoke_configs(self.backend)[(arn, qualifier)] = record
        return _json_response(_event_invoke_view(record))

    def update(self: lambda_responses.LambdaResponse) -> tuple[int, dict[str, str], str]:
        arn, qualifier = _event_invoke_target(self, self.path.rsplit("/", 2)[1])
        with _event_invoke_configs_lock:
            configs = _event_invoke_configs(self.backend)
            existing = {k: v for k, v in configs.get((arn, qualifier), {}).items() if k in _EVENT_INVOKE_SETTINGS}
            record = _event_invoke_record(arn, qualifier, {**existing, **(self.json_body or {})})
            configs[(arn, qualifier)] = record
        return _json_response(_event_invoke_view(record))

    def get(self: lambda_responses.LambdaResponse) -> tuple[int, dict[str, str], str]:
        arn, qualifier = _event_invoke_target(self, self.path.rsplit("/", 2)[1])
        with _event_invoke_configs_lock:
            record = _event_invoke_configs(self.backend).get((arn, qualifier))
        if record is None:
            raise UnknownEventConfig(f"{arn}:{qualifier}")
        return _json_response(_event_invoke_view(record))

    def delete(self: lambda_responses.LambdaResponse) -> tuple[int, dict[str, str], str]:
        arn, qualifier = _event_invoke_target(self, self.path.rsplit("/", 2)[1])
        with _event_invoke_configs_lock:
            record = _event_invoke_configs(self.backend).pop((arn, qualifier), None)
        if record is None:
            raise UnknownEventConfig(f"{arn}:{qualifier}")
        return 204, {}, ""

    def list_configs(self: lambda_responses.LambdaResponse) -> tuple[int, dict[str, str], str]:
        arn, _ = _event_invoke_target(self, self.path.rsplit("/", 3)[1], ignore_qualifier=True)
        max_items = self.querystring.get("MaxItems", [None])[0]
        marker = self.querystring.get("Marker", [None])[0]
        try:
            limit = EVENT_INVOKE_CONFIGS_PAGE_LIMIT if max_items is None else int(max_items)
        except ValueError:
            raise InvalidParameterValueException(f"Invalid value for MaxItems: {max_items!r}") from None
        if not 1 <= limit <= EVENT_INVOKE_CONFIGS_PAGE_LIMIT:
            raise InvalidParameterValueException(f"MaxItems must be between 1 and 50, got {limit}")
        with _event_invoke_configs_lock:
            records = sorted(
                (record for (owner, _), record in _event_invoke_configs(self.backend).items() if owner == arn),
                key=lambda record: _qualifier_sort_key(record["_qualifier"]),
            )
        keys = [_qualifier_sort_key(record["_qualifier"]) for record in records]
        start = bisect.bisect_right(keys, _decode_qualifier_marker(marker)) if marker else 0
        page = records[start : start + limit]
        body: dict[str, Any] = {"FunctionEventInvokeConfigs": [_event_invoke_view(record) for record in page]}
        if start + limit < len(records):
            body["NextMarker"] = _encode_qualifier_marker(_qualifier_sort_key(page[-1]["_qualifier"]))
        return _json_response(body)

    responses = lambda_responses.LambdaResponse
    responses.put_function_event_invoke_config = put  # type: ignore[method-assign,assignment]
    responses.update_function_event_invoke_config = update  # type: ignore[method-assign,assignment]
    responses.get_function_event_invoke_config = get  # type: ignore[method-assign,assignment]
    responses.delete_function_event_invoke_config = delete  # type: ignore[method-assign,assignment]
    responses.list_function_event_invoke_configs = list_configs  # type: ignore[method-assign,assignment]
    _drop_event_invoke_configs_with_their_target()


_EVENT_INVOKE_SETTINGS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")


def _event_invoke_configs(backend: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """The configs of one account and Region, by (unqualified function ARN, qualifier)."""
    return backend.__dict__.setdefault(_EVENT_INVOKE_CONFIGS_ATTR, {})


def _split_function_name(name_or_arn: str) -> tuple[str, str | None]:
    """(function name, qualifier or None) of a name, name:qualifier, or a full or partial ARN with or without one."""
    name, _, qualifier = name_or_arn.rsplit(":function:", 1)[-1].partition(":")
    return name, qualifier or None


def _event_invoke_target(
    response: lambda_responses.LambdaResponse, path_name: str, ignore_qualifier: bool = False
) -> tuple[str, str]:
    """(unqualified function ARN, qualifier) of a request; ResourceNotFoundException if either does not exist."""
    from urllib.parse import unquote

    name, from_name = _split_function_name(unquote(path_name))
    given = None if ignore_qualifier else response.querystring.get("Qualifier", [None])[0]
    if from_name and given and from_name != given:
        raise InvalidParameterValueException(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    qualifier = (None if ignore_qualifier else from_name or given) or _LATEST
    lambdas = response.backend._lambdas
    latest = lambdas.get_function_by_name_forbid_qualifier(name)
    if qualifier != _LATEST:
        lambdas.get_function_by_name_with_qualifier(name, qualifier)  # ResourceNotFoundException if unknown
    return latest.function_arn, qualifier


def _event_invoke_record(arn: str, qualifier: str, settings: dict[str, Any]) -> dict[str, Any]:
    kept = {key: settings[key] for key in _EVENT_INVOKE_SETTINGS if settings.get(key) is not None}
    lambda_models.EventInvokeConfig(arn, "", kept)  # moto's validation: retry attempts, event age, destination ARNs
    return {**kept, "_qualifier": qualifier, "FunctionArn": f"{arn}:{qualifier}", "LastModified": _now_seconds()}


def _event_invoke_view(record: dict[str, Any]) -> dict[str, Any]:
    destinations = record.get("DestinationConfig") or {}
    view = {key: value for key, value in record.items() if not key.startswith("_") and key != "DestinationConfig"}
    view["DestinationConfig"] = {
        "OnSuccess": dict(destinations.get("OnSuccess") or {}),
        "OnFailure": dict(destinations.get("OnFailure") or {}),
    }
    return view


def _now_seconds() -> float:
    return round(datetime.now(UTC).timestamp(), 3)


def _qualifier_sort_key(qualifier: str) -> tuple[int, str]:
    return (0 if qualifier == _LATEST else 1, qualifier)


def _encode_qualifier_marker(key: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(["q1", *key]).encode()).decode()


def _decode_qualifier_marker(marker: str) -> tuple[int, str]:
    try:
        tag, rank, qualifier = json.loads(base64.urlsafe_b64decode(marker.encode()))
        if tag != "q1" or not isinstance(rank, int) or not isinstance(qualifier, str):
            raise ValueError(marker)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidParameterValueException(f"Invalid Marker: {marker!r}") from None
    return (rank, qualifier)


def _json_response(body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    return 200, {"content-type": "application/json"}, json.dumps(body)


def _drop_event_invoke_configs_with_their_target() -> None:
    """A deleted function takes its configs with it; a deleted version or alias takes its own."""
    backend_class = lambda_models.LambdaBackend
    original_delete_function = backend_class.delete_function
    original_delete_alias = backend_class.delete_alias

    def delete_function(self: Any, function_name: str, qualifier: str | None = None) -> None:
        name, from_name = _split_function_name(function_name)
        arn = self._lambdas.get_function_by_name_forbid_qualifier(name).function_arn
        original_delete_function(self, function_name, qualifier)
        gone = qualifier or from_name
        with _event_invoke_configs_lock:
            configs = _event_invoke_configs(self)
            for key in [k for k in configs if k[0] == arn and (gone is None or k[1] == gone)]:
                del configs[key]

    def delete_alias(self: Any, name: str, function_name: str) -> None:
        function, _ = _split_function_name(function_name)
        arn = self._lambdas.get_function_by_name_forbid_qualifier(function).function_arn
        original_delete_alias(self, name, function_name)
        with _event_invoke_configs_lock:
            _event_invoke_configs(self).pop((arn, name), None)

    backend_class.delete_function = delete_function  # type: ignore[method-assign]
    backend_class.delete_alias = delete_alias  # type: ignore[method-assign]
