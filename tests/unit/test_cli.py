"""`healthaudit` as a pipeline step: options, exit codes, what goes to stdout and stderr, did-you-mean.

Reports are built in memory; the only network here is a refused connection on a loopback port nobody
listens on (botocore's standard retry mode retries it once, as the identity call's config asks).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import socket
from datetime import datetime, timedelta, timezone

import pytest

from healthaudit.cli import EXIT_FAILED, EXIT_FINDINGS, EXIT_NOT_DELIVERED, EXIT_OK, EXIT_USAGE, main
from healthaudit.cli.exit_codes import EXIT_CODES_HELP
from healthaudit.cli.markdown import report_markdown
from healthaudit.cli.parser import build_parser
from healthaudit.cli.progress import ProgressBar, ProgressLines, progress_to
from healthaudit.cli.run import IDENTITY_CONFIG, exit_code, region_to_audit, render_output
from healthaudit.cli.terminal import print_report, triage_lines, wants_colour
from healthaudit.config import ConfigError, Thresholds, load_config
from healthaudit.model import AuditReport, AuditWindow, Finding, Severity

WINDOW = AuditWindow.ending_at(datetime(2026, 11, 28, 6, tzinfo=timezone.utc))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def finding(
    check_id: str = "throttled",
    severity: Severity = Severity.HIGH,
    function: str = "orders-api",
    status: str = "new",
    days_ago: int = 0,
    suppressed_by: str | None = None,
    message: str = "1,200 of 48,024 invocations throttled",
) -> Finding:
    first_seen = (WINDOW.end - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Finding(
        check_id=check_id,
        title=check_id,
        severity=severity,
        account="123456789012",
        region="eu-west-1",
        message=message,
        remediation="Fix it.",
        docs="https://docs.aws.amazon.com/lambda/",
        function_name=function,
        function_arn=f"arn:aws:lambda:eu-west-1:123456789012:function:{function}",
        suppressed_by=suppressed_by,
        status=status,
        first_seen=first_seen,
    )


def report(*findings: Finding) -> AuditReport:
    return AuditReport(
        account="123456789012",
        region="eu-west-1",
        window=WINDOW,
        functions_audited=5,
        functions=(),
        findings=findings,
        coverage_gaps=(),
        api_calls={"ListFunctions": 1},
        metric_queries={},
    )


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# -- the command line ----------------------------------------------------------------------------


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_and_every_option_has_help_text():
    parser = build_parser()
    commands = subcommands(parser)
    assert {"run", "checks", "sandbox", "demo"} <= set(commands)
    listed = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert all(choice.help for choice in listed._choices_actions), "a command without help"
    for name, command in commands.items():
        for action in command._actions:
            assert action.help and action.help != argparse.SUPPRESS, f"{name} {action.option_strings}: no help"


def test_run_help_lists_the_exit_codes():
    text = subcommands(build_parser())["run"].format_help()
    assert EXIT_CODES_HELP in text
    for code in (EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FINDINGS, EXIT_NOT_DELIVERED):
        assert re.search(rf"^\s+{code}\s+\S", text, re.M), code


def test_findings_and_a_failed_digest_have_exit_codes_of_their_own():
    assert len({EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FINDINGS, EXIT_NOT_DELIVERED}) == 5
    assert EXIT_FINDINGS not in (1, 2) and EXIT_NOT_DELIVERED not in (1, 2)


@pytest.mark.parametrize("output_format", ["table", "json", "html", "markdown"])
@pytest.mark.parametrize("fail_on", ["critical", "high", "medium", "low"])
def test_run_takes_each_format_and_each_fail_on_severity(output_format, fail_on):
    args = build_parser().parse_args(["run", "--format", output_format, "--fail-on", fail_on, "--output", "r.out"])
    assert (args.format, args.fail_on, args.output) == (output_format, fail_on, "r.out")


@pytest.mark.parametrize(
    "argv", [["run", "--fail-on", "info"], ["run", "--fail-on", "severe"], ["run", "--format", "pdf"]]
)
def test_run_refuses_values_outside_its_choices(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    assert exit_.value.code == EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err


# -- exit codes from a report in memory -----------------------------------------------------------


@pytest.mark.parametrize(
    "findings, slack, fail_on, expected",
    [
        ((), "not configured", Severity.HIGH, EXIT_OK),
        ((finding(severity=Severity.MEDIUM),), "not configured", Severity.HIGH, EXIT_OK),  # just below
        ((finding(severity=Severity.HIGH),), "not configured", Severity.HIGH, EXIT_FINDINGS),  # at
        ((finding(severity=Severity.CRITICAL),), "not configured", Severity.HIGH, EXIT_FINDINGS),  # above
        ((finding(severity=Severity.LOW),), "not configured", Severity.LOW, EXIT_FINDINGS),
        ((finding(severity=Severity.INFO),), "not configured", Severity.LOW, EXIT_OK),
        ((finding(severity=Severity.HIGH, suppressed_by="tag healthaudit:suppress=all"),), "posted", Severity.LOW, 0),
        ((finding(severity=Severity.HIGH, status="ongoing", days_ago=3),), "posted", Severity.HIGH, EXIT_FINDINGS),
        ((finding(severity=Severity.CRITICAL),), "posted", None, EXIT_OK),  # no --fail-on: findings never fail
        ((), "failed: Slack answered channel_not_found", None, EXIT_NOT_DELIVERED),
        ((finding(),), "failed: Slack answered invalid_auth", Severity.HIGH, EXIT_NOT_DELIVERED),  # wins over 3
        ((), "skipped: all healthy and post_when_healthy is off", None, EXIT_OK),
    ],
)
def test_exit_code_follows_fail_on_and_the_digest(findings, slack, fail_on, expected):
    assert exit_code(report(*findings), slack, fail_on) == expected


# -- region, credentials and reachability, before any audit ---------------------------------------


@pytest.mark.parametrize(
    "flag, environ, session_region, expected",
    [
        ("us-east-1", {"AWS_REGION": "eu-west-1"}, "eu-central-1", "us-east-1"),
        (None, {"AWS_REGION": "eu-west-1"}, "eu-central-1", "eu-west-1"),  # botocore reads only AWS_DEFAULT_REGION
        (None, {}, "eu-central-1", "eu-central-1"),
        (None, {"AWS_REGION": ""}, None, None),
        (None, {}, None, None),
    ],
)
def test_region_comes_from_the_flag_then_aws_region_then_the_session(flag, environ, session_region, expected):
    assert region_to_audit(flag, session_region, environ) == expected


def test_no_region_exits_2_naming_the_flag_and_the_variable(monkeypatch, tmp_path, capsys):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    assert main(["run"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--region" in err and "AWS_REGION" in err


def test_an_unknown_profile_exits_2_naming_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    assert main(["run", "--profile", "nope-4b1c", "--region", "eu-west-1"]) == EXIT_USAGE
    assert "--profile nope-4b1c" in capsys.readouterr().err


def closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_endpoint_fails_after_botocores_two_standard_attempts_naming_it(capsys):
    assert IDENTITY_CONFIG.retries == {"mode": "standard", "total_max_attempts": 2}
    assert IDENTITY_CONFIG.connect_timeout <= 3
    endpoint = f"http://127.0.0.1:{closed_loopback_port()}"
    assert main(["run", "--region", "eu-west-1", "--endpoint-url", endpoint]) == EXIT_FAILED
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"cannot reach AWS at {endpoint}" in captured.err and "EndpointConnectionError" in captured.err
    retries = [line for line in captured.err.splitlines() if "retrying" in line]
    assert retries == ["healthaudit: retrying GetCallerIdentity (attempt 2) after EndpointConnectionError"]


def test_an_output_file_in_a_missing_directory_is_refused_before_any_call(tmp_path, capsys):
    missing = tmp_path / "no-such-dir" / "report.html"
    argv = ["run", "--region", "eu-west-1", "--endpoint-url", "http://127.0.0.1:9", "--output", str(missing)]
    assert main(argv) == EXIT_USAGE
    assert "its directory does not exist" in capsys.readouterr().err


# -- did you mean ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document, suggestion",
    [
        ({"treshold": {}}, "did you mean 'thresholds'?"),
        ({"tresholds": {}}, "did you mean 'thresholds'?"),
        ({"thresholds": {"max_throtle_rate": 0.1}}, "did you mean 'max_throttle_rate'?"),
        ({"disabled_checks": ["throttle"]}, "did you mean 'throttled'?"),
        ({"suppressions": [{"check": "tracing-disable"}]}, "did you mean 'tracing-disabled'?"),
        ({"slack": {"chanel": "C0123456789"}}, "did you mean 'channel'?"),
        ({"window": {"hour": 24}}, "did you mean 'hours'?"),
    ],
)
def test_unknown_keys_and_check_ids_suggest_the_closest(document, suggestion):
    with pytest.raises(ConfigError) as error:
        load_config(document)
    assert suggestion in str(error.value) and "expected one of" in str(error.value)


@pytest.mark.parametrize("document", [{"zzzz": 1}, {"disabled_checks": ["qqqq-xxxx"]}])
def test_nothing_close_suggests_nothing(document):
    with pytest.raises(ConfigError) as error:
        load_config(document)
    assert "did you mean" not in str(error.value)


def test_a_threshold_tag_with_a_typo_suggests_the_threshold():
    _, notes = Thresholds().overridden_by_tags({"healthaudit:max_error_rat": "0.2"})
    assert notes and "did you mean 'max_error_rate'?" in notes[0]


def test_the_cli_passes_the_suggestion_on_and_exits_2(tmp_path, capsys):
    config = tmp_path / "audit.yaml"
    config.write_text("treshold:\n  max_throttle_rate: 0.02\n")
    assert main(["run", "--region", "eu-west-1", "--config", str(config)]) == EXIT_USAGE
    assert "did you mean 'thresholds'?" in capsys.readouterr().err


# -- the table -------------------------------------------------------------------------------------

MIXED = (
    finding("memory-near-limit", Severity.HIGH, "billing", status="ongoing", days_ago=3),
    finding("tracing-disabled", Severity.LOW, "audit-trail"),
    finding("throttled", Severity.HIGH, "orders-api"),
    finding("cold-start-regression", Severity.MEDIUM, "checkout"),
)


def test_rows_follow_the_html_triage_severity_then_new_before_ongoing():
    ordered = [(row.check_id, status, where) for row, status, where in triage_lines(report(*MIXED))]
    assert ordered == [
        ("throttled", "new", "orders-api"),
        ("memory-near-limit", "ongoing 3d", "billing"),
        ("cold-start-regression", "new", "checkout"),
        ("tracing-disabled", "new", "audit-trail"),
    ]


def test_a_check_on_more_than_ten_functions_is_one_row_naming_a_few_and_linking_the_list():
    many = [finding("tracing-disabled", Severity.LOW, f"fn-{i:02d}") for i in range(11)]
    out = io.StringIO()
    print_report(report(finding(), *many), out)
    lines = out.getvalue().splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("low"))
    assert lines[row].split()[:4] == ["low", "11", "new", "11"]
    assert lines[row].endswith("tracing-disabled on 11 functions")
    assert lines[row + 1].strip() == "fn-00, fn-01, fn-02, fn-03, fn-04 and 6 more"
    assert lines[row + 2].strip().endswith("/lambda/home?region=eu-west-1#/functions")
    assert sum(1 for line in lines if line.startswith("low")) == 1


def test_table_shows_new_or_ongoing_with_days_open_and_a_console_link_under_each_row():
    out = io.StringIO()
    print_report(report(*MIXED), out, colour=False)
    text = out.getvalue()
    assert not ANSI.search(text)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("SEVERITY"))
    assert lines[header].split() == ["SEVERITY", "STATUS", "FUNCTION", "CHECK", "WHAT"]
    rows = lines[header + 1 :: 2][:4]
    links = lines[header + 2 :: 2][:4]
    assert rows[0].split()[:4] == ["high", "new", "orders-api", "throttled"]
    assert rows[1].split()[:5] == ["high", "ongoing", "3d", "billing", "memory-near-limit"]
    assert links[0].strip() == MIXED[2].console_url and links[0].startswith(" ")
    assert "Findings: 2 high, 1 medium, 1 low (3 new, 1 ongoing)" in text


def test_table_is_coloured_only_when_asked():
    out = io.StringIO()
    print_report(report(*MIXED), out, colour=True)
    coloured = out.getvalue()
    assert "\x1b[1;31mhigh" in coloured
    plain = io.StringIO()
    print_report(report(*MIXED), plain, colour=False)
    assert ANSI.sub("", coloured) == plain.getvalue()


@pytest.mark.parametrize(
    "stream, environ, expected",
    [
        (Terminal(), {}, True),
        (Terminal(), {"NO_COLOR": "1"}, False),
        (Terminal(), {"NO_COLOR": ""}, True),  # no-color.org: only a non-empty value turns colour off
        (Terminal(), {"TERM": "dumb"}, False),
        (io.StringIO(), {}, False),
    ],
)
def test_colour_on_a_terminal_unless_no_color(stream, environ, expected):
    assert wants_colour(stream, environ) is expected


def test_every_format_renders_a_report_in_memory():
    shown = report(*MIXED)
    assert json.loads(render_output(shown, "json"))["functions_audited"] == 5
    assert "<html" in render_output(shown, "html").lower()
    assert "orders-api" in render_output(shown, "table")
    assert render_output(shown, "markdown").startswith("## Lambda health audit: 123456789012 eu-west-1")


def test_markdown_is_a_table_worst_first_that_hostile_text_cannot_break():
    hostile = finding("error-rate-high", Severity.HIGH, "api", message="a | b <img src=x> `x` **y**")
    text = report_markdown(report(finding("tracing-disabled", Severity.LOW, "fn"), hostile))
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert rows[0].startswith("| high | new | [api](https://eu-west-1.console.aws.amazon.com/")
    assert rows[1].startswith("| low | new | [fn](")
    assert rows[0].count(" | ") == 4  # the message's pipe is escaped, not a sixth column
    assert "<img" not in text and "&lt;img" in text


# -- progress on stderr ----------------------------------------------------------------------------


def test_progress_off_a_terminal_is_plain_lines_at_each_quarter():
    stream = io.StringIO()
    progress = progress_to(stream)
    assert isinstance(progress, ProgressLines)
    progress("inventory", 46, 46)
    for done in range(0, 9):
        progress("metrics", done, 8)
    progress("metrics", 8, 8)  # repeated: no new line
    text = stream.getvalue()
    assert "\r" not in text
    assert text.splitlines() == [
        "healthaudit: inventory 46/46",
        "healthaudit: metrics 0/8",
        "healthaudit: metrics 2/8",
        "healthaudit: metrics 4/8",
        "healthaudit: metrics 6/8",
        "healthaudit: metrics 8/8",
    ]


def test_progress_on_a_terminal_is_one_redrawn_bar():
    stream = Terminal()
    progress = progress_to(stream)
    assert isinstance(progress, ProgressBar)
    progress("metrics", 1, 2)
    progress("metrics", 2, 2)
    assert stream.getvalue().count("\r") == 2 and stream.getvalue().endswith("2/2\n")
