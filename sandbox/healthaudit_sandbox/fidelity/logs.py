"""CloudWatch Logs log groups: the log group class kept and returned."""

from __future__ import annotations

from typing import Any

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

    from healthaudit_sandbox.logs_insights.api import LOG_GROUP_CLASS_ATTR

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
