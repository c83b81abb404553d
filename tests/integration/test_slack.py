"""The Slack digest, built from real reports and posted by real slack-sdk to a local Slack server."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities import parameters
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from healthaudit.config import AuditConfig, SlackConfig
from healthaudit.model import AuditReport, AuditWindow, CoverageGap, DataSource, Finding, Severity
from healthaudit.publish.digest import (
    MAIN_MESSAGE_CHARS,
    SEVERITY_MARKS,
    block_texts,
    build_details,
    build_digest,
    message_chars,
    shorten,
)
from healthaudit.publish.outcome import post_report_digest
from healthaudit.publish.slack import (
    SlackConfigError,
    checked_webhook_url,
    post_digest,
    post_message,
    post_to_webhook,
    resolve_token,
    retry_after_seconds,
    slack_api_url,
    slack_client,
)
from tests.support.slack_server import RESPONSE_URL_SECONDS, RESPONSE_URL_USES, SlackServer

TOKEN = "xoxb-1111-2222-s3cr3t-t0ken"
CHANNEL = "C0123456789"
WINDOW = AuditWindow.ending_at(datetime(2024, 5, 2, 6, 30, tzinfo=UTC))
REPORT_URL = "https://reports.example.com/123456789012/eu-west-1/2024-05-02.html"


def finding(
    function: str | None = "orders-api",
    severity: Severity = Severity.HIGH,
    check_id: str = "throttled",
    message: str = "12 of 1000 invocations throttled",
    suppressed_by: str | None = None,
) -> Finding:
    return Finding(
        check_id=check_id,
        title=f"Title of {check_id}",
        severity=severity,
        account="123456789012",
        region="eu-west-1",
        message=message,
        remediation=f"Remedy for {check_id}.",
        docs="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",
        function_name=function,
        function_arn=f"arn:aws:lambda:eu-west-1:123456789012:function:{function}" if function else None,
        suppressed_by=suppressed_by,
    )


def report(findings=(), functions_audited: int = 42, gaps: int = 0) -> AuditReport:
    return AuditReport(
        account="123456789012",
        region="eu-west-1",
        window=WINDOW,
        functions_audited=functions_audited,
        functions=(),
        findings=tuple(findings),
        coverage_gaps=tuple(CoverageGap(DataSource.METRICS, "throttled", f"fn-{i}") for i in range(gaps)),
        api_calls={},
        metric_queries=0,
    )


def as_dicts(blocks) -> list[dict]:
    return [block.to_dict() for block in blocks]  # to_dict also runs slack-sdk's own limit checks


def texts(blocks: list[dict]) -> list[str]:
    """Every text in the blocks, in order."""
    found = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [element["text"] for element in block.get("elements", []) if "text" in element]
    return found


def sections(blocks: list[dict]) -> list[str]:
    return [block["text"]["text"] for block in blocks if block["type"] == "section"]


@pytest.fixture
def slack():
    with SlackServer(tokens={TOKEN}, channels={CHANNEL}) as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(slack, sleeps) -> WebClient:
    # Waits go to a list instead of the clock: the tests see what was waited, and never wait.
    return slack_client(TOKEN, base_url=slack.api_url, sleep=sleeps.append)


# -- the digest ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "findings, gaps, says, never",
    [
        ((), 0, "All 42 functions healthy", "coverage gap"),
        ([finding(suppressed_by="tag healthaudit:suppress=all")], 0, "All 42 functions healthy", "orders-api"),
        ((), 3, "No findings in 42 functions, but 3 coverage gaps", "healthy"),  # unknown is not healthy
    ],
)
def test_quiet_day_is_one_short_message(findings, gaps, says, never):
    text, blocks = build_digest(report(findings, gaps=gaps), "s3://audit-bucket/reports/2024-05-02.json")
    blocks = as_dicts(blocks)

    assert len(blocks) == 1
    assert says in text and says in blocks[0]["text"]["text"]
    assert never not in json.dumps(blocks) + text
    assert "Full report: `s3://audit-bucket/reports/2024-05-02.json`" in blocks[0]["text"]["text"]


def finding_lines(blocks) -> list[str]:
    """The main message's finding lines (Block objects or their dicts): those that start with a severity mark."""
    marks = tuple(SEVERITY_MARKS.values())
    found = block_texts(blocks) if blocks and not isinstance(blocks[0], dict) else texts(blocks)
    return [line for text in found for line in text.split("\n") if line.startswith(marks)]


