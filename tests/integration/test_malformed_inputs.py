"""A corpus of malformed inputs: each gives a clear error that names what is wrong, or is handled.

Four kinds, each a table (ids name the case):

- config documents: refused with a ConfigError naming the field, the value and the expectation;
- events into the real handlers (audit, notify): refused with an error naming the event field,
  before any AWS call, so no report is half-made;
- Logs Insights result rows (what the REPORT records become): never raise, never a non-finite or
  negative figure; and property-based, any row at all, and any REPORT line read back through the
  sandbox's Insights field discovery to the figures it carries;
- AWS API responses with missing, odd or extra fields, rewritten by the proxy between boto3 and
  the sandbox: the audit completes, the report validates against its schema and serialises to
  JSON, HTML and a Slack digest, and a function whose data was odd is judged on what was sane or
  reported as unknown, never crashes the run.

Odd names, tags and messages through the renderers are in tests/integration/test_bad_input.py.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from healthaudit.audit import audit
from healthaudit.collect.clients import AwsClients
from healthaudit.collect.log_records import init_duration_from_row, totals_from_row
from healthaudit.config import AuditConfig, ConfigError, parse_config_text
from healthaudit.events import InvalidEvent
from healthaudit.model import AuditReport
from healthaudit.publish.digest import build_digest
from healthaudit.publish.html import render_html
from healthaudit.schema import load_report_schema
from healthaudit_sandbox.fleet import seed_fleet
from healthaudit_sandbox.logs_insights.discovery import discover_fields
from healthaudit_sandbox.planted_problems import demo_fleet
from healthaudit_sandbox.proxy import AwsProxy, Rewrite
from tests.support.clock import AT
from tests.support.events import load_event, report_created_event
from tests.support.functions import LambdaContext, load_function

REGION = "eu-west-1"

# -- config documents --------------------------------------------------------------------------

CONFIGS = [
    ("hours-negative", '{"window": {"hours": -1}}', "config.window.hours: got -1"),
    ("hours-as-text", '{"window": {"hours": "24"}}', "config.window.hours: got '24'"),
    ("hours-as-bool", '{"window": {"hours": true}}', "config.window.hours: got True"),
    ("hours-overflow", '{"window": {"hours": 1e400}}', "config.window.hours"),
    ("hours-too-many", '{"window": {"hours": 400}}', "expected an integer from 1 to 336"),
    ("baseline-zero", '{"window": {"baseline_days": 0}}', "config.window.baseline_days: got 0"),
    ("window-unknown-key", '{"window": {"minutes": 5}}', "config.window: unknown key 'minutes'"),
    ("rate-above-one", '{"thresholds": {"max_error_rate": 1.5}}', "config.thresholds.max_error_rate: got 1.5"),
    ("rate-nan", '{"thresholds": {"max_error_rate": NaN}}', "config.thresholds.max_error_rate"),
    ("rate-negative", '{"thresholds": {"max_throttle_rate": -0.01}}', "config.thresholds.max_throttle_rate"),
    ("threshold-typo", '{"thresholds": {"max_eror_rate": 0.1}}', "unknown key 'max_eror_rate'"),
    ("age-negative", '{"thresholds": {"max_iterator_age_seconds": -5}}', "max_iterator_age_seconds: got -5"),
    ("cold-ratio-below-one", '{"thresholds": {"cold_start_min_ratio": 0.5}}', "cold_start_min_ratio: got 0.5"),
    ("thresholds-a-list", '{"thresholds": []}', "config.thresholds: got [], expected a mapping"),
    ("scope-incomplete", '{"scope": "Tags.team =="}', "config.scope: got 'Tags.team =='"),
    ("scope-a-number", '{"scope": 42}', "config.scope: got 42, expected a string"),
    ("suppressions-a-mapping", '{"suppressions": {"check": "throttled"}}', "config.suppressions: got"),
    ("suppression-unknown-check", '{"suppressions": [{"check": "no-such-check"}]}', "suppressions[0].check"),
    ("suppression-until-text", '{"suppressions": [{"check": "throttled", "until": "tomorrow"}]}', "until: got"),
    ("disabled-unknown", '{"disabled_checks": ["nope"]}', "config.disabled_checks: got 'nope'"),
    ("disabled-a-string", '{"disabled_checks": "throttled"}', "expected a list of check ids"),
    ("channel-a-name", '{"slack": {"channel": "#general"}}', "config.slack.channel: got '#general'"),
    ("slack-timeout-zero", '{"slack": {"timeout_seconds": 0}}', "config.slack.timeout_seconds: got 0"),
    ("slack-timeout-long", '{"slack": {"timeout_seconds": 61}}', "config.slack.timeout_seconds: got 61"),
    ("slack-max-findings-zero", '{"slack": {"max_findings": 0}}', "config.slack.max_findings: got 0"),
    ("slack-link-hours", '{"slack": {"report_link_hours": 500}}', "config.slack.report_link_hours: no longer used"),
    ("viewer-url-no-key", '{"report": {"viewer_url": "https://x.example/"}}', "config.report.viewer_url: got"),
    ("slack-yes", '{"slack": {"post_when_healthy": "yes"}}', "post_when_healthy: got 'yes'"),
    ("slack-a-string", '{"slack": "C0123"}', "config.slack: got 'C0123', expected a mapping"),
    ("slack-unknown-key", '{"slack": {"channel": "C0123456789", "extra": 1}}', "config.slack: unknown key 'extra'"),
    ("prefix-a-number", '{"report": {"prefix": 5}}', "config.report.prefix: got 5"),
    ("queries-zero", '{"logs": {"max_concurrent_queries": 0}}', "config.logs.max_concurrent_queries: got 0"),
    ("queries-over-quota", '{"logs": {"max_concurrent_queries": 101}}', "max_concurrent_queries: got 101"),
    ("deadline-negative", '{"logs": {"query_deadline_seconds": -1}}', "query_deadline_seconds: got -1"),
    ("top-a-list", "[1, 2]", "config: got [1, 2], expected a mapping"),
    ("top-a-string", '"just a string"', "config: got 'just a string', expected a mapping"),
    ("json-truncated", '{"window": {"hours": 24}', "config: not valid JSON or YAML"),
    ("yaml-tab-indent", "window:\n\thours: 24", "config: not valid JSON or YAML"),
    ("yaml-unclosed", "window: [1, 2", "config: not valid JSON or YAML"),
    ("duplicate-key", '{"window": {"hours": 24}, "window": {"hours": 12}}', "key 'window' appears twice"),
    ("unknown-top-key", '{"unknown_top": 1}', "config: unknown key 'unknown_top'"),
    ("control-characters", "\x00\x01", "config: not valid JSON or YAML"),
    # oracle scopes: a scope that could tell, function by function, what a secret starts with
    (
        "scope-oracle-on-a-secret",
        """{"scope": "starts_with(Environment.Variables.DB_PASSWORD, 's3cr')"}""",
        "config.scope: reads 'Environment'",
    ),
    ("scope-environment-not-null", '{"scope": "Environment != `null`"}', "config.scope: reads 'Environment'"),
    ("scope-environment-in-a-pipe", '{"scope": "Runtime | Environment"}', "config.scope: reads 'Environment'"),
    ("scope-environment-via-current", '{"scope": "@.Environment.Variables"}', "config.scope: reads 'Environment'"),
    ("scope-kms-key", '{"scope": "KMSKeyArn != `null`"}', "config.scope: reads 'KMSKeyArn'"),
    (
        "scope-image-command",
        '{"scope": "ImageConfigResponse.ImageConfig"}',
        "config.scope: reads 'ImageConfigResponse'",
    ),
    ("scope-unknown-field", '{"scope": "Team == \'payments\'"}', "config.scope: reads unknown field 'Team'"),
    ("scope-bare-null-is-a-field", '{"scope": "Description != null"}', "config.scope: reads unknown field 'null'"),
    # keys that would send the Slack token (or the function's credentials) elsewhere
    ("slack-api-url", '{"slack": {"api_url": "https://evil.example/api/"}}', "config.slack.api_url: refused"),
    ("slack-api-url-loopback", '{"slack": {"api_url": "http://127.0.0.1:1/api/"}}', "config.slack.api_url: refused"),
    ("slack-token-env", '{"slack": {"token_env": "AWS_SESSION_TOKEN"}}', "config.slack.token_env: refused"),
]


@pytest.mark.parametrize("text, names", [case[1:] for case in CONFIGS], ids=[case[0] for case in CONFIGS])
def test_malformed_config_is_refused_naming_the_field(text, names):
    with pytest.raises(ConfigError, match=re.escape(names)):
        parse_config_text(text)


def test_the_config_loader_is_immune_to_constructors_other_libraries_put_on_safe_loader():
    """The SAM CLI registers a mapping constructor and `!` tags on yaml.SafeLoader for the whole process."""
    from samcli import yamlhelper

    yamlhelper.yaml_parse("a: 1\n")
    with pytest.raises(ConfigError, match="key 'window' appears twice"):
        parse_config_text('{"window": {"hours": 24}, "window": {"hours": 12}}')
    with pytest.raises(ConfigError, match="could not determine a constructor for the tag '!Ref'"):
        parse_config_text("scope: !Ref Something")


# -- events into the handlers ------------------------------------------------------------------


def scheduled(**changes: Any) -> dict:
    return {**load_event("scheduled.json"), **changes}


def manual(**detail: Any) -> dict:
    event = load_event("manual-run.json")
    return {**event, "detail": {**event["detail"], **detail}}


def without(event: dict, key: str) -> dict:
    return {k: v for k, v in event.items() if k != key}


AUDIT_EVENTS = [
    ("a-list", lambda: [scheduled()], "event: got [", InvalidEvent),
    ("a-string", lambda: "run now", "event: got 'run now', expected a JSON object", InvalidEvent),
    ("nothing", lambda: None, "event: got nothing, expected a JSON object", InvalidEvent),
    ("no-source", lambda: without(scheduled(), "source"), "event.source: got nothing", InvalidEvent),
    ("other-source", lambda: scheduled(source="aws.s3"), "event.source: got 'aws.s3'", InvalidEvent),
    ("no-time", lambda: without(scheduled(), "time"), "event.time: got nothing", InvalidEvent),
    ("time-garbage", lambda: scheduled(time="yesterday"), "event.time: got 'yesterday'", InvalidEvent),
    ("time-a-number", lambda: scheduled(time=1764309600), "event.time: got 1764309600", InvalidEvent),
    ("time-no-zone", lambda: scheduled(time="2026-11-28T06:00:00"), "which has no time zone", InvalidEvent),
    ("time-empty", lambda: scheduled(time=""), "event.time: got ''", InvalidEvent),
    ("resources-a-string", lambda: scheduled(resources="arn:aws:scheduler:x"), "event.resources: got", InvalidEvent),
    ("resources-numbers", lambda: scheduled(resources=[1, 2]), "event.resources: got [1, 2]", InvalidEvent),
    ("source-huge", lambda: scheduled(source="x" * 5000), "event.source: 5000 characters", InvalidEvent),
    ("manual-no-id", lambda: without(manual(), "id"), "event.id: got nothing", InvalidEvent),
    ("manual-detail-a-list", lambda: {**manual(), "detail": ["scope"]}, "event.detail: got ['scope']", InvalidEvent),
    ("manual-window-zero", lambda: manual(window_hours=0), "event.detail.window_hours: got 0", ConfigError),
    ("manual-window-text", lambda: manual(window_hours="24"), "event.detail.window_hours: got '24'", ConfigError),
    ("manual-window-huge", lambda: manual(window_hours=10**9), "event.detail.window_hours", ConfigError),
    ("manual-scope-bad", lambda: manual(scope="Tags.[["), "event.detail.scope: got 'Tags.[['", ConfigError),
    (
        "manual-scope-oracle",
        lambda: manual(scope="starts_with(Environment.Variables.DB_PASSWORD, 's3cr')"),
        "event.detail.scope: reads 'Environment'",
        ConfigError,
    ),
    (
        "manual-scope-unknown-field",
        lambda: manual(scope="Owner == 'me'"),
        "event.detail.scope: reads unknown field 'Owner'",
        ConfigError,
    ),
    ("manual-notify-text", lambda: manual(notify="no"), "event.detail.notify: got 'no'", ConfigError),
    ("manual-unknown-key", lambda: manual(force=True), "event.detail: unknown key 'force'", ConfigError),
    (
        "target-a-string",
        lambda: {"target": "123456789012", "time": "2026-11-28T06:00:00Z"},
        "event.target",
        ConfigError,
    ),
    ("target-short-account", lambda: {"target": {"account": "12", "region": REGION}}, "event.target", ConfigError),
    ("target-no-region", lambda: {"target": {"account": "123456789012"}}, "event.target", ConfigError),
    (
        "target-odd-key",
        lambda: {"target": {"account": "123456789012", "region": REGION, "x": 1}},
        "unknown key 'x'",
        ConfigError,
    ),
]


@pytest.mark.parametrize(
    "make_event, names, error", [case[1:] for case in AUDIT_EVENTS], ids=[case[0] for case in AUDIT_EVENTS]
)
def test_malformed_audit_events_are_refused_naming_the_field(make_event, names, error, monkeypatch):
    monkeypatch.delenv("HEALTHAUDIT_CONFIG_PARAMETER", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: any AWS call would fail
    with pytest.raises(error, match=re.escape(names)):
        load_function("audit").lambda_handler(make_event(), LambdaContext())


def report_created(**object_fields: Any) -> dict:
    event = load_event("s3-report-created.json")
    return {**event, "detail": {**event["detail"], "object": {**event["detail"]["object"], **object_fields}}}


NOTIFY_EVENTS = [
    ("a-list", lambda: [report_created()], "event: got ["),
    ("no-detail", lambda: without(report_created(), "detail"), "event.detail: got nothing"),
    ("detail-a-string", lambda: {**report_created(), "detail": "created"}, "event.detail: got 'created'"),
    ("no-bucket", lambda: {**report_created(), "detail": {"object": {"key": "k"}}}, "event.detail.bucket: got nothing"),
    ("bucket-no-name", lambda: {**report_created(), "detail": {"bucket": {}, "object": {"key": "k"}}}, "bucket.name"),
    (
        "no-object",
        lambda: {**report_created(), "detail": {"bucket": {"name": "b"}}},
        "event.detail.object: got nothing",
    ),
    ("key-empty", lambda: report_created(key=""), "event.detail.object.key: got ''"),
    ("key-a-number", lambda: report_created(key=42), "event.detail.object.key: got 42"),
    ("key-huge", lambda: report_created(key="k" * 3000), "event.detail.object.key: 3000 characters"),
]


@pytest.mark.parametrize("make_event, names", [case[1:] for case in NOTIFY_EVENTS], ids=[c[0] for c in NOTIFY_EVENTS])
def test_malformed_report_events_are_refused_naming_the_field(make_event, names, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with pytest.raises(InvalidEvent, match=re.escape(names)):
        load_function("notify").lambda_handler(make_event(), LambdaContext())


@pytest.mark.parametrize(
    "key",
    ["reports/dt=2026-11-28/account=1/region=x/report.html", "latest/../../etc/passwd", "latest/account=a/report.json"],
)
def test_objects_that_are_not_latest_reports_are_ignored_without_reading_them(key, monkeypatch):
    monkeypatch.delenv("HEALTHAUDIT_CONFIG_PARAMETER", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # a read would fail the test
    response = load_function("notify").lambda_handler(report_created(key=key), LambdaContext())
    assert response["status"] == f"ignored: {key} is not a latest/ report"


TIME = "2026-11-28T06:00:00Z"
STATE_MACHINE_EVENTS = [
    ("plan", "plan-a-list", [], "event: got [], expected a JSON object", InvalidEvent),
    ("plan", "plan-no-targets", {"time": TIME}, "targets: missing", ConfigError),
    ("plan", "plan-targets-a-number", {"time": TIME, "targets": 5}, "event.targets: got 5", InvalidEvent),
    ("plan", "plan-time-garbage", {"time": "x", "targets": {}}, "event.time: got 'x'", InvalidEvent),
    (
        "plan",
        "plan-short-account",
        {"time": TIME, "targets": {"accounts": "12", "regions": REGION}},
        "targets.accounts: got '12', expected a 12-digit account ID",
        ConfigError,
    ),
    (
        "plan",
        "plan-unknown-region",
        {"time": TIME, "targets": {"accounts": "123456789012", "regions": "mars-1"}},
        "targets.regions: got 'mars-1'",
        ConfigError,
    ),
    ("merge", "merge-a-list", [], "event: got [], expected a JSON object", InvalidEvent),
    ("merge", "merge-no-results", {"time": TIME}, "event.results: got nothing", InvalidEvent),
    ("merge", "merge-results-a-string", {"time": TIME, "results": "x"}, "event.results: got 'x'", InvalidEvent),
    ("merge", "merge-result-a-number", {"time": TIME, "results": [1]}, "event.results[0]: got 1", InvalidEvent),
    ("merge", "merge-no-time", {"results": []}, "event.time: got nothing", InvalidEvent),
]


@pytest.mark.parametrize(
    "function, event, names, error",
    [(c[0], *c[2:]) for c in STATE_MACHINE_EVENTS],
    ids=[c[1] for c in STATE_MACHINE_EVENTS],
)
def test_malformed_state_machine_events_are_refused_naming_the_field(function, event, names, error, monkeypatch):
    monkeypatch.delenv("HEALTHAUDIT_CONFIG_PARAMETER", raising=False)
    monkeypatch.setenv("HEALTHAUDIT_MEMBER_ROLE_NAME", "healthaudit-member-audit")
    monkeypatch.setenv("HEALTHAUDIT_BUCKET", "reports")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: any AWS call would fail
    with pytest.raises(error, match=re.escape(names)):
        load_function(function).lambda_handler(event, LambdaContext())


# -- Logs Insights rows (REPORT records as Insights returns them) ------------------------------

TOTALS_ROWS = [
    ("counts-not-numbers", {"@log": "1:/aws/lambda/f", "invocations": "abc", "cold_starts": "x"}, (0, 0, None, None)),
    ("counts-negative", {"@log": "1:/aws/lambda/f", "invocations": "-4", "cold_starts": "-1"}, (0, 0, None, None)),
    ("counts-fractional", {"@log": "1:/aws/lambda/f", "invocations": "2.5"}, (0, 0, None, None)),
    ("counts-infinite", {"@log": "1:/aws/lambda/f", "invocations": "inf", "cold_starts": "nan"}, (0, 0, None, None)),
    ("counts-overflow", {"@log": "1:/aws/lambda/f", "invocations": "1e400"}, (0, 0, None, None)),
    ("counts-float-text", {"@log": "1:/aws/lambda/f", "invocations": "12.0", "cold_starts": "3"}, (12, 3, None, None)),
    ("memory-nan", {"@log": "1:/aws/lambda/f", "max_memory_used": "NaN", "memory_size": "inf"}, (0, 0, None, None)),
    ("memory-zero", {"@log": "1:/aws/lambda/f", "max_memory_used": "0", "memory_size": "-128"}, (0, 0, None, None)),
    ("memory-text", {"@log": "1:/aws/lambda/f", "max_memory_used": "59 MB", "memory_size": ""}, (0, 0, None, None)),
    (
        "memory-bytes",
        {"@log": "1:/aws/lambda/f", "max_memory_used": "59000000", "memory_size": "128000000"},
        (0, 0, 59, 128),
    ),
    ("log-without-account", {"@log": "/aws/lambda/f", "invocations": "1"}, (1, 0, None, None)),
    ("unknown-fields", {"@log": "1:/aws/lambda/f", "@ptr": "x", "extra": "ü"}, (0, 0, None, None)),
]


@pytest.mark.parametrize("row, expected", [case[1:] for case in TOTALS_ROWS], ids=[case[0] for case in TOTALS_ROWS])
def test_odd_totals_rows_are_read_as_absent_not_trusted(row, expected):
    group, stats = totals_from_row(row, "Text", sample_capacity=10)
    assert group == "/aws/lambda/f"
    assert (stats.invocations, stats.cold_starts, stats.max_memory_used_mb, stats.memory_size_mb) == expected


@pytest.mark.parametrize("row", [{}, {"@log": ""}, {"@log": None}, {"@log": 5}, {"invocations": "3"}])
def test_a_totals_row_without_a_log_group_is_skipped(row):
    assert totals_from_row(row, "JSON", sample_capacity=10) is None


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"@log": "1:/g", "at_ms": "1700000000000", "init_ms": "147.85"}, ("/g", 1.7e12, 147.85)),
        (
            {"@log": "1:/g", "at_ms": "1.7E12", "init_ms": "147.85"},
            ("/g", 1.7e12, 147.85),
        ),  # how it prints: undocumented
        ({"@log": "1:/g", "at_ms": "1700000000000", "init_ms": "-3"}, None),
        ({"@log": "1:/g", "at_ms": "1700000000000", "init_ms": "nan"}, None),
        ({"@log": "1:/g", "at_ms": "1700000000000", "init_ms": "147.85 ms"}, None),
        ({"@log": "1:/g", "at_ms": "1700000000000"}, None),
        ({"@log": "1:/g", "init_ms": "147.85"}, None),  # no time: which range it belongs to is unknown
        ({"@log": "1:/g", "at_ms": "2023-11-14 22:13:20.000", "init_ms": "147.85"}, None),
        ({"at_ms": "1700000000000", "init_ms": "100"}, None),
    ],
)
def test_odd_init_duration_rows(row, expected):
    assert init_duration_from_row(row) == expected


INSIGHTS_TEXT = st.one_of(st.text(max_size=30), st.floats().map(repr), st.integers().map(str), st.none())
ROWS = st.dictionaries(
    st.sampled_from(
        ["@log", "invocations", "cold_starts", "max_memory_used", "memory_size", "init_ms", "at_ms", "@ptr"]
    ),
    INSIGHTS_TEXT,
)


@settings(max_examples=300, deadline=None)
@given(ROWS, st.sampled_from(["Text", "JSON"]))
def test_any_insights_row_gives_sane_figures_or_nothing(row, log_format):
    totals = totals_from_row(row, log_format, sample_capacity=4)
    if totals is not None:
        _, stats = totals
        assert stats.invocations >= 0 and stats.cold_starts >= 0
        for figure in (stats.max_memory_used_mb, stats.memory_size_mb):
            assert figure is None or (math.isfinite(figure) and figure > 0)
    init = init_duration_from_row(row)
    assert init is None or (math.isfinite(init[2]) and init[2] >= 0 and math.isfinite(init[1]))


# -- AWS API responses with missing, odd or extra fields ---------------------------------------

FUNCTIONS = {"orders-api", "fraud-scoring", "clickstream-consumer", "stock-reserver", "audit-trail", "search-indexer"}
LIST_FUNCTIONS = r"GET /2015-03-31/functions/?"


def each_function(change: Callable[[dict], None], only: str | None = "fraud-scoring") -> Callable[[dict], dict]:
    """A ListFunctions rewrite applying `change` to one function's configuration (or every one's)."""

    def rewrite(body: dict) -> dict:
        for function in body.get("Functions") or []:
            if only is None or function.get("FunctionName") == only:
                change(function)
        return body

    return rewrite


def drop(*keys: str) -> Callable[[dict], None]:
    return lambda item: [item.pop(key, None) for key in keys] and None


def put(**values: Any) -> Callable[[dict], None]:
    return lambda item: item.update(values)


def on_list(key: str, change: Callable[[dict], None]) -> Callable[[dict], dict]:
    def rewrite(body: dict) -> dict:
        for item in body.get(key) or []:
            change(item)
        return body

    return rewrite


API_RESPONSES = [
    ("function-no-timeout", LIST_FUNCTIONS, each_function(drop("Timeout"))),
    ("function-no-memory", LIST_FUNCTIONS, each_function(drop("MemorySize"))),
    ("function-image-no-runtime", LIST_FUNCTIONS, each_function(drop("Runtime", "Handler"))),
    ("function-runtime-null", LIST_FUNCTIONS, each_function(put(Runtime=None))),
    ("function-runtime-unknown", LIST_FUNCTIONS, each_function(put(Runtime="cobol99.x"))),
    ("function-timeout-zero", LIST_FUNCTIONS, each_function(put(Timeout=0))),
    ("function-memory-zero", LIST_FUNCTIONS, each_function(put(MemorySize=0))),
    ("function-no-tracing", LIST_FUNCTIONS, each_function(drop("TracingConfig"))),
    ("function-tracing-odd", LIST_FUNCTIONS, each_function(put(TracingConfig={"Mode": "Sometimes"}))),
    ("function-no-logging", LIST_FUNCTIONS, each_function(drop("LoggingConfig"))),
    ("function-log-format-odd", LIST_FUNCTIONS, each_function(put(LoggingConfig={"LogFormat": "XML"}))),
    ("function-no-architectures", LIST_FUNCTIONS, each_function(put(Architectures=[]))),
    ("function-layers-empty-entries", LIST_FUNCTIONS, each_function(put(Layers=[{}, {"Arn": None}]))),
    ("function-no-role", LIST_FUNCTIONS, each_function(drop("Role"))),
    ("function-role-odd", LIST_FUNCTIONS, each_function(put(Role="not-an-arn"))),
    ("function-dlq-null", LIST_FUNCTIONS, each_function(put(DeadLetterConfig={"TargetArn": None}))),
    ("function-code-size-negative", LIST_FUNCTIONS, each_function(put(CodeSize=-1))),
    ("function-extra-fields", LIST_FUNCTIONS, each_function(put(NewIn2030={"x": [1]}, SnapStart={"ApplyOn": "?"}))),
    ("every-function-no-timeout", LIST_FUNCTIONS, each_function(drop("Timeout"), only=None)),
    ("functions-null", LIST_FUNCTIONS, lambda body: {**body, "Functions": None}),
    ("log-groups-no-retention-key", "DescribeLogGroups", on_list("logGroups", drop("retentionInDays"))),
    ("log-groups-no-name", "DescribeLogGroups", on_list("logGroups", drop("logGroupName"))),
    ("log-groups-retention-odd", "DescribeLogGroups", on_list("logGroups", put(retentionInDays=-1))),
    ("tags-no-tags-key", "GetResources", on_list("ResourceTagMappingList", drop("Tags"))),
    (
        "tags-no-values",
        "GetResources",
        on_list("ResourceTagMappingList", lambda m: [t.pop("Value", None) for t in m.get("Tags", [])] and None),
    ),
    ("tags-not-a-function", "GetResources", on_list("ResourceTagMappingList", put(ResourceARN="arn:aws:s3:::bucket"))),
    (
        "mappings-no-source",
        r"GET /2015-03-31/event-source-mappings/?",
        on_list("EventSourceMappings", drop("EventSourceArn")),
    ),
    (
        "mappings-state-odd",
        r"GET /2015-03-31/event-source-mappings/?",
        on_list("EventSourceMappings", put(State="Wobbly")),
    ),
    (
        "mappings-unknown-function",
        r"GET /2015-03-31/event-source-mappings/?",
        on_list("EventSourceMappings", put(FunctionArn="arn:aws:lambda:eu-west-1:1:function:gone")),
    ),
    ("account-no-limits", r"GET /2016-08-19/account-settings/?", lambda body: {**body, "AccountLimit": {}}),
    ("graph-services-no-name", r"POST /ServiceGraph", on_list("Services", drop("Name", "Names"))),
    (
        "graph-edges-dangling",
        r"POST /ServiceGraph",
        on_list("Services", lambda s: s.update(Edges=[{"ReferenceId": 999}])),
    ),
    ("graph-no-statistics", r"POST /ServiceGraph", on_list("Services", drop("SummaryStatistics"))),
]


def STILL_JUDGED(found: set, gaps: set, statuses: dict) -> bool:
    """What was sane is still judged: fraud-scoring's error rate comes from its metrics, not the odd field."""
    return ("fraud-scoring", "error-rate-high") in found and statuses["fraud-scoring"] == "unhealthy"


