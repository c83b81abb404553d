"""The Slack digests, rendered (no server): the short main message, its thread, the run's digest at
organization scale, and the report link that must still work next week."""

from __future__ import annotations

import colorsys
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from healthaudit.config import ConfigError, load_config
from healthaudit.model import (
    AuditReport,
    AuditWindow,
    ConsolidatedReport,
    CoverageGap,
    DataSource,
    Finding,
    FindingBrief,
    Severity,
    TargetAudited,
    TargetNotAudited,
)
from healthaudit.publish import digest
from healthaudit.publish.digest import (
    MAIN_MESSAGE_CHARS,
    MAX_DETAIL_MESSAGES,
    SEVERITY_MARKS,
    block_texts,
    build_details,
    build_digest,
    build_grouped_digest,
    failure_reason,
    message_chars,
)
from healthaudit.publish.html import render_html
from healthaudit.publish.s3 import report_link

ACCOUNT, REGION = "123456789012", "eu-west-1"
WINDOW = AuditWindow.ending_at(datetime(2024, 5, 2, 6, 30, tzinfo=UTC))
REPORT_URL = report_link(
    "audit-bucket", "reports/dt=2024-05-02/account=123456789012/region=eu-west-1/report.html", REGION
)
LONGEST_NAME = "f" * 64  # Lambda's longest function name


def finding(
    function: str | None = "orders-api",
    severity: Severity = Severity.HIGH,
    check_id: str = "throttled",
    message: str = "12 of 1000 invocations throttled",
    status: str = "new",
) -> Finding:
    return Finding(
        check_id=check_id,
        title=f"Title of {check_id}",
        severity=severity,
        account=ACCOUNT,
        region=REGION,
        message=message,
        remediation=f"Remedy for {check_id}.",
        docs="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",
        function_name=function,
        function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}" if function else None,
        status=status,
    )


def report(findings=(), functions_audited: int = 42, gaps: int = 0, previous: str | None = None) -> AuditReport:
    return AuditReport(
        account=ACCOUNT,
        region=REGION,
        window=WINDOW,
        functions_audited=functions_audited,
        functions=(),
        findings=tuple(findings),
        coverage_gaps=tuple(CoverageGap(DataSource.METRICS, "throttled", f"fn-{i}") for i in range(gaps)),
        api_calls={},
        metric_queries={},
        previous_report=previous,
    )


def finding_lines(blocks) -> list[str]:
    """The main message's finding lines: those that start with a severity mark."""
    marks = tuple(SEVERITY_MARKS.values())
    return [line for text in block_texts(blocks) for line in text.split("\n") if line.startswith(marks)]


def as_payload(blocks) -> list[dict]:
    return [block.to_dict() for block in blocks]  # to_dict runs slack-sdk's own Block Kit checks


def assert_within_block_kit(blocks) -> None:
    payload = as_payload(blocks)
    assert len(payload) <= 50
    for block in payload:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150


def huge_report(n: int = 500) -> AuditReport:
    severities = list(Severity)
    return report(
        [
            finding(
                f"{LONGEST_NAME[:60]}{i:04d}",
                severities[i % 5],
                check_id=f"check-{i % 7}",
                message=("word " * 700).strip() + f" #{i}",
            )
            for i in range(n)
        ],
        functions_audited=n,
        gaps=2,
        previous="reports/dt=2024-05-01/account=123456789012/region=eu-west-1/report.json",
    )


# -- the main message --------------------------------------------------------------------------------


