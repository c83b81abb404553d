"""CloudWatch Logs Insights in the sandbox answers as AWS documents it (healthaudit_sandbox.logs_insights).

Every query goes through boto3 to the sandbox (StartQuery, GetQueryResults, StopQuery). Plain moto
5.2.5 ignores filter, parse and stats, so each of these tests fails against it. Log records come
from healthaudit_sandbox.report_records, written the way Lambda writes them.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from healthaudit.collect.log_records import TEXT_INITS
from healthaudit_sandbox.logs_insights.api import MAX_CONCURRENT_QUERIES, set_init_duration_discovered, set_query_polls
from healthaudit_sandbox.report_records import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    Invocation,
    LogEvent,
    _batches,
    report_line,
    write_invocations,
)

REGION = "eu-west-1"
# Accounts of this module's own, far from the ranges conftest and other modules hand out.
_module_accounts = itertools.count(987600000001)

# moto accepts events from the last 14 days only: work two hours back, on an hour boundary.
BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
START = int(BASE.timestamp()) - 3600
END = int(BASE.timestamp()) + 3600


def _account(session) -> str:
    return session.client("sts").get_caller_identity()["Account"]


def _run(logs, query: str, groups, *, start: int = START, end: int = END, **params) -> dict:
    """Start a query and poll it (without sleeping: the sandbox completes queries as they start)."""
    key = "logGroupIdentifiers" if any(g.startswith("arn:") for g in groups) else "logGroupNames"
    query_id = logs.start_query(**{key: list(groups)}, startTime=start, endTime=end, queryString=query, **params)[
        "queryId"
    ]
    for _ in range(10):
        response = logs.get_query_results(queryId=query_id)
        if response["status"] == "Complete":
            return response
    raise AssertionError(f"query {query_id} did not complete: {response['status']}")


def _rows(response: dict) -> list[dict[str, str]]:
    return [{cell["field"]: cell["value"] for cell in row} for row in response["results"]]


def _at(minutes: float) -> datetime:
    return BASE + timedelta(minutes=minutes)


def _put(logs, group: str, messages: list[tuple[datetime, str]], stream: str = "app") -> None:
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    events = sorted(
        ({"timestamp": int(t.timestamp() * 1000), "message": m} for t, m in messages), key=lambda e: e["timestamp"]
    )
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


# -- Lambda's records -----------------------------------------------------------------------------


def test_report_line_matches_the_lambda_documentation_example():
    # https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html (a cold start)
    invocation = Invocation(
        _at(0),
        2.77,
        128,
        59,
        init_duration_ms=147.85,
        request_id="1c8df7d3-xmpl-46da-9778-518e6eca8125",
        billed_duration_ms=3,  # the example predates INIT-phase billing
    )
    assert report_line(invocation) == (
        "REPORT RequestId: 1c8df7d3-xmpl-46da-9778-518e6eca8125\tDuration: 2.77 ms\tBilled Duration: 3 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 59 MB\tInit Duration: 147.85 ms\t\n"
    )


def test_snapstart_report_has_restore_but_no_init_duration():
    # https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html
    line = report_line(Invocation(_at(0), 4.39, 512, 139, initialization_type="snap-start", restore_duration_ms=474.16))
    assert "\tRestore Duration: 474.16 ms\tBilled Restore Duration: 475 ms\t" in line
    assert "Init Duration" not in line
    with pytest.raises(ValueError, match="Init Duration"):
        Invocation(_at(0), 1, 128, 50, init_duration_ms=10, initialization_type="snap-start")


def test_batches_respect_put_log_events_limits():
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
    start = int(BASE.timestamp() * 1000)
    many = [LogEvent(start + i, "x") for i in range(25_000)]
    assert [len(b) for b in _batches(many)] == [MAX_BATCH_EVENTS, MAX_BATCH_EVENTS, 5_000]
    big = [LogEvent(start + i, "y" * 200_000) for i in range(12)]
    batches = list(_batches(big))
    assert all(sum(len(e.message) + 26 for e in b) <= MAX_BATCH_BYTES for b in batches)
    assert sum(len(b) for b in batches) == 12 and len(batches) == 3
    day = 24 * 3600 * 1000
    spread = [LogEvent(start, "a"), LogEvent(start + day, "b"), LogEvent(start + day + 1, "c")]
    assert [len(b) for b in _batches(spread)] == [2, 1]


def test_write_invocations_opens_a_log_stream_per_execution_environment(aws):
    logs = aws.client("logs")
    invocations = [
        Invocation(_at(0), 10, 256, 90, init_duration_ms=300),
        Invocation(_at(1), 10, 256, 91),
        Invocation(_at(2), 10, 256, 92, init_duration_ms=280),
        Invocation(_at(3), 10, 256, 93),
    ]
    written = write_invocations(logs, "/aws/lambda/orders", invocations)
    assert len(written.log_streams) == 2 and written.events == 2 * 4 + 2 * 3  # INIT_START on cold starts
    stream = logs.describe_log_streams(logGroupName="/aws/lambda/orders")["logStreams"][0]["logStreamName"]
    # Named after the day the environment started: its init began 300 ms before the first invocation.
    environment_start = _at(0) - timedelta(milliseconds=300)
    assert stream.startswith(environment_start.strftime("%Y/%m/%d/[$LATEST]"))
    response = _run(logs, 'filter @type = "REPORT" | stats count(*) as n by @logStream', ["/aws/lambda/orders"])
    assert sorted(int(r["n"]) for r in _rows(response)) == [2, 2]


def test_write_invocations_writes_to_a_log_group_that_exists_already_and_refuses_other_errors(aws):
    # "created if missing": told apart by the error's code, as botocore may hand threads sharing a new client
    # exception classes of their own (its client.exceptions is built lazily, unlocked).
    from botocore.exceptions import ClientError

    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/existing")
    written = write_invocations(logs, "/aws/lambda/existing", [Invocation(_at(0), 10, 256, 90)])
    assert written.events == 3
    with pytest.raises(ClientError) as refused:
        write_invocations(logs, "/aws/lambda/" + "x" * 600, [Invocation(_at(0), 10, 256, 90)])
    assert refused.value.response["Error"]["Code"] != "ResourceAlreadyExistsException"


# -- Discovered fields of Lambda logs -------------------------------------------------------------


def test_report_fields_are_the_discovered_fields_table_lists_with_aws_units(aws):
    # The table's Lambda row: @type, @requestId, @duration, @billedDuration, @memorySize, @maxMemoryUsed; memory in
    # bytes of 1,000,000 (AWS's sample divides by 1000 / 1000 for MB); durations in milliseconds; no @initDuration.
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html
    logs = aws.client("logs")
    cold = Invocation(_at(0), 12.34, 512, 87, init_duration_ms=345.67, request_id="req-cold")
    warm = Invocation(_at(1), 8.5, 512, 88, request_id="req-warm")
    write_invocations(logs, "/aws/lambda/pay", [cold, warm])
    query = (
        "fields @type, @requestId, @duration, @billedDuration, @memorySize, @maxMemoryUsed, @initDuration, @log"
        ' | filter @type = "REPORT" | sort @timestamp asc'
    )
    rows = _rows(_run(logs, query, ["/aws/lambda/pay"]))
    account = _account(aws)
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in rows] == [
        {
            "@type": "REPORT",
            "@requestId": "req-cold",
            "@duration": "12.34",
            "@billedDuration": "359",  # on-demand INIT phase billed: ceil(12.34 + 345.67)
            "@memorySize": "512000000",
            "@maxMemoryUsed": "87000000",
            "@log": f"{account}:/aws/lambda/pay",  # Init Duration is not in the table: not discovered
        },
        {
            "@type": "REPORT",
            "@requestId": "req-warm",
            "@duration": "8.5",
            "@billedDuration": "9",
            "@memorySize": "512000000",
            "@maxMemoryUsed": "88000000",
            "@log": f"{account}:/aws/lambda/pay",
        },
    ]
    assert all(r["@ptr"] for r in rows)


@pytest.mark.parametrize("discovered", [False, True])
def test_init_duration_discovery_is_undocumented_and_switchable(aws, discovered):
    # Not in the discovered-fields table, yet the SnapStart page's sample query uses it: the sandbox does not
    # discover it unless told to, so that the auditor is tested both ways.
    logs = aws.client("logs")
    write_invocations(logs, "/aws/lambda/maybe", [Invocation(_at(0), 5, 128, 40, init_duration_ms=245.5)])
    set_init_duration_discovered(_account(aws), REGION, discovered)
    rows = _rows(_run(logs, 'filter @type = "REPORT" | fields @initDuration', ["/aws/lambda/maybe"]))
    assert [r.get("@initDuration") for r in rows] == (["245.5"] if discovered else [None])


def test_start_end_report_types_and_system_fields(aws):
    logs = aws.client("logs")
    written = write_invocations(logs, "/aws/lambda/t", [Invocation(_at(0), 5, 128, 40, request_id="r1")])
    response = _run(
        logs,
        "fields @type, @requestId, @logStream, @ingestionTime, @timestamp | filter @requestId = 'r1' | sort @type asc",
        ["/aws/lambda/t"],
    )
    rows = _rows(response)
    assert [r["@type"] for r in rows] == ["END", "REPORT", "START"]
    assert {r["@logStream"] for r in rows} == set(written.log_streams)
    assert rows[2]["@timestamp"] == _time(_at(0))
    assert all(len(r["@ingestionTime"]) == len("2024-01-01 00:00:00.000") for r in rows)


def test_collector_reads_raw_init_durations(aws):
    logs = aws.client("logs")
    inits = [312.5, 401.25, 288.0]
    invocations = [Invocation(_at(i * 10), 20, 1024, 300, init_duration_ms=init) for i, init in enumerate(inits)] + [
        Invocation(_at(i * 10 + 1), 15, 1024, 310) for i in range(3)
    ]
    write_invocations(logs, "/aws/lambda/search", invocations)
    response = _run(logs, TEXT_INITS, ["/aws/lambda/search"])  # Init Duration parsed from the message
    assert sorted(float(r["init_ms"]) for r in _rows(response)) == sorted(inits)
    assert response["statistics"]["recordsMatched"] == 3
    assert response["statistics"]["recordsScanned"] == 3 * 4 + 3 * 3
    assert response["statistics"]["bytesScanned"] > 0


# -- AWS's sample queries for Lambda --------------------------------------------------------------


def _memory_fleet(logs) -> None:
    write_invocations(
        logs,
        "/aws/lambda/api",
        [
            Invocation(_at(0), 100, 1024, 180, init_duration_ms=500),
            Invocation(_at(1), 120, 1024, 200),
            Invocation(_at(2), 80, 1024, 160),
        ],
    )


def test_sample_query_overprovisioned_memory(aws):
    # CWL_QuerySyntax-examples.html, "Determine the amount of overprovisioned memory"
    logs = aws.client("logs")
    _memory_fleet(logs)
    query = """filter @type = "REPORT"
    | stats max(@memorySize / 1000 / 1000) as provisonedMemoryMB,
        min(@maxMemoryUsed / 1000 / 1000) as smallestMemoryRequestMB,
        avg(@maxMemoryUsed / 1000 / 1000) as avgMemoryUsedMB,
        max(@maxMemoryUsed / 1000 / 1000) as maxMemoryUsedMB,
        provisonedMemoryMB - maxMemoryUsedMB as overProvisionedMB"""
    response = _run(logs, query, ["/aws/lambda/api"])
    assert _rows(response) == [
        {
            "provisonedMemoryMB": "1024",
            "smallestMemoryRequestMB": "160",
            "avgMemoryUsedMB": "180",
            "maxMemoryUsedMB": "200",
            "overProvisionedMB": "824",
        }
    ]
    assert all("@ptr" not in cell["field"] for row in response["results"] for cell in row)


def test_sample_query_latency_statistics_by_bin(aws):
    # CWL_QuerySyntax-examples.html, "View latency statistics for 5-minute intervals"
    logs = aws.client("logs")
    durations = {0: 10.0, 1: 30.0, 4.5: 20.0, 5: 7.0, 9: 9.0, 11: 100.0}
    write_invocations(logs, "/aws/lambda/lat", [Invocation(_at(m), d, 128, 50) for m, d in durations.items()])
    query = 'filter @type = "REPORT" | stats avg(@duration), max(@duration), min(@duration) by bin(5m)'
    rows = _rows(_run(logs, query, ["/aws/lambda/lat"]))
    assert rows == [
        {"bin(5m)": _time(_at(0)), "avg(@duration)": "20", "max(@duration)": "30", "min(@duration)": "10"},
        {"bin(5m)": _time(_at(5)), "avg(@duration)": "8", "max(@duration)": "9", "min(@duration)": "7"},
        {"bin(5m)": _time(_at(10)), "avg(@duration)": "100", "max(@duration)": "100", "min(@duration)": "100"},
    ]
    assert list(rows[0]) == ["bin(5m)", "avg(@duration)", "max(@duration)", "min(@duration)"]


def test_sample_query_percentage_of_cold_starts(aws):
    # AWS Lambda Operator Guide, "Percentage of cold starts in total invocations"
    logs = aws.client("logs")
    invocations = [Invocation(_at(i), 10, 128, 50, init_duration_ms=200 if i % 4 == 0 else None) for i in range(8)]
    write_invocations(logs, "/aws/lambda/cs", invocations)
    query = """filter @type = "REPORT"
    | stats sum(strcontains(@message, "Init Duration"))/count(*) * 100 as coldStartPct, avg(@duration)
      by bin(1h)"""
    assert _rows(_run(logs, query, ["/aws/lambda/cs"])) == [
        {"bin(1h)": _time(_at(0)), "coldStartPct": "25", "avg(@duration)": "10"}
    ]


def test_sample_query_snapstart_latency_percentiles(aws):
    # https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html: Restore Duration is parsed,
    # @log is "<account-id>:/aws/lambda/<function>".
    logs = aws.client("logs")
    restored = [
        Invocation(_at(i), 5, 512, 140, initialization_type="snap-start", restore_duration_ms=400) for i in (0, 1)
    ]
    warm = [Invocation(_at(2 + i), 4 + i, 512, 140) for i in range(4)]
    write_invocations(logs, "/aws/lambda/java-fn", restored + warm)
    query = r"""filter @type = "REPORT"
      | parse @log /\d+:\/aws\/lambda\/(?<function>.*)/
      | parse @message /Restore Duration: (?<restoreDuration>.*?) ms/
      | stats
        count(*) as invocations,
        pct(@duration+coalesce(@initDuration,0)+coalesce(restoreDuration,0), 50) as p50,
        pct(@duration+coalesce(@initDuration,0)+coalesce(restoreDuration,0), 99) as p99
        by function, (ispresent(@initDuration) or ispresent(restoreDuration)) as coldstart
      | sort by coldstart desc"""
    rows = _rows(_run(logs, query, ["/aws/lambda/java-fn"]))
    assert rows == [
        {"function": "java-fn", "coldstart": "true", "invocations": "2", "p50": "405", "p99": "405"},
        {"function": "java-fn", "coldstart": "false", "invocations": "4", "p50": "5", "p99": "7"},
    ]


def test_sample_query_top_billed_invocations(aws):
    # AWS Lambda Operator Guide, "The top 100 highest billed invocations" (limit lowered to 2)
    logs = aws.client("logs")
    write_invocations(
        logs,
        "/aws/lambda/bill",
        [Invocation(_at(i), d, 128, 50, request_id=f"r{i}") for i, d in enumerate([5.5, 50.1, 20.0, 49.2])],
    )
    query = 'filter @type = "REPORT" | fields @requestId, @billedDuration | sort by @billedDuration desc | limit 2'
    rows = _rows(_run(logs, query, ["/aws/lambda/bill"]))
    assert [(r["@requestId"], r["@billedDuration"]) for r in rows] == [("r1", "51"), ("r3", "50")]


# -- JSON log format ------------------------------------------------------------------------------


def test_json_records_are_queried_with_dot_notation(aws):
    logs = aws.client("logs")
    invocations = [
        Invocation(_at(0), 30, 2048, 400, init_duration_ms=900.5),
        Invocation(_at(1), 25, 2048, 420),
        Invocation(_at(2), 40, 2048, 410, init_duration_ms=1200.0, initialization_type="provisioned-concurrency"),
        Invocation(_at(3), 6, 2048, 300, initialization_type="snap-start", restore_duration_ms=350.25),
        Invocation(_at(4), 20, 2048, 390, init_duration_ms=700.0),
    ]
    write_invocations(logs, "/aws/lambda/json-fn", invocations, "JSON")
    group = ["/aws/lambda/json-fn"]

    reports = _run(
        logs,
        'filter type = "platform.report" | stats count(*) as invocations, max(record.metrics.maxMemoryUsedMB) as '
        "maxUsed, max(record.metrics.memorySizeMB) as size, count(record.metrics.restoreDurationMs) as restores",
        group,
    )
    assert _rows(reports) == [{"invocations": "5", "maxUsed": "420", "size": "2048", "restores": "1"}]

    by_type = _run(
        logs,
        'filter type = "platform.initStart" | stats count(*) as coldStarts by record.initializationType',
        group,
    )
    assert _rows(by_type) == [
        {"record.initializationType": "on-demand", "coldStarts": "2"},
        {"record.initializationType": "provisioned-concurrency", "coldStarts": "1"},
    ]

    inits = _run(
        logs,
        "fields record.metrics.initDurationMs"
        ' | filter type = "platform.report" and ispresent(record.metrics.initDurationMs)',
        group,
    )
    assert sorted(float(r["record.metrics.initDurationMs"]) for r in _rows(inits)) == [700.0, 900.5, 1200.0]

    # JSON records are not REPORT lines: no @type, no @duration
    assert _run(logs, 'filter @type = "REPORT"', group)["results"] == []


# -- Commands -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_logs(sandbox):
    """An application log group of JSON lines (fresh account of this module)."""
    session = sandbox.session_for_account(f"{next(_module_accounts):012d}", REGION)
    logs = session.client("logs")
    lines = [
        {"id": 1, "level": "ERROR", "latency": 250, "path": "/orders", "msg": "Timeout calling payments"},
        {"id": 2, "level": "INFO", "latency": 40, "path": "/orders", "msg": "ok"},
        {"id": 3, "level": "WARN", "latency": 1200, "path": "/search", "msg": "slow query"},
        {"id": 4, "level": "INFO", "latency": 15, "path": "/health", "msg": ""},
        {"id": 5, "level": "ERROR", "latency": 999, "path": "/search", "msg": "NullPointerException at x"},
        {"id": 6, "level": "DEBUG", "path": "/orders", "msg": "   "},
    ]
    _put(logs, "/app/web", [(_at(i), json.dumps(line)) for i, line in enumerate(lines)])
    return logs


@pytest.mark.parametrize(
    "condition, ids",
    [
        ('level = "ERROR"', [1, 5]),
        ("level != 'INFO'", [1, 3, 5, 6]),
        ("latency > 250", [3, 5]),
        ("latency >= 250", [1, 3, 5]),
        ("latency < 40", [4]),
        ("latency <= 40", [2, 4]),
        ("latency > 100 and path = '/search'", [3, 5]),
        ("latency < 20 or level = 'WARN'", [3, 4]),
        ("not ispresent(latency)", [6]),
        ("isempty(msg)", [4]),
        ("isblank(msg)", [4, 6]),
        ("msg like /(?i)timeout|exception/", [1, 5]),
        ('msg like "query"', [3]),
        ('msg not like "o"', [4, 6]),
        ("msg =~ /^ok$/", [2]),
        ("msg =~ /^(?i)OK$/", [2]),  # CWL_QuerySyntax.html's case-insensitive form
        ("level in ['WARN', 'DEBUG']", [3, 6]),
        ("level not in ['INFO', 'ERROR', 'WARN']", [6]),
        ("latency * 2 - 100 = 1898", [5]),
        ("2 ^ 3 * 100 + 400 = latency", [3]),
        ("id % 2 = 0 and ispresent(latency)", [2, 4]),
        ("path = '/orders' # a comment, to the end of the line\n", [1, 2, 6]),
    ],
)
def test_filter_conditions(app_logs, condition, ids):
    response = _run(app_logs, f"fields id | filter {condition} | sort id asc", ["/app/web"])
    assert [int(r["id"]) for r in _rows(response)] == ids


def test_parse_glob_form_from_the_documentation(aws):
    # CWL_QuerySyntax.html: parse @message "user=*, method:*, latency := *" as @user, @method, @latency
    logs = aws.client("logs")
    lines = [
        "user=ana, method:GET, latency := 30",
        "user=ana, method:GET, latency := 50",
        "user=bob, method:PUT, latency := 7",
    ]
    _put(logs, "/app/api", [(_at(i), line) for i, line in enumerate(lines)])
    query = (
        'parse @message "user=*, method:*, latency := *" as @user, @method, @latency'
        " | stats avg(@latency) by @method, @user"
    )
    assert _rows(_run(logs, query, ["/app/api"])) == [
        {"@method": "GET", "@user": "ana", "avg(@latency)": "40"},
        {"@method": "PUT", "@user": "bob", "avg(@latency)": "7"},
    ]


def test_fields_display_and_aggregates(app_logs):
    display = _rows(
        _run(app_logs, "fields id, latency * 2 as doubled | display doubled | sort id asc | limit 2", ["/app/web"])
    )
    assert [{k: v for k, v in r.items() if k != "@ptr"} for r in display] == [{"doubled": "500"}, {"doubled": "80"}]
    assert all("@ptr" in r for r in display)
    query = (
        "stats count() as all, count(latency) as timed, count_distinct(path) as paths, sum(latency) as total,"
        " min(latency) as low, max(latency) as high, pct(latency, 50) as median, avg(latency) as mean"
    )
    assert _rows(_run(app_logs, query, ["/app/web"])) == [
        {
            "all": "6",
            "timed": "5",
            "paths": "3",
            "total": "2504",
            "low": "15",
            "high": "1200",
            "median": "250",
            "mean": "500.8",
        }
    ]


def test_sort_follows_the_documented_natural_order(aws):
    # CWL_QuerySyntax-Sort.html: the documented ascending order, non-numbers first, then numbers
    documented = ["!:", "#", "*%04", "0#", "5A", "111A", "2345_", "@", "@_", "A", "A9876fghj", "a12345hfh"]
    numbers = ["0", "01", "1", "2", "3"]
    expected = documented + numbers
    logs = aws.client("logs")
    # Newest first in the expected order: equal numbers ("01" and "1") keep the order they come in.
    _put(logs, "/app/sort", [(_at(-i / 60), json.dumps({"v": v})) for i, v in enumerate(expected)])
    ascending = [r["v"] for r in _rows(_run(logs, "fields v | sort v asc", ["/app/sort"]))]
    assert ascending == expected
    descending = [r["v"] for r in _rows(_run(logs, "fields v | sort v desc", ["/app/sort"]))]
    assert descending[:2] == ["3", "2"] and descending[-3:] == ["*%04", "#", "!:"]


# -- Log groups and time range --------------------------------------------------------------------


def test_multiple_log_groups_by_log(aws):
    logs = aws.client("logs")
    account = _account(aws)
    write_invocations(
        logs,
        "/aws/lambda/fn-a",
        [Invocation(_at(i), 10, 128, 60 + i, init_duration_ms=100 if i == 0 else None) for i in range(3)],
    )
    # A custom log group (LoggingConfig.LogGroup): the REPORT lines are discovered the same way.
    write_invocations(
        logs, "/shared/lambda-logs", [Invocation(_at(i), 10, 256, 100 + i) for i in range(2)], function_name="fn-b"
    )
    write_invocations(logs, "/aws/lambda/fn-c", [Invocation(_at(0), 10, 128, 70, init_duration_ms=90)], "JSON")
    arn = f"arn:aws:logs:{REGION}:{account}:log-group:/shared/lambda-logs"
    query = (
        'filter @type = "REPORT" | parse @message /Init Duration: (?<init>[0-9.]+) ms/'
        " | stats count(*) as invocations, count(init) as coldStarts, max(@maxMemoryUsed) as maxMemory by @log"
    )
    response = _run(logs, query, ["/aws/lambda/fn-a", arn, "/aws/lambda/fn-c"])
    assert _rows(response) == [
        {"@log": f"{account}:/aws/lambda/fn-a", "invocations": "3", "coldStarts": "1", "maxMemory": "62000000"},
        {"@log": f"{account}:/shared/lambda-logs", "invocations": "2", "coldStarts": "0", "maxMemory": "101000000"},
    ]
    assert response["statistics"]["logGroupsScanned"] == 3


@pytest.mark.parametrize(
    "params, error",
    [
        ({"logGroupNames": [f"/aws/lambda/f{i}" for i in range(51)]}, "InvalidParameterException"),
        (
            {"logGroupIdentifiers": ["arn:aws:logs:eu-west-1:{account}:log-group:/aws/lambda/g:*"]},
            "InvalidParameterException",
        ),
        (
            {"logGroupIdentifiers": ["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/g"]},
            "ResourceNotFoundException",
        ),
        ({"logGroupNames": ["/aws/lambda/g"], "limit": 100_001}, "InvalidParameterException"),
        ({"logGroupNames": ["/aws/lambda/g"], "startTime": END, "endTime": START}, "InvalidParameterException"),
    ],
)
def test_start_query_parameter_errors(aws, params, error):
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/g")
    params = json.loads(json.dumps(params).replace("{account}", _account(aws)))
    kwargs = {"startTime": START, "endTime": END, "queryString": "fields @message", **params}
    with pytest.raises(ClientError) as raised:
        logs.start_query(**kwargs)
    assert raised.value.response["Error"]["Code"] == error


def test_time_range_includes_both_boundary_seconds(aws):
    # StartQuery: "The range is inclusive": an event counts when its second is in [startTime, endTime].
    logs = aws.client("logs")
    start = int(BASE.timestamp())
    end = start + 60
    edges = {
        "before": start * 1000 - 1,
        "first": start * 1000,
        "last": end * 1000 + 999,
        "after": (end + 1) * 1000,
    }
    logs.create_log_group(logGroupName="/app/edges")
    logs.create_log_stream(logGroupName="/app/edges", logStreamName="s")
    logs.put_log_events(
        logGroupName="/app/edges",
        logStreamName="s",
        logEvents=[{"timestamp": ms, "message": name} for name, ms in sorted(edges.items(), key=lambda kv: kv[1])],
    )
    response = _run(logs, "fields @message", ["/app/edges"], start=start, end=end)
    assert sorted(r["@message"] for r in _rows(response)) == ["first", "last"]
    assert response["statistics"]["recordsScanned"] == 2


# -- Row limits -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busy_function(sandbox):
    """10,001 invocations of one function (fresh account of this module)."""
    session = sandbox.session_for_account(f"{next(_module_accounts):012d}", REGION)
    logs = session.client("logs")
    invocations = [
        Invocation(BASE + timedelta(milliseconds=250 * i), 3, 128, 40, request_id=f"r{i}") for i in range(10_001)
    ]
    write_invocations(logs, "/aws/lambda/busy", invocations)
    return logs


def test_default_limit_is_10000_rows(busy_function):
    # CWL_QuerySyntax-Limit.html: "If you omit limit, the query defaults to returning up to 10,000 log events."
    response = _run(busy_function, 'fields @requestId | filter @type = "REPORT"', ["/aws/lambda/busy"])
    assert len(response["results"]) == 10_000 and "nextToken" not in response
    assert response["statistics"]["recordsMatched"] == 10_001
    assert response["results"][0][0] == {"field": "@requestId", "value": "r10000"}  # newest first


def test_limit_above_10000_pages_through_get_query_results(busy_function):
    # StartQuery: limit up to 100,000; GetQueryResults: at most 10,000 rows a page, then nextToken.
    logs = busy_function
    query_id = logs.start_query(
        logGroupName="/aws/lambda/busy",
        startTime=START,
        endTime=END,
        queryString='fields @requestId | filter @type = "REPORT" | limit 10001',
    )["queryId"]
    first = logs.get_query_results(queryId=query_id)
    assert first["status"] == "Complete" and len(first["results"]) == 10_000 and first["nextToken"]
    second = logs.get_query_results(queryId=query_id, nextToken=first["nextToken"])
    assert len(second["results"]) == 1 and "nextToken" not in second
    ids = {row[0]["value"] for row in first["results"] + second["results"]}
    assert ids == {f"r{i}" for i in range(10_001)}
    small = logs.get_query_results(queryId=query_id, maxItems=3)
    assert [row[0]["value"] for row in small["results"]] == ["r10000", "r9999", "r9998"] and small["nextToken"]


def test_limit_parameter_and_maximum(busy_function):
    logs = busy_function
    response = _run(logs, 'fields @requestId | filter @type = "REPORT"', ["/aws/lambda/busy"], limit=5)
    assert len(response["results"]) == 5
    with pytest.raises(ClientError) as raised:
        _run(logs, "fields @requestId | limit 100001", ["/aws/lambda/busy"])
    assert raised.value.response["Error"]["Code"] == "MalformedQueryException"


# -- Errors and query lifecycle -------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, offset",
    [
        ('filter @type = "REPORT" | dedup @requestId', 26),
        ("filter (@duration > 5", 21),
        ("stats avg(@duration) by", 23),
        ("fields @message |", 17),
        ("stats @duration", 6),
        ("filter max(@duration) > 5", 7),
        ('parse @message "a * b * c" as x', 15),
        ("filter @message like foo", 21),
        ("limit 0", 6),
        ("filter unknownfn(@message)", 7),
        ("", 0),
    ],
)
def test_malformed_queries_are_refused_with_their_location(aws, query, offset):
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/m")
    with pytest.raises(ClientError) as raised:
        logs.start_query(logGroupName="/aws/lambda/m", startTime=START, endTime=END, queryString=query)
    error = raised.value.response
    assert error["Error"]["Code"] == "MalformedQueryException"
    assert error["queryCompileError"]["location"]["startCharOffset"] == offset


def test_status_moves_from_running_to_complete(aws):
    logs = aws.client("logs")
    write_invocations(logs, "/aws/lambda/slow", [Invocation(_at(0), 5, 128, 40)])
    set_query_polls(_account(aws), REGION, 2)
    query_id = logs.start_query(
        logGroupName="/aws/lambda/slow", startTime=START, endTime=END, queryString='filter @type = "REPORT"'
    )["queryId"]
    statuses = [logs.get_query_results(queryId=query_id) for _ in range(3)]
    assert [s["status"] for s in statuses] == ["Running", "Running", "Complete"]
    assert statuses[0]["results"] == [] and len(statuses[2]["results"]) == 1
    described = logs.describe_queries(logGroupName="/aws/lambda/slow")["queries"]
    assert [(q["queryId"], q["status"]) for q in described] == [(query_id, "Complete")]


def test_stop_query(aws):
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/stop")
    set_query_polls(_account(aws), REGION, 5)
    kwargs = {"logGroupName": "/aws/lambda/stop", "startTime": START, "endTime": END, "queryString": "fields @message"}
    running = logs.start_query(**kwargs)["queryId"]
    assert logs.get_query_results(queryId=running)["status"] == "Running"
    assert logs.stop_query(queryId=running)["success"] is True
    assert logs.get_query_results(queryId=running)["status"] == "Cancelled"
    # StopQuery: "If the query has already ended, the operation returns an error indicating that the
    # specified query is not running."
    with pytest.raises(ClientError) as again:
        logs.stop_query(queryId=running)
    assert again.value.response["Error"]["Code"] == "InvalidParameterException"
    set_query_polls(_account(aws), REGION, 0)
    complete = logs.start_query(**kwargs)["queryId"]
    with pytest.raises(ClientError) as ended:
        logs.stop_query(queryId=complete)
    assert ended.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as unknown:
        logs.stop_query(queryId="no-such-query")
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as unknown_results:
        logs.get_query_results(queryId="no-such-query")
    assert unknown_results.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_concurrent_query_quota(aws):
    # StartQuery: "You can have up to 100 concurrent CloudWatch Logs insights queries"
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/q")
    set_query_polls(_account(aws), REGION, 1)
    kwargs = {"logGroupName": "/aws/lambda/q", "startTime": START, "endTime": END, "queryString": "fields @message"}
    ids = [logs.start_query(**kwargs)["queryId"] for _ in range(MAX_CONCURRENT_QUERIES)]
    with pytest.raises(ClientError) as raised:
        logs.start_query(**kwargs)
    assert raised.value.response["Error"]["Code"] == "LimitExceededException"
    logs.stop_query(queryId=ids[0])
    assert logs.start_query(**kwargs)["queryId"]
