"""Headless Chromium driven through the DevTools protocol, over a WebSocket on 127.0.0.1 (stdlib only).

Enough of the protocol to lay a page out at a given viewport and read it back: set the device
metrics (Chromium's headless window cannot be narrower than 500 px, so a 390 px phone needs
Emulation.setDeviceMetricsOverride), load a file, evaluate an expression, take a full-page
screenshot. The WebSocket framing is RFC 6455's, client side: masked frames out, unmasked in.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import urlopen

GUARD_S = 60  # only turns a hang into a failure; never reached when Chromium answers


class DevToolsError(RuntimeError):
    pass


class WebSocket:
    def __init__(self, url: str):
        parts = urlsplit(url)
        if parts.hostname != "127.0.0.1":
            raise DevToolsError(f"DevTools must be on loopback, not {parts.hostname}")
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=GUARD_S)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise DevToolsError("DevTools closed the connection during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise DevToolsError(head.decode(errors="replace"))

    def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._exactly(2)
            n = second & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._exactly(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._exactly(8))
            data = self._exactly(n)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise DevToolsError("DevTools closed the WebSocket")
            if opcode in (0x1, 0x0):
                message += data
                if first & 0x80:
                    return message.decode()

    def _exactly(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(min(n - len(data), 1 << 20))
            if not chunk:
                raise DevToolsError("DevTools closed the connection")
            data += chunk
        return bytes(data)

    def close(self) -> None:
        self.sock.close()


class Browser:
    """One headless Chromium with one page; `with Browser(path, profile) as page: page.call(...)`."""

    def __init__(self, chromium: str, profile: Path):
        self.chromium, self.profile = chromium, profile
        self.ids = iter(range(1, 1 << 30))
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        self.process = subprocess.Popen(
            [
                self.chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        port = self._port()
        with urlopen(f"http://127.0.0.1:{port}/json/list", timeout=GUARD_S) as answer:
            pages = [t for t in json.load(answer) if t["type"] == "page"]
        self.ws = WebSocket(pages[0]["webSocketDebuggerUrl"])
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Log.enable")
        return self

    def _port(self) -> int:
        """Chromium prints "DevTools listening on ws://127.0.0.1:PORT/…" on stderr once it listens."""
        seen = []
        for line in iter(self.process.stderr.readline, b""):
            text = line.decode(errors="replace")
            seen.append(text)
            if text.startswith("DevTools listening on "):
                # Keep reading what Chromium logs, so that a full pipe never blocks it.
                threading.Thread(target=self.process.stderr.read, daemon=True).start()
                return int(urlsplit(text.split()[-1]).port)
        raise DevToolsError(f"chromium exited before listening: {''.join(seen)[-2000:]}")

    def __exit__(self, *exc) -> None:
        self.ws.close()
        self.process.terminate()
        self.process.wait(timeout=GUARD_S)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == ident:
                if "error" in message:
                    raise DevToolsError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str) -> dict[str, Any]:
        for index, message in enumerate(self.events):
            if message.get("method") == event:
                return self.events.pop(index)
        while True:
            message = json.loads(self.ws.receive())
            if message.get("method") == event:
                return message
            self.events.append(message)

    def open(self, page: Path, width: int, height: int, mobile: bool) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile)
        self.events.clear()
        self.call("Page.navigate", url=page.as_uri())
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise DevToolsError(str(result["exceptionDetails"]))
        return result["result"].get("value")

    def console_problems(self) -> list[dict[str, Any]]:
        """Exceptions, console errors and errors Chromium logged for the page (a load that the
        Content-Security-Policy blocked is one) since it was opened."""
        return [
            event
            for event in self.events
            if event.get("method") == "Runtime.exceptionThrown"
            or (event.get("method") == "Runtime.consoleAPICalled" and event["params"].get("type") == "error")
            or (event.get("method") == "Log.entryAdded" and event["params"]["entry"].get("level") == "error")
        ]

    def screenshot(self, path: Path, width: int, height: int, top: float = 0) -> None:
        """`height` px of the page from `top`, beyond the viewport if need be."""
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": top, "width": width, "height": height, "scale": 1},
        )
        path.write_bytes(base64.b64decode(shot["data"]))
