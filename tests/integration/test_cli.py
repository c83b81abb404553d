"""`healthaudit run` as a pipeline step, against the sandbox's demo fleet over HTTP: what it says before
the audit, what it writes where, and the exit codes a pipeline acts on."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from healthaudit.cli import EXIT_FAILED, EXIT_FINDINGS, EXIT_NOT_DELIVERED, EXIT_OK, EXIT_USAGE, main
from healthaudit_sandbox.fleet import seed_fleet
from healthaudit_sandbox.planted_problems import demo_fleet
from healthaudit_sandbox.proxy import AwsProxy, Fault
from tests.support.clock import AT
from tests.support.deployment import aim_environment_at
from tests.support.slack_server import SlackServer

REGION = "eu-west-1"
ACCOUNT = "300000000014"
TOKEN = "xoxb-test-token"
CHANNEL = "C0123456789"


#: A few of the demo fleet's functions: throttled, erroring and out of memory (high findings), one
#: without tracing (low), one healthy. Seeding all 46 takes minutes on two busy cores.
FUNCTIONS = {
    "checkout-payments",
    "ledger-writer",
    "fraud-scoring",
    "image-thumbnailer",
    "nightly-cleanup",
    "orders-api",
}


@pytest.fixture(scope="module")
def fleet(sandbox):
    """One account with part of the demo fleet, shared by this module's tests (they only read it)."""
    session = sandbox.session_for_account(ACCOUNT, region=REGION)
    chosen = [fn for fn in demo_fleet() if fn.name in FUNCTIONS]
    assert {fn.name for fn in chosen} == FUNCTIONS
    seed_fleet(session, AT, chosen)
    return session


@pytest.fixture
def terminal(sandbox, fleet, monkeypatch):
    """A shell whose credentials and endpoint reach the fleet's account; the region comes from AWS_REGION only."""
    aim_environment_at(fleet, sandbox.endpoint, REGION, monkeypatch)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    return fleet


def run(*argv: str) -> int:
    return main(["run", "--at", AT.isoformat(), *argv])


def test_identity_account_and_region_go_to_stderr_before_the_audit_and_only_the_report_to_stdout(
    terminal, sandbox, capsys
):
    arn = terminal.client("sts").get_caller_identity()["Arn"]
    assert run("--format", "json") == EXIT_OK
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0] == f"healthaudit: auditing account {ACCOUNT} in {REGION} as {arn} (endpoint {sandbox.endpoint})"
    assert "healthaudit: inventory" in captured.err.split(lines[0], 1)[1]  # progress follows the identity
    assert "\r" not in captured.err  # stderr is not a terminal here: plain lines, no redrawn bar
    assert json.loads(captured.out)["account"] == ACCOUNT


