"""Slack's interactivity endpoint (a Lambda function URL, AuthType NONE): a click on a digest's
Snooze or Acknowledge button.

Slack cannot sign requests with SigV4, so its own signature is the authentication: every request is
verified with the app's signing secret (from Secrets Manager) before anything else is read, and
healthaudit.interact decides the rest. Answers: 401 unsigned, forged or replayed; 400 signed but not
one click on one of our buttons; 200 stored, or "unknown finding" told to the clicker; 503 when the
report cannot be read. Only a 200 "stored" has written anything.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from healthaudit.collect.errors import READ_ERRORS, describe_error
from healthaudit.collect.suppressions import TABLE_VARIABLE, store_snooze
from healthaudit.interact import Answer, handle_click
from healthaudit.publish.actions import respond
from healthaudit.publish.s3 import read_report as stored_report

logger = Logger()
tracer = Tracer()
metrics = Metrics()

SIGNING_SECRET_VARIABLE = "HEALTHAUDIT_SLACK_SIGNING_SECRET_ARN"


class ReportUnreadable(RuntimeError):
    pass


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    try:
        answer = handle_click(
            event,
            signing_secret=signing_secret,
            read_report=read_report,
            store=lambda item: store_snooze(boto3.client("dynamodb"), os.environ[TABLE_VARIABLE], item),
            respond=lambda url, **message: respond(url, os.environ, **message),
            now=lambda: datetime.now(UTC),
            environ=os.environ,
        )
    except ReportUnreadable as error:
        answer = Answer(503, f"the report could not be read: {error}")
    metrics.add_metric(name=_metric(answer), unit=MetricUnit.Count, value=1)
    log = logger.info if answer.status == 200 else logger.warning
    log("click handled", extra={"status": answer.status, "outcome": answer.outcome, "stored": _key(answer)})
    return answer.as_function_url_response()


def signing_secret() -> str:
    """The Slack app's signing secret, cached for five minutes (Powertools Parameters)."""
    value = parameters.get_secret(os.environ[SIGNING_SECRET_VARIABLE], max_age=300)
    return (value.decode() if isinstance(value, bytes) else str(value)).strip()


def read_report(key: str) -> dict[str, Any] | None:
    """The daily report a click names; None when there is none (a 404: the role may list the bucket)."""
    try:
        document, _ = stored_report(boto3.client("s3"), os.environ["HEALTHAUDIT_BUCKET"], key)
        return document
    except ClientError as error:
        raise ReportUnreadable(describe_error(error)) from None
    except READ_ERRORS as error:
        raise ReportUnreadable(describe_error(error)) from None
    except ValueError:
        return None


def _metric(answer: Answer) -> str:
    if answer.stored is not None:
        return "SnoozesStored"
    return "SlackRequestsRefused" if answer.status in (400, 401) else "SlackClicksNotStored"


def _key(answer: Answer) -> str | None:
    return None if answer.stored is None else f"{answer.stored['target']['S']} {answer.stored['finding']['S']}"
