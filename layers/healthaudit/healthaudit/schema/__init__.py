"""The JSON Schemas of the reports, shipped as package data beside this file.

`report.schema.json` is `AuditReport.to_dict()`, `consolidated.schema.json` is
`ConsolidatedReport.to_dict()`; both are generated from the model (healthaudit.schema.generate).
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any


def load_report_schema() -> dict[str, Any]:
    return _load("report.schema.json")


def load_consolidated_schema() -> dict[str, Any]:
    return _load("consolidated.schema.json")


def _load(name: str) -> dict[str, Any]:
    return json.loads(files(__package__).joinpath(name).read_text(encoding="utf-8"))
