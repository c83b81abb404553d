"""Fidelity extensions: patches to moto so that the sandbox behaves as the AWS documentation says.

Production code is never bent to moto; where moto departs from AWS in a way the auditor depends
on, moto is extended here. Each extension is one function below, with the documentation page it
follows. :func:`install` applies them all, once, in-process; it must run before the moto server
app is built (the Lambda extension adds a URL route).

This module imports moto: it is only imported by :mod:`healthaudit_sandbox`, never by the rest of
the package (moto is the optional ``sandbox`` extra).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import itertools
import json
import math
import re
import threading
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, NamedTuple

from moto.awslambda import models as lambda_models
from moto.awslambda import responses as lambda_responses
from moto.awslambda import urls as lambda_urls
from moto.awslambda.exceptions import InvalidParameterValueException
from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.cloudwatch import models as cw_models
from moto.cloudwatch.exceptions import ValidationError
from moto.cloudwatch.metric_data_expression_parser import parse_expression
from moto.moto_api._internal import mock_random
from moto.resourcegroupstaggingapi import models as tagging_models
from moto.resourcegroupstaggingapi.exceptions import ResourceGroupsTaggingAPIError

__all__ = ["DEFAULT_CONCURRENCY_LIMIT", "install", "set_account_concurrency_limit"]

#: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (concurrent executions: 1,000)
DEFAULT_CONCURRENCY_LIMIT = 1000

_install_lock = threading.Lock()
_installed = False


def install() -> None:
    """Apply every fidelity extension to moto (idempotent, thread-safe)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        install_lambda_list_functions_paging()
        install_lambda_get_account_settings()
        install_lambda_configuration_fields()
        install_lambda_broker_event_sources()
        install_lambda_event_invoke_configs()
        install_tagging_get_resources_pages()
        install_cloudwatch_metric_store()
        install_cloudwatch_get_metric_data()
        install_logs_log_group_class()
        __import__("healthaudit_sandbox.logs_insights", fromlist=["_"]).install_logs_insights()
        __import__("healthaudit_sandbox.iam_simulation", fromlist=["_"]).install_iam_simulation()
        __import__("healthaudit_sandbox.xray_graph", fromlist=["_"]).install_xray_service_graph()
        __import__("healthaudit_sandbox.sts_assume", fromlist=["_"]).install_sts_assume_role()
        __import__("healthaudit_sandbox.authorization", fromlist=["_"]).install_authorization()
        _installed = True


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
# Resource Groups Tagging API GetResources: pages hold up to TagsPerPage tags
# ------------------------------------------------------------------------------------------------


def install_tagging_get_resources_pages() -> None:
    """A GetResources page holds up to ResourcesPerPage resources and up to TagsPerPage tags.

    https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html:
    ResourcesPerPage is "the maximum number of results to be returned in each page" (1 to 100);
    TagsPerPage is "a limit that restricts the number of tags (key and value pairs) returned", where
    "a resource with no tags is counted as having one tag"; a resource is never split across pages,
    and "if you specify a TagsPerPage of 100 and the account has 22 resources with 10 tags each ...
    the first page displays the first 10 resources": a page may hold exactly TagsPerPage tags.

    moto 5.2.5 ends a page once the tags would *reach* TagsPerPage (``>=``; it applies 100 when the
    parameter is omitted): 99 one-tag resources a page where ResourcesPerPage=100 allows 100, and 9
    resources of 10 tags where the example above shows 10; it counts an untagged resource as none.
    Here the limit is reached, not exceeded. Parameter checks, filters and tokens stay moto's.
    """

    def get_resources(
        self: tagging_models.ResourceGroupsTaggingAPIBackend,
        pagination_token: str | None = None,
        resources_per_page: int = 50,
        tags_per_page: int = 100,
        tag_filters: list[dict[str, Any]] | None = None,
        resource_type_filters: list[str] | None = None,
        resource_arn_list: list[str] | None = None,
    ) -> tuple[str | None, list[Any]]:
        if pagination_token:
            if pagination_token not in self._pages:
                raise ResourceGroupsTaggingAPIError("PaginationTokenExpiredException", "Token does not exist")
            generator = self._pages[pagination_token]["gen"]
            left_over = self._pages[pagination_token]["misc"]
        else:
            generator = self._get_resources_generator(
                tag_filters=tag_filters,
                resource_type_filters=resource_type_filters,
                resource_arn_list=resource_arn_list,
            )
            left_over = None
        page: list[Any] = []
        tags = 0
        next_token = None
        for resource in itertools.chain([left_over] if left_over else [], generator):
            weight = max(1, len(resource.tags))  # an untagged resource counts as one tag
            if page and (len(page) >= resources_per_page or tags + weight > tags_per_page):
                next_token = str(mock_random.uuid4())
                self._pages[next_token] = {"gen": generator, "misc": resource}
                break
            page.append(resource)
            tags += weight
        if pagination_token:
            del self._pages[pagination_token]
        return next_token, page

    tagging_models.ResourceGroupsTaggingAPIBackend.get_resources = get_resources  # type: ignore[method-assign]


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