@pytest.mark.parametrize("max_findings", [10, 40, 1000])
def test_a_huge_report_is_summarised_and_slack_accepts_the_digest_and_its_thread(max_findings, client, slack):
    severities = list(Severity)
    many = [
        finding(f"fn-{i:03d}", severities[i % 5], message=("word " * 700).strip() + f" #{i}", check_id=f"check-{i % 7}")
        for i in range(500)
    ]
    audited = report(many, functions_audited=500, gaps=2)
    text, blocks = build_digest(audited, REPORT_URL, max_findings=max_findings)

    assert message_chars(blocks) <= MAIN_MESSAGE_CHARS
    shown = len(finding_lines(blocks))
    assert 1 <= shown <= max_findings
    assert f"…and {500 - shown} more findings in the thread" in block_texts(blocks)[-1]
    assert all(line.startswith("🟥 *CRITICAL*") for line in finding_lines(blocks))  # the worst come first
    # The Slack-compatible server, which enforces Block Kit's limits, accepts the digest and every reply.
    ts = post_digest(client, CHANNEL, text, blocks)
    for reply_text, reply in build_details(audited, REPORT_URL):
        post_digest(client, CHANNEL, reply_text, reply, thread_ts=ts)
    assert all(p.status == 200 and p.answer["ok"] for p in slack.posts) and len(slack.posts) >= 2
    assert all(m["thread_ts"] == ts for m in slack.messages[1:])


@pytest.mark.parametrize(
    "text, limit, expected",
    [
        ("short enough", 12, "short enough"),
        ("one two three", 12, "one two…"),
        ("one two three", 8, "one two…"),
        ("one two three", 7, "one…"),
        ("a &amp; b", 6, "a…"),  # never splits an entity
        ("&amp;&amp;&amp;", 9, "&amp;…"),  # no space at all: cut outside an entity
    ],
)
def test_shorten(text, limit, expected):
    assert shorten(text, limit) == expected
    assert len(shorten(text, limit)) <= limit


def test_hostile_names_arrive_escaped(client, slack):
    hostile = [
        finding("<!channel>", Severity.CRITICAL, message="tag owner=<@U0123ABCD> says hi"),
        finding("<http://x|y>", Severity.HIGH),
        finding("a & b", Severity.MEDIUM),
    ]
    post_digest(client, CHANNEL, *build_digest(report(hostile), REPORT_URL))

    body = slack.posts[-1].body
    mrkdwn = texts(body["blocks"])
    received = json.dumps(body, ensure_ascii=False)
    assert "&lt;!channel&gt;" in received and "<!channel>" not in received
    assert "&lt;http://x|y&gt;" in received and "<http://x|y>" not in received
    assert "a &amp; b" in received and "a & b" not in received
    assert "&lt;@U0123ABCD&gt;" in received
    # The only markup left is our own links, whose targets are all https and percent-encoded.
    for target in re.findall(r"<([^>]*)>", "\n".join(mrkdwn)):
        assert target.startswith("https://") and "|" in target
        assert not re.search(r"[<>\s]", target.split("|")[0])
    assert all(block["text"]["verbatim"] for block in body["blocks"] if block["type"] == "section")


# -- posting ---------------------------------------------------------------------------------


def test_posting_returns_the_ts_and_the_server_recorded_it(client, slack):
    text, blocks = build_digest(report([finding()]), REPORT_URL)

    ts = post_digest(client, CHANNEL, text, blocks)
    reply_ts = post_digest(client, CHANNEL, "details", [], thread_ts=ts)

    first, reply = slack.messages
    assert first["ts"] == ts and first["channel"] == CHANNEL and first["text"] == text
    assert first["blocks"] == as_dicts(blocks)
    assert reply["thread_ts"] == ts and reply["ts"] == reply_ts != ts
    request = slack.posts[0]
    assert (request.method, request.path) == ("POST", "/api/chat.postMessage")
    assert request.authorization == "Bearer (redacted)"
    assert TOKEN not in repr(slack.posts)


def test_a_rate_limited_post_is_retried_after_retry_after(client, slack, sleeps):
    slack.fail_next(1, status=429, retry_after=7)

    ts = post_digest(client, CHANNEL, *build_digest(report([finding()]), None))

    assert [p.status for p in slack.posts] == [429, 200]
    assert len(slack.messages) == 1 and slack.messages[0]["ts"] == ts
    assert sleeps == [7.0]  # waited what Slack asked, on the injected clock