def test_main_message_has_the_counts_in_its_header_and_one_line_per_finding_worst_first():
    text, blocks = build_digest(
        report(
            [
                finding("logger", Severity.LOW, "tracing-disabled", status="ongoing"),
                finding("orders-api", Severity.HIGH, "throttled", status="ongoing"),
                finding("payments", Severity.CRITICAL, "async-events-dropped"),
                finding("reports", Severity.MEDIUM, "duration-near-timeout"),
                finding("ledger", Severity.HIGH, "error-rate-high"),
            ],
            previous="reports/dt=2024-05-01/account=123456789012/region=eu-west-1/report.json",
        ),
        REPORT_URL,
    )
    payload = as_payload(blocks)

    assert payload[0]["type"] == "header"
    assert payload[0]["text"]["text"] == "Lambda health audit: 🟥 1 critical · 🔴 2 high · 🟠 1 medium · 🔵 1 low"
    lines = finding_lines(blocks)
    # Severity first, then new before ongoing: the new HIGH above the ongoing one.
    assert [re.search(r"\|([^>]+)>", line).group(1) for line in lines] == [
        "payments",
        "ledger",
        "orders-api",
        "reports",
        "logger",
    ]
    console = "https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1#/functions/payments?tab=monitoring"
    assert lines[0] == f"🟥 *CRITICAL* <{console}|payments>: 12 of 1000 invocations throttled · _new_"
    assert lines[2].endswith("throttled") and "_new_" not in lines[2]  # ongoing: no mark
    assert "Fix" not in str(payload) and "Remedy" not in str(payload)  # fixes live in the thread
    assert block_texts(blocks)[-1] == f"<{REPORT_URL.replace('&', '&amp;')}|Full report>"
    assert text == (
        "Lambda health audit 123456789012 eu-west-1: 5 findings (1 critical, 2 high, 1 medium, 1 low) in 42 functions"
    )


@pytest.mark.parametrize(
    "findings, max_findings, lines, more",
    [
        (1, 10, 1, None),
        (9, 10, 9, None),
        (10, 10, 10, None),
        (11, 10, 10, "…and 1 more finding in the thread"),
        (12, 10, 10, "…and 2 more findings in the thread"),
        (5, 1, 1, "…and 4 more findings in the thread"),
    ],
)
def test_at_most_max_findings_lines_and_the_rest_counted(findings, max_findings, lines, more):
    short = [finding(f"fn{i}", message="throttled") for i in range(findings)]
    _, blocks = build_digest(report(short), None, max_findings=max_findings)
    assert len(finding_lines(blocks)) == lines
    footer = [text for text in block_texts(blocks) if text.startswith("…and")]
    assert footer == ([more] if more else [])


@pytest.mark.parametrize("max_findings", [1, 10, 40])
def test_a_huge_report_keeps_the_main_message_within_its_budget(max_findings):
    big = huge_report()
    _, blocks = build_digest(big, REPORT_URL, max_findings=max_findings)

    assert message_chars(blocks) <= MAIN_MESSAGE_CHARS
    assert_within_block_kit(blocks)
    lines = finding_lines(blocks)
    assert 1 <= len(lines) <= max_findings
    assert all(line.startswith("🟥 *CRITICAL*") for line in lines)  # 100 critical ones: the worst come first
    assert f"…and {500 - len(lines)} more findings in the thread" in block_texts(blocks)[-1]
    assert "2 coverage gaps: unknown, not healthy" in block_texts(blocks)[1]


def test_a_long_message_is_shortened_at_a_word_boundary_in_the_main_message():
    message = " ".join(f"w{i}x" for i in range(1000))
    (line,) = finding_lines(build_digest(report([finding(message=message)]), None)[1])
    kept = line.split("|orders-api>: ", 1)[1].removesuffix("…")
    assert len(kept) < digest.LINE_MESSAGE_CHARS and message.startswith(kept) and message[len(kept)] == " "


def test_webhook_mode_gets_the_compact_list_and_points_at_the_report():
    many = [finding(f"fn{i}") for i in range(15)]
    _, threaded = build_digest(report(many), REPORT_URL)
    _, webhook = build_digest(report(many), REPORT_URL, details_in_thread=False)
    assert finding_lines(webhook) == finding_lines(threaded)
    assert block_texts(webhook)[-1].startswith("…and 5 more findings in the full report · <https://")


def test_new_is_marked_only_when_there_is_a_previous_report_to_be_new_against():
    first = build_digest(report([finding()]), None)[1]
    second = build_digest(report([finding()], previous="reports/dt=2024-05-01/x/report.json"), None)[1]
    assert "_new_" not in finding_lines(first)[0] and "first audit" in block_texts(first)[1]
    assert finding_lines(second)[0].endswith(" · _new_") and "1 new" in block_texts(second)[1]