# ------------------------------------------------------------------------------------------------
# Lambda GetAccountSettings
# ------------------------------------------------------------------------------------------------

#: AccountLimit values of a default account (bytes), as GetAccountSettings reports them.
#: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
ACCOUNT_LIMIT_DEFAULTS = {
    "CodeSizeUnzipped": 262_144_000,
    "CodeSizeZipped": 52_428_800,
    "TotalCodeSize": 80_530_636_800,
}

_CONCURRENCY_LIMIT_ATTR = "_healthaudit_concurrency_limit"


def set_account_concurrency_limit(account_id: str, region: str, limit: int) -> None:
    """Set the ConcurrentExecutions quota that GetAccountSettings reports for one account and Region.

    The value lives on moto's Lambda backend for that account and Region, so a moto reset forgets it.
    """
    if int(limit) < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    setattr(get_lambda_backend(account_id, region), _CONCURRENCY_LIMIT_ATTR, int(limit))


def install_lambda_get_account_settings() -> None:
    """GetAccountSettings (``GET /2016-08-19/account-settings``), which moto 5.2.5 lacks.

    https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html: AccountLimit
    {ConcurrentExecutions, UnreservedConcurrentExecutions = the limit minus the capacity reserved
    for individual functions with PutFunctionConcurrency, CodeSizeUnzipped, CodeSizeZipped,
    TotalCodeSize} and AccountUsage {FunctionCount, TotalCodeSize (deployment packages and layer
    archives)}. The route is added to moto's Lambda URL map and handled by LambdaResponse, so the
    account and Region come from the request exactly as for every other moto Lambda call
    (x-moto-account-id header or access key; host or SigV4 credential scope).
    """
    route = r"{0}/(?P<api_version>[^/]+)/account-settings/?$"
    lambda_urls.url_paths.setdefault(route, lambda_responses.LambdaResponse.dispatch)

    def get_account_settings(self: lambda_responses.LambdaResponse) -> tuple[int, dict[str, str], str]:
        backend = self.backend
        limit = getattr(backend, _CONCURRENCY_LIMIT_ATTR, DEFAULT_CONCURRENCY_LIMIT)
        latest = list(backend.list_functions())
        reserved = sum(int(fn.reserved_concurrency or 0) for fn in latest)
        # Every version's package and every layer version counts. Read moto's storage directly:
        # list_functions("ALL") deep-copies each function.
        packages = [*latest, *(v for group in backend._lambdas._functions.values() for v in group["versions"])]
        layers = [lv for layer in backend._layers._layers.values() for lv in layer.layer_versions.values()]
        code_size = sum(int(item.code_size or 0) for item in packages + layers)
        body = json.dumps(
            {
                "AccountLimit": {
                    **ACCOUNT_LIMIT_DEFAULTS,
                    "ConcurrentExecutions": limit,
                    "UnreservedConcurrentExecutions": limit - reserved,
                },
                "AccountUsage": {"FunctionCount": len(latest), "TotalCodeSize": code_size},
            }
        )
        return 200, {"content-type": "application/json"}, body

    lambda_responses.LambdaResponse.get_account_settings = get_account_settings  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------
