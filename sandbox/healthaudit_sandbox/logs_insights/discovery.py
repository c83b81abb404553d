"""The fields Logs Insights discovers in a log event.

System and discovered fields
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html):
``@timestamp``, ``@ingestionTime``, ``@message``, ``@logStream`` and ``@log``, "a log group
identifier in the form of account-id:log-group-name". The table's row for Lambda logs lists what
Lambda's START, END and REPORT lines give: ``@type``, ``@requestId``, ``@duration`` and
``@billedDuration`` (milliseconds), ``@memorySize`` and ``@maxMemoryUsed`` in bytes of 1,000,000
(AWS's sample query "Determine the amount of overprovisioned memory" divides them by 1000 / 1000 to
get MB), and ``@xrayTraceId`` / ``@xraySegmentId`` when traced. It does not list ``@initDuration``:
whether Insights discovers the REPORT line's Init Duration is undocumented (the SnapStart page's
sample query uses it, but the table is the reference). So the sandbox does not discover it unless
:func:`~healthaudit_sandbox.logs_insights.api.set_init_duration_discovered` says so, and tests run
the auditor both ways. ``Restore Duration`` is not a discovered field: AWS's SnapStart query
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html) parses it. A JSON message
(or the first JSON fragment of a message) gives its fields in dot notation
(``record.metrics.initDurationMs``), arrays by index, at most :data:`MAX_JSON_FIELDS` of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

#: Fields extracted from one JSON log event; the rest need ``parse``.
MAX_JSON_FIELDS = 200
#: Lambda REPORT memory: Insights reports MB as bytes of 1,000,000.
BYTES_PER_MB = 1_000_000

_LAMBDA_LINE = re.compile(r"^(START|END|REPORT) RequestId: ([0-9A-Za-z-]+)")
_REPORT_PART = re.compile(r"^([A-Za-z ]+): ([0-9]+(?:\.[0-9]+)?) (ms|MB)$")
_REPORT_FIELDS = {
    "Duration": "@duration",
    "Billed Duration": "@billedDuration",
    "Init Duration": "@initDuration",
    "Memory Size": "@memorySize",
    "Max Memory Used": "@maxMemoryUsed",
}
#: Discovered from the REPORT line only where a test says so: the discovered-fields table does not list it.
UNDOCUMENTED_INIT_DURATION = "@initDuration"
_json_decoder = json.JSONDecoder()


def discover_fields(message: str, *, init_duration: bool = False) -> dict[str, Any]:
    """The fields Insights discovers in one log message (system fields aside).

    ``init_duration``: also discover ``@initDuration`` from a REPORT line (undocumented; see the module).
    """
    lambda_line = _LAMBDA_LINE.match(message)
    if lambda_line:
        found = _lambda_fields(lambda_line.group(1), lambda_line.group(2), message)
        if not init_duration:
            found.pop(UNDOCUMENTED_INIT_DURATION, None)
        return found
    brace = message.find("{")
    if brace < 0:
        return {}
    try:
        document, _ = _json_decoder.raw_decode(message, brace)
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    found: dict[str, Any] = {}
    _flatten(document, "", found, top=True)
    return found


def _lambda_fields(kind: str, request_id: str, message: str) -> dict[str, Any]:
    found: dict[str, Any] = {"@type": kind, "@requestId": request_id}
    if kind != "REPORT":
        return found
    for raw in re.split(r"[\t\n]", message)[1:]:
        part = raw.strip()
        if part.startswith("XRAY TraceId: "):
            found["@xrayTraceId"] = part.removeprefix("XRAY TraceId: ")
            continue
        if part.startswith("SegmentId: "):
            found["@xraySegmentId"] = part.removeprefix("SegmentId: ")
            continue
        match = _REPORT_PART.match(part)
        if not match or match.group(1) not in _REPORT_FIELDS:
            continue  # Restore Duration, Billed Restore Duration: not discovered
        name = _REPORT_FIELDS[match.group(1)]
        if match.group(3) == "MB":
            found[name] = int(float(match.group(2)) * BYTES_PER_MB)
        else:
            found[name] = float(match.group(2))
    return found


def _flatten(value: Any, prefix: str, found: dict[str, Any], *, top: bool = False) -> None:
    if isinstance(value, dict):
        items: Iterable[tuple[str, Any]] = value.items()
    elif isinstance(value, list):
        items = ((str(i), item) for i, item in enumerate(value))
    else:
        if value is not None and len(found) < MAX_JSON_FIELDS:
            found[prefix] = value
        return
    for key, item in items:
        name = f"@{key}" if top and str(key).startswith("@") else str(key)  # "@x" is shown as "@@x"
        _flatten(item, f"{prefix}.{name}" if prefix else name, found)
