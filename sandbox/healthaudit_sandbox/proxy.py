"""One AWS-protocol proxy on 127.0.0.1, between boto3 and the sandbox: it counts, injects faults and answers.

Point a client's ``endpoint_url`` at :attr:`AwsProxy.endpoint`. Every request is recorded by its
operation (:mod:`healthaudit_sandbox.aws_protocols` reads it from the request as each protocol
carries it) in :attr:`AwsProxy.asked`, so the bench counts calls by HTTP request, retries included,
whatever the SDK reports about itself. Then, in this order, a request may be:

- held (:meth:`AwsProxy.hold`) until the test releases it, so a test can act while a call is in flight;
- answered with an AWS error (:class:`Fault`), listed or drawn at random for a share of all calls,
  or stalled: no answer for ``stall_seconds``, longer than the client's read timeout;
- answered with a fixed :class:`Answer` (an example AWS publishes, say);
- forwarded to the upstream endpoint, its answer passed through a :class:`Rewrite` on the way back;
- refused with a 501 and recorded in :attr:`AwsProxy.unexpected`, when there is no upstream.

Operations are named as botocore's service models spell them (``ListFunctions``), or matched by a
regex on ``METHOD /path`` (``GET /2019-09-25/functions/[^/]+/event-invoke-config/list``).
"""

from __future__ import annotations

import http.client
import json
import random
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .aws_protocols import REQUEST_ID, error_answer, operation_of, signing_service

__all__ = ["RANDOM_FAULTS", "Answer", "AwsProxy", "Fault", "Hold", "Rewrite"]

#: Seconds the proxy waits for the upstream's answer (a 10,000-function audit asks for big pages).
UPSTREAM_TIMEOUT_SECONDS = 300.0
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"}
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_STALE_CONNECTION = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


@dataclass(frozen=True)
class Fault:
    operation: str
    """The operation name, or a regex on "METHOD /path"."""
    code: str = "AccessDeniedException"
    """The AWS error code; "stall" answers nothing at all."""
    status: int = 400
    message: str = "injected by the sandbox's proxy"


RANDOM_FAULTS = (
    Fault("*", code="ThrottlingException", status=400),
    Fault("*", code="InternalFailure", status=500),
    Fault("*", code="ServiceUnavailable", status=503),
    Fault("*", code="stall"),
)


@dataclass(frozen=True)
class Rewrite:
    """Answers for `operation` (as in Fault) pass through `change` on their way back: the parsed JSON body
    in, the body to send out. For responses with missing, odd or extra fields."""

    operation: str
    change: Callable[[Any], Any]


@dataclass(frozen=True)
class Answer:
    """A fixed answer: the body byte for byte (even when it is not valid JSON), its content type and status."""

    body: bytes
    content_type: str
    status: int = 200


@dataclass
class Hold:
    """The first request for `operation` waits at the proxy until `release` is set.

    `reached` is set when it arrives, so a test can act while a call is in flight (a concurrent
    duplicate, say) without sleeping. Released on the proxy's exit at the latest.
    """

    operation: str
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    taken: bool = False

    MAX_SECONDS = 120.0


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    """Lower-case names, hop-by-hop headers included."""
    body: bytes
    operation: str

    def is_for(self, operation: str) -> bool:
        """`operation` names this request's operation, or is a regex matching its "METHOD /path"."""
        return (
            operation == self.operation
            or re.fullmatch(operation, f"{self.method} {urlsplit(self.path).path}") is not None
        )