# CloudWatch metric store: Values/Counts kept compactly
# ------------------------------------------------------------------------------------------------


class ValuesDatum(cw_models.MetricAggregatedDatum):
    """One PutMetricData entry given as ``Values``/``Counts``, stored once with its values and counts.

    It is a statistic set to every moto code path (Sum, Minimum, Maximum, SampleCount are
    precomputed), and keeps the raw (value, count) pairs, sorted, for percentiles.
    """

    def __init__(
        self,
        namespace: str,
        name: str,
        values: list[float],
        counts: list[float],
        dimensions: list[dict[str, str]],
        timestamp: datetime | None,
        unit: Any = None,
    ) -> None:
        pairs = tuple(sorted((v, c) for v, c in zip(values, counts, strict=True) if c > 0))
        super().__init__(
            namespace,
            name,
            min_stat=pairs[0][0],
            max_stat=pairs[-1][0],
            sample_count=math.fsum(c for _, c in pairs),
            sum_stat=math.fsum(v * c for v, c in pairs),
            dimensions=dimensions,
            timestamp=timestamp,
            unit=unit,
        )
        self.pairs = pairs

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(v for v, _ in self.pairs)

    @property
    def counts(self) -> tuple[float, ...]:
        return tuple(c for _, c in self.pairs)


def install_cloudwatch_metric_store() -> None:
    """PutMetricData stores one datum per entry, whether it carries Value, Values/Counts or StatisticValues.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html:
    "Values: Array of numbers representing the values for the metric during the period. Each
    unique value is listed just once in this array, and the corresponding number in the Counts
    array specifies the number of times that value occurred during the period."

    moto 5.2.5 stores one object per count (100 invocations a value = 100 objects); here an entry
    is one :class:`ValuesDatum`. Validation stays moto's.
    """

    def put_metric_data(self: cw_models.CloudWatchBackend, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        for number, entry in enumerate(metric_data, start=1):
            self._validate_parameters_put_metric_data(entry, number)
        shared_dimensions = self.__dict__.setdefault("_healthaudit_dimensions", {})
        for entry in metric_data:
            common = {
                "namespace": namespace,
                "name": entry["MetricName"],
                "dimensions": [],
                "timestamp": entry.get("Timestamp"),
                "unit": entry.get("Unit"),
            }
            if entry.get("Values"):
                values = [float(v) for v in entry["Values"]]
                counts = [float(c) for c in entry.get("Counts") or [1.0] * len(values)]
                if not any(c > 0 for c in counts):
                    continue
                datum: cw_models.MetricDatumBase = ValuesDatum(values=values, counts=counts, **common)
            elif entry.get("StatisticValues"):
                stats = entry["StatisticValues"]
                datum = cw_models.MetricAggregatedDatum(
                    min_stat=float(stats["Minimum"]),
                    max_stat=float(stats["Maximum"]),
                    sample_count=float(stats["SampleCount"]),
                    sum_stat=float(stats["Sum"]),
                    **common,
                )
            else:
                datum = cw_models.MetricDatum(value=float(entry.get("Value", 0)), **common)
            # Datums of one metric share one list of Dimension objects (moto builds a list per datum).
            key = tuple((d["Name"], d["Value"]) for d in entry.get("Dimensions") or [])
            if key not in shared_dimensions:
                shared_dimensions[key] = [cw_models.Dimension(name, value) for name, value in key]
            datum.dimensions = shared_dimensions[key]
            self.metric_data.append(datum)

    cw_models.CloudWatchBackend.put_metric_data = put_metric_data  # type: ignore[method-assign]


# ------------------------------------------------------------------------------------------------
# CloudWatch GetMetricData
# ------------------------------------------------------------------------------------------------

MAX_METRIC_DATA_QUERIES = 500
_PERCENTILE = re.compile(r"^[pP](\d{1,2}(?:\.\d{1,2})?|100(?:\.0{1,2})?)$")
_SIMPLE_STATS = ("Sum", "Average", "Minimum", "Maximum", "SampleCount")
_index_lock = threading.RLock()
_INDEX_ATTR = "_healthaudit_metric_index"


class _Sample(NamedTuple):
    """What the statistics need of one stored datum."""

    count: float
    total: float
    low: float
    high: float
    pairs: tuple[tuple[float, float], ...] | None  # raw (value, count); None: a statistic set without raw values
    unit: str | None


def _sample(datum: Any) -> _Sample:
    if isinstance(datum, ValuesDatum):
        pairs: tuple[tuple[float, float], ...] | None = datum.pairs
    elif isinstance(datum, cw_models.MetricAggregatedDatum):
        raw = datum.sample_count == 1 or datum.min == datum.max
        pairs = ((datum.min, datum.sample_count),) if raw else None
    else:
        value = datum.value
        return _Sample(1.0, value, value, value, ((value, 1.0),), datum.unit)
    return _Sample(datum.sample_count, datum.sum, datum.min, datum.max, pairs, datum.unit)


class _MetricIndex:
    """The datums of one backend by (namespace, metric name, sorted dimensions), each series sorted by time."""

    def __init__(self, source: list[Any]) -> None:
        self.source = source
        self.indexed = 0
        self.series: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[list[float], list[_Sample]]] = {}

    def sync(self) -> None:
        """Index the datums appended to the backend's list since the last sync."""
        upto = len(self.source)  # datums appended while this runs wait for the next sync
        for datum in self.source[self.indexed : upto]:
            self.add(datum)
        self.indexed = upto

    def add(self, datum: Any) -> None:
        times, samples = self.series.setdefault(_series_key(datum), ([], []))
        at = _epoch(datum.timestamp)
        position = len(times) if not times or at >= times[-1] else bisect.bisect_right(times, at)
        times.insert(position, at)
        samples.insert(position, _sample(datum))

    def window(self, key: Any, start: float, end: float) -> tuple[list[float], list[_Sample]]:
        """The series ``key`` in [start, end)."""
        times, samples = self.series.get(key, ([], []))
        lo, hi = bisect.bisect_left(times, start), bisect.bisect_left(times, end)
        return times[lo:hi], samples[lo:hi]


