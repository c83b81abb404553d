"""The JSON Schema of the report (`AuditReport.to_dict()`), shipped as package data beside this file."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any


def load_report_schema() -> dict[str, Any]:
    return json.loads(files(__package__).joinpath("report.schema.json").read_text(encoding="utf-8"))
