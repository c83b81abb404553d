"""Posting to Slack (the edge): the client, its retries after 429, the token or webhook, and the address checks.

publish.digest renders the messages (pure); `slack_client`, `post_digest`, `post_to_webhook`,
`post_message` and `resolve_token` are the edges that talk to Slack and Secrets Manager.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from aws_lambda_powertools.utilities import parameters
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import default_retry_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.models.blocks import Block
from slack_sdk.webhook import WebhookClient

from ..config import ConfigError, SlackConfig

logger = logging.getLogger(__name__)


class SlackConfigError(ConfigError):
    """The Slack token could not be found or an address was refused; the message names the setting, never a secret."""


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