def _series_key(datum: Any) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return (datum.namespace, datum.name, tuple(sorted((d.name, d.value) for d in datum.dimensions)))


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _index_for(backend: cw_models.CloudWatchBackend) -> _MetricIndex:
    index = getattr(backend, _INDEX_ATTR, None)
    if index is None or index.source is not backend.metric_data or index.indexed > len(backend.metric_data):
        index = _MetricIndex(backend.metric_data)
        setattr(backend, _INDEX_ATTR, index)
    index.sync()
    return index


def percentile(pairs: list[tuple[float, float]], p: Fraction) -> float:
    """The ``p``-th percentile (0..100) of count-weighted values, by the nearest-rank method.

    ``pairs`` is a list of (value, count). With N the total count, the result is the smallest
    value whose cumulative count reaches p/100 * N, i.e. the value of rank max(1, ceil(p/100 * N))
    in the sorted list where each value is repeated count times: p0 is the minimum, p100 the
    maximum. Deterministic and exact: the rank is computed with fractions, not floats.
    """
    ordered = sorted(pair for pair in pairs if pair[1] > 0)
    total = math.fsum(c for _, c in ordered)
    if total.is_integer():
        threshold: float | Fraction = max(1, math.ceil(p * int(total) / 100))
    else:  # fractional counts: compare against the exact threshold
        threshold = p * Fraction(total) / 100
    cumulative = 0.0
    for value, count in ordered:
        cumulative += count
        if cumulative >= threshold:
            return value
    return ordered[-1][0]


@functools.lru_cache(maxsize=256)
def _percentile_rank(stat: str) -> Fraction:
    return Fraction(stat[1:])


