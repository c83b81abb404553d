"""A Slack-compatible HTTP server on loopback, for slack-sdk to talk to in tests.

It implements `chat.postMessage` and incoming webhooks the way Slack documents them, and enforces
the limits our digest must respect:

- https://api.slack.com/methods/chat.postMessage (auth, channel IDs, `text`, `thread_ts`, errors)
- https://api.slack.com/reference/block-kit/blocks (50 blocks; section text 3,000 and fields
  10 x 2,000; header plain_text 150; context 10 elements)
- https://api.slack.com/docs/rate-limits (HTTP 429 with a Retry-After header)

    with SlackServer(tokens={"xoxb-test"}, channels={"C0123456789"}) as slack:
        client = WebClient(token="xoxb-test", base_url=slack.api_url)

Every request is recorded in `posts` (Authorization value removed); accepted messages in
`messages`. `fail_next` makes the next requests fail, before anything else is looked at.
Channels in `without_the_app` exist but the app is not a member: chat.postMessage answers
`not_in_channel` there, as Slack documents.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BLOCK_ID = 255
MAX_MESSAGE_TEXT = 40000
BLOCK_TYPES = {"section", "header", "context", "divider", "actions", "image", "rich_text", "markdown", "input", "file"}


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    """Request headers, without Authorization (see `authorization`)."""
    body: Any
    """The parsed body: a dict for JSON and form bodies, the raw text when it could not be parsed."""
    authorization: str | None
    """"Bearer (redacted)" when a bearer token was sent, None when none was."""
    status: int
    answer: Any


@dataclass
class _Fault:
    status: int
    error: str
    retry_after: int | None
    stall: bool = False


@dataclass
class _State:
    tokens: set[str]
    channels: set[str]
    webhooks: set[str]
    without_the_app: set[str] = field(default_factory=set)
    posts: list[ReceivedRequest] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ts_counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    epoch: int = field(default_factory=lambda: int(time.time()))
    stopping: threading.Event = field(default_factory=threading.Event)
    response_urls: dict[str, dict[str, Any]] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    """What the server reads the time from: a test gives its own, and moves it on instead of waiting."""


#: A response_url takes up to five responses within 30 minutes of the interaction:
#: https://api.slack.com/interactivity/handling#message_responses
RESPONSE_URL_USES = 5
RESPONSE_URL_SECONDS = 30 * 60


class SlackServer:
    def __init__(
        self,
        tokens: Iterable[str] = ("xoxb-test-token",),
        channels: Iterable[str] = ("C0123456789",),
        webhooks: Iterable[str] = ("/services/T000/B000/XXXX",),
        without_the_app: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._state = _State(
            tokens=set(tokens),
            channels=set(channels),
            webhooks=set(webhooks),
            without_the_app=set(without_the_app),
            clock=clock,
        )
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SlackServer:
        state = self._state

        class Handler(_SlackHandler):
            pass

        Handler.state = state
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name="slack-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()  # stalled requests give up their connection
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("SlackServer is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """The base_url for slack-sdk's WebClient."""
        return f"{self.url}/api/"

    @property
    def webhook_url(self) -> str:
        """The first configured incoming-webhook URL."""
        return self.url + min(self._state.webhooks)

    def response_url(self, channel: str, ts: str) -> str:
        """A click's response_url for the message `ts` in `channel`, as Slack puts in an interaction payload:
        it takes up to five responses within 30 minutes of the click (RESPONSE_URL_USES, RESPONSE_URL_SECONDS)."""
        with self._state.lock:
            path = f"/actions/T000/{len(self._state.response_urls) + 1}/{ts.replace('.', '')}"
            self._state.response_urls[path] = {
                "channel": channel,
                "ts": ts,
                "uses_left": RESPONSE_URL_USES,
                "issued_at": self._state.clock(),
            }
        return self.url + path

    # -- what happened -----------------------------------------------------------------------

    @property
    def posts(self) -> list[ReceivedRequest]:
        with self._state.lock:
            return list(self._state.posts)

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return list(self._state.messages)

    # -- faults ------------------------------------------------------------------------------

    def stall_next(self, n: int = 1) -> None:
        """Answer nothing to the next `n` requests until the server stops: the client's timeout must fire."""
        with self._state.lock:
            self._state.faults.extend([_Fault(status=0, error="stalled", retry_after=None, stall=True)] * n)

    def fail_next(self, n: int = 1, status: int = 429, retry_after: int | None = 1, error: str | None = None) -> None:
        """Answer the next `n` requests with a failure instead of handling them.

        429 answers carry Retry-After (unless `retry_after` is None) and error "ratelimited";
        5xx answers error "internal_error"; status 200 needs an `error`, e.g. "invalid_auth".
        """
        if status == 200 and error is None:
            raise ValueError("a failure with status 200 needs an error, e.g. 'invalid_auth'")
        default = "ratelimited" if status == 429 else "internal_error"
        fault = _Fault(status=status, error=error or default, retry_after=retry_after if status == 429 else None)
        with self._state.lock:
            self._state.faults.extend([fault] * n)


