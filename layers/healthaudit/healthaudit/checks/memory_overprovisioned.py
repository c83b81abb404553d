import math
from typing import Iterator

from ..cost import dollars, function_price, memory_cost, usage_of
from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .memory_near_limit import PERMISSIONS
from .registry import CheckThresholds, Figure, Threshold, check
from .severity import SeverityRule


@check(
    id="memory-overprovisioned",
    title="Memory size is far above what is used",
    severity=SeverityRule.fixed(Severity.LOW),
    figure=Figure.share("ratio", "memory used as a share of memory size", higher_is_worse=False),
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
        suggested = suggested_memory_mb(logs.max_memory_used_mb)
        usage = usage_of(fn)
        cost = None if usage is None else memory_cost(function_price(fn), usage, suggested)
        priced = (
            ""
            if cost is None
            else f"; costs {dollars(cost.monthly_usd)} a month; at {suggested} MB about"
            f" {dollars(cost.suggested_monthly_usd or 0.0)}: save {dollars(cost.monthly_savings_usd or 0.0)}"
        )
        yield fn.finding(
            f"never used more than {logs.max_memory_used_mb:.0f} MB of {size:.0f} MB ({ratio:.0%})"
            f" in {logs.invocations} invocations{priced}",
            evidence={
                "max_memory_used_mb": logs.max_memory_used_mb,
                "memory_size_mb": size,
                "ratio": round(ratio, 4),
                "invocations": logs.invocations,
                "suggested_memory_mb": suggested,
            },
            cost=cost,
        )


#: Room above the most memory used that a suggested size keeps; sizes go up in steps of 64 MB from
#: Lambda's smallest, 128 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
HEADROOM = 1.5
STEP_MB = 64
SMALLEST_MB = 128


def suggested_memory_mb(max_used_mb: float) -> int:
    """The most memory used with half again as headroom, rounded up to 64 MB, never below 128 MB."""
    return max(SMALLEST_MB, math.ceil(max_used_mb * HEADROOM / STEP_MB) * STEP_MB)