class AwsProxy:
    """Forwards 127.0.0.1:<port> to `upstream` (loopback only), counting, faulting and answering on the way.

    `faults` answer the operations they name with errors. `share` of all requests (seeded by `seed`)
    get one of RANDOM_FAULTS, except those for the `spared` services (by the credential scope of their
    signature). `answers` map an operation name to the fixed Answer every call of it gets. Without
    `upstream`, any other request is refused. `faults` and `rewrites` may change while the proxy runs.
    """

    def __init__(
        self,
        upstream: str | None,
        faults: list[Fault] | None = None,
        *,
        share: float = 0.0,
        seed: int = 0,
        spared: frozenset[str] = frozenset(),
        stall_seconds: float = 2.0,
        answers: dict[str, Answer] | None = None,
    ) -> None:
        self.upstream = urlsplit(upstream) if upstream else None
        if self.upstream is not None and self.upstream.hostname not in _LOOPBACK:
            raise ValueError(f"the proxy only forwards to loopback, got {upstream}")
        self.faults = list(faults or [])
        self.rewrites: list[Rewrite] = []
        self.answers = dict(answers or {})
        self.holds: list[Hold] = []
        self.share, self.spared, self.stall_seconds = share, spared, stall_seconds
        self.asked: list[str] = []
        """The operation of every request, in the order they arrived."""
        self.answered: list[str] = []
        """The Fault.operation of every request answered with a fault."""
        self.injected: list[str] = []
        """"service:code" of every random fault."""
        self.rewritten: list[str] = []
        self.unexpected: list[str] = []
        self._random = random.Random(seed)  # noqa: S311 - which calls fail, not a secret
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def calls(self) -> Counter[str]:
        """Requests by operation."""
        with self._lock:
            return Counter(self.asked)

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "the proxy is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> AwsProxy:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="aws-proxy", daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._closing.set()
        for hold in self.holds:
            hold.release.set()
        self._server.shutdown()
        self._server.server_close()

    def hold(self, operation: str) -> Hold:
        """Hold the next request for `operation` (as in Fault) until the returned Hold is released."""
        hold = Hold(operation)
        with self._lock:
            self.holds.append(hold)
        return hold

    def reset(self) -> None:
        """Forget what was asked, answered, injected, rewritten and refused; faults and answers stay."""
        with self._lock:
            for record in (self.asked, self.answered, self.injected, self.rewritten, self.unexpected):
                record.clear()

    def _handle(self, handler: _Handler) -> None:
        request = _read(handler)
        with self._lock:
            self.asked.append(request.operation)
        self._wait_if_held(request)
        fault = self._fault_for(request)
        if fault is not None:
            with self._lock:
                self.answered.append(fault.operation)
            if fault.code == "stall":
                self._closing.wait(self.stall_seconds)  # a server that stopped answering; the client times out first
                handler.close_connection = True
                return
            answer = error_answer(fault.code, fault.message, request.headers)
            _send(handler, fault.status, answer.headers.items(), answer.body)
            return
        canned = self.answers.get(request.operation)
        if canned is not None:
            headers = [("Content-Type", canned.content_type), ("x-amzn-RequestId", REQUEST_ID)]
            _send(handler, canned.status, headers, canned.body)
            return
        if self.upstream is None:
            with self._lock:
                self.unexpected.append(f"{request.operation} ({request.method} {request.path})")
            message = json.dumps({"message": f"nothing answers {request.operation}"}).encode()
            _send(handler, 501, [("Content-Type", "application/json")], message)
            return
        self._forward(handler, request)

    def _fault_for(self, request: _Request) -> Fault | None:
        listed = next((fault for fault in list(self.faults) if request.is_for(fault.operation)), None)
        if listed is not None:
            return listed
        service = signing_service(request.headers)
        if not self.share or service in self.spared:
            return None
        with self._lock:
            if self._random.random() >= self.share:
                return None
            fault = self._random.choice(RANDOM_FAULTS)
            self.injected.append(f"{service}:{fault.code}")
        return fault

    def _wait_if_held(self, request: _Request) -> None:
        with self._lock:
            hold = next((h for h in self.holds if not h.taken and request.is_for(h.operation)), None)
            if hold is not None:
                hold.taken = True
        if hold is not None:
            hold.reached.set()
            hold.release.wait(timeout=Hold.MAX_SECONDS)

    def _forward(self, handler: _Handler, request: _Request) -> None:
        forwarded = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            response, payload = self._exchange(handler, request, forwarded)
        except (OSError, http.client.HTTPException):
            handler.drop_upstream()
            handler.send_error(502, "upstream unavailable")
            return
        payload = self._rewritten(request, response.status, payload)
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP | {"content-length"}]
        _send(handler, response.status, headers, payload, reason=response.reason)

    def _exchange(
        self, handler: _Handler, request: _Request, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, bytes]:
        """One request upstream on the handler's kept-alive connection; once more on a new one if that went stale."""
        reused = handler.upstream_connection is not None
        try:
            return _exchange_on(handler.upstream_for(self.upstream), request, headers)
        except _STALE_CONNECTION:
            if not reused:
                raise
            handler.drop_upstream()  # the upstream closed an idle kept-alive connection before reading this request
            return _exchange_on(handler.upstream_for(self.upstream), request, headers)

    def _rewritten(self, request: _Request, status: int, payload: bytes) -> bytes:
        rewrite = next((r for r in list(self.rewrites) if request.is_for(r.operation)), None)
        if rewrite is None or status != 200:
            return payload
        with self._lock:
            self.rewritten.append(rewrite.operation)
        return json.dumps(rewrite.change(json.loads(payload))).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs expect
    proxy: AwsProxy
    upstream_connection: http.client.HTTPConnection | None = None

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the client's
        # delayed ACK hold each answer for tens of milliseconds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self) -> None:
        self.drop_upstream()
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def upstream_for(self, upstream: Any) -> http.client.HTTPConnection:
        if self.upstream_connection is None:
            self.upstream_connection = http.client.HTTPConnection(
                upstream.hostname, upstream.port or 80, timeout=UPSTREAM_TIMEOUT_SECONDS
            )
        return self.upstream_connection

    def drop_upstream(self) -> None:
        if self.upstream_connection is not None:
            self.upstream_connection.close()
            self.upstream_connection = None

    def do_GET(self) -> None:
        self.proxy._handle(self)

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET


def _handler_for(proxy: AwsProxy) -> type[_Handler]:
    return type("AwsProxyHandler", (_Handler,), {"proxy": proxy})


def _read(handler: _Handler) -> _Request:
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    headers = {k.lower(): v for k, v in handler.headers.items()}
    operation = operation_of(handler.command, handler.path, headers, body)
    return _Request(handler.command, handler.path, headers, body, operation)


def _exchange_on(
    connection: http.client.HTTPConnection, request: _Request, headers: dict[str, str]
) -> tuple[http.client.HTTPResponse, bytes]:
    connection.request(request.method, request.path, body=request.body, headers=headers)
    response = connection.getresponse()
    return response, response.read()


def _send(
    handler: _Handler, status: int, headers: Iterable[tuple[str, str]], body: bytes, reason: str | None = None
) -> None:
    handler.send_response_only(status, reason)
    for key, value in headers:
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)
