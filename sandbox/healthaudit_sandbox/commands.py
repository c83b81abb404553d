"""`healthaudit sandbox` and `healthaudit demo`, added to the CLI through the `healthaudit.commands`
entry points (sandbox/pyproject.toml)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from healthaudit.cli import (
    EXIT_FAILED,
    EXIT_OK,
    parse_timestamp,
    print_report,
    progress_to,
    render_blocks,
    wants_colour,
)
from healthaudit.collect.clients import AwsClients
from healthaudit.collect.metrics import LISTING_DELAY
from healthaudit.config import AuditConfig
from healthaudit.model import AuditReport
from healthaudit.pipeline import audit_and_publish
from healthaudit.publish.digest import build_details, build_digest
from healthaudit.publish.html import render_html
from healthaudit.publish.render import report_json

from .fleet import deploy_bigger_packages, seed_fleet
from .planted_function import PlantedFunction
from .server import Sandbox

DEMO_ACCOUNT = "123456789012"
"""moto's default account: where requests signed with the access key `testing` act."""
DEMO_REGION = "eu-west-1"
DEMO_BUCKET = "healthaudit-demo-reports"


def add_sandbox_command(commands: argparse._SubParsersAction) -> None:
    sandbox = commands.add_parser("sandbox", help="run the embedded AWS emulator on 127.0.0.1 in the foreground")
    sandbox.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000; 0 picks one)")
    sandbox.add_argument(
        "--seed",
        action="store_true",
        help=f"create the demo fleet (functions with known problems, their metrics and logs) in account"
        f" {DEMO_ACCOUNT}, {DEMO_REGION}, where the `testing` credentials act",
    )
    sandbox.set_defaults(command=run_sandbox)


def add_demo_command(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="seed a fleet with known problems in the sandbox and audit it")
    demo.add_argument("--output-dir", default="out", help="where the demo writes its report files")
    demo.add_argument("--at", type=parse_timestamp, help="end of the audit window (ISO 8601; default: 15 minutes ago)")
    demo.set_defaults(command=run_demo)


def run_sandbox(args: argparse.Namespace) -> int:
    with Sandbox(port=args.port) as sandbox:
        if args.seed:
            session = sandbox.session_for_account(DEMO_ACCOUNT, region=DEMO_REGION)
            fleet = seed_fleet(session, datetime.now(timezone.utc))
            print(f"seeded {len(fleet)} functions in account {DEMO_ACCOUNT}, {DEMO_REGION}")
        print(f"sandbox listening on {sandbox.endpoint} (Ctrl-C to stop); in another terminal:")
        print(
            f"  export AWS_ENDPOINT_URL={sandbox.endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
            f" AWS_REGION={DEMO_REGION}"
        )
        print("  healthaudit run")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            sandbox.wait()
    return EXIT_OK


def run_demo(args: argparse.Namespace) -> int:
    # As a schedule 15 minutes or more past the hour audits: ListMetrics lists a new metric up to 15 minutes late.
    at = args.at or datetime.now(timezone.utc) - LISTING_DELAY
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
            AwsClients(session, region=DEMO_REGION), config, at, progress=progress_to(sys.stderr)
        )
    (out / "demo-report.json").write_bytes(report_json(report))
    (out / "demo-report.html").write_text(render_html(report), encoding="utf-8")
    text, blocks = build_digest(report, outcome.report_url)
    thread = [{"text": reply, "blocks": [b.to_dict() for b in replied]} for reply, replied in build_details(report)]
    (out / "demo-slack-digest.json").write_text(
        json.dumps({"text": text, "blocks": [b.to_dict() for b in blocks], "thread": thread}, indent=2)
    )
    print_report(report, sys.stdout, colour=wants_colour(sys.stdout))
    print("\nSlack digest it would post:\n")
    print(render_blocks(blocks))
    missed = _print_planted(report, fleet)
    stored = f"s3://{DEMO_BUCKET}/{outcome.report_key} in the sandbox" if outcome.report_key else "not stored"
    print(f"\nreport: {stored}; {out / 'demo-report.json'} and {out / 'demo-report.html'} here")
    return EXIT_FAILED if missed else EXIT_OK


def _print_planted(report: AuditReport, fleet: list[PlantedFunction]) -> int:
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