def test_rate_limit_retries_are_bounded(slack, sleeps):
    client = slack_client(TOKEN, base_url=slack.api_url, max_rate_limit_retries=2, sleep=sleeps.append)
    slack.fail_next(3, status=429, retry_after=0)

    with pytest.raises(SlackApiError) as raised:
        post_digest(client, CHANNEL, "text", [])

    assert raised.value.response.status_code == 429
    assert len(slack.posts) == 3 and slack.messages == []
    assert sleeps == [0.0, 0.0]


def test_server_errors_are_not_retried(client, slack, sleeps):
    slack.fail_next(1, status=500)

    with pytest.raises(SlackApiError) as raised:
        post_digest(client, CHANNEL, "text", [])

    assert raised.value.response.status_code == 500
    assert len(slack.posts) == 1 and sleeps == []


@pytest.mark.parametrize(
    "token, channel, error",
    [
        ("xoxb-9999-wr0ng-t0ken", CHANNEL, "invalid_auth"),
        (TOKEN, "#general", "channel_not_found"),  # channel IDs only
        (TOKEN, "C9999999999", "channel_not_found"),
    ],
)
def test_slack_errors_raise_without_the_token(slack, token, channel, error):
    client = slack_client(token, base_url=slack.api_url)

    with pytest.raises(SlackApiError) as raised:
        post_digest(client, channel, *build_digest(report([finding()]), None))

    assert raised.value.response["error"] == error
    assert token not in str(raised.value) and token not in repr(raised.value.args)
    assert slack.messages == []


def test_a_reply_to_an_unknown_thread_is_refused(client, slack):
    with pytest.raises(SlackApiError) as raised:
        post_digest(client, CHANNEL, "details", [], thread_ts="1700000000.999999")
    assert raised.value.response["error"] == "thread_not_found"


@pytest.mark.parametrize(
    "headers, seconds",
    [
        ({"Retry-After": ["30"]}, 30.0),
        ({"retry-after": ["0"]}, 0.0),
        ({"Retry-After": ["soon"]}, 1.0),
        ({}, 1.0),
    ],
)
def test_retry_after_seconds(headers, seconds):
    assert retry_after_seconds(headers) == seconds


# -- the token -------------------------------------------------------------------------------


def test_token_from_the_environment_is_slack_bot_token_only():
    config = SlackConfig(channel=CHANNEL)
    assert resolve_token(config, {"SLACK_BOT_TOKEN": f" {TOKEN}\n"}) == TOKEN
    with pytest.raises(SlackConfigError, match="SLACK_BOT_TOKEN"):
        resolve_token(config, {"AWS_SESSION_TOKEN": "FwoGZXIvYXdzE-credentials", "AUDIT_SLACK_TOKEN": TOKEN})


def test_token_from_secrets_manager(aws):
    secrets = aws.client("secretsmanager")
    secrets.create_secret(Name="slack/raw", SecretString=TOKEN)
    secrets.create_secret(Name="slack/json", SecretString=json.dumps({"token": TOKEN}))
    secrets.create_secret(Name="slack/no-token", SecretString=json.dumps({"bot": TOKEN}))
    provider = parameters.SecretsProvider(boto3_client=secrets)

    def resolve(name: str) -> str:
        return resolve_token(SlackConfig(token_secret=name), {"SLACK_BOT_TOKEN": "xoxb-not-this"}, secrets=provider)

    assert resolve("slack/raw") == TOKEN
    assert resolve("slack/json") == TOKEN
    for name in ("slack/no-token", "slack/missing"):
        with pytest.raises(SlackConfigError, match=name) as raised:
            resolve(name)
        assert TOKEN not in str(raised.value)


# -- the server itself enforces what the tests rely on ---------------------------------------


def _section(chars: int) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": "x" * chars}}


@pytest.mark.parametrize(
    "blocks, text, error",
    [
        ([{"type": "divider"}] * 50, "t", None),
        ([{"type": "divider"}] * 51, "t", "invalid_blocks"),
        ([_section(3000)], "t", None),
        ([_section(3001)], "t", "invalid_blocks"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}], "t", None),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "t", "invalid_blocks"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "t", "invalid_blocks"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "t", "invalid_blocks"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "t", "invalid_blocks"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 10}], "t", None),
        ([{"type": "banner"}], "t", "invalid_blocks"),
        (None, "x" * 40000, None),
        (None, "x" * 40001, "msg_too_long"),
        (None, None, "no_text"),
    ],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