EXPECT: dict[str, Callable[[set, set, dict], bool]] = {
    "functions-null": lambda found, gaps, statuses: statuses == {} and not found,
    "account-no-limits": lambda found, gaps, statuses: (
        (None, "GetAccountSettings answered without AccountLimit.ConcurrentExecutions") in gaps
        and STILL_JUDGED(found, gaps, statuses)
    ),
    "function-no-role": lambda found, gaps, statuses: (
        ("fraud-scoring", "the execution role '' is not an IAM role ARN") in gaps
        and STILL_JUDGED(found, gaps, statuses)
    ),
    "function-role-odd": lambda found, gaps, statuses: (
        ("fraud-scoring", "the execution role 'not-an-arn' is not an IAM role ARN") in gaps
        and STILL_JUDGED(found, gaps, statuses)
    ),
}


@pytest.fixture(scope="module")
def odd_fleet(sandbox):
    session = sandbox.session_for_account("800000000001", region=REGION)
    seed_fleet(session, AT, [fn for fn in demo_fleet() if fn.name in FUNCTIONS])
    return session


SCHEMA = Draft202012Validator(load_report_schema())


@pytest.mark.parametrize(
    "operation, change, expect",
    [(*c[1:], EXPECT.get(c[0], STILL_JUDGED)) for c in API_RESPONSES],
    ids=[c[0] for c in API_RESPONSES],
)
def test_odd_api_responses_never_crash_the_audit_or_lose_the_report(sandbox, odd_fleet, operation, change, expect):
    with AwsProxy(sandbox.endpoint) as proxy:
        proxy.rewrites.append(Rewrite(operation, change))
        clients = AwsClients(odd_fleet, region=REGION, endpoint_url=proxy.endpoint)
        report = audit(clients, AuditConfig(), at=AT)
    assert proxy.rewritten, f"{operation} was never called: the case tests nothing"
    document = json.loads(json.dumps(report.to_dict()))
    assert not list(SCHEMA.iter_errors(document)), [e.message for e in SCHEMA.iter_errors(document)][:3]
    assert render_html(AuditReport.from_dict(document)) and build_digest(report, None)
    statuses = {summary.name: summary.status for summary in report.functions}
    assert set(statuses) <= FUNCTIONS
    assert report.functions_audited == len(statuses)
    found = {(f.function_name, f.check_id) for f in report.active_findings}
    gaps = {(gap.function_name, gap.reason) for gap in report.coverage_gaps}
    assert expect(found, gaps, statuses), (found, gaps)