class Layout(HTMLParser):
    """The order in which tables and finding cards open in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[tuple[str, set[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = set((dict(attrs).get("class") or "").split())
        if tag == "table" or (tag == "article" and "finding" in classes):
            self.opened.append((tag, classes))


def test_html_output_writes_a_page_whose_triage_table_comes_before_any_finding_card(terminal, tmp_path, capsys):
    page = tmp_path / "report.html"
    assert run("--format", "html", "--output", str(page)) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"wrote the html report to {page}" in captured.err
    layout = Layout()
    layout.feed(page.read_text(encoding="utf-8"))
    tags = [tag for tag, _ in layout.opened]
    assert "article" in tags, "the demo fleet's findings have detail cards"
    first_table = tags.index("table")
    assert first_table < tags.index("article")
    assert "triage" in layout.opened[first_table][1]  # publish/html.py: <table class="triage">


def test_table_shows_every_active_finding_on_a_row_or_in_its_checks_collapsed_row(terminal, tmp_path, capsys):
    table = tmp_path / "report.txt"
    assert run("--output", str(table)) == EXIT_OK
    text = table.read_text(encoding="utf-8")
    assert "\x1b[" not in text  # a file gets no colour
    assert run("--format", "json") == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    active = [f for f in report["findings"] if f["suppressed_by"] is None]
    assert active
    for finding in active:
        on_a_row = any(
            finding["check_id"] in line and (finding["function_name"] or "account") in line
            for line in text.splitlines()
        )
        collapsed = f"{finding['check_id']} on " in text
        assert on_a_row or collapsed, (finding["check_id"], finding["function_name"])
        assert finding["console_url"] in text or collapsed


@pytest.mark.parametrize("fail_on", ["high", "critical"])
def test_fail_on_exits_3_exactly_when_an_active_finding_is_at_or_above_it(terminal, fail_on, capsys):
    code = run("--format", "json", "--fail-on", fail_on)
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    ranks = ["critical", "high", "medium", "low", "info"]
    over = [
        f
        for f in report["findings"]
        if f["suppressed_by"] is None and ranks.index(f["severity"]) <= ranks.index(fail_on)
    ]
    if fail_on == "high":
        assert over, "the chosen functions have high findings (throttles, errors, memory)"
    assert code == (EXIT_FINDINGS if over else EXIT_OK)
    if over:
        assert f"{len(over)} active finding" in captured.err
        assert f"at or above {fail_on} (--fail-on {fail_on}): exit {EXIT_FINDINGS}" in captured.err


@pytest.mark.parametrize(
    "channel, expected, said",
    [(CHANNEL, EXIT_OK, "slack: posted"), ("C0NOSUCH01", EXIT_NOT_DELIVERED, "Slack answered channel_not_found")],
)
def test_a_digest_slack_refuses_exits_4_and_the_output_is_still_written(
    terminal, tmp_path, monkeypatch, capsys, channel, expected, said
):
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    output = tmp_path / "report.json"
    with SlackServer(tokens={TOKEN}, channels={CHANNEL}) as slack:
        code = run(
            "--format", "json", "--output", str(output), "--slack-channel", channel, "--slack-api-url", slack.api_url
        )
        posted = [m for m in slack.messages if not m.get("thread_ts")]
    assert code == expected
    assert said in capsys.readouterr().err
    assert json.loads(output.read_text())["account"] == ACCOUNT
    assert len(posted) == (1 if expected == EXIT_OK else 0)


def test_a_report_s3_refuses_to_store_is_still_written_to_the_output_and_exits_1(terminal, tmp_path, capsys):
    """Nothing computed is lost: the bucket does not exist (S3 answers NoSuchBucket), so the report is not
    stored, and the CLI still writes it where --output says before it fails."""
    output = tmp_path / "report.json"
    code = run("--format", "json", "--output", str(output), "--bucket", "no-such-healthaudit-bucket")
    err = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert "the report was computed but not stored in s3://no-such-healthaudit-bucket" in err
    assert "NoSuchBucket" in err
    assert json.loads(output.read_text())["account"] == ACCOUNT


def test_no_region_exits_2_naming_the_flag_and_variable_before_any_aws_call(
    terminal, sandbox, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    with AwsProxy(sandbox.endpoint) as proxy:
        assert run("--endpoint-url", proxy.endpoint) == EXIT_USAGE
        asked = sum(proxy.calls.values())
    err = capsys.readouterr().err
    assert "--region" in err and "AWS_REGION" in err
    assert asked == 0


def test_a_throttled_identity_call_is_retried_once_on_stderr_then_fails_naming_the_error(terminal, sandbox, capsys):
    """STS throttling is retryable in botocore's standard mode; the identity call makes two attempts."""
    with AwsProxy(sandbox.endpoint, [Fault("GetCallerIdentity", code="Throttling", status=400)]) as proxy:
        assert run("--endpoint-url", proxy.endpoint) == EXIT_FAILED
        attempts = proxy.calls["GetCallerIdentity"]
    err = capsys.readouterr().err
    assert attempts == 2
    assert "healthaudit: retrying GetCallerIdentity (attempt 2) after Throttling (HTTP 400)" in err
    assert "sts:GetCallerIdentity failed with Throttling" in err
