"""The Slack digest: one Block Kit message per audit, and the client that posts it.

`build_digest` is pure (report in, text and blocks out); `slack_client`, `post_digest` and
`resolve_token` are the edges that talk to Slack and Secrets Manager.

The digest always fits Slack's limits (50 blocks, 3,000 characters a section, 150 a header) by
summarising: it shows the worst findings, says how many more there are, and shortens an overlong
message at a word boundary. Text that comes from AWS is escaped for mrkdwn and sent `verbatim`,
so a function name cannot ping a channel or hide a link.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from urllib.parse import quote, urlsplit

from aws_lambda_powertools.utilities import parameters
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import default_retry_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.webhook import WebhookClient

from ..config import ConfigError, SlackConfig
from ..model import AuditReport, AuditWindow, Finding, Severity

logger = logging.getLogger(__name__)

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_URL_CHARS = 2500
FRAME_BLOCKS = 7
MAX_DETAIL_LINE = 400
"""Blocks around the findings: header, context, divider, "and N more", coverage gaps, full report."""

SEVERITY_MARKS = {
    Severity.CRITICAL: ":red_circle:",
    Severity.HIGH: ":large_orange_circle:",
    Severity.MEDIUM: ":large_yellow_circle:",
    Severity.LOW: ":large_blue_circle:",
    Severity.INFO: ":white_circle:",
}

# RFC 3986 reserved characters and "%" stay as they are; anything else that could end a Slack
# link (<, >, |, spaces, quotes) is percent-encoded.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


class SlackConfigError(ConfigError):
    """The Slack token could not be found or an address was refused; the message names the setting, never a secret."""


# -- the digest (pure) -------------------------------------------------------------------------


def build_digest(report: AuditReport, report_url: str | None, max_findings: int = 10) -> tuple[str, list[Block]]:
    """The fallback text (for notifications) and the Block Kit blocks of the report's digest."""
    # New findings first, then ongoing ones; worst first within each (the sort is stable).
    active = sorted(report.worst_first(), key=lambda finding: finding.status != "new")
    if not active:
        return _quiet_day(report, report_url)

    shown = active[: max(0, min(max_findings, MAX_BLOCKS - FRAME_BLOCKS))]
    blocks: list[Block] = [
        HeaderBlock(text=shorten(f"Lambda health audit: {report.account} {report.region}", MAX_HEADER_CHARS)),
        ContextBlock(
            elements=[_mrkdwn(_window_line(report)), _mrkdwn(_counts_line(report)), _mrkdwn(_history_line(report))]
        ),
        DividerBlock(),
    ]
    blocks += [SectionBlock(text=_mrkdwn(finding_text(finding))) for finding in shown]
    if report.resolved:
        blocks.append(SectionBlock(text=_mrkdwn(_resolved_text(report))))
    if len(active) > len(shown):
        more = len(active) - len(shown)
        where = " in the full report" if report_url else ""
        blocks.append(ContextBlock(elements=[_mrkdwn(f"…and {more} more {_plural(more, 'finding')}{where}")]))
    if report.coverage_gaps:
        blocks.append(ContextBlock(elements=[_mrkdwn(_gaps_line(report))]))
    if report_url:
        blocks.append(ContextBlock(elements=[_mrkdwn(_report_pointer(report_url))]))
    return _summary_text(report), blocks


def finding_text(finding: Finding) -> str:
    """One finding as a section's mrkdwn: severity, title, linked resource, message, remediation.

    Everything but the message is short; the message gets what is left of the 3,000 characters.
    """
    since = (
        " · *NEW*" if finding.status == "new" else f" · since {finding.first_seen[:10]}" if finding.first_seen else ""
    )
    head = (
        f"{SEVERITY_MARKS[finding.severity]} *{finding.severity.value.upper()}*{since} · "
        f"*{shorten(escape(finding.title), 150)}*\n"
        f"{_link(finding.console_url, shorten(escape(finding.resource), 150))}: "
    )
    fix = f"\n_Fix:_ {shorten(escape(finding.remediation), 600)}"
    if finding.docs:
        fix += f" ({_link(finding.docs, 'docs')})"
    return head + shorten(escape(finding.message), MAX_SECTION_CHARS - len(head) - len(fix)) + fix