def test_server_enforces_slack_limits(slack, blocks, text, error):
    plain = WebClient(token=TOKEN, base_url=slack.api_url)  # dict blocks: no client-side checks
    if error is None:
        assert plain.chat_postMessage(channel=CHANNEL, text=text, blocks=blocks)["ok"] is True
    else:
        with pytest.raises(SlackApiError) as raised:
            plain.chat_postMessage(channel=CHANNEL, text=text, blocks=blocks)
        assert raised.value.response["error"] == error


def test_server_accepts_form_encoded_posts_with_the_token_in_the_body(slack):
    plain = WebClient(base_url=slack.api_url)
    response = plain.api_call("chat.postMessage", data={"token": TOKEN, "channel": CHANNEL, "text": "hi"})
    assert response["ok"] is True
    assert slack.posts[0].headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert slack.posts[0].body["text"] == "hi" and slack.posts[0].authorization is None


def test_server_incoming_webhook(slack):
    webhook = WebhookClient(slack.webhook_url)
    assert (webhook.send(text="hi").status_code, webhook.send(text="hi").body) == (200, "ok")
    bad = webhook.send(text="hi", blocks=[_section(3001)])
    assert (bad.status_code, bad.body) == (400, "invalid_payload")
    unknown = WebhookClient(slack.url + "/services/T000/B000/NOPE").send(text="hi")
    assert (unknown.status_code, unknown.body) == (404, "no_service")
    assert [m["text"] for m in slack.messages] == ["hi", "hi"]


@pytest.mark.parametrize(
    "after_seconds, accepted",
    [(0, True), (RESPONSE_URL_SECONDS - 1, True), (RESPONSE_URL_SECONDS, True), (RESPONSE_URL_SECONDS + 1, False)],
    ids=["at once", "29:59", "30:00", "30:01"],
)
def test_server_response_url_answers_within_30_minutes_of_the_click(after_seconds, accepted):
    # Slack: a response_url takes up to five responses within 30 minutes of the interaction
    # (https://api.slack.com/interactivity/handling#message_responses).
    now = [1000.0]
    with SlackServer(tokens={TOKEN}, channels={CHANNEL}, clock=lambda: now[0]) as slack:
        posted = slack_client(TOKEN, base_url=slack.api_url).chat_postMessage(channel=CHANNEL, text="digest")
        webhook = WebhookClient(slack.response_url(CHANNEL, posted["ts"]))
        now[0] += after_seconds
        answer = webhook.send(text="snoozed", replace_original=True)
        assert answer.status_code == (200 if accepted else 404)
        assert [m["text"] for m in slack.messages] == ["snoozed" if accepted else "digest"]


def test_server_response_url_takes_five_responses(slack):
    posted = slack_client(TOKEN, base_url=slack.api_url).chat_postMessage(channel=CHANNEL, text="digest")
    webhook = WebhookClient(slack.response_url(CHANNEL, posted["ts"]))
    assert [webhook.send(text=f"answer {n}").status_code for n in range(RESPONSE_URL_USES + 1)] == [200] * 5 + [404]


def test_details_thread_lists_every_finding_within_limits(client, slack):
    many = [finding(f"fn-{i:03d}", Severity.HIGH, message="slow " * 50) for i in range(500)]
    messages = build_details(report(many, functions_audited=500), REPORT_URL)
    ts = post_digest(client, CHANNEL, "digest", [])
    for text, blocks in messages:
        post_digest(client, CHANNEL, text, blocks, thread_ts=ts)  # the server enforces Block Kit's limits
    listed = "\n".join(text for _, blocks in messages for text in block_texts(blocks))
    assert all(f"|fn-{i:03d}>: slow" in listed for i in range(500))  # every one, with its link
    assert listed.count("_Fix:_ Remedy for throttled.") == 1  # the fix once, for the 500
    assert [m["thread_ts"] for m in slack.messages[1:]] == [ts] * len(messages)


def test_severity_comes_before_new_and_what_was_resolved_is_counted_then_listed_in_the_thread():
    from dataclasses import replace as changed

    ongoing = changed(finding("old-fn", Severity.CRITICAL), status="ongoing", first_seen="2026-11-20T06:00:00Z")
    new = finding("new-fn", Severity.LOW)
    fixed = changed(finding("fixed-fn", Severity.HIGH), status="resolved")
    audited = changed(report([ongoing, new]), resolved=(fixed,), previous_report="reports/dt=2026-11-27/x.json")
    _, blocks = build_digest(audited, REPORT_URL)
    lines = finding_lines(blocks)
    assert "old-fn" in lines[0] and "_new_" not in lines[0]  # an ongoing CRITICAL above a new LOW
    assert "new-fn" in lines[1] and lines[1].endswith(" · _new_")
    assert "1 new · 1 resolved" in block_texts(blocks)[1]
    ((_, thread),) = build_details(audited, REPORT_URL)
    assert "Resolved since the previous audit (1)" in block_texts(thread)[-1] and "fixed-fn" in block_texts(thread)[-1]


