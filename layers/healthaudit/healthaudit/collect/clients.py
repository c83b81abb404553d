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
    """Counts API calls (not HTTP attempts) and failed calls by operation, across threads."""

    calls: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_call(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def on_response(self, event_name: str, http_response: Any = None, **_: Any) -> None:
        if http_response is not None and http_response.status_code >= 400:
            with self._lock:
                self.errors[event_name.rsplit(".", 1)[-1]] += 1

    def on_connection_error(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.errors[event_name.rsplit(".", 1)[-1]] += 1


class AwsClients:
    """One home for the boto3 clients that the collectors and publishers use for a target."""

    def __init__(self, session: boto3.Session, region: str, endpoint_url: str | None = None):
        self.session = session
        self.region = region
        self.endpoint_url = endpoint_url
        self.counter = CallCounter()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                kwargs: dict[str, Any] = {"region_name": self.region, "config": RETRY_CONFIG}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                client = self.session.client(service, **kwargs)
                client.meta.events.register("before-call", self.counter.on_call)
                client.meta.events.register("after-call", self.counter.on_response)
                client.meta.events.register("after-call-error", self.counter.on_connection_error)
                self._clients[service] = client
            return self._clients[service]

    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def api_calls(self) -> dict[str, int]:
        return dict(self.counter.calls)

    def api_errors(self) -> dict[str, int]:
        return dict(self.counter.errors)