def test_hostile_names_are_escaped_in_every_line():
    _, blocks = build_digest(report([finding("<!channel>", message="<@U0123ABCD> & co")]), None)
    (line,) = finding_lines(blocks)
    assert "&lt;!channel&gt;" in line and "&lt;@U0123ABCD&gt; &amp; co" in line and "<!channel>" not in line


# -- the colours are the HTML report's ---------------------------------------------------------------

# The emoji's own colours (Unicode's reference glyphs as Slack draws them, Twemoji).
EMOJI_COLOURS = {"🟥": "#dd2e44", "🔴": "#dd2e44", "🟠": "#f4900c", "🔵": "#55acee", "⚪": "#e6e7e8"}


def _hue_saturation(hex_colour: str) -> tuple[float, float]:
    red, green, blue = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, _, saturation = colorsys.rgb_to_hls(red, green, blue)
    return hue * 360, saturation


@pytest.mark.parametrize("severity", list(Severity))
def test_each_severity_mark_has_the_hue_of_the_html_reports_colour(severity):
    page = render_html(report([finding()]))  # the colours the HTML report's stylesheet gives each severity
    css = dict(re.findall(r"--(critical|high|medium|low|info):\s*(#[0-9a-fA-F]{6})", page))
    html_hue, html_saturation = _hue_saturation(css[severity.value])
    mark_hue, mark_saturation = _hue_saturation(EMOJI_COLOURS[SEVERITY_MARKS[severity]])
    if html_saturation < 0.25:  # slate grey: a colourless mark
        assert mark_saturation < 0.25
    else:
        assert min(abs(html_hue - mark_hue), 360 - abs(html_hue - mark_hue)) <= 25


# -- the thread ----------------------------------------------------------------------------------------


def test_thread_lists_every_finding_with_its_link_and_each_fix_once():
    findings = [finding(f"fn-{i:02d}", Severity.LOW, "tracing-disabled") for i in range(30)]
    findings += [finding("orders-api", Severity.HIGH, "throttled"), finding("ledger", Severity.HIGH, "throttled")]
    (message,) = build_details(report(findings), REPORT_URL)
    text, blocks = message
    body = "\n".join(block_texts(blocks))

    assert text == "All 32 findings, with fixes"
    assert body.count("_Fix:_ Remedy for throttled.") == 1 and body.count("_Fix:_ Remedy for tracing-disabled.") == 1
    assert body.index("Remedy for throttled") < body.index("Remedy for tracing-disabled")  # worst check first
    assert "`throttled` · 2 functions" in body and "`tracing-disabled` · 30 functions" in body
    for f in findings:
        assert f"|{f.function_name}>: " in body
    assert_within_block_kit(blocks)


def test_thread_of_a_huge_report_is_split_into_replies_within_block_kit_and_counts_the_rest():
    big = huge_report(5000)
    messages = build_details(big, REPORT_URL)

    assert 1 < len(messages) <= MAX_DETAIL_MESSAGES
    listed = 0
    for _, blocks in messages:
        assert_within_block_kit(blocks)
        listed += sum(len(re.findall(r"^[🟥🔴🟠🔵⚪] ", t, re.M)) for t in block_texts(blocks))
    assert 0 < listed < 5000
    assert block_texts(messages[-1][1])[-1].startswith(f"…and {5000 - listed:,} more findings in the full report")
    assert messages[0][0] == f"All 5,000 findings, with fixes (1 of {len(messages)})"


def test_thread_lists_what_was_resolved():
    fixed = replace(finding("fixed-fn"), status="resolved")
    audited = replace(report([finding("new-fn")], previous="reports/x/report.json"), resolved=(fixed,))
    ((_, blocks),) = build_details(audited)
    assert "✅ *Resolved since the previous audit (1)*\n• `throttled` on <" in "\n".join(block_texts(blocks))


