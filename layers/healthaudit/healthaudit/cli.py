"""`healthaudit`: run an audit from a terminal, list the checks; with the development install, run the
sandbox and the demo."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from datetime import datetime, timezone
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Iterator, Sequence, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from .audit import check_catalogue
from .collect.clients import AwsClients
from .config import AuditConfig, ConfigError, SlackConfig, load_config, load_config_file
from .model import AuditReport
from .pipeline import audit_and_publish
from .publish.render import report_json

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PLUGIN_COMMANDS = "healthaudit.commands"
"""Entry-point group through which the development distribution (sandbox/) adds `sandbox` and `demo`."""
DEVELOPMENT_COMMANDS = {
    "sandbox": "run the embedded AWS emulator on 127.0.0.1 in the foreground",
    "demo": "seed a fleet with known problems in the sandbox and audit it",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.command(args)
    except ConfigError as error:
        print(f"healthaudit: invalid config: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (NoCredentialsError, NoRegionError, ProfileNotFound) as error:
        print(f"healthaudit: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (ClientError, BotoCoreError) as error:
        print(f"healthaudit: AWS call failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="healthaudit", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="audit the account that the standard credential chain reaches")
    run.add_argument("--region")
    run.add_argument("--profile")
    run.add_argument(
        "--endpoint-url", help="an AWS-compatible endpoint, e.g. the sandbox (AWS_ENDPOINT_URL also works)"
    )
    run.add_argument("--format", choices=("table", "json"), default="table")
    run.add_argument("--output", help="also write the report JSON to this file")
    run.add_argument("--config", help="config document (JSON or YAML)")
    run.add_argument("--bucket", help="store the report in this S3 bucket")
    run.add_argument("--slack-channel", help="post the digest to this channel ID (token from SLACK_BOT_TOKEN)")
    run.add_argument(
        "--slack-api-url",
        help="a local Slack-compatible test server on a loopback host (HEALTHAUDIT_SLACK_API_URL also works)",
    )
    run.add_argument("--at", type=parse_timestamp, help="end of the audit window (ISO 8601; default: now)")
    run.set_defaults(command=_run)

    _add_plugin_commands(commands)

    checks = commands.add_parser("checks", help="list the checks this auditor runs")
    checks.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    checks.set_defaults(command=_checks)
    return parser


def _add_plugin_commands(commands: argparse._SubParsersAction) -> None:
    """Commands other distributions register; the development ones name their install when missing."""
    added = set()
    for entry_point in entry_points(group=PLUGIN_COMMANDS):
        entry_point.load()(commands)
        added.add(entry_point.name)
    for name, help_text in DEVELOPMENT_COMMANDS.items():
        if name not in added:
            missing = commands.add_parser(name, help=f"{help_text} (needs the development install)")
            missing.set_defaults(command=_needs_development_install, missing_command=name)


def _needs_development_install(args: argparse.Namespace) -> int:
    print(
        f"healthaudit: `{args.missing_command}` comes with the development install of the sandbox"
        " (healthaudit-sandbox): run `make bootstrap`, or `pip install -e sandbox` from the repository",
        file=sys.stderr,
    )
    return EXIT_USAGE


def parse_timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"got {text!r}, expected an ISO 8601 time such as 2026-11-28T06:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _run(args: argparse.Namespace) -> int:
    config = load_config_file(args.config) if args.config else AuditConfig()
    config = _with_cli_overrides(config, args.bucket, args.slack_channel)
    with _slack_api_url(args.slack_api_url):
        return _audit(args, config)


@contextlib.contextmanager
def _slack_api_url(url: str | None) -> Iterator[None]:
    """--slack-api-url as HEALTHAUDIT_SLACK_API_URL for this run, checked first (a refusal exits 2)."""
    from .publish.slack import SLACK_API_URL_VARIABLE, slack_api_url

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


def _audit(args: argparse.Namespace, config: AuditConfig) -> int:
    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    region = args.region or session.region_name
    if not region:
        raise NoRegionError()
    clients = AwsClients(session, region=region, endpoint_url=args.endpoint_url)
    at = args.at or datetime.now(timezone.utc)
    report, outcome = audit_and_publish(clients, config, at, progress=progress_bar(sys.stderr))
    if args.output:
        Path(args.output).write_bytes(report_json(report))
    if args.format == "json":
        sys.stdout.write(report_json(report).decode() + "\n")
    else:
        print_report(report, sys.stdout)
        if outcome.report_url:
            print(f"report: {outcome.report_url}")
        if config.slack:
            print(f"slack: {outcome.slack}")
    return EXIT_OK


def _with_cli_overrides(config: AuditConfig, bucket: str | None, channel: str | None) -> AuditConfig:
    from dataclasses import replace

    if bucket:
        config = replace(config, bucket=bucket)
    if channel:
        load_config({"slack": {"channel": channel}}, source="--slack-channel")
        config = replace(config, slack=replace(config.slack or SlackConfig(), channel=channel))
    return config


def _checks(args: argparse.Namespace) -> int:
    rows = check_catalogue()
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif args.format == "markdown":
        print("| id | severity | what it finds | IAM permissions | remediation |")
        print("|---|---|---|---|---|")
        for row in rows:
            perms = ", ".join(f"`{p.strip()}`" for p in row["permissions"].split(",") if p.strip()) or "none"
            link = f"[`{row['id']}`]({row['docs']})"
            print(f"| {link} | {row['severity']} | {row['title']} | {perms} | {row['remediation']} |")
    else:
        _print_table(
            [(r["id"], r["severity"], r["title"], r["permissions"]) for r in rows],
            ("ID", "SEVERITY", "TITLE", "PERMISSIONS"),
            sys.stdout,
        )
    return EXIT_OK


def print_report(report: AuditReport, stream: TextIO) -> None:
    counts = report.counts_by_severity()
    print(
        f"Audited {report.functions_audited} functions in {report.account} {report.region},"
        f" window {report.window.start:%Y-%m-%d %H:%M} – {report.window.end:%Y-%m-%d %H:%M} UTC",
        file=stream,
    )
    print(
        "Findings: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        if any(counts.values())
        else "Findings: none",
        file=stream,
    )
    rows = [(f.severity.value, f.check_id, f.resource, f.message) for f in report.worst_first()]
    if rows:
        _print_table(rows, ("SEVERITY", "CHECK", "FUNCTION", "WHAT"), stream)
    suppressed = [f for f in report.findings if f.suppressed_by]
    if suppressed:
        print(
            f"Suppressed: {len(suppressed)} (" + "; ".join(f"{f.check_id} on {f.resource}" for f in suppressed) + ")",
            file=stream,
        )
    if report.coverage_gaps:
        print(f"Coverage gaps: {len(report.coverage_gaps)} (see the report's coverage_gaps)", file=stream)
    calls = ", ".join(f"{op} {n}" for op, n in sorted(report.api_calls.items()))
    print(f"API calls: {calls}", file=stream)


def _print_table(rows: list[tuple[Any, ...]], header: tuple[str, ...], stream: TextIO) -> None:
    widths = [min(max(len(str(row[i])) for row in [header, *rows]), 60) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [
            str(cell)[: widths[i]].ljust(widths[i]) if i < len(row) - 1 else str(cell) for i, cell in enumerate(row)
        ]
        print("  ".join(cells).rstrip(), file=stream)


def progress_bar(stream: TextIO):
    if not stream.isatty():
        return None

    def show(stage: str, done: int, total: int) -> None:
        width = 30
        filled = width if not total else int(width * done / total)
        end = "\n" if done >= total else ""
        stream.write(f"\r{stage:<10} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
        stream.flush()

    return show


def render_blocks(blocks: list) -> str:
    """A terminal rendering of a Block Kit message (mrkdwn left as it is)."""
    lines = []
    for block in blocks:
        data = block.to_dict() if hasattr(block, "to_dict") else block
        kind = data.get("type")
        if kind == "header":
            lines += [data["text"]["text"].upper(), ""]
        elif kind == "divider":
            lines.append("-" * 60)
        elif kind == "section":
            if data.get("text"):
                lines.append(data["text"]["text"])
            for item in data.get("fields", []):
                lines.append(item["text"])
            lines.append("")
        elif kind == "context":
            lines.append("  ".join(element.get("text", "") for element in data.get("elements", [])))
            lines.append("")
    return "\n".join(lines).rstrip()


if __name__ == "__main__":
    sys.exit(main())
