from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, Figure, Threshold, check
from .severity import SeverityRule


@check(
    id="iterator-age-high",
    title="Stream consumer is falling behind",
    # An hour behind is an incident for a stream consumer; at the stream's retention (24 h by default for
    # Kinesis, always for DynamoDB Streams) unread records expire and are lost.
    severity=SeverityRule.at_least(
        "max_iterator_age_ms",
        "oldest record's age",
        {Severity.HIGH: 3_600_000, Severity.MEDIUM: 300_000},
        Severity.LOW,
        unit="ms",
    ),
    figure=Figure("max_iterator_age_ms", "oldest record's age", "s", scale=0.001, decimals=0),
    permissions=("cloudwatch:GetMetricData", "lambda:ListEventSourceMappings"),
    remediation=(
        "Raise the event source mapping's ParallelizationFactor or BatchSize, add shards, or fix slow or failing"
        " batches (set BisectBatchOnFunctionError and an on-failure destination so poison records do not block)."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html#event-source-mapping-metrics",
    thresholds={
        "max_iterator_age_seconds": Threshold(300.0, "age of the oldest record a stream consumer read", "s", minimum=0)
    },
    needs=(DataSource.METRICS, DataSource.EVENT_SOURCE_MAPPINGS),
    series=("IteratorAge",),
)
def iterator_age_high(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    if not fn.is_stream_consumer:
        return
    age_ms = fn.current.max("IteratorAge")
    if age_ms is None:
        return
    if age_ms > thresholds.max_iterator_age_seconds * 1000:
        streams = [source.arn for source in fn.event_sources if source.is_stream]
        yield fn.finding(
            f"records waited up to {age_ms / 1000:.0f} s before processing"
            f" (limit {thresholds.max_iterator_age_seconds:.0f} s)",
            evidence={"max_iterator_age_ms": age_ms, "streams": streams},
        )