# -- the report link -------------------------------------------------------------------------------------


def test_the_report_link_is_the_s3_console_page_of_the_object_never_a_presigned_url():
    key = "manual/dt=2024-05-02/account=123456789012/region=eu-west-1/run 1/report.html"
    url = report_link("audit-bucket", key, "eu-west-1")
    assert url == (
        "https://eu-west-1.console.aws.amazon.com/s3/object/audit-bucket?region=eu-west-1"
        "&prefix=manual/dt%3D2024-05-02/account%3D123456789012/region%3Deu-west-1/run%201/report.html"
    )
    assert "X-Amz-" not in url and "Expires" not in url


def test_a_configured_viewer_url_takes_the_bucket_key_and_region():
    config = load_config(
        {"report": {"bucket": "b", "viewer_url": "https://reports.example.com/{region}/{bucket}/{key}"}}
    )
    assert report_link("b", "reports/dt=2024-05-02/report.html", "eu-west-1", config.report_viewer_url) == (
        "https://reports.example.com/eu-west-1/b/reports/dt%3D2024-05-02/report.html"
    )


@pytest.mark.parametrize(
    "viewer_url, says",
    [
        ("https://reports.example.com/view", "expected an https URL with a {key} placeholder"),
        ("http://reports.example.com/{key}", "expected an https URL"),
        ("https:///{key}", "expected an https URL"),
        ("https://user@reports.example.com/{key}", "expected an https URL"),
        ("https://reports.example.com/{key}/{account}", "expected only the placeholders"),
        ("https://reports.example.com/{key!r}", "expected only the placeholders"),
        ("https://reports.example.com/{key:>9}", "expected only the placeholders"),
        ("https://reports.example.com/{key", "unbalanced braces"),
        (42, "expected a string"),
    ],
)
def test_viewer_url_is_validated_naming_the_field(viewer_url, says):
    with pytest.raises(ConfigError, match=re.escape("config.report.viewer_url: got")) as refused:
        load_config({"report": {"viewer_url": viewer_url}})
    assert says in str(refused.value)


def test_report_link_hours_is_refused_now_that_links_do_not_expire():
    with pytest.raises(ConfigError, match=r"config\.slack\.report_link_hours: no longer used"):
        load_config({"slack": {"channel": "C0123456789", "report_link_hours": 24}})


# -- the run's digest at organization scale -------------------------------------------------------------

ROLE_DENIED = (
    "AssumeRoleFailed: cannot assume arn:aws:iam::{account}:role/healthaudit-member-audit: AccessDenied: User:"
    " arn:aws:sts::333333333333:assumed-role/lambda-health-auditor-AuditFunctionRole/lambda-health-auditor-Audit"
    " is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{account}:role/healthaudit-member-audit"
)
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-2", "sa-east-1")
CHECK_COUNTS = {"tracing-disabled": 2, "log-retention-unset": 1, "throttled": 1}  # per audited target


def organization(accounts: int = 1000) -> ConsolidatedReport:
    """accounts × 4 Regions; 30 % of the accounts lack the member role, 10 targets time out."""
    targets, failures = [], []
    for index in range(accounts):
        account = f"{100000000000 + index:012d}"
        for region in REGIONS:
            if index % 10 < 3:
                failures.append(TargetNotAudited(account, region, ROLE_DENIED.format(account=account)))
                continue
            if index % 100 == 3 and region == "sa-east-1":
                failures.append(TargetNotAudited(account, region, f"States.Timeout: timed out after {index}.5 s"))
                continue
            worst = [FindingBrief(Severity.LOW, "tracing-disabled", "X-Ray active tracing is off", "fn-a", "ongoing")]
            if index == 505 and region == "us-east-1":
                worst.insert(0, FindingBrief(Severity.CRITICAL, "async-events-dropped", "Events lost", "pay", "new"))
            targets.append(
                TargetAudited(
                    account=account,
                    region=region,
                    report_key=f"reports/dt=2024-05-02/account={account}/region={region}/report.json",
                    functions_audited=30,
                    findings=sum(CHECK_COUNTS.values()),
                    counts_by_severity={Severity.LOW: 3, Severity.HIGH: 1},
                    coverage_gaps=0,
                    worst_findings=tuple(worst),
                    counts_by_check=CHECK_COUNTS,
                )
            )
    return ConsolidatedReport(window_end=WINDOW.end, targets=tuple(targets), not_audited=tuple(failures))


