"""The reports' JSON Schemas, generated from the model: the committed files are what the model derives, the real
demo report validates, broken ones do not, reports stored before parse back, the Athena DDL matches."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from healthaudit.model import (
    SCHEMA_VERSION,
    AuditReport,
    AuditWindow,
    CoverageGap,
    DataSource,
    Finding,
    FunctionSummary,
    MetricSeries,
    Severity,
)
from healthaudit.schema import load_consolidated_schema, load_report_schema
from healthaudit.schema.generate import SCHEMAS, schema_text

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = load_report_schema()
VALIDATOR = Draft202012Validator(SCHEMA)


@pytest.fixture(scope="module")
def demo_report(demo_run) -> dict:
    """The report `healthaudit demo` stores: the real pipeline against the seeded sandbox."""
    # Its exit status says whether every planted problem was found: that is test_pipeline's business.
    report = demo_run.output / "demo-report.json"
    assert report.exists(), demo_run.result.stdout[-2000:] + demo_run.result.stderr[-2000:]
    return json.loads(report.read_text())


def every_branch_report() -> dict:
    """A report with the optional parts the demo leaves empty: gaps, resolved, ongoing, account-wide, scope."""
    window = AuditWindow.ending_at(datetime(2024, 5, 2, 6, 30, tzinfo=UTC))
    common = dict(account="123456789012", region="eu-west-1", remediation="Do something.", docs="https://docs.aws")
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api"
    hourly = MetricSeries("Throttles", "Sum", (window.start,), (3.0,))
    return AuditReport(
        account="123456789012",
        region="eu-west-1",
        window=window,
        functions_audited=1,
        functions=(FunctionSummary("orders-api", arn, None, "unknown"),),
        findings=(
            Finding(
                "throttled",
                "Function is throttled",
                Severity.HIGH,
                message="3 throttled",
                **common,
                function_name="orders-api",
                function_arn=arn,
                series=(hourly,),
                status="ongoing",
                first_seen="2024-04-30T06:00:00Z",
                evidence={"baseline_samples": [120.5, 130.0]},
            ),
            Finding(
                "audit-coverage-gap",
                "Data source unreadable",
                Severity.INFO,
                message="no tags",
                **common,
                suppressed_by="config: disabled until 2024-06-01",
            ),
        ),
        coverage_gaps=(CoverageGap(DataSource.TAGS, "AccessDenied"),),
        api_calls={"ListFunctions": 1},
        metric_queries={"fleet": 10, "series": 1},
        scope="tag:team=payments",
        notes=("orders-api: bad threshold tag; the default threshold applies",),
        resolved=(Finding("tracing-disabled", "X-Ray off", Severity.LOW, message="off", status="resolved", **common),),
        previous_report="reports/dt=2024-05-01/account=123456789012/region=eu-west-1/report.json",
    ).to_dict()


def test_the_schema_is_valid_draft_2020_12_and_pins_the_model_version():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


@pytest.mark.parametrize("filename", sorted(SCHEMAS))
def test_the_committed_schema_is_the_one_the_model_generates(filename):
    committed = (ROOT / "layers/healthaudit/healthaudit/schema" / filename).read_text(encoding="utf-8")
    assert committed == schema_text(SCHEMAS[filename]()), "run: python -m healthaudit.schema.generate"


def test_the_demo_report_reads_back_to_the_same_document(demo_report):
    assert AuditReport.from_dict(demo_report).to_dict() == demo_report


def test_a_report_with_every_optional_part_reads_back_to_the_same_document():
    report = every_branch_report()
    assert AuditReport.from_dict(report).to_dict() == report


def test_a_report_stored_before_the_newer_keys_still_parses():
    """History reads yesterday's report: keys added since (api_errors, partial, log_stats...) take their defaults."""
    report = every_branch_report()
    for key in ("api_errors", "partial", "logs_insights_bytes_scanned", "log_stats", "service_graph", "resolved"):
        del report[key]
    parsed = AuditReport.from_dict(report)
    assert (parsed.api_errors, parsed.partial, parsed.log_stats, parsed.resolved) == ({}, False, {}, ())
    assert VALIDATOR.is_valid(parsed.to_dict())


