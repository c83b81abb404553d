"""`healthaudit run`: audit the account that the credentials reach, print or write the report, and exit
with a code a pipeline can act on (exit_codes.py)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import textwrap
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, TextIO
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from ..collect.clients import AwsClients
from ..config import AuditConfig, SlackConfig, load_config, load_config_file
from ..model import AuditReport, Finding, Severity
from ..pipeline import ReportNotStored, audit_and_publish
from ..publish.html import render_html
from ..publish.render import report_json
from .exit_codes import EXIT_CODES_HELP, EXIT_FAILED, EXIT_FINDINGS, EXIT_NOT_DELIVERED, EXIT_OK, EXIT_USAGE
from .markdown import report_markdown
from .progress import progress_to, report_retries
from .terminal import print_report, wants_colour
from .timestamps import parse_timestamp

FORMATS = ("table", "json", "html", "markdown")
FAIL_ON_SEVERITIES = tuple(s.value for s in Severity if s is not Severity.INFO)

IDENTITY_CONFIG = Config(
    connect_timeout=3,
    read_timeout=5,
    retries={"mode": "standard", "total_max_attempts": 2},
    user_agent_extra="healthaudit",
)
"""For the first call only (sts:GetCallerIdentity, which needs no permission): two attempts, 3 s to
connect, 5 s to answer. An endpoint that refuses connections is named within a second, one that
drops them within about 7 s, instead of the audit clients' nine attempts with up to 91 s of backoff
(collect/clients.py RETRY_CONFIG), which stay as they are for the audit itself."""

UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
NO_REGION = (
    "healthaudit: no region to audit: pass --region (for example --region eu-west-1) or set AWS_REGION"
    " (AWS_DEFAULT_REGION and the profile's region are read too)"
)
NO_CREDENTIALS = (
    "healthaudit: no AWS credentials found: pass --profile, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,"
    " or sign in with `aws sso login`; the sandbox takes AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
)


def add_run_command(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="audit the account and region that your credentials reach",
        description=textwrap.fill(
            "Audit every Lambda function in one account and region, then print or write the report. The identity,"
            " account and region go to standard error first; progress and retries follow there, so standard"
            " output holds only the report."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--region", help="the region to audit (default: AWS_REGION, then AWS_DEFAULT_REGION or the profile's)"
    )
    run.add_argument("--profile", help="a named profile from ~/.aws/config (default: the standard credential chain)")
    run.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="an AWS-compatible endpoint for every service, e.g. the sandbox's (AWS_ENDPOINT_URL also works)",
    )
    run.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (the default: worst first, new or ongoing, a console link per finding), json (the stored"
        " report), html (the report page) or markdown (a pull request comment or $GITHUB_STEP_SUMMARY)",
    )
    run.add_argument(
        "--output", metavar="FILE", help="write the report in the chosen --format to FILE instead of standard output"
    )
    run.add_argument(
        "--fail-on",
        metavar="SEVERITY",
        choices=FAIL_ON_SEVERITIES,
        help=f"exit {EXIT_FINDINGS} when an active (unsuppressed) finding is at or above SEVERITY:"
        f" {', '.join(FAIL_ON_SEVERITIES)}",
    )
    run.add_argument("--config", metavar="FILE", help="the config document, JSON or YAML (default: every default)")
    run.add_argument("--bucket", help="also store the JSON and HTML reports in this S3 bucket (and read history there)")
    run.add_argument(
        "--slack-channel",
        metavar="CHANNEL_ID",
        help=f"post the digest to this channel ID, e.g. C0123456789 (token from SLACK_BOT_TOKEN);"
        f" a failed post exits {EXIT_NOT_DELIVERED}",
    )
    run.add_argument(
        "--slack-api-url",
        metavar="URL",
        help="a local Slack-compatible test server on a loopback host (HEALTHAUDIT_SLACK_API_URL also works)",
    )
    run.add_argument(
        "--at", type=parse_timestamp, metavar="TIME", help="end of the audit window, ISO 8601 (default: now)"
    )
    run.set_defaults(command=run_command)


def run_command(args: argparse.Namespace) -> int:
    config = load_config_file(args.config) if args.config else AuditConfig()
    config = with_cli_overrides(config, args.bucket, args.slack_channel)
    if args.output and not Path(args.output).resolve().parent.is_dir():
        print(f"healthaudit: --output {args.output}: its directory does not exist", file=sys.stderr)
        return EXIT_USAGE
    with slack_api_url_for_this_run(args.slack_api_url):
        return _audit(args, config)


def _audit(args: argparse.Namespace, config: AuditConfig) -> int:
    try:
        session = boto3.Session(profile_name=args.profile)
    except ProfileNotFound:
        print(f"healthaudit: --profile {args.profile}: no such profile in the AWS config files", file=sys.stderr)
        return EXIT_USAGE
    region = region_to_audit(args.region, session.region_name, os.environ)
    if region is None:
        print(NO_REGION, file=sys.stderr)
        return EXIT_USAGE
    report_retries(session, sys.stderr)
    sts = session.client("sts", region_name=region, endpoint_url=args.endpoint_url, config=IDENTITY_CONFIG)
    identity = _identify(sts)
    if identity is None:
        return EXIT_FAILED
    print(describe_target(identity, region, sts.meta.endpoint_url), file=sys.stderr)

    clients = AwsClients(session, region=region, endpoint_url=args.endpoint_url)
    at = args.at or datetime.now(timezone.utc)
    try:
        report, outcome = audit_and_publish(clients, config, at, progress=progress_to(sys.stderr))
    except ReportNotStored as failure:
        print(f"healthaudit: {failure}", file=sys.stderr)
        _write_or_explain(failure.report, args)
        return EXIT_FAILED
    if not _write_or_explain(report, args):
        return EXIT_FAILED
    if outcome.report_url:
        print(f"healthaudit: report stored: {outcome.report_url}", file=sys.stderr)
    if config.slack:
        print(f"healthaudit: slack: {outcome.slack}", file=sys.stderr)
    return _verdict(report, outcome.slack, Severity(args.fail_on) if args.fail_on else None)


def _write_or_explain(report: AuditReport, args: argparse.Namespace) -> bool:
    try:
        write_report(report, args.format, args.output, sys.stdout)
    except OSError as error:
        print(f"healthaudit: --output {args.output}: cannot be written ({error.strerror})", file=sys.stderr)
        return False
    return True


def _identify(sts: Any) -> CallerIdentity | None:
    """The caller's identity, or None once the reason it could not be read is on stderr."""
    try:
        return caller_identity(sts)
    except NoCredentialsError:
        print(NO_CREDENTIALS, file=sys.stderr)
    except UNREACHABLE as error:
        print(
            f"healthaudit: cannot reach AWS at {sts.meta.endpoint_url} ({type(error).__name__}): check the network"
            " and any proxy, --region, and --endpoint-url or AWS_ENDPOINT_URL",
            file=sys.stderr,
        )
    except ClientError as error:
        problem = error.response.get("Error", {})
        print(
            f"healthaudit: sts:GetCallerIdentity failed with {problem.get('Code')} ({problem.get('Message')}):"
            " the credentials were refused, or AWS could not answer",
            file=sys.stderr,
        )
    return None


