"""The files in events/, as the tests send them: at the time the tests seeded data for."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.clock import at_audit_time

ROOT = Path(__file__).resolve().parents[2]
#: Where the deployed pipeline's tests find the account's latest report (account 300000000001).
LATEST_KEY = "latest/account=300000000001/region=eu-west-1/report.json"


def load_event(name: str) -> dict:
    """An events/ file, at the time the tests seeded data for."""
    return at_audit_time(json.loads((ROOT / "events" / name).read_text()))


def report_created_event(bucket: str, key: str = LATEST_KEY) -> dict:
    """events/s3-report-created.json, for this test's bucket and report."""
    event = load_event("s3-report-created.json")
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"]["key"] = key
    return event
