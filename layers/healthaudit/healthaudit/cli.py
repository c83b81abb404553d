"""`healthaudit`: run an audit from a terminal, run the sandbox, run the demo, list the checks."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from .audit import check_catalogue
from .collect.clients import AwsClients
from .config import AuditConfig, ConfigError, SlackConfig, load_config, load_config_file
from .model import AuditReport
from .pipeline import audit_and_publish
from .publish.s3 import report_json

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEMO_ACCOUNT = "123456789012"
DEMO_REGION = "eu-west-1"
DEMO_BUCKET = "healthaudit-demo-reports"


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
    run.add_argument("--at", type=_timestamp, help="end of the audit window (ISO 8601; default: now)")
    run.set_defaults(command=_run)

    sandbox = commands.add_parser("sandbox", help="run the embedded AWS emulator on 127.0.0.1 in the foreground")
    sandbox.add_argument("--port", type=int, default=5000)
    sandbox.set_defaults(command=_sandbox)

    demo = commands.add_parser("demo", help="seed a fleet with known problems in the sandbox and audit it")
    demo.add_argument("--output-dir", default="out", help="where the demo writes its report files")
    demo.add_argument("--at", type=_timestamp, help="end of the audit window (ISO 8601; default: now)")
    demo.set_defaults(command=_demo)

    checks = commands.add_parser("checks", help="list the checks this auditor runs")
    checks.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    checks.set_defaults(command=_checks)
    return parser


def _timestamp(text: str) -> datetime:
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
    report, outcome = audit_and_publish(clients, config, at, progress=_progress_bar(sys.stderr))
    if args.output:
        Path(args.output).write_bytes(report_json(report))
    if args.format == "json":
        sys.stdout.write(report_json(report).decode() + "\n")
    else:
        _print_report(report, sys.stdout)
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


def _sandbox(args: argparse.Namespace) -> int:
    from .sandbox import Sandbox

    with Sandbox(port=args.port) as sandbox:
        print(f"sandbox listening on {sandbox.endpoint} (Ctrl-C to stop)")
        print(f"  export AWS_ENDPOINT_URL={sandbox.endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing")
        print(f"  healthaudit run --region {DEMO_REGION} --endpoint-url {sandbox.endpoint}")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            sandbox.wait()
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from .publish.slack import build_digest
    from .sandbox import Sandbox
    from .sandbox.fleet import deploy_bigger_packages, seed_fleet

    at = args.at or datetime.now(timezone.utc)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with Sandbox(port=0) as sandbox:
        session = sandbox.session_for_account(DEMO_ACCOUNT, region=DEMO_REGION)
        print(f"sandbox on {sandbox.endpoint}; seeding the demo fleet…", file=sys.stderr)
        fleet = seed_fleet(session, at)
        session.client("s3").create_bucket(
            Bucket=DEMO_BUCKET, CreateBucketConfiguration={"LocationConstraint": DEMO_REGION}
        )
        config = AuditConfig(bucket=DEMO_BUCKET)
        # Yesterday's audit first, so that today's has history: new vs ongoing, and a baseline of
        # cold starts recorded before last night's deploy.
        print("auditing yesterday's window…", file=sys.stderr)
        audit_and_publish(AwsClients(session, region=DEMO_REGION), config, at - timedelta(days=1))
        deployed = deploy_bigger_packages(session, fleet)
        print(f"deployed overnight: {', '.join(deployed)}; auditing today's window…", file=sys.stderr)
        report, outcome = audit_and_publish(
            AwsClients(session, region=DEMO_REGION), config, at, progress=_progress_bar(sys.stderr)
        )
    (out / "demo-report.json").write_bytes(report_json(report))
    text, blocks = build_digest(report, outcome.report_url)
    (out / "demo-slack-digest.json").write_text(
        json.dumps({"text": text, "blocks": [b.to_dict() for b in blocks]}, indent=2)
    )
    _print_report(report, sys.stdout)
    print("\nSlack digest it would post:\n")
    print(render_blocks(blocks))
    missed = _print_planted(report, fleet)
    print(f"\nreport: {outcome.report_url} (in the sandbox) and {out / 'demo-report.json'}")
    return EXIT_FAILED if missed else EXIT_OK


def _print_planted(report: AuditReport, fleet: list) -> int:
    found: dict[str, set[str]] = {}
    for finding in report.active_findings:
        found.setdefault(finding.function_name or "", set()).add(finding.check_id)
    print("\nPlanted problems:")
    missed = 0
    for fn in fleet:
        if not fn.expect:
            continue
        ok = fn.expect <= found.get(fn.name, set())
        missed += not ok
        print(f"  {'found ' if ok else 'MISSED'}  {fn.name:<22} {', '.join(sorted(fn.expect)):<40} {fn.why}")
    quiet = [fn.name for fn in fleet if not fn.expect and found.get(fn.name)]
    print(f"  healthy functions with findings: {', '.join(quiet) if quiet else 'none'}")
    return missed + len(quiet)


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


def _print_report(report: AuditReport, stream: TextIO) -> None:
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


def _progress_bar(stream: TextIO):
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
