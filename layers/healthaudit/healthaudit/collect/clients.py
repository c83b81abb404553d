"""boto3 clients for one account and region: adaptive retries, fewer near the deadline, and every API call counted."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.utils import parse_timestamp

# Adaptive mode adds client-side rate limiting to standard retries:
# https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="healthaudit",
)
#: botocore's max_attempts counts retries, so RETRY_CONFIG makes up to nine attempts, sleeping before
#: each retry a jittered min(2^n, 20) s: up to 91 s of backoff for one call. Once less time than this
#: is left, the clients handed out make two attempts at most (under a second of backoff), so one slow
#: call cannot eat the time the audit keeps to judge and store what it read.
HURRY_SECONDS = 180.0
HURRIED_ATTEMPTS = 2


@dataclass
class CallCounter:
    """Counts API calls (not HTTP attempts) and failed attempts by operation, across threads."""

    calls: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_call(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def on_attempt(self, event_name: str, response: Any = None, caught_exception: Any = None, **_: Any) -> None:
        """After each HTTP attempt: a connection error, a timeout or an error status counts as failed.

        404 is left out: "no such event invoke config" or "no such report yet" are answers, not failures.
        """
        status = response[0].status_code if response is not None else None
        failed = caught_exception is not None or (status is not None and status >= 400 and status != 404)
        if failed:
            with self._lock:
                self.errors[event_name.rsplit(".", 1)[-1]] += 1


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials for another account (an assumed role's); the secrets never print."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)

    def client_arguments(self) -> dict[str, str]:
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


def function_session() -> boto3.Session:
    """boto3's default session, the one ``boto3.client`` uses, with the function's own credentials.

    It lives as long as the execution environment, and with it the SDK data it has parsed (endpoints,
    service models): a Session made per target would parse them again for every target audited.
    """
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    return boto3.DEFAULT_SESSION


def utc_timestamp(value: Any) -> datetime:
    """A timestamp in an API answer, as the audit's clients read it: epoch seconds (how the JSON and CBOR
    protocols send them) straight to a UTC datetime, anything else through botocore's own parser.

    botocore's own makes an epoch a datetime in the machine's local zone through dateutil, some forty times
    slower, and a dense fleet's GetMetricData answers hold half a million timestamps. The instant is the
    same either way; botocore's ResponseParserFactory.set_parser_defaults is its hook for this.
    """
    if type(value) in (int, float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return parse_timestamp(value)


def read_timestamps_in_utc(session: boto3.Session) -> None:
    """Every client `session` makes from now on parses timestamps with :func:`utc_timestamp`."""
    factory = session._session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=utc_timestamp)


class AwsClients:
    """One home for the boto3 clients that the collectors and publishers use for a target.

    With ``credentials`` (a member account's), the clients act with them, made from ``session`` all
    the same, so they share its parsed SDK data. Once the time left, as :meth:`watch` passes it on,
    falls below HURRY_SECONDS, :meth:`client` hands out clients that retry less: fetch a client where
    it is used, not once for a whole audit.
    """

    def __init__(
        self,
        session: boto3.Session,
        region: str,
        endpoint_url: str | None = None,
        config: Config = RETRY_CONFIG,
        credentials: Credentials | None = None,
    ):
        read_timestamps_in_utc(session)
        self.session = session
        self.region = region
        self.endpoint_url = endpoint_url
        self.config = config
        self.credentials = credentials
        self.counter = CallCounter()
        self._clients: dict[tuple[str, bool], Any] = {}
        self._lock = threading.Lock()
        self._hurried = False

    def watch(self, time_left: Callable[[], float]) -> Callable[[], float]:
        """`time_left` (seconds, a Lambda context's, say), passed on: every answer it gives the audit's
        deadline checks also tells these clients whether time is short, without asking it once more."""

        def watched() -> float:
            left = time_left()
            self._hurried = left < HURRY_SECONDS
            return left

        return watched

    def client(self, service: str) -> Any:
        key = (service, self._hurried)
        with self._lock:
            if key not in self._clients:
                config = hurried_config(self.config) if key[1] else self.config
                kwargs: dict[str, Any] = {"region_name": self.region, "config": config}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                if self.credentials:
                    kwargs.update(self.credentials.client_arguments())
                client = self.session.client(service, **kwargs)
                client.meta.events.register("before-call", self.counter.on_call)
                # Registered first, so botocore's own retry handler still decides whether to retry.
                client.meta.events.register_first("needs-retry", self.counter.on_attempt)
                self._clients[key] = client
            return self._clients[key]

    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def api_calls(self) -> dict[str, int]:
        return dict(self.counter.calls)

    def api_errors(self) -> dict[str, int]:
        return dict(self.counter.errors)


def hurried_config(config: Config) -> Config:
    """`config` with at most HURRIED_ATTEMPTS attempts a call (never more than it allowed), same retry mode."""
    retries = dict(config.retries or {})
    allowed = retries.get("total_max_attempts")
    if allowed is None and "max_attempts" in retries:
        allowed = retries["max_attempts"] + 1  # botocore's max_attempts counts retries only
    attempts = HURRIED_ATTEMPTS if allowed is None else min(int(allowed), HURRIED_ATTEMPTS)
    hurried: dict[str, Any] = {"total_max_attempts": attempts}
    if "mode" in retries:
        hurried["mode"] = retries["mode"]
    return config.merge(Config(retries=hurried))
