"""What an audit costs in dollars: its call log priced at AWS's published list prices.

Pure: a call log (operation -> count), the GetMetricData metrics requested, the Logs Insights bytes
scanned and the Lambda time go in; an `AuditCost` with a total and its parts comes out. Each price names
the pricing page it was read from and the date it was read. Where the figure could not be read on a
stored copy of that page, the part says so ("not verified here"). Free tiers are never subtracted: they
are monthly, shared by everything else in the account, and reported apart (`free_tier_eligible_usd`).

Prices are US East (N. Virginia) list prices; other Regions differ by a few percent for some services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from .model.report import AuditCost, CostPart, FindingCost
from .model.snapshot import FunctionSnapshot
from .prices import DEFAULT_REGION, FIRST_TIER_GB_SECONDS, TABLE, LambdaPrice, lambda_price

READ_ON = "2026-12-01"
REGION_NOTE = "US East (N. Virginia) list prices, before any free tier"
#: AWS bills data scanned in GB of 2^30 bytes.
GB = 1024**3
#: The audit function's memory (template.yaml, Globals.Function.MemorySize) where Lambda does not say it.
AUDIT_FUNCTION_MEMORY_MB = 1024


@dataclass(frozen=True)
class Price:
    item: str
    usd: float
    per: int
    unit: str
    source: str
    verified: bool
    """The figure was read on a stored copy of `source` (or of AWS's own page for it) on READ_ON."""
    free_tier: str | None = None
    one: str = ""
    """The unit in the singular, where the price is per one unit ("GB-second")."""

    def describe(self) -> str:
        usd = f"{self.usd:.10f}".rstrip("0").rstrip(".")
        per = f"{self.per:,} {self.unit}" if self.per > 1 else (self.one or self.unit)
        return f"${usd} per {per}"

    def part(self, quantity: float) -> CostPart:
        return CostPart(
            item=self.item,
            quantity=quantity,
            unit=self.unit,
            usd=round(quantity * self.usd / self.per, 10),
            price=self.describe(),
            source=self.source,
            read_on=READ_ON,
            verified=self.verified,
            free_tier=self.free_tier,
        )


CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
LAMBDA = "https://aws.amazon.com/lambda/pricing/"
STEP_FUNCTIONS = "https://aws.amazon.com/step-functions/pricing/"
S3 = "https://aws.amazon.com/s3/pricing/"
DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
XRAY = "https://aws.amazon.com/xray/pricing/"

GET_METRIC_DATA = Price(
    "CloudWatch GetMetricData", 0.01, 1000, "metrics requested", CLOUDWATCH, verified=False, free_tier=None
)
CLOUDWATCH_REQUESTS = Price(
    "CloudWatch API requests (GetMetricStatistics, ListMetrics)",
    0.01,
    1000,
    "requests",
    CLOUDWATCH,
    verified=False,
    free_tier="1,000,000 API requests a month (GetMetricData excluded), shared by the account",
)
LOGS_INSIGHTS = Price(
    "CloudWatch Logs Insights",
    0.005,
    1,
    "GB scanned",
    CLOUDWATCH,
    verified=False,
    free_tier="5 GB of log data a month (ingestion, archive storage and Insights scans together)",
)
LAMBDA_DURATION_ARM64 = Price(
    "Lambda duration (arm64)",
    TABLE[DEFAULT_REGION].gb_second["arm64"],
    1,
    "GB-seconds",
    LAMBDA,
    verified=False,
    free_tier="400,000 GB-seconds a month, shared by every function of the account",
    one="GB-second",
)
LAMBDA_REQUESTS = Price(
    "Lambda requests",
    0.20,
    1_000_000,
    "invocations",
    LAMBDA,
    verified=False,
    free_tier="1,000,000 requests a month, shared by every function of the account",
)
STATE_TRANSITIONS = Price(
    "Step Functions state transitions (Standard)",
    0.025,
    1000,
    "state transitions",
    STEP_FUNCTIONS,
    verified=True,
    free_tier="4,000 state transitions a month",
)
S3_PUT = Price(
    "S3 PUT, COPY, POST, LIST requests (Standard)", 0.005, 1000, "requests", S3, verified=False, free_tier=None
)
S3_GET = Price("S3 GET and other requests (Standard)", 0.0004, 1000, "requests", S3, verified=False, free_tier=None)
DYNAMODB_WRITES = Price(
    "DynamoDB on-demand write request units", 0.625, 1_000_000, "write request units", DYNAMODB, verified=False
)
DYNAMODB_READS = Price(
    "DynamoDB on-demand read request units", 0.125, 1_000_000, "read request units", DYNAMODB, verified=False
)
XRAY_TRACES_READ = Price(
    "X-Ray traces retrieved or scanned",
    0.50,
    1_000_000,
    "traces",
    XRAY,
    verified=True,
    free_tier="1,000,000 traces retrieved or scanned a month",
)

PRICES: tuple[Price, ...] = (
    GET_METRIC_DATA,
    CLOUDWATCH_REQUESTS,
    LOGS_INSIGHTS,
    LAMBDA_DURATION_ARM64,
    LAMBDA_REQUESTS,
    STATE_TRANSITIONS,
    S3_PUT,
    S3_GET,
    DYNAMODB_WRITES,
    DYNAMODB_READS,
    XRAY_TRACES_READ,
)

#: Operations billed one request each, by the price that bills them.
PER_REQUEST: dict[str, Price] = {
    "GetMetricStatistics": CLOUDWATCH_REQUESTS,
    "ListMetrics": CLOUDWATCH_REQUESTS,
    "PutObject": S3_PUT,
    "CopyObject": S3_PUT,
    "ListObjectsV2": S3_PUT,
    "ListObjects": S3_PUT,
    "GetObject": S3_GET,
    "HeadObject": S3_GET,
    # One unit each: the idempotency records are under 1 KB, and Powertools reads them strongly
    # consistent (one read request unit per item up to 4 KB).
    "PutItem": DYNAMODB_WRITES,
    "UpdateItem": DYNAMODB_WRITES,
    "DeleteItem": DYNAMODB_WRITES,
    "GetItem": DYNAMODB_READS,
}
#: Priced from other quantities than their call count: GetMetricData by metrics requested, StartQuery by
#: bytes scanned.
PRICED_BY_QUANTITY = ("GetMetricData", "StartQuery")
#: X-Ray bills traces recorded, retrieved and scanned (XRAY); GetServiceGraph returns the aggregated graph
#: and retrieves no trace, so it has no price of its own on that page (not verified here).
NOT_BILLED_NOTE = (
    "AWS publishes no per-request price for these (Lambda and Logs control plane, tagging, IAM, STS,"
    " X-Ray GetServiceGraph)"
)


def price_calls(
    api_calls: Mapping[str, int],
    metrics_requested: int = 0,
    bytes_scanned: int = 0,
    lambda_seconds: float = 0.0,
    lambda_memory_mb: int = 0,
    lambda_invocations: int = 0,
    state_transitions: int = 0,
    traces_read: int = 0,
) -> AuditCost:
    """The list price of a call log and of the Lambda time that made it, with each part priced apart."""
    quantities: dict[Price, float] = {}
    not_billed: dict[str, int] = {}
    for operation, count in sorted(api_calls.items()):
        price = PER_REQUEST.get(operation)
        if price is not None:
            quantities[price] = quantities.get(price, 0) + count
        elif operation not in PRICED_BY_QUANTITY and count:
            not_billed[operation] = count
    for price, quantity in (
        (GET_METRIC_DATA, metrics_requested),
        (LOGS_INSIGHTS, bytes_scanned / GB),
        (LAMBDA_DURATION_ARM64, lambda_seconds * lambda_memory_mb / 1024),
        (LAMBDA_REQUESTS, lambda_invocations),
        (STATE_TRANSITIONS, state_transitions),
        (XRAY_TRACES_READ, traces_read),
    ):
        if quantity:
            quantities[price] = quantities.get(price, 0) + quantity
    parts = tuple(price.part(quantities[price]) for price in PRICES if price in quantities)
    return AuditCost(
        usd=round(sum(part.usd for part in parts), 10),
        parts=parts,
        free_tier_eligible_usd=round(sum(part.usd for part in parts if part.free_tier), 10),
        prices=REGION_NOTE,
        not_billed=not_billed,
        not_billed_note=NOT_BILLED_NOTE if not_billed else None,
    )


def audit_cost(
    api_calls: Mapping[str, int],
    metric_queries: Mapping[str, int],
    bytes_scanned: int,
    lambda_seconds: float,
    lambda_memory_mb: int,
) -> AuditCost:
    """One audit's cost: its own calls, its GetMetricData metrics (every pass), its Insights scans, and one
    invocation of the audit function for `lambda_seconds` at `lambda_memory_mb`."""
    return price_calls(
        api_calls,
        metrics_requested=sum(metric_queries.values()),
        bytes_scanned=bytes_scanned,
        lambda_seconds=lambda_seconds,
        lambda_memory_mb=lambda_memory_mb,
        lambda_invocations=1,
    )


# What findings cost: a function's invocations at its Lambda price (healthaudit.prices), a month at a time.

MONTH = timedelta(days=30)


@dataclass(frozen=True)
class Usage:
    """A function's invocations over a period, as its findings price them."""

    invocations: float
    duration_ms: float
    duration_basis: str
    """Which statistic `duration_ms` is, in words."""
    memory_mb: float
    period: timedelta

    @property
    def to_month(self) -> float:
        return MONTH / self.period

    def gb_seconds(
        self, memory_mb: float | None = None, duration_ms: float | None = None, invocations: float | None = None
    ) -> float:
        """GB-seconds as the pricing page counts them: invocations × seconds × MB / 1024."""
        count = self.invocations if invocations is None else invocations
        duration = self.duration_ms if duration_ms is None else duration_ms
        return count * duration / 1000 * (memory_mb or self.memory_mb) / 1024


def function_price(fn: FunctionSnapshot) -> LambdaPrice:
    """The price the collector resolved for the function, or the table's for its architecture and Region."""
    return fn.lambda_price or lambda_price(fn.region, fn.architectures[0] if fn.architectures else "x86_64")


def usage_of(fn: FunctionSnapshot) -> Usage | None:
    """The current window's invocations at their average billed duration (the REPORT records' Billed Duration,
    which the log scan adds up at no extra cost; CloudWatch's Duration p99, an upper bound, where no record was
    read); None without invocations or a duration."""
    invocations = fn.current.sum("Invocations")
    logs = fn.logs_current
    p99 = fn.current.max("Duration")
    billed = logs is not None and logs.invocations > 0 and logs.billed_duration_ms > 0
    if invocations <= 0 or (not billed and p99 is None):
        return None
    if billed:
        average = logs.billed_duration_ms / logs.invocations
        how = "the REPORT records' Billed Duration, on average"
        return Usage(invocations, average, how, fn.memory_mb, fn.window_length)
    return Usage(
        invocations,
        p99 or 0.0,
        "CloudWatch Duration p99, no REPORT record being read: an upper bound",
        fn.memory_mb,
        fn.window_length,
    )


def invocations_usd(price: LambdaPrice, invocations: float, gb_seconds: float) -> float:
    """Compute and requests at the first-tier price, before any free tier."""
    return gb_seconds * price.gb_second + invocations * price.requests_per_million / 1_000_000


def memory_cost(price: LambdaPrice, usage: Usage, suggested_mb: float) -> FindingCost:
    """The function's monthly cost now and at `suggested_mb`, the same durations assumed."""
    now = invocations_usd(price, usage.invocations, usage.gb_seconds()) * usage.to_month
    smaller = suggested_mb < usage.memory_mb
    suggested = (
        invocations_usd(price, usage.invocations, usage.gb_seconds(suggested_mb)) * usage.to_month if smaller else now
    )
    assumption = (
        f" At {suggested_mb:.0f} MB the same durations are assumed: Lambda allocates CPU in proportion to memory,"
        " so a smaller size may run longer, and the saving is an estimate."
        if smaller
        else f" {suggested_mb:.0f} MB is not smaller than {usage.memory_mb:.0f} MB: no saving."
    )
    return FindingCost(
        monthly_usd=round(now, 6),
        price=price.describe(),
        source=price.source,
        read_on=price.read_on,
        basis=_basis(price, usage) + assumption,
        suggested_monthly_usd=round(suggested, 6),
        monthly_savings_usd=round(max(now - suggested, 0.0), 6),
    )


def failure_cost(price: LambdaPrice, usage: Usage, failed: float, failed_ms: float, how: str) -> FindingCost:
    """The function's monthly cost, and what `failed` invocations of `failed_ms` each cost of it."""
    now = invocations_usd(price, usage.invocations, usage.gb_seconds()) * usage.to_month
    failed_usd = invocations_usd(price, failed, usage.gb_seconds(duration_ms=failed_ms, invocations=failed))
    return FindingCost(
        monthly_usd=round(now, 6),
        price=price.describe(),
        source=price.source,
        read_on=price.read_on,
        basis=f"{_basis(price, usage)} Failed: {failed:,.0f} invocations × {failed_ms:,.0f} ms ({how}).",
        failed_monthly_usd=round(failed_usd * usage.to_month, 6),
    )


def _basis(price: LambdaPrice, usage: Usage) -> str:
    hours = usage.period.total_seconds() / 3600
    notes = "".join(f" Note: {note}." for note in price.notes)
    read = "as the config sets it" if price.read_on == "config" else f"from {price.source} as of {price.read_on}"
    return (
        f"{usage.invocations:,.0f} invocations in the {hours:g} h window × {usage.duration_ms:,.0f} ms"
        f" ({usage.duration_basis}) × {usage.memory_mb:.0f} MB = {usage.gb_seconds():,.1f} GB-seconds,"
        f" scaled to 30 days (× {usage.to_month:g}), at {price.describe()} {read}: the first tier's price, an"
        f" upper bound for an account past {FIRST_TIER_GB_SECONDS[price.architecture]} GB-seconds a month; free"
        f" tier not subtracted.{notes}"
    )


def dollars(usd: float) -> str:
    """A monthly figure in words: "$412", "$0.43", "less than $0.01"."""
    if usd >= 100:
        return f"${usd:,.0f}"
    if usd >= 0.01 or usd == 0:
        return f"${usd:,.2f}"
    return "less than $0.01"