def escape(text: str) -> str:
    """Slack's three control characters as entities: https://api.slack.com/reference/surfaces/formatting#escaping"""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut at the last word boundary and ended with "…".

    Escaped entities (&amp;) hold no whitespace, so a cut never splits one. A text without any
    whitespace before the limit (one enormous token) is cut before the limit, outside an entity.
    """
    if len(text) <= limit:
        return text
    if limit < 1:
        return ""
    spaces = [match.start() for match in re.finditer(r"\s", text[:limit])]
    cut = text[: spaces[-1]].rstrip() if spaces else ""
    if not cut:
        cut = text[: limit - 1]
        entity = cut.rfind("&")
        if entity > cut.rfind(";"):
            cut = cut[:entity]
    return cut + "…"


def _quiet_day(report: AuditReport, report_url: str | None) -> tuple[str, list[Block]]:
    n, where = report.functions_audited, f"{escape(report.account)} {escape(report.region)}"
    gaps = len(report.coverage_gaps)
    if gaps:
        text = f"No findings in {n} {_plural(n, 'function')}, but {gaps} {_plural(gaps, 'coverage gap')}"
        line = f":grey_question: {text} in {where}: some data could not be read."
    elif n == 0:
        text = "No functions audited"
        line = f":white_check_mark: {text} in {where}."
    else:
        text = f"All {n} {_plural(n, 'function')} healthy"
        line = f":white_check_mark: {text} in {where}."
    if report.resolved:
        line += f" {len(report.resolved)} {_plural(len(report.resolved), 'finding')} resolved since the previous audit."
    if report_url:
        line += f" {_report_pointer(report_url)}"
    return f"Lambda health audit {where}: {text}", [SectionBlock(text=_mrkdwn(line))]


def build_details(report: AuditReport) -> tuple[str, list[Block]]:
    """The thread reply: every active finding, one line each, packed into sections within Slack's limits."""
    lines = [
        shorten(f"• {f.severity.value} · `{f.check_id}` · {escape(f.resource)}: {escape(f.message)}", MAX_DETAIL_LINE)
        for f in report.worst_first()
    ]
    blocks: list[Block] = []
    section: list[str] = []
    for index, line in enumerate(lines):
        if sum(len(item) + 1 for item in section) + len(line) > MAX_SECTION_CHARS:
            blocks.append(SectionBlock(text=_mrkdwn("\n".join(section))))
            section = []
        if len(blocks) == MAX_BLOCKS - 1:
            rest = len(lines) - index
            blocks.append(ContextBlock(elements=[_mrkdwn(f"…and {rest} more in the full report")]))
            section = []
            break
        section.append(line)
    if section:
        blocks.append(SectionBlock(text=_mrkdwn("\n".join(section))))
    return f"All {len(lines)} findings", blocks


def _history_line(report: AuditReport) -> str:
    if report.previous_report is None:
        return "first audit of this account and region: nothing to compare with"
    new = sum(1 for finding in report.active_findings if finding.status == "new")
    return f"*{new}* new · *{len(report.resolved)}* resolved since the previous audit"


def _resolved_text(report: AuditReport) -> str:
    head = f":white_check_mark: *Resolved since the previous audit ({len(report.resolved)}):* "
    items = ", ".join(f"`{finding.check_id}` on {escape(finding.resource)}" for finding in report.resolved)
    return head + shorten(items, MAX_SECTION_CHARS - len(head))


def _summary_text(report: AuditReport) -> str:
    active = len(report.active_findings)
    counts = ", ".join(f"{count} {severity}" for severity, count in report.counts_by_severity().items() if count)
    functions = f"{report.functions_audited} {_plural(report.functions_audited, 'function')}"
    where = f"{escape(report.account)} {escape(report.region)}"
    return f"Lambda health audit {where}: {active} {_plural(active, 'finding')} ({counts}) in {functions}"


def _window_line(report: AuditReport) -> str:
    functions = f"{report.functions_audited} {_plural(report.functions_audited, 'function')}"
    return f"{_window(report.window)} · {functions} audited"


def _window(window: AuditWindow) -> str:
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"


def _counts_line(report: AuditReport) -> str:
    counts = report.counts_by_severity()
    line = " · ".join(f"*{count}* {severity}" for severity, count in counts.items() if count)
    suppressed = len(report.findings) - len(report.active_findings)
    return line + (f" · {suppressed} suppressed" if suppressed else "")


def _gaps_line(report: AuditReport) -> str:
    gaps = len(report.coverage_gaps)
    return (
        f":warning: {gaps} {_plural(gaps, 'coverage gap')}: some data could not be read, "
        "so what it would show is unknown, not healthy."
    )


def _report_pointer(url: str) -> str:
    if url.startswith(("https://", "http://")):
        return _link(url, "Full report")
    return f"Full report: `{escape(url)}`"


