"""CloudWatch datapoints for tests: Lambda's Invocations of a function, put at given moments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any


def put_invocations_at(cloudwatch: Any, function: str, *moments: datetime, values: Sequence[float] = ()) -> None:
    """One AWS/Lambda Invocations datum of the function at each moment: 1.0 each, or `values` in order."""
    if values and len(values) != len(moments):
        raise ValueError(f"{len(values)} values for {len(moments)} moments")
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "FunctionName", "Value": function}],
                "Timestamp": moment,
                "Value": float(values[index]) if values else 1.0,
            }
            for index, moment in enumerate(moments)
        ],
    )