def test_the_demo_digest_fits_the_budget_and_slack_accepts_it_and_its_thread(demo_run, client, slack):
    demo = AuditReport.from_dict(json.loads((demo_run.output / "demo-report.json").read_text()))
    assert len(demo.active_findings) > 10  # more than the main message may list

    text, blocks = build_digest(demo, REPORT_URL)

    assert message_chars(blocks) <= MAIN_MESSAGE_CHARS
    shown = finding_lines(blocks)
    assert 1 <= len(shown) <= 10
    ranks = [list(Severity).index(Severity(line.split("*")[1].lower())) for line in shown]
    assert ranks == sorted(ranks)  # the worst first
    ts = post_digest(client, CHANNEL, text, blocks)
    replies = build_details(demo, REPORT_URL)
    for reply_text, reply in replies:
        post_digest(client, CHANNEL, reply_text, reply, thread_ts=ts)
    thread = "\n".join(t for _, reply in replies for t in block_texts(reply))
    assert all(f"|{active.function_name}>: " in thread for active in demo.active_findings)  # each one, linked
    assert all(p.answer["ok"] for p in slack.posts)


def test_post_report_digest_posts_the_digest_then_its_thread(slack):
    config = AuditConfig(slack=SlackConfig(channel=CHANNEL))
    environ = {"SLACK_BOT_TOKEN": TOKEN, "HEALTHAUDIT_SLACK_API_URL": slack.api_url}
    audited = report([finding(f"fn-{i}") for i in range(12)])

    outcome = post_report_digest(audited, config, REPORT_URL, environ)

    assert (outcome.status, outcome.thread_failure) == ("posted", None)
    digest, *thread = slack.messages
    assert digest["ts"] == outcome.ts and len(finding_lines(digest["blocks"])) == 10
    assert "…and 2 more findings in the thread" in json.dumps(digest["blocks"], ensure_ascii=False)
    assert thread and all(reply["thread_ts"] == outcome.ts for reply in thread)


def test_an_incoming_webhook_gets_the_compact_list_pointing_at_the_report(slack):
    environ = {"SLACK_BOT_TOKEN": slack.webhook_url, "HEALTHAUDIT_SLACK_API_URL": slack.api_url}
    audited = report([finding(f"fn-{i}") for i in range(12)])

    outcome = post_report_digest(audited, AuditConfig(slack=SlackConfig()), REPORT_URL, environ)

    assert (outcome.status, outcome.ts) == ("posted", None)
    (posted,) = slack.messages  # a webhook cannot reply in a thread
    assert len(finding_lines(posted["blocks"])) == 10
    assert "…and 2 more findings in the full report" in json.dumps(posted["blocks"], ensure_ascii=False)


# -- where the token and the digest may go (issue 13) ------------------------------------------


@pytest.mark.parametrize(
    "value, base_url",
    [
        (None, None),  # unset: slack-sdk's own https://slack.com/api/
        ("", None),
        ("https://slack.com/api/", None),
        ("http://127.0.0.1:8123/api/", "http://127.0.0.1:8123/api/"),
        ("http://127.0.0.1:8123/api", "http://127.0.0.1:8123/api/"),
        ("https://localhost:8443/api/", "https://localhost:8443/api/"),
        ("http://[::1]:8123/api/", "http://[::1]:8123/api/"),
        ("http://127.8.9.10:80/", "http://127.8.9.10:80/"),  # all of 127.0.0.0/8 is loopback
    ],
)
def test_slack_api_url_accepts_slack_or_a_loopback_server(value, base_url):
    environ = {} if value is None else {"HEALTHAUDIT_SLACK_API_URL": value}
    assert slack_api_url(environ) == base_url