# -- REPORT lines: what the sandbox's Insights discovers, and what the collector makes of it ---


@settings(max_examples=300, deadline=None)
@given(
    request_id=st.uuids(),
    duration=st.floats(min_value=0, max_value=900_000, allow_nan=False),
    init=st.none() | st.floats(min_value=0, max_value=10_000, allow_nan=False),
    memory=st.integers(min_value=128, max_value=10_240),
    used=st.integers(min_value=1, max_value=10_240),
)
def test_report_lines_read_back_to_the_figures_they_carry(request_id, duration, init, memory, used):
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration:.2f} ms",
        f"Billed Duration: {math.ceil(duration)} ms",
        f"Memory Size: {memory} MB",
        f"Max Memory Used: {used} MB",
    ] + ([f"Init Duration: {init:.2f} ms"] if init is not None else [])
    fields = discover_fields("\t".join(parts) + "\t\n", init_duration=True)  # @initDuration: undocumented
    assert fields["@duration"] == float(f"{duration:.2f}")
    assert fields.get("@initDuration") == (float(f"{init:.2f}") if init is not None else None)
    row = {
        "@log": "123456789012:/aws/lambda/f",
        "invocations": "1",
        "cold_starts": "1" if init is not None else "0",
        "max_memory_used": str(fields["@maxMemoryUsed"]),  # Insights gives MB as bytes of 1,000,000
        "memory_size": str(fields["@memorySize"]),
    }
    _, stats = totals_from_row(row, "Text", sample_capacity=4)
    assert (stats.max_memory_used_mb, stats.memory_size_mb) == (used, memory)
    assert stats.cold_starts == (init is not None)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_report_line_is_read_or_ignored_never_a_crash(tail):
    fields = discover_fields("REPORT RequestId: 8f5a2c1e-0000-4000-8000-000000000000\t" + tail)
    assert fields["@type"] == "REPORT"
    for name in ("@duration", "@billedDuration", "@initDuration", "@memorySize", "@maxMemoryUsed"):
        assert name not in fields or (isinstance(fields[name], int | float) and math.isfinite(fields[name]))


NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "time, refused",
    [
        ("2026-12-01T06:05:00Z", None),  # within the clock skew
        ("2026-12-01T06:05:01Z", "in the future"),
        ("2025-09-02T06:00:00Z", None),  # exactly 455 days ago: CloudWatch still holds hourly data
        ("2025-09-02T05:59:59Z", "more than 455 days ago"),
        ("1970-01-01T00:00:00Z", "more than 455 days ago"),  # `sam local generate-event`'s default
    ],
)
def test_an_audit_time_outside_cloudwatchs_retention_or_in_the_future_is_refused(time, refused):
    from healthaudit.events import InvalidEvent, audit_time

    if refused is None:
        assert audit_time(time, "event.time", NOW) == datetime.fromisoformat(time.replace("Z", "+00:00"))
    else:
        with pytest.raises(InvalidEvent, match=f"event.time: got '{time}'.*{refused}"):
            audit_time(time, "event.time", NOW)


# -- Slack secrets that would send the digest elsewhere ----------------------------------------


@pytest.fixture
def stack(sandbox, aws, monkeypatch):
    """A fresh account with what the template provisions, its functions' environment set in this process."""
    from tests.support.deployment import aim_environment_at, provisioned

    aim_environment_at(aws, sandbox.endpoint, REGION, monkeypatch)
    with provisioned(aws, REGION, monkeypatch, multi_account=True) as provisioned_stack:
        yield provisioned_stack