class _SlackHandler(BaseHTTPRequestHandler):
    state: _State
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = _parse_body(raw, content_type)
        if split.query:
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            body = {**query, **body} if isinstance(body, dict) else body

        with self.state.lock:
            fault = self.state.faults.pop(0) if self.state.faults else None
        if fault is not None and fault.stall:
            self._record(body, status=0, answer="stalled")
            self.state.stopping.wait(timeout=120)
            self.close_connection = True
            return
        if fault is not None:
            status, answer, headers = fault.status, {"ok": False, "error": fault.error}, {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
        elif split.path.startswith("/api/"):
            status, answer, headers = 200, self._api(split.path[len("/api/") :], body, content_type), {}
        elif split.path.startswith("/services/"):
            status, answer, headers = (*self._webhook(split.path, body, content_type), {})
        elif split.path.startswith("/actions/"):
            status, answer, headers = (*self._response(split.path, body), {})
        else:
            status, answer, headers = 404, "not_found", {}

        self._record(body, status, answer)
        self._reply(status, answer, headers)

    def _record(self, body: Any, status: int, answer: Any) -> None:
        auth = self.headers.get("Authorization")
        with self.state.lock:
            self.state.posts.append(
                ReceivedRequest(
                    method=self.command,
                    path=urlsplit(self.path).path,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "authorization"},
                    body=body,
                    authorization=None if auth is None else f"{auth.split(' ')[0]} (redacted)",
                    status=status,
                    answer=answer,
                )
            )

    def _reply(self, status: int, answer: Any, headers: dict[str, str]) -> None:
        if isinstance(answer, str):
            payload, content_type = answer.encode(), "text/plain; charset=utf-8"
        else:
            payload, content_type = json.dumps(answer).encode(), "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    # -- Web API -----------------------------------------------------------------------------

    def _api(self, method: str, body: Any, content_type: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            return {"ok": False, "error": "invalid_json" if content_type == "application/json" else "invalid_form_data"}
        auth_error = self._auth_error(body, content_type)
        if auth_error:
            return {"ok": False, "error": auth_error}
        if method == "chat.postMessage":
            return self._post_message(body)
        return {"ok": False, "error": "unknown_method"}

    def _auth_error(self, body: dict[str, Any], content_type: str) -> str | None:
        header = self.headers.get("Authorization") or ""
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else None
        if token is None and content_type != "application/json":
            token = body.get("token")  # form bodies may carry the token; JSON bodies may not
        if not token:
            return "not_authed"
        return None if token in self.state.tokens else "invalid_auth"

    def _post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = body.get("channel")
        if channel in self.state.without_the_app:
            return {"ok": False, "error": "not_in_channel"}
        if channel not in self.state.channels:
            return {"ok": False, "error": "channel_not_found"}
        blocks = body.get("blocks")
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                return {"ok": False, "error": "invalid_blocks_format"}
        if blocks is not None:
            if not isinstance(blocks, list):
                return {"ok": False, "error": "invalid_blocks_format"}
            errors = block_errors(blocks)
            if errors:
                return {"ok": False, "error": "invalid_blocks", "errors": errors}
        text = body.get("text")
        if not text and not blocks and not body.get("attachments"):
            return {"ok": False, "error": "no_text"}
        if text is not None and (not isinstance(text, str) or len(text) > MAX_MESSAGE_TEXT):
            return {"ok": False, "error": "msg_too_long"}
        thread_ts = body.get("thread_ts")
        with self.state.lock:
            posted = {m["ts"] for m in self.state.messages if m.get("channel") == channel}
            if thread_ts is not None and thread_ts not in posted:
                return {"ok": False, "error": "thread_not_found"}
            ts = f"{self.state.epoch}.{next(self.state.ts_counter):06d}"
            message = {"type": "message", "bot_id": "B0000000001", "text": text or "", "ts": ts}
            if blocks is not None:
                message["blocks"] = blocks
            if thread_ts is not None:
                message["thread_ts"] = thread_ts
            self.state.messages.append({"channel": channel, **message})
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    # -- incoming webhooks -------------------------------------------------------------------

    def _webhook(self, path: str, body: Any, content_type: str) -> tuple[int, str]:
        if path not in self.state.webhooks:
            return 404, "no_service"
        if content_type == "application/x-www-form-urlencoded" and isinstance(body, dict) and "payload" in body:
            body = _parse_body(body["payload"], "application/json")
        if not isinstance(body, dict):
            return 400, "invalid_payload"
        blocks = body.get("blocks")
        if blocks is not None and (not isinstance(blocks, list) or block_errors(blocks)):
            return 400, "invalid_payload"
        if not body.get("text") and not blocks and not body.get("attachments"):
            return 400, "no_text"
        with self.state.lock:
            self.state.messages.append({"webhook": path, "text": body.get("text", ""), "blocks": blocks})
        return 200, "ok"

    # -- response_url (a click's answer) ---------------------------------------------------------

    def _response(self, path: str, body: Any) -> tuple[int, Any]:
        """replace_original replaces the clicked message's text and blocks (keeping its ts); otherwise the
        answer is ephemeral, seen by the clicker only, and recorded with the request. Slack documents no
        answer body for response_url: {"ok": true} as for the Web API, 404 for an unknown, used-up or expired URL."""
        with self.state.lock:
            target = self.state.response_urls.get(path)
            if (
                target is None
                or target["uses_left"] < 1
                or self.state.clock() - target["issued_at"] > RESPONSE_URL_SECONDS
            ):
                return 404, {"ok": False, "error": "expired_url"}
            target["uses_left"] -= 1
        if not isinstance(body, dict):
            return 400, {"ok": False, "error": "invalid_payload"}
        blocks = body.get("blocks")
        if blocks is not None and (not isinstance(blocks, list) or block_errors(blocks)):
            return 400, {"ok": False, "error": "invalid_blocks"}
        if not body.get("text") and not blocks:
            return 400, {"ok": False, "error": "no_text"}
        if body.get("replace_original") in (True, "true"):
            with self.state.lock:
                for message in self.state.messages:
                    if message.get("channel") == target["channel"] and message.get("ts") == target["ts"]:
                        message["text"] = body.get("text", "")
                        message["blocks"] = blocks
                        message["edited"] = True
        return 200, {"ok": True}


def _parse_body(raw: str, content_type: str) -> Any:
    if content_type == "application/json":
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return raw
    if content_type == "application/x-www-form-urlencoded" or not raw:
        return dict(parse_qsl(raw, keep_blank_values=True))
    return raw


def block_errors(blocks: list[Any]) -> list[str]:
    """Block Kit problems as Slack reports them: a message and a JSON pointer each; empty when valid."""
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            errors.append(f"unsupported type [json-pointer:{where}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID or block_id in block_ids:
                errors.append(f"invalid or duplicate block_id [json-pointer:{where}/block_id]")
            block_ids.add(str(block_id))
        kind = block["type"]
        if kind == "header":
            errors += _text_errors(block.get("text"), f"{where}/text", MAX_HEADER_TEXT, types=("plain_text",))
        elif kind == "section":
            if block.get("text") is None and block.get("fields") is None:
                errors.append(f"must provide text or fields [json-pointer:{where}]")
            if block.get("text") is not None:
                errors += _text_errors(block["text"], f"{where}/text", MAX_SECTION_TEXT)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or not 1 <= len(fields) <= MAX_SECTION_FIELDS:
                    errors.append(f"between 1 and {MAX_SECTION_FIELDS} items allowed [json-pointer:{where}/fields]")
                else:
                    for n, item in enumerate(fields):
                        errors += _text_errors(item, f"{where}/fields/{n}", MAX_FIELD_TEXT)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS:
                errors.append(f"between 1 and {MAX_CONTEXT_ELEMENTS} items allowed [json-pointer:{where}/elements]")
            else:
                for n, item in enumerate(elements):
                    if not (isinstance(item, dict) and item.get("type") == "image"):
                        errors += _text_errors(item, f"{where}/elements/{n}", MAX_SECTION_TEXT)
        elif kind == "actions":
            errors += _actions_errors(block.get("elements"), where)
    return errors


MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255


def _actions_errors(elements: Any, where: str) -> list[str]:
    """An actions block's elements: 1 to 25, buttons with plain_text of up to 75 characters, a value of up to
    2,000 and an action_id of up to 255, unique in the block
    (https://api.slack.com/reference/block-kit/blocks#actions, .../block-elements#button)."""
    if not isinstance(elements, list) or not 1 <= len(elements) <= MAX_ACTIONS_ELEMENTS:
        return [f"between 1 and {MAX_ACTIONS_ELEMENTS} items allowed [json-pointer:{where}/elements]"]
    errors, action_ids = [], set()
    for n, element in enumerate(elements):
        at = f"{where}/elements/{n}"
        if not isinstance(element, dict) or element.get("type") != "button":
            errors.append(f"unsupported type [json-pointer:{at}/type]")
            continue
        errors += _text_errors(element.get("text"), f"{at}/text", MAX_BUTTON_TEXT, types=("plain_text",))
        value, action_id = element.get("value"), element.get("action_id")
        if value is not None and (not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE):
            errors.append(f"must be less than {MAX_BUTTON_VALUE + 1} characters [json-pointer:{at}/value]")
        if action_id is not None:
            if not isinstance(action_id, str) or len(action_id) > MAX_ACTION_ID or action_id in action_ids:
                errors.append(f"invalid or duplicate action_id [json-pointer:{at}/action_id]")
            action_ids.add(str(action_id))
    return errors


def _text_errors(obj: Any, where: str, limit: int, types: tuple[str, ...] = ("plain_text", "mrkdwn")) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in types:
        return [f"must be a text object of type {' or '.join(types)} [json-pointer:{where}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be a non-empty string [json-pointer:{where}/text]"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}/text]"]
    if "verbatim" in obj and obj["type"] != "mrkdwn":
        return [f"verbatim is only allowed on mrkdwn [json-pointer:{where}/verbatim]"]
    return []
