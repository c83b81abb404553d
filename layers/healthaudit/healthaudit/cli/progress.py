"""Progress and retries on standard error: a redrawn bar on a terminal, plain lines anywhere else (a CI
log, a file), so that nothing but the report reaches standard output."""

from __future__ import annotations

import threading
from typing import Any, Callable, TextIO

import boto3

Progress = Callable[[str, int, int], None]
BAR_WIDTH = 30
CLEAR_LINE = "\r\033[K"
_LAST_FAILURE = "healthaudit_last_failure"
"""Where a failed attempt's error waits in botocore's per-request context for the retry that follows it."""


def progress_to(stream: TextIO) -> Progress:
    """A progress callback for the audit's stages (inventory, metrics, lookups, …) writing to `stream`."""
    return ProgressBar(stream) if stream.isatty() else ProgressLines(stream)


class ProgressBar:
    """One line redrawn in place with carriage returns; ends with a newline when a stage completes."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, stage: str, done: int, total: int) -> None:
        filled = BAR_WIDTH if not total else int(BAR_WIDTH * min(done, total) / total)
        end = "\n" if done >= total else ""
        with self._lock:
            self.stream.write(f"\r{stage:<10} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}{end}")
            self.stream.flush()


class ProgressLines:
    """A line when a stage starts, at each quarter of it, and when it completes: no carriage returns."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._quarters: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, stage: str, done: int, total: int) -> None:
        quarter = 4 if not total else min(done, total) * 4 // total
        with self._lock:
            if self._quarters.get(stage) == quarter:
                return
            self._quarters[stage] = quarter
            self.stream.write(f"healthaudit: {stage} {done}/{total}\n")
            self.stream.flush()


def report_retries(session: boto3.Session, stream: TextIO) -> None:
    """Announce on `stream` each retry that botocore makes for the clients `session` creates from now on.

    botocore emits `needs-retry` after every attempt and `request-created` before every attempt, the
    attempt number in the request's context; a retry is an attempt after the first, and the error it
    follows is the one the previous `needs-retry` saw. The decision to retry stays botocore's.
    """
    clear = CLEAR_LINE if stream.isatty() else ""
    lock = threading.Lock()

    def remember_failure(request_dict: dict[str, Any], response: Any = None, caught_exception: Any = None, **_: Any):
        failure = _failure(response, caught_exception)
        if failure is not None:
            request_dict["context"][_LAST_FAILURE] = failure
        return None  # no opinion: botocore's retry handler decides

    def announce_retry(request: Any, operation_name: str, **_: Any) -> None:
        context = getattr(request, "context", None) or {}
        attempt = context.get("retries", {}).get("attempt", 1)
        if attempt > 1:
            failure = context.get(_LAST_FAILURE, "a failed attempt")
            with lock:
                stream.write(f"{clear}healthaudit: retrying {operation_name} (attempt {attempt}) after {failure}\n")
                stream.flush()

    session.events.register("needs-retry", remember_failure)
    session.events.register("request-created", announce_retry)


def _failure(response: Any, caught_exception: Any) -> str | None:
    """What went wrong in one attempt, or None when it was answered without an error."""
    if caught_exception is not None:
        return type(caught_exception).__name__
    if response is None:
        return None
    http, parsed = response
    if http.status_code < 400:
        return None
    code = (parsed or {}).get("Error", {}).get("Code")
    return f"{code} (HTTP {http.status_code})" if code else f"HTTP {http.status_code}"
