"""A report rendered for storage: its JSON document and its HTML page, as the bytes S3 stores."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..model import AuditReport
from .html import render_html
from .triage import DEFAULT_COLLAPSE_OVER


@dataclass(frozen=True)
class RenderedReport:
    json: bytes
    """One line: Athena's JSON SerDes read one document per line (docs/athena.md)."""
    html: bytes


def render_report(report: AuditReport, collapse_over: int = DEFAULT_COLLAPSE_OVER) -> RenderedReport:
    html = render_html(report, collapse_over=collapse_over)
    return RenderedReport(json=report_json(report, indent=None), html=html.encode("utf-8"))


def report_json(report: AuditReport, indent: int | None = 2) -> bytes:
    """The report's JSON document; indented by default, for people (the CLI and the demo)."""
    return json.dumps(report.to_dict(), indent=indent, default=str).encode("utf-8")
