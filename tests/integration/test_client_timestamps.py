"""The audit's clients read an answer's timestamps as the instants botocore reads, in UTC, without its slow path.

botocore turns an epoch (how the JSON protocols send timestamps) into a datetime in the machine's local zone
through dateutil; the audit's clients (healthaudit.collect.clients.utc_timestamp) make it a UTC datetime
directly, and leave every other form to botocore's parser.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.utils import parse_timestamp

from healthaudit.collect.clients import AwsClients, utc_timestamp
from tests.support.clock import AT
from tests.support.metric_data import put_invocations_at

REGION = "eu-west-1"


@pytest.mark.parametrize(
    "value",
    [
        0,
        1764662400,
        1764662400.123,
        -1.5,
        "1764662400",
        "2026-12-01T06:20:00Z",
        "2026-12-01T06:20:00.5+01:00",
        "Tue, 01 Dec 2026 06:20:00 GMT",
    ],
)
def test_the_instant_is_botocores(value):
    assert utc_timestamp(value) == parse_timestamp(value)


def test_an_epoch_becomes_a_utc_datetime():
    assert utc_timestamp(1764662400.5) == datetime(2025, 12, 2, 8, 0, 0, 500000, tzinfo=UTC)
    assert utc_timestamp(1764662400).tzinfo is UTC


@pytest.mark.parametrize("value", ["yesterday", "", 10**20])
def test_what_botocore_cannot_read_fails_as_botocore_fails(value):
    with pytest.raises(Exception) as botocores:
        parse_timestamp(value)
    with pytest.raises(type(botocores.value)):
        utc_timestamp(value)


def test_the_audits_clients_read_answers_timestamps_in_utc(aws):
    clients = AwsClients(aws, region=REGION)
    cloudwatch = clients.client("cloudwatch")
    assert cloudwatch.meta.service_model.resolved_protocol == "json"  # botocore prefers it to CBOR and query
    moment = AT - timedelta(hours=2)
    put_invocations_at(cloudwatch, "f", moment)
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "q",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Invocations",
                        "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
                    },
                    "Period": 3600,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=AT - timedelta(hours=3),
        EndTime=AT,
    )
    (timestamp,) = answer["MetricDataResults"][0]["Timestamps"]
    assert timestamp == moment and timestamp.tzinfo is UTC

    xray = clients.client("xray")  # REST-JSON: epoch seconds
    graph = xray.get_service_graph(StartTime=AT - timedelta(hours=1), EndTime=AT)
    assert graph["StartTime"].tzinfo is UTC and graph["StartTime"] == AT - timedelta(hours=1)
