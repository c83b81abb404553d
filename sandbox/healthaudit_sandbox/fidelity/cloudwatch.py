"""CloudWatch metrics: PutMetricData stored compactly, GetMetricData and ListMetrics as the API reference
describes them."""

from __future__ import annotations

import bisect
import functools
import math
import re
import threading
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, NamedTuple

from moto.cloudwatch import models as cw_models
from moto.cloudwatch.exceptions import ValidationError
from moto.cloudwatch.metric_data_expression_parser import parse_expression

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
        self.first: dict[tuple[str, str, tuple[tuple[str, str], ...]], Any] = {}
        """A datum of each series, as moto's ListMetrics answers with one datum per metric."""

    def sync(self) -> None:
        """Index the datums appended to the backend's list since the last sync."""
        upto = len(self.source)  # datums appended while this runs wait for the next sync
        for datum in self.source[self.indexed : upto]:
            self.add(datum)
        self.indexed = upto

    def add(self, datum: Any) -> None:
        key = _series_key(datum)
        self.first.setdefault(key, datum)
        times, samples = self.series.setdefault(key, ([], []))
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


#: GetMetricData's MaxDatapoints: "The maximum number of data points the request should return before
#: paginating. If you omit this, the default of 100,800 is used."
DEFAULT_MAX_DATAPOINTS = 100_800
_MAX_DATAPOINTS_ATTR = "_healthaudit_default_max_datapoints"


def set_default_max_datapoints(account_id: str, region: str, datapoints: int | None) -> None:
    """Answer an account and Region's GetMetricData calls that omit MaxDatapoints in pages of ``datapoints``,
    as AWS answers them in pages of 100,800: the paging path at a test's size. None restores AWS's default.

    The setting lives on moto's backend, so a moto reset forgets it.
    """
    if datapoints is not None and int(datapoints) < 1:
        raise ValueError(f"datapoints must be at least 1, got {datapoints}")
    setattr(cw_models.cloudwatch_backends[account_id][region], _MAX_DATAPOINTS_ATTR, datapoints)


def install_cloudwatch_get_metric_data_pages() -> None:
    """GetMetricData answered in pages of MaxDatapoints, with NextToken, as the API reference describes it.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html: MaxDatapoints
    (default 100,800) is the most "the request should return before paginating"; NextToken "to get the
    next set of data points"; a result's StatusCode PartialData means "an incomplete set of data points
    were returned. You can use the NextToken value that was returned and repeat your request to get more
    data points." How AWS cuts a page is undocumented. The sandbox takes the results in query order and
    each one's datapoints in ScanBy order, cuts after MaxDatapoints of them, inside a result where the
    count falls there (that result is PartialData on this page and continues on the next), and answers a
    result without datapoints on the page its place falls on. moto 5.2.5 answers every datapoint at once.
    """
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.responses import ActionResult

    def get_metric_data(self: CloudWatchResponse) -> ActionResult:
        params = self._get_params()
        queries = params.get("MetricDataQueries", [])
        for number, query in enumerate(queries, start=1):
            if "MetricStat" not in query and "Expression" not in query:
                raise ValidationError(f"The parameter MetricDataQueries.member.{number}.MetricStat is required.\n")
        backend = self.cloudwatch_backend
        size = params.get("MaxDatapoints") or getattr(backend, _MAX_DATAPOINTS_ATTR, None) or DEFAULT_MAX_DATAPOINTS
        if int(size) < 1:
            raise ValidationError("The parameter MaxDatapoints must be greater than 0.")
        token = params.get("NextToken")
        if token is not None and not str(token).isdigit():
            raise cw_models.InvalidParameterValue("Request parameter NextToken is invalid")
        results = backend.get_metric_data(
            start_time=params["StartTime"],
            end_time=params["EndTime"],
            queries=queries,
            scan_by=params.get("ScanBy") or "TimestampDescending",
        )
        page, next_token = metric_data_page(results, int(token or 0), int(size))
        answer: dict[str, Any] = {"MetricDataResults": page}
        if next_token is not None:
            answer["NextToken"] = next_token
        return ActionResult(answer)

    CloudWatchResponse.get_metric_data = get_metric_data  # type: ignore[method-assign]


