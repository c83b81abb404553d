"""The model: frozen dataclasses that every stage passes along, and the two report shapes they make.

Collectors build snapshots, checks turn snapshots into findings, the audit assembles the report,
the merge the consolidated report. Nothing here talks to AWS or Slack. Each shape is written once,
as a dataclass; its JSON form (`to_dict`/`from_dict`, healthaudit.model.codec) and its JSON Schema
(healthaudit.schema.generate) are derived from it.
"""

from .codec import Record
from .common import SCHEMA_VERSION, AuditWindow, DataSource, Severity
from .consolidated import CONSOLIDATED, ConsolidatedReport, FindingBrief, TargetAudited, TargetNotAudited
from .report import (
    AuditReport,
    CoverageGap,
    FigureChange,
    Finding,
    FindingCost,
    FunctionSummary,
    LogStats,
    MetricSeries,
    Snooze,
    TraceEdge,
    TraceNode,
    TraceStats,
)
from .snapshot import (
    AccountSettings,
    AccountSnapshot,
    EventSource,
    FunctionSnapshot,
    MetricWindow,
    Observation,
)
from .target import Target

__all__ = [
    "CONSOLIDATED",
    "SCHEMA_VERSION",
    "AccountSettings",
    "AccountSnapshot",
    "AuditReport",
    "AuditWindow",
    "ConsolidatedReport",
    "CoverageGap",
    "DataSource",
    "EventSource",
    "FigureChange",
    "Finding",
    "FindingCost",
    "FindingBrief",
    "FunctionSnapshot",
    "FunctionSummary",
    "LogStats",
    "MetricSeries",
    "MetricWindow",
    "Observation",
    "Record",
    "Severity",
    "Snooze",
    "Target",
    "TargetAudited",
    "TargetNotAudited",
    "TraceEdge",
    "TraceNode",
    "TraceStats",
]
