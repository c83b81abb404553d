"""Lambda's on-demand list prices by architecture and Region: what findings are priced at (healthaudit.cost).

Source: https://aws.amazon.com/lambda/pricing/, read on READ_ON. What was checked against stored copies:

- $0.20 per 1M requests and, for x86 in US East (N. Virginia), $0.00001667 per GB-second: the page's own
  worked example ("512MB ... 3 million times ... 1 second each": 1,500,000 GB-s) and AWS's whitepaper
  "How AWS Pricing Works" (https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html)
  state these. The page renders its price table client-side, so the exact first-tier figure
  0.0000166667 (which $0.00001667 rounds) and the arm64 figure were not read on AWS's own text.
- The other Regions' GB-second figures come from a public copy of the page's table (artillery's
  aws-lambda prices.js, citing the page); their request prices are not in it.

So every row says verified=False: "from the page as of READ_ON, not verified". Duration is tiered (the
first 6 billion GB-seconds a month on x86, 7.5 billion on arm64, per account, Region and architecture, at
the first price): a finding uses the first tier, an upper bound for accounts above it. Free tiers are
never subtracted (they are monthly and shared by the whole account). A config may set its own prices
(`prices.lambda.<architecture>`), for negotiated rates or Regions missing here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .validate import mapping

LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
READ_ON = "2026-12-01"
DEFAULT_REGION = "us-east-1"
ARCHITECTURES = ("x86_64", "arm64")
FIRST_TIER_GB_SECONDS = {"x86_64": "6 billion", "arm64": "7.5 billion"}


@dataclass(frozen=True)
class LambdaPrice:
    """The price one function's invocations are billed at: its architecture's, in its Region."""

    architecture: str
    region: str
    gb_second: float
    requests_per_million: float
    source: str
    read_on: str
    """YYYY-MM-DD, or "config" for a price the config set."""
    verified: bool
    notes: tuple[str, ...] = ()
    """Where the price stands in for another (an unknown Region, an unknown architecture), in words."""

    def describe(self) -> str:
        """ "$0.0000166667 per GB-second and $0.20 per 1M requests (x86_64, us-east-1, not verified)"."""
        gb_second = f"{self.gb_second:.10f}".rstrip("0").rstrip(".")
        status = "from the config" if self.read_on == "config" else "verified" if self.verified else "not verified"
        return (
            f"${gb_second} per GB-second and ${self.requests_per_million:.2f} per 1M requests"
            f" ({self.architecture}, {self.region}, {status})"
        )


@dataclass(frozen=True)
class PriceOverride:
    """A config's own Lambda price for one architecture, in every Region it audits."""

    gb_second: float
    requests_per_million: float


@dataclass(frozen=True)
class _RegionRow:
    gb_second: Mapping[str, float]
    requests_per_million: float | None
    """None where the table has no request price for the Region (us-east-1's is used, and said)."""


TABLE: Mapping[str, _RegionRow] = {
    "us-east-1": _RegionRow({"x86_64": 0.0000166667, "arm64": 0.0000133334}, 0.20),
    "af-south-1": _RegionRow({"x86_64": 0.0000221, "arm64": 0.00001768}, None),
    "ap-east-1": _RegionRow({"x86_64": 0.00002292, "arm64": 0.0000183}, None),
    "eu-south-1": _RegionRow({"x86_64": 0.0000195172, "arm64": 0.0000156138}, None),
    "me-south-1": _RegionRow({"x86_64": 0.0000206667, "arm64": 0.0000165334}, None),
    "me-central-1": _RegionRow({"x86_64": 0.0000206667, "arm64": 0.0000165334}, None),
}


def lambda_price(region: str, architecture: str, overrides: Mapping[str, PriceOverride] | None = None) -> LambdaPrice:
    """The price of `architecture` in `region`: the config's where it sets one, else the table's, else
    us-east-1's with a note that says so."""
    notes: list[str] = []
    if architecture not in ARCHITECTURES:
        notes.append(f"architecture {architecture!r} has no Lambda price: x86_64's is used")
        architecture = "x86_64"
    override = (overrides or {}).get(architecture)
    if override is not None:
        return LambdaPrice(
            architecture,
            region,
            override.gb_second,
            override.requests_per_million,
            source=LAMBDA_PRICING,
            read_on="config",
            verified=False,
            notes=(*notes, f"prices.lambda.{architecture} set by the config"),
        )
    row = TABLE.get(region)
    if row is None:
        notes.append(f"no Lambda price for {region} in the table: the {DEFAULT_REGION} price is used")
        row = TABLE[DEFAULT_REGION]
    requests = row.requests_per_million
    if requests is None:
        notes.append(f"no request price for {region} in the table: {DEFAULT_REGION}'s is used")
        requests = TABLE[DEFAULT_REGION].requests_per_million or 0.0
    return LambdaPrice(
        architecture,
        region,
        row.gb_second[architecture],
        requests,
        source=LAMBDA_PRICING,
        read_on=READ_ON,
        verified=False,
        notes=tuple(notes),
    )


def load_price_overrides(raw: Any, path: str) -> dict[str, PriceOverride]:
    """The config's `prices` key: {lambda: {x86_64: {gb_second, requests_per_million}, arm64: {...}}}."""
    if raw is None:
        return {}
    prices = mapping(raw, path, {"lambda"})
    by_architecture = mapping(prices.get("lambda", {}), f"{path}.lambda", set(ARCHITECTURES))
    overrides = {}
    for architecture, figures in by_architecture.items():
        where = f"{path}.lambda.{architecture}"
        given = mapping(figures, where, {"gb_second", "requests_per_million"})
        missing = sorted({"gb_second", "requests_per_million"} - set(given))
        if missing:
            raise ConfigError(
                f"{where}: missing {', '.join(missing)}, expected both gb_second and requests_per_million"
            )
        overrides[architecture] = PriceOverride(
            gb_second=_dollars(given["gb_second"], f"{where}.gb_second", upper=0.01),
            requests_per_million=_dollars(given["requests_per_million"], f"{where}.requests_per_million", upper=100),
        )
    return overrides


def _dollars(raw: Any, path: str, upper: float) -> float:
    """A price in US dollars, from 0 to `upper` (a guard against a price per GB-millisecond or per request)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) or not 0 <= raw <= upper:
        raise ConfigError(f"{path}: got {raw!r}, expected a price in US dollars from 0 to {upper:g}")
    return float(raw)
