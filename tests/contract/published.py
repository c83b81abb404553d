"""Answers AWS published, served over HTTP on loopback the way each service's protocol carries them.

A `PublishedEndpoint` answers the operations it is given with fixed bodies (the examples AWS
publishes) and forwards every other request to an upstream endpoint (the sandbox), or refuses it
when there is none. The code under test keeps its own boto3 clients: botocore parses the published
answer exactly as it would parse AWS's.

The wire forms follow the protocols botocore's service models name:
- awsJson1_1 (CloudWatch Logs): the JSON body, operation in `X-Amz-Target`
  (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html)
- restJson1 (Lambda, X-Ray): the JSON body, operation from the HTTP method and path
  (https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html)
- awsQuery (IAM): the XML document, operation in the form's `Action`
  (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html)
- awsJson1_0 (CloudWatch, the first of its protocols that botocore supports): the JSON body, operation
  in `X-Amz-Target` (https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html)
"""

from __future__ import annotations

import functools
import http.client
import json
import re
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit

import botocore.session
from botocore.exceptions import UnknownServiceError

PAYLOADS = Path(__file__).resolve().parent / "payloads"


def payload_text(relative: str) -> str:
    """A stored payload as published (tests/contract/payloads/SOURCES.md says where each came from)."""
    return (PAYLOADS / relative).read_text()


def payload_json(relative: str) -> Any:
    return json.loads(payload_text(relative))


def without_elisions(text: str) -> str:
    """A published example with its elisions taken out, so that it parses as JSON.

    AWS's examples shorten long answers with lines such as `...` or `... TRUNCATED FOR BREVITY ...`;
    this drops those lines and the commas they leave dangling, and changes nothing else.
    """
    kept = [line for line in text.splitlines() if not re.fullmatch(r"\s*\.\.\.[^\"{}\[\]]*", line)]
    return re.sub(r",(\s*[\]}])", r"\1", "\n".join(kept))


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str
    status: int = 200


def json_answer(text: str, content_type: str = "application/x-amz-json-1.1") -> Answer:
    """A JSON protocol answer whose body is `text`, byte for byte (even when it is not valid JSON)."""
    return Answer(text.encode(), content_type)


def rest_json_answer(text: str) -> Answer:
    return Answer(text.encode(), "application/json")


def xml_answer(text: str) -> Answer:
    return Answer(text.encode(), "text/xml")


class PublishedEndpoint:
    """A loopback HTTP endpoint: the listed operations get their published answers, the rest goes upstream.

    `answers` maps an operation name (as botocore's service model spells it) to its answer, given to
    every call. Without `upstream`, any other request gets a 501 and is recorded in `unexpected`, so a
    test sees what the code asked that nobody answered.
    """

    def __init__(self, answers: dict[str, Answer], upstream: str | None = None):
        self.answers = dict(answers)
        self.upstream = urlsplit(upstream) if upstream else None
        self.asked: list[str] = []
        self.unexpected: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> PublishedEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm and the client's
                # delayed ACK hold each answer for tens of milliseconds.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                endpoint._handle(self)

            do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        operation = operation_of(request, body)
        answer = self.answers.get(operation)
        with self._lock:
            self.asked.append(operation)
        if answer is not None:
            _send(request, answer)
        elif self.upstream is not None:
            _forward(request, body, self.upstream)
        else:
            with self._lock:
                self.unexpected.append(f"{operation} ({request.command} {request.path})")
            _send(
                request,
                Answer(json.dumps({"message": f"nothing published for {operation}"}).encode(), "application/json", 501),
            )


def operation_of(request: BaseHTTPRequestHandler, body: bytes) -> str:
    """The AWS operation a botocore request calls, whatever its protocol."""
    target = request.headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    path = urlsplit(request.path).path
    if request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        return parse_qs(body.decode()).get("Action", ["?"])[0]
    service = _signing_name(request)
    for name, method, pattern in _rest_operations(service):
        if method == request.command and pattern.fullmatch(path):
            return name
    return f"{service}:{request.command} {path}"


def _signing_name(request: BaseHTTPRequestHandler) -> str:
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", request.headers.get("Authorization", ""))
    return match.group(1) if match else "unknown"


@functools.cache
def _rest_operations(service: str) -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    """Each operation's method and path pattern, from botocore's model of the service (its `requestUri`)."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:  # a signing name that names no service matches nothing
        return ()
    operations = []
    for name in model.operation_names:
        http_binding = model.operation_model(name).http
        template = http_binding["requestUri"].split("?", 1)[0]
        pattern = re.sub(r"\\\{[^}]+?\\\+\\\}", ".+", re.escape(template))
        pattern = re.sub(r"\\\{[^}]+?\\\}", "[^/]+", pattern)
        operations.append((name, http_binding["method"], re.compile(pattern)))
    return tuple(operations)


def _send(request: BaseHTTPRequestHandler, answer: Answer) -> None:
    request.send_response(answer.status)
    request.send_header("Content-Type", answer.content_type)
    request.send_header("x-amzn-RequestId", "published-example")
    request.send_header("Content-Length", str(len(answer.body)))
    request.end_headers()
    if request.command != "HEAD":
        request.wfile.write(answer.body)


def _forward(request: BaseHTTPRequestHandler, body: bytes, upstream: SplitResult) -> None:
    connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in ("connection", "keep-alive")}
    connection.request(request.command, request.path, body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    request.send_response(response.status)
    for key, value in response.getheaders():
        if key.lower() not in ("transfer-encoding", "connection", "content-length"):
            request.send_header(key, value)
    request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    if request.command != "HEAD":
        request.wfile.write(payload)
    connection.close()
