"""boto3 clients for one account and region: adaptive retries, and every API call counted."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

# Adaptive mode adds client-side rate limiting to standard retries:
# https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="healthaudit",
)


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


class AwsClients:
    """One home for the boto3 clients that the collectors and publishers use for a target."""

    def __init__(
        self, session: boto3.Session, region: str, endpoint_url: str | None = None, config: Config = RETRY_CONFIG
    ):
        self.session = session
        self.region = region
        self.endpoint_url = endpoint_url
        self.config = config
        self.counter = CallCounter()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                kwargs: dict[str, Any] = {"region_name": self.region, "config": self.config}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                client = self.session.client(service, **kwargs)
                client.meta.events.register("before-call", self.counter.on_call)
                # Registered first, so botocore's own retry handler still decides whether to retry.
                client.meta.events.register_first("needs-retry", self.counter.on_attempt)
                self._clients[service] = client
            return self._clients[service]

    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def api_calls(self) -> dict[str, int]:
        return dict(self.counter.calls)

    def api_errors(self) -> dict[str, int]:
        return dict(self.counter.errors)