@pytest.mark.parametrize(
    "value",
    [
        "https://slack.com.evil.example/api/",
        "http://slack.com/api/",  # Slack's, but in clear text
        "https://10.0.0.5/api/",  # private is not loopback
        "http://0.0.0.0:8123/api/",
        "http://127.0.0.1@evil.example/api/",  # userinfo: the host is evil.example
        "http://user:pw@127.0.0.1:8123/api/",
        "ftp://127.0.0.1/api/",
        "127.0.0.1:8123/api/",
    ],
)
def test_slack_api_url_refuses_any_other_host_naming_the_variable(value):
    with pytest.raises(SlackConfigError, match="HEALTHAUDIT_SLACK_API_URL"):
        slack_api_url({"HEALTHAUDIT_SLACK_API_URL": value})


HOOK = "https://hooks.slack.com/services/T000/B000/XXXX"
LOCAL_API = {"HEALTHAUDIT_SLACK_API_URL": "http://127.0.0.1:8123/api/"}


@pytest.mark.parametrize(
    "url, environ, accepted",
    [
        (HOOK, {}, True),
        (HOOK, LOCAL_API, True),
        ("http://hooks.slack.com/services/T000/B000/XXXX", {}, False),  # clear text
        ("https://hooks.slack.com:8443/services/T000/B000/XXXX", {}, False),
        ("https://hooks.slack.com/workflows/T000/A000/1/XXXX", {}, False),  # not an incoming webhook
        ("https://hooks.slack.com.evil.example/services/T000/B000/XXXX", {}, False),
        ("https://evil.example/services/T000/B000/XXXX", {}, False),
        ("https://hooks.slack.com@evil.example/services/T000/B000/XXXX", {}, False),
        # the local test server's webhook: only with the local-testing switch on
        ("http://127.0.0.1:8124/services/T000/B000/XXXX", {}, False),
        ("http://127.0.0.1:8124/services/T000/B000/XXXX", LOCAL_API, True),
        (
            "http://127.0.0.1:8124/services/T000/B000/XXXX",
            {"HEALTHAUDIT_SLACK_API_URL": "https://slack.com/api/"},
            False,
        ),
        ("http://10.0.0.5/services/T000/B000/XXXX", LOCAL_API, False),
    ],
)
def test_webhook_urls_must_be_slacks_incoming_webhooks(url, environ, accepted):
    if accepted:
        assert checked_webhook_url(url, environ) == url
    else:
        with pytest.raises(SlackConfigError, match=r"not https://hooks\.slack\.com/services/") as refused:
            checked_webhook_url(url, environ)
        assert "XXXX" not in str(refused.value)  # the webhook's path is its secret: never repeated


def test_a_loopback_webhook_without_the_switch_is_refused_before_anything_is_sent(slack):
    with pytest.raises(SlackConfigError, match="HEALTHAUDIT_SLACK_API_URL"):
        post_to_webhook(slack.webhook_url, "hi", [], environ={})
    assert slack.posts == []
    post_to_webhook(slack.webhook_url, "hi", [], environ={"HEALTHAUDIT_SLACK_API_URL": slack.api_url})
    assert [post.path for post in slack.posts] == [slack.webhook_url.removeprefix(slack.url)]


def test_post_message_sends_a_bot_token_only_to_the_named_api_url(slack):
    config = SlackConfig(channel=CHANNEL)
    ts = post_message(config, {"SLACK_BOT_TOKEN": TOKEN, "HEALTHAUDIT_SLACK_API_URL": slack.api_url}, "hi", [])
    assert ts and [m["text"] for m in slack.messages] == ["hi"]
    with pytest.raises(SlackConfigError, match="HEALTHAUDIT_SLACK_API_URL"):
        post_message(
            config, {"SLACK_BOT_TOKEN": TOKEN, "HEALTHAUDIT_SLACK_API_URL": "https://evil.example/api/"}, "x", []
        )
    assert len(slack.posts) == 1


def test_post_message_treats_any_url_in_the_secret_as_a_webhook_and_refuses_a_foreign_one(slack):
    # A foreign URL is refused, never sent to Slack as a bearer token.
    environ = {"SLACK_BOT_TOKEN": "https://evil.example/collect", "HEALTHAUDIT_SLACK_API_URL": slack.api_url}
    with pytest.raises(SlackConfigError, match="not https://hooks.slack.com/services/"):
        post_message(SlackConfig(channel=CHANNEL), environ, "hi", [])
    assert slack.posts == []
    environ["SLACK_BOT_TOKEN"] = slack.webhook_url
    assert post_message(SlackConfig(), environ, "hi", []) is None  # a webhook needs no channel
    assert [m.get("webhook") for m in slack.messages] == [slack.webhook_url.removeprefix(slack.url)]