def _statistic(samples: list[_Sample], stat: str) -> float | None:
    """One statistic over the samples of one period, or None where CloudWatch gives no datapoint.

    Sum, Average, Minimum, Maximum and SampleCount combine single values, Values/Counts entries
    and statistic sets. Percentiles (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html)
    need raw values: per the GetMetricStatistics reference
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html)
    a statistic set counts only if its SampleCount is 1 or its Minimum equals its Maximum, and
    "percentile statistics are not available for metrics when any of the metric values are
    negative numbers". A period holding a statistic set that does not qualify, or a negative
    value, has no percentile datapoint (the sandbox's reading of those two sentences).
    """
    if stat == "Sum":
        return math.fsum(s.total for s in samples)
    if stat == "SampleCount":
        return math.fsum(s.count for s in samples)
    if stat == "Average":
        count = math.fsum(s.count for s in samples)
        return math.fsum(s.total for s in samples) / count if count else None
    if stat == "Minimum":
        return min(s.low for s in samples)
    if stat == "Maximum":
        return max(s.high for s in samples)
    pairs: list[tuple[float, float]] = []
    for sample in samples:
        if sample.pairs is None or sample.low < 0:
            return None
        pairs.extend(sample.pairs)
    return percentile(pairs, _percentile_rank(stat)) if pairs else None


def _check_statistic(stat: str) -> None:
    if stat not in _SIMPLE_STATS and not _PERCENTILE.match(stat):
        raise ValidationError(
            f"The sandbox does not emulate the statistic {stat!r}: use Sum, Average, Minimum, Maximum, "
            "SampleCount or a percentile pNN.NN."
        )


def install_cloudwatch_get_metric_data() -> None:
    """GetMetricData as the API reference describes it, fast enough for a fleet.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html:
    "You can include up to 500 MetricDataQuery structures in one call" (more is a ValidationError,
    HTTP 400); ScanBy defaults to TimestampDescending; a query with ReturnData false is not
    returned. Each query matches one metric: its namespace, name and exactly its set of dimensions
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension:
    "CloudWatch treats each unique combination of dimensions as a separate metric"). A datapoint
    is returned at StartTime + k*Period for each period [t, t+Period) within [StartTime, EndTime)
    that holds data; statistics as in :func:`_statistic`. When Label is omitted, "CloudWatch
    generates a default": the metric name, which is what AWS returns.

    Datapoints are looked up through :class:`_MetricIndex` (per series, sorted by time), so a call
    costs the data it reads rather than queries x periods x every stored datum. moto's own code
    runs metric math (which it supports partly) and Metrics Insights queries (which it does not).
    """
    moto_get_metric_data = cw_models.CloudWatchBackend.get_metric_data

    def get_metric_data(
        self: cw_models.CloudWatchBackend,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampDescending",
    ) -> list[dict[str, Any]]:
        if len(queries) > MAX_METRIC_DATA_QUERIES:
            raise ValidationError(
                f"The collection MetricDataQueries must not have a size greater than {MAX_METRIC_DATA_QUERIES}."
            )
        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        if start_time > end_time:
            raise ValidationError("The parameter EndTime must be greater than StartTime.")
        if start_time == end_time:
            raise ValidationError("The parameter StartTime must not equal parameter EndTime.")
        for query in queries:
            if "MetricStat" in query:
                _check_statistic(query["MetricStat"]["Stat"])

        start, end = _epoch(start_time), _epoch(end_time)
        with _index_lock:
            index = _index_for(self)
            provided = _MetricIndex(self.aws_metric_data)  # moto's computed metrics (S3 storage), few
            provided.sync()
            results: dict[str, dict[str, Any]] = {}
            for query in queries:
                if "MetricStat" in query:
                    results[query["Id"]] = _metric_stat_result(query, index, provided, start_time, start, end)

        math_queries = [q for q in queries if "Expression" in q and not q["Expression"].startswith("SELECT")]
        for query in math_queries:
            values, timestamps = _ascending(*parse_expression(query["Expression"], list(results.values())))
            results[query["Id"]] = _result(query, query.get("Label") or query["Id"], values, timestamps)
        insights = [q for q in queries if "Expression" in q and q["Expression"].startswith("SELECT")]
        if insights:
            for result in moto_get_metric_data(self, insights, start_time, end_time, "TimestampAscending"):
                result["values"], result["timestamps"] = _ascending(result["values"], result["timestamps"])
                results[result["id"]] = result

        returned = [results[q["Id"]] for q in queries if q["Id"] in results and q.get("ReturnData", True)]
        if scan_by == "TimestampDescending":
            returned = [{**r, "values": r["values"][::-1], "timestamps": r["timestamps"][::-1]} for r in returned]
        return returned

    cw_models.CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign]


