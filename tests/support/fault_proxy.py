"""An HTTP proxy between boto3 and the sandbox that answers chosen operations with AWS errors.

Errors are shaped as each protocol documents them, so botocore parses them as it would AWS's:
- awsJson1_x: `__type` in a JSON body (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html)
- restJson1: `X-Amzn-ErrorType` header (https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html)
- restXml (S3): an `<Error>` document (https://smithy.io/2.0/aws/protocols/aws-restxml-protocol.html)
- rpcv2Cbor: `__type` in a CBOR body (https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html)
"""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Fault:
    operation: str
    """The operation name (JSON and CBOR protocols), or a regex on "METHOD /path" for REST protocols."""
    code: str = "AccessDeniedException"
    status: int = 400
    message: str = "injected by the test fault proxy"


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
class Rewrite:
    """Answers for `operation` (as in Fault) pass through `change` on their way back: the parsed JSON body
    in, the body to send out. For responses with missing, odd or extra fields."""

    operation: str
    change: Any


RANDOM_FAULTS = (
    Fault("*", code="ThrottlingException", status=400),
    Fault("*", code="InternalFailure", status=500),
    Fault("*", code="ServiceUnavailable", status=503),
    Fault("*", code="stall"),
)


class FaultProxy:
    """Forwards to the sandbox; answers the listed operations with errors, and a share of all calls at random.

    `share` of the requests (seeded) get one of RANDOM_FAULTS: throttling, 500, 503, or a stalled
    connection that answers nothing for `stall_seconds` (longer than the client's read timeout).
    Requests to `spared` services (by the credential scope of their signature) are never faulted.
    """

    def __init__(
        self,
        upstream: str,
        faults: list[Fault] | None = None,
        share: float = 0.0,
        seed: int = 0,
        spared: frozenset[str] = frozenset(),
        stall_seconds: float = 2.0,
    ):
        self.upstream = urlsplit(upstream)
        self.faults = list(faults or [])
        self.share, self.spared, self.stall_seconds = share, spared, stall_seconds
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.answered: list[str] = []
        self.injected: list[str] = []
        self.holds: list[Hold] = []
        self.rewrites: list[Rewrite] = []
        self.rewritten: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        for hold in self.holds:
            hold.release.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def hold(self, operation: str) -> Hold:
        """Hold the next request for `operation` (as in Fault) until the returned Hold is released."""
        hold = Hold(operation)
        self.holds.append(hold)
        return hold

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        self._wait_if_held(request)
        fault = self._fault_for(request) or self._random_fault(request)
        if fault is not None:
            self.answered.append(fault.operation)
            if fault.code == "stall":
                time.sleep(self.stall_seconds)  # a server that stopped answering; the client times out first
                request.close_connection = True
                return
            self._answer_fault(request, fault)
            return
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("connection", "keep-alive")}
        connection.request(request.command, request.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = self._rewritten(request, response.status, response.read())
        request.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                request.send_header(key, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(payload)
        connection.close()

    def _random_fault(self, request: BaseHTTPRequestHandler) -> Fault | None:
        service = _service(request)
        if not self.share or service in self.spared:
            return None
        with self._lock:
            if self._random.random() >= self.share:
                return None
            fault = self._random.choice(RANDOM_FAULTS)
            self.injected.append(f"{service}:{fault.code}")
        return fault

    def _rewritten(self, request: BaseHTTPRequestHandler, status: int, payload: bytes) -> bytes:
        rewrite = next((r for r in self.rewrites if _matches(r.operation, request)), None)
        if rewrite is None or status != 200:
            return payload
        with self._lock:
            self.rewritten.append(rewrite.operation)
        return json.dumps(rewrite.change(json.loads(payload))).encode()

    def _fault_for(self, request: BaseHTTPRequestHandler) -> Fault | None:
        return next((fault for fault in self.faults if _matches(fault.operation, request)), None)

    def _wait_if_held(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            hold = next((h for h in self.holds if not h.taken and _matches(h.operation, request)), None)
            if hold is not None:
                hold.taken = True
        if hold is not None:
            hold.reached.set()
            hold.release.wait(timeout=Hold.MAX_SECONDS)

    def _answer_fault(self, request: BaseHTTPRequestHandler, fault: Fault) -> None:
        if request.headers.get("smithy-protocol") == "rpc-v2-cbor":
            payload = _cbor_text_map({"__type": fault.code, "message": fault.message})
            content_type = "application/cbor"
        elif _service(request) == "s3":
            # restXml, as S3 answers: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
            payload = (
                f"<Error><Code>{fault.code}</Code><Message>{fault.message}</Message>"
                "<RequestId>fault-proxy</RequestId></Error>"
            ).encode()
            content_type = "application/xml"
        elif request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            # The query protocol (IAM, STS): https://smithy.io/2.0/aws/protocols/aws-query-protocol.html
            payload = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{fault.code}</Code><Message>{fault.message}</Message></Error>"
                "<RequestId>fault-proxy</RequestId></ErrorResponse>"
            ).encode()
            content_type = "text/xml"
        else:
            payload = json.dumps({"__type": fault.code, "message": fault.message, "Message": fault.message}).encode()
            content_type = "application/x-amz-json-1.1"
        request.send_response(fault.status)
        request.send_header("Content-Type", content_type)
        request.send_header("X-Amzn-ErrorType", fault.code)
        if request.headers.get("smithy-protocol"):
            request.send_header("smithy-protocol", request.headers["smithy-protocol"])
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)


def _matches(operation: str, request: BaseHTTPRequestHandler) -> bool:
    """An operation name (JSON and CBOR protocols), or a regex on "METHOD /path" (REST protocols)."""
    target = request.headers.get("X-Amz-Target", "")
    name = target.rsplit(".", 1)[-1] if target else request.path.rstrip("/").rsplit("/", 1)[-1]
    return operation == name or re.fullmatch(operation, f"{request.command} {urlsplit(request.path).path}") is not None


def _service(request: BaseHTTPRequestHandler) -> str:
    """The service a SigV4-signed request is for, from its credential scope (…/region/service/aws4_request)."""
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", request.headers.get("Authorization", ""))
    return match.group(1) if match else "unknown"


def _cbor_text_map(items: dict[str, str]) -> bytes:
    """A CBOR map of short text strings (RFC 8949 major types 5 and 3)."""

    def text(value: str) -> bytes:
        data = value.encode()
        if len(data) < 24:
            return bytes([0x60 | len(data)]) + data
        if len(data) < 256:
            return bytes([0x78, len(data)]) + data
        return bytes([0x79]) + len(data).to_bytes(2, "big") + data

    out = bytes([0xA0 | len(items)])
    for key, value in items.items():
        out += text(key) + text(value)
    return out
