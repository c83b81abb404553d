"""A counting reverse proxy on 127.0.0.1: every AWS request passes through it and is counted by operation.

Both the auditor and Cloud Custodian are pointed at it (as their endpoint URL), so their calls are
counted the same way: by HTTP request, retries included, whatever the SDK reports about itself.
The operation is read from the request as each AWS protocol carries it:

- awsJson (CloudWatch Logs, Tagging, CloudWatch): the ``X-Amz-Target`` header, ``Service.Operation``;
- Smithy RPC v2 CBOR (CloudWatch in recent SDKs): the path ``/service/<Service>/operation/<Operation>``;
- query (STS, IAM; CloudWatch in older SDKs): ``Action=`` in the form body or the query string;
- REST-JSON (Lambda): method and path, matched against Lambda's routes below.
"""

from __future__ import annotations

import http.client
import re
import threading
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The REST routes of Lambda (https://docs.aws.amazon.com/lambda/latest/api/) that the auditor and Custodian use.
LAMBDA_ROUTES = [
    ("GET", r"/2015-03-31/functions/?$", "ListFunctions"),
    ("GET", r"/2015-03-31/functions/[^/]+/?$", "GetFunction"),
    ("GET", r"/2015-03-31/functions/[^/]+/configuration/?$", "GetFunctionConfiguration"),
    ("GET", r"/2015-03-31/functions/[^/]+/policy/?$", "GetPolicy"),
    ("GET", r"/2019-09-30/functions/[^/]+/concurrency/?$", "GetFunctionConcurrency"),
    ("GET", r"/2019-09-25/functions/[^/]+/event-invoke-config/?$", "GetFunctionEventInvokeConfig"),
    ("GET", r"/2019-09-25/functions/[^/]+/event-invoke-config/list/?$", "ListFunctionEventInvokeConfigs"),
    ("GET", r"/2015-03-31/event-source-mappings/?$", "ListEventSourceMappings"),
    ("GET", r"/2016-08-19/account-settings/?$", "GetAccountSettings"),
    ("GET", r"/2017-03-31/tags/.+$", "ListTags"),
    # X-Ray is REST-JSON too (https://docs.aws.amazon.com/xray/latest/api/).
    ("POST", r"/ServiceGraph/?$", "GetServiceGraph"),
    ("POST", r"/TraceSummaries/?$", "GetTraceSummaries"),
    ("POST", r"/Traces/?$", "BatchGetTraces"),
]
_LAMBDA = [(method, re.compile(pattern), name) for method, pattern, name in LAMBDA_ROUTES]
_RPC_V2 = re.compile(r"^/service/[^/]+/operation/([^/?]+)")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"}


def operation_of(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    target = headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    match = _RPC_V2.match(path)
    if match:
        return match.group(1)
    url = urllib.parse.urlsplit(path)
    for source in (url.query, body.decode("latin-1") if _is_form(headers) else ""):
        action = urllib.parse.parse_qs(source).get("Action")
        if action:
            return action[0]
    for route_method, pattern, name in _LAMBDA:
        if method == route_method and pattern.match(url.path):
            return name
    return f"{method} {url.path}"


def _is_form(headers: dict[str, str]) -> bool:
    return headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


class CountingProxy:
    """Forward 127.0.0.1:<port> to `upstream`, counting requests (and error responses) by operation."""

    def __init__(self, upstream: str) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the proxy only forwards to loopback, got {upstream}")
        self._upstream = (parsed.hostname, parsed.port or 80)
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="counting-proxy", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.errors.clear()

    def _count(self, operation: str, status: int) -> None:
        with self._lock:
            self.calls[operation] += 1
            if status >= 400:
                self.errors[operation] += 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs expect

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                operation = operation_of(self.command, self.path, headers, body)
                upstream = getattr(self, "_connection", None)
                if upstream is None:
                    upstream = self._connection = http.client.HTTPConnection(*proxy._upstream, timeout=300)
                forwarded = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                try:
                    upstream.request(self.command, self.path, body=body, headers=forwarded)
                    response = upstream.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException):
                    upstream.close()
                    self._connection = None
                    proxy._count(operation, 502)
                    self.send_error(502, "upstream unavailable")
                    return
                proxy._count(operation, response.status)
                self.send_response_only(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        return Handler