def _ascending(values: list[Any], timestamps: list[datetime]) -> tuple[list[Any], list[datetime]]:
    order = sorted(range(len(timestamps)), key=timestamps.__getitem__)
    return [values[i] for i in order], [timestamps[i] for i in order]


def _result(query: dict[str, Any], label: str, values: list[Any], timestamps: list[datetime]) -> dict[str, Any]:
    """One MetricDataResult, values and timestamps in ascending time order."""
    return {"id": query["Id"], "label": label, "values": values, "timestamps": timestamps, "status_code": "Complete"}


def _metric_stat_result(
    query: dict[str, Any],
    index: _MetricIndex,
    provided: _MetricIndex,
    start_time: datetime,
    start: float,
    end: float,
) -> dict[str, Any]:
    metric_stat = query["MetricStat"]
    metric = metric_stat["Metric"]
    period = int(metric_stat["Period"])
    stat = metric_stat["Stat"]
    unit = metric_stat.get("Unit")
    key = (
        metric["Namespace"],
        metric["MetricName"],
        tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions") or [])),
    )
    buckets: dict[int, list[_Sample]] = {}
    for source in (index, provided):
        times, samples = source.window(key, start, end)
        for at, sample in zip(times, samples, strict=True):
            if unit is None or sample.unit == unit:
                buckets.setdefault(int((at - start) // period), []).append(sample)
    values, timestamps = [], []
    for k in sorted(buckets):
        value = _statistic(buckets[k], stat)
        if value is not None:
            values.append(value)
            timestamps.append(start_time + timedelta(seconds=k * period))
    return _result(query, query.get("Label") or metric["MetricName"], values, timestamps)


# ------------------------------------------------------------------------------------------------
# Lambda event invoke configs, one per qualifier
# ------------------------------------------------------------------------------------------------

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


# ------------------------------------------------------------------------------------------------
# CloudWatch Logs: the log group class kept and returned
# ------------------------------------------------------------------------------------------------

LOG_GROUP_CLASSES = ("STANDARD", "INFREQUENT_ACCESS", "DELIVERY", "ESSENTIALS")


def install_logs_log_group_class() -> None:
    """CreateLogGroup keeps logGroupClass, and DescribeLogGroups returns it.

    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html:
    logGroupClass is STANDARD unless given, and "can't be changed after a log group is created";
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html returns
    it with each group. The Delivery class cannot be queried by Logs Insights
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html): the
    sandbox's StartQuery reads the class kept here. moto 5.2.5 drops the parameter and returns no class.
    """
    from moto.logs import models as logs_models
    from moto.logs import responses as logs_responses
    from moto.logs.exceptions import InvalidParameterException

    from .logs_insights import LOG_GROUP_CLASS_ATTR

    original_create = logs_responses.LogsResponse.create_log_group
    original_describe = logs_models.LogGroup.to_describe_dict

    def create_log_group(self: Any) -> str:
        log_class = self._get_param("logGroupClass") or "STANDARD"
        if log_class not in LOG_GROUP_CLASSES:
            raise InvalidParameterException(
                constraint=f"Member must satisfy enum value set: [{', '.join(LOG_GROUP_CLASSES)}]",
                parameter="logGroupClass",
                value=log_class,
            )
        answer = original_create(self)
        group = self.logs_backend.groups[self._get_param("logGroupName")]
        setattr(group, LOG_GROUP_CLASS_ATTR, log_class)
        return answer

    def to_describe_dict(self: Any) -> dict[str, Any]:
        described = original_describe(self)
        described["logGroupClass"] = getattr(self, LOG_GROUP_CLASS_ATTR, "STANDARD")
        return described

    logs_responses.LogsResponse.create_log_group = create_log_group  # type: ignore[method-assign]
    logs_models.LogGroup.to_describe_dict = to_describe_dict  # type: ignore[method-assign]