def _link(url: str, label: str) -> str:
    """A mrkdwn link; `label` must already be escaped. The URL cannot break out of the <…|…> markup.

    A URL longer than MAX_URL_CHARS (only from an absurd name) leaves the label unlinked.
    """
    target = escape(quote(url, safe=_URL_SAFE))
    return f"<{target}|{label}>" if len(target) <= MAX_URL_CHARS else label


def _mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: Slack does not auto-link names or parse mentions in what we did not mark up ourselves.
    return MarkdownTextObject(text=text, verbatim=True)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


# -- posting (the edge) ------------------------------------------------------------------------


class RetryAfterHandler(RateLimitErrorRetryHandler):
    """slack-sdk's rate-limit handler, waiting exactly the Retry-After Slack names, through `sleep`.

    The built-in handler calls `time.sleep(Retry-After + random())` directly and ignores its
    interval calculator, so the wait could not be injected; this one takes `sleep` as a parameter.
    """

    def __init__(self, max_retry_count: int = 3, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error  # type: ignore[misc]  # as the built-in handler does: nothing to wait for
        state.next_attempt_requested = True
        wait = retry_after_seconds(response.headers)
        logger.warning("Slack answered 429 (rate limited); retrying in %s s", wait)
        self.sleep(wait)
        state.increment_current_attempt()


def retry_after_seconds(headers: Mapping[str, list[str]], default: float = 1.0) -> float:
    for name, values in headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                break
    return default


SLACK_API_URL_VARIABLE = "HEALTHAUDIT_SLACK_API_URL"
SLACK_API_URL = "https://slack.com/api/"
SLACK_WEBHOOK_HOST = "hooks.slack.com"
TOKEN_VARIABLE = "SLACK_BOT_TOKEN"


def slack_api_url(environ: Mapping[str, str]) -> str | None:
    """The Slack Web API's base URL: Slack's own (None), unless HEALTHAUDIT_SLACK_API_URL names a local test server.

    Only an http(s) server on a loopback host, or Slack's own https://slack.com/api/, is accepted:
    whoever can set a function's environment could otherwise send its token anywhere. The config
    document cannot name it at all (see config.REDIRECTING_SLACK_KEYS).
    """
    url = environ.get(SLACK_API_URL_VARIABLE, "").strip()
    if not url or url == SLACK_API_URL:
        return None
    if not _on_loopback(url):
        raise SlackConfigError(
            f"{SLACK_API_URL_VARIABLE}: got {url!r}, expected {SLACK_API_URL} or an http(s) URL on a loopback host"
            " (a local test server such as http://127.0.0.1:8080/api/)"
        )
    return url if url.endswith("/") else url + "/"


def local_slack(environ: Mapping[str, str]) -> bool:
    """The "local testing" switch: HEALTHAUDIT_SLACK_API_URL names a server on a loopback host."""
    return slack_api_url(environ) is not None


def checked_webhook_url(url: str, environ: Mapping[str, str]) -> str:
    """The incoming webhook URL, if it is Slack's: https://hooks.slack.com/services/…

    A loopback http(s) webhook (the local test server's) is accepted only while HEALTHAUDIT_SLACK_API_URL
    names a loopback server too. The error never repeats the URL: its path is the webhook's secret.
    """
    parts = urlsplit(url)
    slack_hosted = (
        parts.scheme == "https"
        and parts.hostname == SLACK_WEBHOOK_HOST
        and parts.port is None
        and not (parts.username or parts.password)
        and parts.path.startswith("/services/")
    )
    if slack_hosted or (_on_loopback(url) and parts.path.startswith("/services/") and local_slack(environ)):
        return url
    raise SlackConfigError(
        f"the incoming webhook URL in the Slack secret is not https://{SLACK_WEBHOOK_HOST}/services/…;"
        " refused (a loopback webhook is accepted only with a loopback " + SLACK_API_URL_VARIABLE + ")"
    )


def _on_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.username or parts.password or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def slack_client(
    token: str,
    base_url: str | None = None,
    max_rate_limit_retries: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    timeout_seconds: int = 10,
) -> WebClient:
    """A WebClient that retries connection resets (slack-sdk's default) and 429s after Retry-After.

    A request that takes longer than `timeout_seconds` raises TimeoutError, which is not retried here.
    """
    handlers = [*default_retry_handlers(), RetryAfterHandler(max_retry_count=max_rate_limit_retries, sleep=sleep)]
    if base_url is None:
        return WebClient(token=token, retry_handlers=handlers, timeout=timeout_seconds)
    return WebClient(token=token, base_url=base_url, retry_handlers=handlers, timeout=timeout_seconds)


def post_digest(
    client: WebClient, channel: str, text: str, blocks: list[Block], *, thread_ts: str | None = None
) -> str:
    """Post with chat.postMessage and return the message's ts; failures raise SlackApiError."""
    response = client.chat_postMessage(channel=channel, text=text, blocks=blocks or None, thread_ts=thread_ts)
    return response["ts"]


def resolve_token(
    slack_config: SlackConfig, environ: Mapping[str, str], secrets: parameters.SecretsProvider | None = None
) -> str:
    """The bot token or webhook URL: from the Secrets Manager secret if one is named, else from SLACK_BOT_TOKEN.

    `secrets` is a Powertools SecretsProvider to read through (tests hand in one aimed at the
    sandbox); by default Powertools' own, cached for five minutes.
    """
    if slack_config.token_secret:
        return _token_from_secret(slack_config.token_secret, secrets)
    token = environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise SlackConfigError(
            f"Slack token not found: environment variable {TOKEN_VARIABLE} is not set or empty,"
            " and no slack.token_secret is configured"
        )
    return token


def is_webhook(credential: str) -> bool:
    """A URL (an incoming webhook, to be checked by checked_webhook_url), not a bot token: the secret may hold either.

    Any URL counts, so that a secret holding some other URL is refused as a webhook instead of
    being sent to Slack as a token.
    """
    return "://" in credential


def post_to_webhook(
    url: str,
    text: str,
    blocks: list[Block],
    *,
    environ: Mapping[str, str],
    max_rate_limit_retries: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    timeout_seconds: int = 10,
) -> None:
    """Post through an incoming webhook (https://api.slack.com/messaging/webhooks); failures raise SlackApiError.

    A webhook posts to the channel it was made for and cannot reply in a thread. A URL that is not
    Slack's raises SlackConfigError before anything is sent (checked_webhook_url).
    """
    url = checked_webhook_url(url, environ)
    handlers = [*default_retry_handlers(), RetryAfterHandler(max_retry_count=max_rate_limit_retries, sleep=sleep)]
    response = WebhookClient(url, retry_handlers=handlers, timeout=timeout_seconds).send(text=text, blocks=blocks)
    if response.status_code != 200 or response.body != "ok":
        raise SlackApiError(
            f"the incoming webhook answered {response.status_code}", {"ok": False, "error": response.body or "error"}
        )


def post_message(slack_config: SlackConfig, environ: Mapping[str, str], text: str, blocks: list[Block]) -> str | None:
    """Post one message with whatever the Slack secret holds: an incoming webhook (checked, no ts) or a bot
    token (chat.postMessage to slack.channel; its ts). Failures raise SlackApiError, SlackClientError,
    SlackConfigError or OSError, as post_digest and post_to_webhook do."""
    credential = resolve_token(slack_config, environ)
    if is_webhook(credential):
        post_to_webhook(credential, text, blocks, environ=environ, timeout_seconds=slack_config.timeout_seconds)
        return None
    if not slack_config.channel:
        raise SlackConfigError("a bot token needs slack.channel (a channel ID); an incoming webhook does not")
    client = slack_client(credential, base_url=slack_api_url(environ), timeout_seconds=slack_config.timeout_seconds)
    return post_digest(client, slack_config.channel, text, blocks)


def _token_from_secret(name: str, secrets: parameters.SecretsProvider | None) -> str:
    try:
        value = parameters.get_secret(name, max_age=300) if secrets is None else secrets.get(name, max_age=300)
    except parameters.exceptions.GetParameterError as error:
        # AWS's own message (e.g. ResourceNotFoundException …) names the problem, never the value.
        raise SlackConfigError(f"Slack token secret {name!r} could not be read: {error}") from None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    token = str(value or "").strip()
    if token.startswith("{"):
        try:
            document = json.loads(token)
        except ValueError:
            raise SlackConfigError(f"Slack token secret {name!r} looks like JSON but does not parse") from None
        fields = document if isinstance(document, dict) else {}
        token = str(fields.get("token") or fields.get("webhook_url") or "").strip()
        if not token:
            raise SlackConfigError(f"Slack token secret {name!r} is JSON without a non-empty 'token' or 'webhook_url'")
    if not token:
        raise SlackConfigError(f"Slack token secret {name!r} is empty")
    return token