def metric_data_page(results: list[dict[str, Any]], offset: int, size: int) -> tuple[list[dict[str, Any]], str | None]:
    """The results' datapoints from place ``offset`` on, ``size`` of them, and the next page's token (None: last)."""
    total = sum(len(result["values"]) for result in results)
    end = offset + size
    page, place = [], 0
    for result in results:
        first, count = place, len(result["values"])
        place += count
        if count == 0:
            if offset <= first < end or (first == total and end >= total):
                page.append(result)
            continue
        if place <= offset or first >= end:
            continue
        lo, hi = max(first, offset) - first, min(place, end) - first
        page.append(
            {
                **result,
                "values": result["values"][lo:hi],
                "timestamps": result["timestamps"][lo:hi],
                "status_code": "PartialData" if hi < count else result.get("status_code", "Complete"),
            }
        )
    return page, (str(end) if end < total else None)


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
# CloudWatch ListMetrics
# ------------------------------------------------------------------------------------------------

LIST_METRICS_PAGE = 500
LISTED_FOR = timedelta(days=14)
LISTED_AFTER = timedelta(minutes=15)


def install_cloudwatch_list_metrics() -> None:
    """ListMetrics as the API reference describes it.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html:
    "Up to 500 results are returned for any one call. To retrieve additional results, use the returned
    token with subsequent calls." and "ListMetrics doesn't return information about metrics if those
    metrics haven't reported data in the past two weeks": a metric (namespace, name and dimension set) is
    listed only if one of its datums is timestamped within the 14 days before the sandbox's clock.
    Namespace and MetricName match exactly; each DimensionFilter needs a dimension of that name (and of
    that value, when a value is given).

    "After you create a metric, allow up to 15 minutes for the metric to appear" in ListMetrics: the
    sandbox lists a metric only once its first datum of those two weeks is 15 minutes old, at the latest
    the page allows. It reads that datum's timestamp as the moment the metric was created, as it is for
    metrics a service emits as it goes (Lambda's); a back-dated PutMetricData creates a metric the
    sandbox lists at once. When a metric that fell silent for two weeks counts as created again is
    undocumented: the sandbox takes its first datum since, the later (stricter) reading.

    moto 5.2.5 lists every datum ever put, however old, comparing each with every metric listed before
    it (quadratic in the datums); this answers from the per-series index of GetMetricData.
    """

    def list_metrics(
        self: cw_models.CloudWatchBackend,
        next_token: str | None,
        namespace: str,
        metric_name: str,
        dimensions: list[dict[str, str]],
    ) -> tuple[str | None, list[Any]]:
        offset = 0
        if next_token:
            if not next_token.isdigit():
                raise cw_models.InvalidParameterValue("Request parameter NextToken is invalid")
            offset = int(next_token)
        now = datetime.now(UTC)
        since, created_by = _epoch(now - LISTED_FOR), _epoch(now - LISTED_AFTER)
        with _index_lock:
            index = _index_for(self)
            provided = _MetricIndex(self.aws_metric_data)
            provided.sync()
            listed = {}
            for source in (index, provided):
                for key, (times, _) in source.series.items():
                    reported = bisect.bisect_left(times, since)
                    if (
                        reported < len(times)
                        and times[reported] <= created_by
                        and _matches(key, namespace, metric_name, dimensions)
                    ):
                        listed.setdefault(key, source.first[key])
        ordered = [listed[key] for key in sorted(listed)]
        page = ordered[offset : offset + LIST_METRICS_PAGE]
        more = offset + LIST_METRICS_PAGE < len(ordered)
        return (str(offset + LIST_METRICS_PAGE) if more else None), page

    cw_models.CloudWatchBackend.list_metrics = list_metrics  # type: ignore[method-assign]


def _matches(
    key: tuple[str, str, tuple[tuple[str, str], ...]],
    namespace: str | None,
    metric_name: str | None,
    dimensions: list[dict[str, str]],
) -> bool:
    series_namespace, name, series_dimensions = key
    if namespace and namespace != series_namespace:
        return False
    if metric_name and metric_name != name:
        return False
    return all(
        any(
            d_name == wanted["Name"] and (wanted.get("Value") in (None, d_value))
            for d_name, d_value in series_dimensions
        )
        for wanted in dimensions or []
    )