FOREIGN_WEBHOOKS = [
    # (case, the webhook URL the secret holds, given the local Slack server; local-testing switch on)
    ("loopback-webhook-without-the-switch", lambda slack: slack.webhook_url, False),
    ("not-an-incoming-webhook-path", lambda slack: slack.url + "/api/chat.postMessage", True),
    ("loopback-url-outside-services", lambda slack: slack.url.replace("127.0.0.1", "localhost") + "/collect", True),
]


def hold_webhook(stack: dict, url: str, switch_on: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    stack["session"].client("secretsmanager").put_secret_value(
        SecretId=stack["secret"], SecretString=json.dumps({"webhook_url": url})
    )
    if not switch_on:
        monkeypatch.delenv("HEALTHAUDIT_SLACK_API_URL")


WEBHOOK_REFUSED = "failed: the incoming webhook URL in the Slack secret is not https://hooks.slack.com/services/"


@pytest.mark.parametrize("webhook, switch_on", [c[1:] for c in FOREIGN_WEBHOOKS], ids=[c[0] for c in FOREIGN_WEBHOOKS])
def test_the_notifier_records_a_foreign_webhook_and_sends_nothing(stack, webhook, switch_on, monkeypatch):
    url = webhook(stack["slack"])
    load_function("audit").lambda_handler(load_event("scheduled.json"), LambdaContext())
    hold_webhook(stack, url, switch_on, monkeypatch)
    latest = f"latest/account={stack['account']}/region={REGION}/report.json"
    response = load_function("notify").lambda_handler(report_created_event(stack["bucket"], latest), LambdaContext())
    assert response["status"].startswith(WEBHOOK_REFUSED)  # permanent: recorded, not retried
    assert url not in json.dumps(response)
    outcome_key = response["report_key"].replace("report.json", "notify.json")
    outcome = json.loads(stack["s3"].get_object(Bucket=stack["bucket"], Key=outcome_key)["Body"].read())
    assert outcome["status"] == response["status"]
    assert stack["slack"].posts == []


def merge_event_with_one_unreachable_target() -> dict:
    event = load_event("merge.json")
    caught = event["results"][1]
    return {**event, "targets": [caught["target"]], "results": [caught]}


@pytest.mark.parametrize("webhook, switch_on", [c[1:] for c in FOREIGN_WEBHOOKS], ids=[c[0] for c in FOREIGN_WEBHOOKS])
def test_the_merge_step_refuses_a_foreign_webhook_as_the_notifier_does(stack, webhook, switch_on, monkeypatch):
    url = webhook(stack["slack"])
    hold_webhook(stack, url, switch_on, monkeypatch)
    merged = load_function("merge").lambda_handler(merge_event_with_one_unreachable_target(), LambdaContext())
    assert merged["slack"].startswith(WEBHOOK_REFUSED) and url not in json.dumps(merged)
    assert merged["targets_not_audited"] == 1  # the consolidated report is stored all the same
    assert stack["slack"].posts == []


def test_the_merge_step_posts_through_a_slack_webhook_in_the_secret_without_a_channel(stack, monkeypatch):
    hold_webhook(stack, stack["slack"].webhook_url, True, monkeypatch)
    monkeypatch.delenv("HEALTHAUDIT_SLACK_CHANNEL")
    merged = load_function("merge").lambda_handler(merge_event_with_one_unreachable_target(), LambdaContext())
    assert merged["slack"] == "posted"
    (message,) = stack["slack"].messages
    assert message["webhook"] == stack["slack"].webhook_url.removeprefix(stack["slack"].url)
    assert "222222222222" in json.dumps(message["blocks"])


@pytest.mark.parametrize(
    "billed, expected",
    [
        ("4500", 4500.0),
        ("4500.0", 4500.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("NaN", 0.0),
        ("inf", 0.0),
        ("3 ms", 0.0),
        (None, 0.0),
    ],
)
def test_an_odd_billed_duration_sum_is_read_as_nothing_billed_not_trusted(billed, expected):
    row = {"@log": "1:/aws/lambda/f", "invocations": "3", **({"billed_ms": billed} if billed is not None else {})}
    _, stats = totals_from_row(row, "Text", sample_capacity=10)
    assert stats.billed_duration_ms == expected