def test_the_consolidated_schema_validates_a_merged_run():
    from healthaudit.fanout.merge import merge_reports

    stored = AuditReport.from_dict(every_branch_report())
    results = [
        {"target": {"account": "123456789012", "region": "eu-west-1"}, "report_key": "reports/a.json"},
        {"target": {"account": "210987654321", "region": "us-east-1"}, "error": {"Error": "AssumeRoleFailed"}},
    ]
    merged = merge_reports(results, {"reports/a.json": stored}, generated_at=datetime(2024, 5, 2, 6, tzinfo=UTC))
    validator = Draft202012Validator(load_consolidated_schema())
    Draft202012Validator.check_schema(load_consolidated_schema())
    document = merged.to_dict()
    assert sorted(e.message for e in validator.iter_errors(document)) == []
    assert document["targets"][0]["worst_findings"][0]["check_id"] == "throttled"
    broken = copy.deepcopy(document)
    broken["targets"][0]["counts_by_severity"].pop("info")
    assert not validator.is_valid(broken)


def test_the_demo_report_validates(demo_report):
    assert demo_report["findings"], "the demo plants problems; an empty report would prove little"
    assert sorted(e.message for e in VALIDATOR.iter_errors(demo_report)) == []


def test_a_report_with_every_optional_part_validates():
    assert sorted(e.message for e in VALIDATOR.iter_errors(every_branch_report())) == []


def _drop(path):
    def mutate(report):
        *parents, last = path
        target = report
        for key in parents:
            target = target[key]
        del target[last]

    return mutate


def _set(path, value):
    def mutate(report):
        *parents, last = path
        target = report
        for key in parents:
            target = target[key]
        target[last] = value

    return mutate


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_drop(["schema_version"]), id="missing schema_version"),
        pytest.param(_set(["schema_version"], "2.0"), id="other schema_version"),
        pytest.param(_set(["surprise"], 1), id="extra top-level key"),
        pytest.param(_set(["findings", 0, "severity"], "severe"), id="wrong severity"),
        pytest.param(_set(["findings", 0, "status"], "fixed"), id="wrong status"),
        pytest.param(_set(["findings", 0, "colour"], "red"), id="extra finding key"),
        pytest.param(_drop(["findings", 0, "console_url"]), id="finding without console_url"),
        pytest.param(_set(["findings", 0, "first_seen"], "yesterday"), id="first_seen not a timestamp"),
        pytest.param(_set(["findings", 0, "series", 0, "values"], ["3"]), id="series value a string"),
        pytest.param(_drop(["window", "end"]), id="window without end"),
        pytest.param(_drop(["counts_by_severity", "info"]), id="counts without info"),
        pytest.param(_set(["api_calls", "ListFunctions"], "one"), id="api call count a string"),
        pytest.param(_set(["coverage_gaps", 0, "source"], "s3"), id="unknown data source"),
        pytest.param(_set(["functions", 0, "status"], "sick"), id="unknown function status"),
        pytest.param(_set(["account"], "12345"), id="short account id"),
    ],
)
def test_a_broken_report_fails(mutate):
    report = copy.deepcopy(every_branch_report())
    mutate(report)
    assert not VALIDATOR.is_valid(report)


def test_evidence_is_open():
    report = every_branch_report()
    report["findings"][0]["evidence"] = {"current_samples": [1.0, 2.0], "p95_ms": 2.0, "nested": {"any": ["thing"]}}
    assert VALIDATOR.is_valid(report)


# -- the Athena DDL in docs/athena.md ------------------------------------------------------------

SCALARS = {
    "string": {"string"},
    "int": {"integer"},
    "bigint": {"integer"},
    "double": {"number", "integer"},
    "boolean": {"boolean"},
}


def ddl_table(markdown: str) -> tuple[list[tuple[str, tuple]], list[tuple[str, tuple]]]:
    """The (name, type) columns and partition columns of the CREATE EXTERNAL TABLE in the doc."""
    sql = re.search(r"```sql\n(CREATE EXTERNAL TABLE.*?)```", markdown, re.S).group(1)
    columns = re.search(r"^CREATE EXTERNAL TABLE[^(]*\((.*?)^\)\s*PARTITIONED BY", sql, re.S | re.M).group(1)
    partitions = re.search(r"PARTITIONED BY \((.*?)\)", sql, re.S).group(1)
    return _columns(columns), _columns(partitions)


def _columns(text: str) -> list[tuple[str, tuple]]:
    tokens = re.findall(r"`[^`]+`|\w+|[<>,:]", text)
    columns, i = [], 0
    while i < len(tokens):
        name, (kind, i) = tokens[i].strip("`"), _type(tokens, i + 1)
        columns.append((name, kind))
        i += 1 if i < len(tokens) and tokens[i] == "," else 0
    return columns


