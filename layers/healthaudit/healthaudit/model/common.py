"""What every shape shares: severities, data sources, the audit window, and the constrained scalars."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from .codec import Record, Wire

SCHEMA_VERSION = "1.0"
SchemaVersion = Literal["1.0"]
"""The reports' schema version (SCHEMA_VERSION), as a type the JSON Schema pins with const."""

Account = Annotated[str, Wire(ref="account", constraints={"pattern": "^[0-9]{12}$"})]
Region = Annotated[str, Wire(ref="region", constraints={"pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]+$"})]
TIMESTAMP = Wire(
    ref="timestamp",
    description="UTC, to the second: 2024-05-02T06:00:00Z.",
    constraints={"pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"},
)
Timestamp = Annotated[str, TIMESTAMP]
"""A time kept in its JSON form (a finding's first_seen); datetime fields are written the same way."""
Count = Annotated[int, Wire(constraints={"minimum": 0})]
Name = Annotated[str, Wire(constraints={"minLength": 1})]
HttpsUrl = Annotated[str, Wire(constraints={"pattern": "^https://"})]
CheckId = Annotated[str, Wire(constraints={"pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"})]
FindingStatus = Literal["new", "ongoing", "resolved"]
FunctionStatus = Literal["healthy", "unhealthy", "unknown"]


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 is the worst."""
        return list(Severity).index(self)


class DataSource(enum.StrEnum):
    """Where a snapshot's facts come from; a source that could not be read is a coverage gap."""

    INVENTORY = "inventory"
    TAGS = "tags"
    EVENT_SOURCE_MAPPINGS = "event-source-mappings"
    ACCOUNT_SETTINGS = "account-settings"
    METRICS = "metrics"
    RESERVED_CONCURRENCY = "reserved-concurrency"
    EVENT_INVOKE_CONFIG = "event-invoke-config"
    LOG_GROUPS = "log-groups"
    REPORT_RECORDS = "report-records"
    ROLE_PERMISSIONS = "role-permissions"
    SERVICE_GRAPH = "service-graph"


@dataclass(frozen=True)
class AuditWindow(Record):
    """The current window [start, end) and the start of the baseline it is compared with."""

    start: datetime
    end: datetime
    baseline_start: datetime

    @classmethod
    def ending_at(cls, at: datetime, hours: int = 24, baseline_days: int = 7) -> AuditWindow:
        """Windows end on the hour at or before `at`, so a rerun of the same event audits the same data."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        end = at.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(hours=hours)
        return cls(start=start, end=end, baseline_start=start - timedelta(hours=hours * baseline_days))

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def baseline_periods(self) -> int:
        return int((self.start - self.baseline_start) / self.length)
