from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, Figure, Threshold, check
from .severity import SeverityRule

PERMISSIONS = ("logs:StartQuery", "logs:GetQueryResults", "logs:StopQuery")


@check(
    id="memory-near-limit",
    title="Memory use is close to the memory size",
    # A function that reaches its memory size is stopped mid-invocation: within 5 % of it is HIGH.
    severity=SeverityRule.at_least(
        "ratio", "memory used / size", {Severity.HIGH: 0.95, Severity.MEDIUM: 0.9}, Severity.LOW, unit="%"
    ),
    figure=Figure.share("ratio", "memory used as a share of memory size"),
    permissions=PERMISSIONS,
    remediation=(
        "Raise MemorySize (it also brings more CPU), or find what grows: large payloads, caches kept across"
        " invocations, leaks. A function that reaches its memory size is killed mid-invocation."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html",
    thresholds={
        "max_memory_used_ratio": Threshold(
            0.9, "Max Memory Used as a share of Memory Size", "ratio", minimum=0, maximum=1
        )
    },
    needs=(DataSource.REPORT_RECORDS,),
)
def memory_near_limit(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    logs = fn.logs_current
    if logs is None or logs.max_memory_used_mb is None:
        return
    size = logs.memory_size_mb or fn.memory_mb
    ratio = logs.max_memory_used_mb / size
    if ratio > thresholds.max_memory_used_ratio:
        yield fn.finding(
            f"used up to {logs.max_memory_used_mb:.0f} MB of {size:.0f} MB ({ratio:.0%})",
            evidence={"max_memory_used_mb": logs.max_memory_used_mb, "memory_size_mb": size, "ratio": round(ratio, 4)},
        )