def _type(tokens: list[str], i: int) -> tuple[tuple, int]:
    """Parse a Hive type at tokens[i]: (type, index after it). Types are ('string',), ('array', t),
    ('map', k, v) or ('struct', ((name, t), ...))."""
    head = tokens[i].lower()
    if head == "array":
        item, i = _type(tokens, i + 2)
        return ("array", item), i + 1
    if head == "map":
        key, i = _type(tokens, i + 2)
        value, i = _type(tokens, i + 1)
        return ("map", key, value), i + 1
    if head == "struct":
        fields, i = [], i + 2
        while True:
            name = tokens[i].strip("`")
            kind, i = _type(tokens, i + 2)
            fields.append((name, kind))
            if tokens[i] == ">":
                return ("struct", tuple(fields)), i + 1
            i += 1
    return (head,), i + 1


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _json_types(node: dict) -> set[str]:
    node = _resolve(node)
    if "anyOf" in node:
        return set().union(*(_json_types(option) for option in node["anyOf"]))
    if "type" in node:
        return {node["type"]} if isinstance(node["type"], str) else set(node["type"])
    values = [node["const"]] if "const" in node else node.get("enum", [])
    return {"string"} if all(isinstance(v, str) for v in values) else set()


def _non_null(node: dict) -> dict:
    node = _resolve(node)
    options = [_resolve(o) for o in node.get("anyOf", []) if _json_types(o) != {"null"}]
    return options[0] if len(options) == 1 else node


def ddl_problems(kind: tuple, node: dict, path: str) -> list[str]:
    """Where a Hive type disagrees with the schema node it reads."""
    node, types = _non_null(node), _json_types(node) - {"null"}
    if kind[0] == "struct":
        if types != {"object"} or "properties" not in node:
            return [f"{path}: struct over {sorted(types)}"]
        names = [name for name, _ in kind[1]]
        problems = [f"{path}: schema requires {r}, the DDL has no field" for r in node["required"] if r not in names]
        for name, field_kind in kind[1]:
            if name not in node["properties"]:
                problems.append(f"{path}.{name}: not in the schema")
            else:
                problems += ddl_problems(field_kind, node["properties"][name], f"{path}.{name}")
        return problems
    if kind[0] == "array":
        if types != {"array"}:
            return [f"{path}: array over {sorted(types)}"]
        return ddl_problems(kind[1], node["items"], f"{path}[]")
    if kind[0] == "map":
        if types != {"object"} or not isinstance(node.get("additionalProperties"), dict):
            return [f"{path}: map over a fixed shape"]
        return ddl_problems(kind[2], node["additionalProperties"], f"{path}{{}}")
    if kind[0] == "string" and types == {"object"} and "properties" not in node:
        return []  # an open object (evidence) read as its JSON text
    if not types or not types <= SCALARS.get(kind[0], set()):
        return [f"{path}: {kind[0]} over {sorted(types)}"]
    return []


def schema_drift(markdown: str) -> list[str]:
    columns, partitions = ddl_table(markdown)
    # account and region are partition columns (Hive forbids a data column of the same name) that
    # carry the report's own account and region; dt is only in the key.
    read = columns + [(name, kind) for name, kind in partitions if name != "dt"]
    return ddl_problems(("struct", tuple(read)), SCHEMA, "report")


ATHENA = (ROOT / "docs" / "athena.md").read_text()


def test_the_athena_ddl_reads_the_schema():
    columns, partitions = ddl_table(ATHENA)
    assert [name for name, _ in partitions] == ["dt", "account", "region"]
    assert len(columns) == len(SCHEMA["required"]) - 2
    assert schema_drift(ATHENA) == []


@pytest.mark.parametrize(
    "before, after, problem",
    [
        ("first_seen: string>>,\n  coverage_gaps", "first_seen_at: string>>,\n  coverage_gaps", "first_seen_at"),
        ("  previous_report string,\n", "  previous_report string,\n  generated_at string,\n", "generated_at"),
        ("  functions_audited int,", "  functions_audited string,", "functions_audited: string"),
        ("  notes array<string>,\n", "", "requires notes"),
        ("    info: int>,", "    info: int,\n    unknown: int>,", "unknown"),
    ],
)
def test_the_drift_check_notices_a_drifted_ddl(before, after, problem):
    assert before in ATHENA
    problems = schema_drift(ATHENA.replace(before, after, 1))
    assert any(problem in p for p in problems), problems