def _verdict(report: AuditReport, slack_status: str, fail_on: Severity | None) -> int:
    """The exit code, said on stderr when it is not 0."""
    code = exit_code(report, slack_status, fail_on)
    if code == EXIT_FINDINGS and fail_on is not None:
        over = len(findings_at_or_above(report, fail_on))
        print(
            f"healthaudit: {over} active finding{'s' if over != 1 else ''} at or above {fail_on.value}"
            f" (--fail-on {fail_on.value}): exit {EXIT_FINDINGS}",
            file=sys.stderr,
        )
    elif code == EXIT_NOT_DELIVERED:
        print(f"healthaudit: the Slack digest was not posted: exit {EXIT_NOT_DELIVERED}", file=sys.stderr)
    return code


@dataclass(frozen=True)
class CallerIdentity:
    arn: str
    account: str


def caller_identity(sts: Any) -> CallerIdentity:
    """Who the credentials are: sts:GetCallerIdentity needs no permission, so only bad credentials fail it."""
    answer = sts.get_caller_identity()
    return CallerIdentity(arn=answer["Arn"], account=answer["Account"])


def describe_target(identity: CallerIdentity, region: str, endpoint_url: str) -> str:
    line = f"healthaudit: auditing account {identity.account} in {region} as {identity.arn}"
    host = urlsplit(endpoint_url).hostname or ""
    if not host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        line += f" (endpoint {endpoint_url})"
    return line


def region_to_audit(flag: str | None, session_region: str | None, environ: Mapping[str, str]) -> str | None:
    """--region, else AWS_REGION (which botocore itself does not read), else the session's region
    (AWS_DEFAULT_REGION or the profile's)."""
    return flag or environ.get("AWS_REGION") or session_region or None


def findings_at_or_above(report: AuditReport, severity: Severity) -> list[Finding]:
    return [f for f in report.active_findings if f.severity.rank <= severity.rank]


def exit_code(report: AuditReport, slack_status: str, fail_on: Severity | None) -> int:
    """A digest that was not posted wins over --fail-on: the findings are in the output either way."""
    if slack_status.startswith("failed"):
        return EXIT_NOT_DELIVERED
    if fail_on is not None and findings_at_or_above(report, fail_on):
        return EXIT_FINDINGS
    return EXIT_OK


def render_output(report: AuditReport, output_format: str, colour: bool = False) -> str:
    if output_format == "json":
        return report_json(report).decode("utf-8") + "\n"
    if output_format == "html":
        return render_html(report)
    if output_format == "markdown":
        return report_markdown(report)
    from io import StringIO

    table = StringIO()
    print_report(report, table, colour=colour)
    return table.getvalue()


def write_report(report: AuditReport, output_format: str, output: str | None, stdout: TextIO) -> None:
    if output is None:
        stdout.write(render_output(report, output_format, colour=wants_colour(stdout)))
        stdout.flush()
        return
    Path(output).write_text(render_output(report, output_format), encoding="utf-8")
    print(f"healthaudit: wrote the {output_format} report to {output}", file=sys.stderr)


def with_cli_overrides(config: AuditConfig, bucket: str | None, channel: str | None) -> AuditConfig:
    if bucket:
        config = replace(config, bucket=bucket)
    if channel:
        load_config({"slack": {"channel": channel}}, source="--slack-channel")
        config = replace(config, slack=replace(config.slack or SlackConfig(), channel=channel))
    return config


@contextlib.contextmanager
def slack_api_url_for_this_run(url: str | None) -> Iterator[None]:
    """--slack-api-url as HEALTHAUDIT_SLACK_API_URL for this run, checked first (a refusal exits 2)."""
    from ..publish.slack import SLACK_API_URL_VARIABLE, slack_api_url

    if url is None:
        yield
        return
    slack_api_url({SLACK_API_URL_VARIABLE: url})
    before = os.environ.get(SLACK_API_URL_VARIABLE)
    os.environ[SLACK_API_URL_VARIABLE] = url
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(SLACK_API_URL_VARIABLE, None)
        else:
            os.environ[SLACK_API_URL_VARIABLE] = before