def test_the_digest_of_4000_targets_fits_the_main_message_budget_and_says_what_matters():
    run = organization()
    assert (run.targets_audited, run.targets_not_audited) == (2790, 1210)
    url = report_link("audit-bucket", "reports/dt=2024-05-02/consolidated/report.json", REGION)

    text, blocks = build_grouped_digest(run, url)

    assert message_chars(blocks) <= MAIN_MESSAGE_CHARS
    assert_within_block_kit(blocks)
    header, facts, *sections, footer = block_texts(blocks)
    assert header == "Lambda health audit: 1,000 accounts · 🔴 2,790 high · 🔵 8,370 low"
    assert "2,790 of 4,000 targets audited · 83,700 functions · ⚠️ 1,210 not audited" in facts
    worst, per_check, not_audited = sections
    # The worst first; a check found everywhere is one line, with an example and a count.
    assert worst.split("\n")[1:] == [
        "🟥 *CRITICAL* pay: Events lost · 100000000505 us-east-1 · _new_",
        "🔵 *LOW* fn-a: X-Ray active tracing is off · 100000000003 ap-southeast-2 and 2,789 more like it",
    ]
    assert (
        "`tracing-disabled` *5,580*: eu-west-1 1,400 · us-east-1 1,400 · ap-southeast-2 1,400 · +1 Region" in per_check
    )
    assert "`log-retention-unset` *2,790*" in per_check and "`throttled` *2,790*" in per_check
    assert "All checks: eu-west-1 2,800 · us-east-1 2,800 · ap-southeast-2 2,800 · sa-east-1 2,760" in per_check
    denied, timed_out = not_audited.split("\n")[1:]
    assert denied.startswith("*1,200 targets*: AssumeRoleFailed: cannot assume arn:…: AccessDenied")
    assert denied.endswith(
        "(100000000000 eu-west-1, 100000000000 us-east-1, 100000000000 ap-southeast-2 and 1,197 more)"
    )
    assert timed_out.startswith("*10 targets*: States.Timeout: timed out after … s (")
    assert footer == f"<{url.replace('&', '&amp;')}|Consolidated report>"
    assert "1,210 not audited" in text


def test_a_small_run_shows_every_check_and_reason():
    run = organization(accounts=4)
    _, blocks = build_grouped_digest(run, None)
    body = "\n".join(block_texts(blocks))
    assert "more checks" not in body and "other reasons" not in body
    assert "*12 targets*: AssumeRoleFailed" in body and "100000000003 eu-west-1" not in body.split("Not audited")[1]


def test_a_run_with_every_target_audited_has_no_not_audited_section():
    run = replace(organization(accounts=10), not_audited=())
    body = "\n".join(block_texts(build_grouped_digest(run, None)[1]))
    assert "Not audited" not in body and "not audited" not in body


@pytest.mark.parametrize(
    "one, other, same",
    [
        (ROLE_DENIED.format(account="111111111111"), ROLE_DENIED.format(account="222222222222"), True),
        ("States.Timeout: timed out after 900.05 s", "States.Timeout: timed out after 12 s", True),
        ("report reports/dt=2024-05-02/account=1/region=x/report.json not found", "report a/b/c.json not found", True),
        ("States.Timeout", "States.TaskFailed", False),
        (ROLE_DENIED.format(account="111111111111"), ROLE_DENIED.replace("AccessDenied", "RegionDisabled"), False),
    ],
)
def test_failure_reason_drops_what_differs_from_target_to_target(one, other, same):
    assert (failure_reason(one) == failure_reason(other)) is same
    assert not re.search(r"\d{12}", failure_reason(one))
