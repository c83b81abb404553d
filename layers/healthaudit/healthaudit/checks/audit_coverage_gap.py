from typing import Iterator

from ..model import AccountSnapshot, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, account_wide_part_of, check
from .severity import SeverityRule


@check(
    id="audit-coverage-gap",
    title="Part of the audit could not be read",
    severity=SeverityRule.fixed(Severity.MEDIUM),
    permissions=(),
    remediation=(
        "Check the auditor's IAM permissions and the API error named in the evidence; until it is read, the"
        " checks that need this data did not run, so the function is not known to be healthy."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html",
    means_unknown=True,
)
def audit_coverage_gap(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    for source, reason in sorted(fn.unread.items()):
        yield fn.finding(
            f"{source.value} could not be read: {reason}", evidence={"source": source.value, "reason": reason}
        )


@account_wide_part_of("audit-coverage-gap")
def account_coverage_gap(account: AccountSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    for gap in account.gaps:
        if gap.function_name is None:
            yield account.finding(
                f"{gap.source.value} could not be read for the account: {gap.reason}",
                evidence={"source": gap.source.value, "reason": gap.reason},
            )
