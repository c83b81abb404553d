from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, check
from .severity import SeverityRule


@check(
    id="log-retention-unset",
    title="Log group never expires",
    severity=SeverityRule.fixed(Severity.LOW),
    permissions=("logs:DescribeLogGroups",),
    remediation=(
        "Set a retention period on the log group (PutRetentionPolicy, or an AWS::Logs::LogGroup with"
        " RetentionInDays in the template) so logs stop accruing storage cost forever."
    ),
    docs="https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html",
    needs=(DataSource.LOG_GROUPS,),
)
def log_retention_unset(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    if fn.log_group_exists and fn.log_retention_days is None:
        yield fn.finding(f"log group {fn.log_group} keeps logs forever", evidence={"log_group": fn.log_group})
