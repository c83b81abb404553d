from typing import Iterator

from ..model import AccountSnapshot, DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, Figure, Threshold, account_wide_part_of, check
from .severity import SeverityRule

REMEDIATION = (
    "Raise the reserved concurrency (or the account quota through Service Quotas) before it throttles, or smooth"
    " the load: batch, queue, or cap event source concurrency."
)
DOCS = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html"


@check(
    id="concurrency-near-limit",
    title="Concurrency is close to its limit",
    # At 100 % every further request is throttled (and throttled, when that happens, reports it instead).
    severity=SeverityRule.at_least(
        "ratio", "peak / limit", {Severity.HIGH: 1.0, Severity.MEDIUM: 0.9}, Severity.LOW, unit="%"
    ),
    figure=Figure.share("ratio", "peak as a share of the limit"),
    permissions=("cloudwatch:GetMetricData", "lambda:GetFunctionConcurrency", "lambda:GetAccountSettings"),
    remediation=REMEDIATION,
    docs=DOCS,
    thresholds={
        "max_concurrency_ratio": Threshold(
            0.8,
            "peak concurrency as a share of the reserved concurrency or the account quota",
            "ratio",
            minimum=0,
            maximum=1,
        )
    },
    needs=(DataSource.METRICS, DataSource.RESERVED_CONCURRENCY),
    series=("ConcurrentExecutions",),
    explained_by=("throttled",),  # throttles under reserved concurrency: throttled names the peak too
)
def concurrency_near_limit(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    reserved = fn.reserved_concurrency
    peak = fn.current.max("ConcurrentExecutions")
    if not reserved or peak is None:
        return
    ratio = peak / reserved
    if ratio > thresholds.max_concurrency_ratio:
        yield fn.finding(
            f"peak concurrency {peak:.0f} is {ratio:.0%} of its reserved concurrency {reserved}",
            evidence={"peak_concurrency": peak, "reserved_concurrency": reserved, "ratio": round(ratio, 4)},
        )


@account_wide_part_of("concurrency-near-limit", needs=(DataSource.METRICS, DataSource.ACCOUNT_SETTINGS))
def account_concurrency_near_limit(account: AccountSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    if account.settings is None or not account.settings.concurrency_limit:
        return
    claimed = account.current.max("ClaimedAccountConcurrency")
    if claimed is None:
        return
    limit = account.settings.concurrency_limit
    ratio = claimed / limit
    if ratio > thresholds.max_concurrency_ratio:
        yield account.finding(
            f"claimed account concurrency peaked at {claimed:.0f} of the {limit} quota ({ratio:.0%})",
            evidence={"claimed_concurrency": claimed, "account_limit": limit, "ratio": round(ratio, 4)},
        )
