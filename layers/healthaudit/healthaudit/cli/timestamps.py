"""Times on the command line: ISO 8601, UTC unless they say otherwise."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone


def parse_timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"got {text!r}, expected an ISO 8601 time such as 2026-11-28T06:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
