from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .memory_near_limit import PERMISSIONS
from .registry import CheckThresholds, Threshold, check
from .severity import SeverityRule


@check(
    id="memory-overprovisioned",
    title="Memory size is far above what is used",
    severity=SeverityRule.fixed(Severity.LOW),
    permissions=PERMISSIONS,
    remediation=(
        "Lower MemorySize towards what the function uses (keep headroom), or tune it with AWS Lambda Power"
        " Tuning: memory is billed whether used or not, though more memory also means more CPU."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html",
    thresholds={
        "min_memory_used_ratio": Threshold(
            0.25,
            "Max Memory Used as a share of Memory Size, below which memory is wasted",
            "ratio",
            minimum=0,
            maximum=1,
        ),
        "overprovisioned_above_mb": Threshold(256, "Memory Size at or below which nothing is judged", "MB", minimum=0),
    },
    needs=(DataSource.REPORT_RECORDS,),
)
def memory_overprovisioned(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    logs = fn.logs_current
    if logs is None or not logs.invocations or logs.max_memory_used_mb is None:
        return
    size = logs.memory_size_mb or fn.memory_mb
    ratio = logs.max_memory_used_mb / size
    if size > thresholds.overprovisioned_above_mb and ratio < thresholds.min_memory_used_ratio:
        yield fn.finding(
            f"never used more than {logs.max_memory_used_mb:.0f} MB of {size:.0f} MB ({ratio:.0%})"
            f" in {logs.invocations} invocations",
            evidence={
                "max_memory_used_mb": logs.max_memory_used_mb,
                "memory_size_mb": size,
                "ratio": round(ratio, 4),
                "invocations": logs.invocations,
            },
        )
