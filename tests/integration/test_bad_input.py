"""Bad input gets a clear error that names what was wrong, or is handled; never a traceback."""

from __future__ import annotations

import contextlib
import json
import os
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthaudit.audit import audit
from healthaudit.cli import main
from healthaudit.collect.clients import AwsClients
from healthaudit.collect.inventory import HELD_FIELDS, list_functions
from healthaudit.collect.snapshot import collect_snapshot
from healthaudit.config import AuditConfig, ConfigError, load_config, parse_config_text
from healthaudit.model import AuditReport, AuditWindow, Finding, FunctionSummary, Severity
from healthaudit.publish.digest import build_digest
from healthaudit.publish.html import render_html
from healthaudit.publish.render import report_json
from healthaudit_sandbox.fleet import tiny_zip
from tests.support.clock import AT

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=True), st.text(max_size=20)
)
KEYS = st.sampled_from(
    [
        "window",
        "thresholds",
        "scope",
        "suppressions",
        "disabled_checks",
        "slack",
        "report",
        "logs",
        "hours",
        "baseline_days",
        "max_error_rate",
        "check",
        "function",
        "tag",
        "until",
        "channel",
        "bucket",
        "prefix",
        "x",
    ]
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(DOCUMENTS)
def test_any_document_is_a_config_or_a_config_error(document):
    try:
        config = load_config(document)
    except ConfigError as error:
        assert str(error).startswith("config"), error  # names where in the document it went wrong
    else:
        assert isinstance(config, AuditConfig)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.printable, max_size=200))
def test_any_text_is_a_config_or_a_config_error(text):
    with contextlib.suppress(ConfigError):  # anything else escapes and fails the test
        assert isinstance(parse_config_text(text), AuditConfig)


# Odd names, tags and messages from AWS: unicode, mrkdwn, HTML, control characters, very long.
ODD_TEXTS = [
    "",
    " ",
    "ü" * 64,
    "函数-处理",
    "🚀-launch",
    "<script>alert(1)</script>",
    "<!channel>",
    "<!here|here>",
    "<@U123>",
    "<http://evil.example|click>",
    "a & b",
    "&amp;",
    "*bold* _it_ ~st~ `code`",
    "line\nbreak",
    "tab\there",
    "\x00nul",
    "\u202eright-to-left",
    "x" * 3000,
    "' OR 1=1 --",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "%s%s%s",
    "../../etc/passwd",
    "null",
    "[]",
    "{}",
    "\\",
    '"quoted"',
    "<b>bold</b>",
    "javascript:alert(1)",
]


def odd_report(text: str) -> AuditReport:
    window = AuditWindow.ending_at(AT)
    finding = Finding(
        check_id="error-rate-high",
        title="Error rate is high",
        severity=Severity.HIGH,
        account="123456789012",
        region="eu-west-1",
        message=text,
        remediation="Fix it.",
        docs="https://docs.aws.amazon.com/lambda/",
        function_name=text or "unnamed",
        function_arn=f"arn:aws:lambda:eu-west-1:123456789012:function:{text}",
        evidence={text: text, "tag": text},
    )
    return AuditReport(
        account="123456789012",
        region="eu-west-1",
        window=window,
        functions_audited=1,
        functions=(FunctionSummary(name=text, arn=finding.function_arn, runtime=None, status="unhealthy"),),
        findings=(finding,),
        coverage_gaps=(),
        api_calls={},
        metric_queries={},
        notes=(text,),
    )


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_odd_names_and_messages_render_escaped_everywhere(text):
    report = odd_report(text)
    document = json.loads(json.dumps(report.to_dict()))
    assert AuditReport.from_dict(document).to_dict() == document  # round trip through S3's JSON
    page = render_html(AuditReport.from_dict(document))
    assert "<script>alert" not in page and "<!channel>" not in page
    _, blocks = build_digest(report, "s3://bucket/key", max_findings=5)
    payload = json.dumps([block.to_dict() for block in blocks])
    assert "<!channel>" not in payload and "<!here" not in payload and "<@U123>" not in payload
    assert "<http://evil.example|click>" not in payload


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--region", "eu-west-1", "--at", "yesterday"], "ISO 8601"),
        (["run", "--format", "xml"], "invalid choice"),
        (["run", "--slack-channel", "#general", "--region", "eu-west-1"], "channel ID"),
        (["checks", "--format", "pdf"], "invalid choice"),
    ],
)
def test_bad_command_lines_say_what_is_wrong(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    assert message in capsys.readouterr().err


# -- refusals at the command line: exit 2, naming the field, before any AWS call ----------------

NOWHERE = "http://127.0.0.1:9"  # nothing listens: an AWS call would fail with exit 1, not 2


@pytest.mark.parametrize(
    "document, names",
    [
        ({"scope": "starts_with(Environment.Variables.DB_PASSWORD, 's3cr')"}, "config.json.scope: reads 'Environment'"),
        ({"scope": "Environment != `null`"}, "config.json.scope: reads 'Environment'"),
        ({"scope": "Owner == 'me'"}, "config.json.scope: reads unknown field 'Owner'"),
        ({"slack": {"api_url": "https://evil.example/api/"}}, "config.json.slack.api_url: refused"),
        ({"slack": {"token_env": "AWS_SESSION_TOKEN"}}, "config.json.slack.token_env: refused"),
    ],
    ids=["oracle-scope", "environment-not-null", "unknown-field", "slack-api-url", "slack-token-env"],
)
def test_cli_refuses_oracle_scopes_and_slack_redirects_with_exit_2(document, names, tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(document))
    assert main(["run", "--region", "eu-west-1", "--endpoint-url", NOWHERE, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert names in err and "AWS call failed" not in err


@pytest.mark.parametrize(
    "url", ["https://evil.example/api/", "http://10.0.0.5/api/", "http://127.0.0.1@evil.example/api/"]
)
def test_cli_slack_api_url_flag_takes_only_slack_or_a_loopback_server(url, capsys, monkeypatch):
    monkeypatch.delenv("HEALTHAUDIT_SLACK_API_URL", raising=False)
    argv = ["run", "--region", "eu-west-1", "--endpoint-url", NOWHERE, "--slack-api-url", url]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "HEALTHAUDIT_SLACK_API_URL" in err and "AWS call failed" not in err
    assert "HEALTHAUDIT_SLACK_API_URL" not in os.environ  # a refused flag leaves nothing behind


# -- environment variable values: dropped as ListFunctions answers ------------------------------

CANARY = "canary-5d1e7b20-s3cr3t-value"


def test_environment_values_never_reach_the_scope_the_snapshot_or_the_report(aws):
    """ListFunctions returns Environment.Variables (API_FunctionConfiguration); none of it is held."""
    iam, lam = aws.client("iam"), aws.client("lambda")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(
        FunctionName="holds-a-secret",
        Runtime="python3.12",
        Role=role,
        Handler="a.b",
        Code={"ZipFile": tiny_zip()},
        Environment={"Variables": {"DB_PASSWORD": CANARY, CANARY.upper(): "named-like-a-secret"}},
    )
    raw = lam.list_functions()["Functions"]
    assert CANARY in json.dumps(raw)  # the sandbox answers with the values, as AWS does: the test can fail

    held = list_functions(lam)
    assert [f["FunctionName"] for f in held] == ["holds-a-secret"]
    assert not set(held[0]) - HELD_FIELDS and "Environment" not in held[0]
    assert CANARY not in json.dumps(held) and CANARY.upper() not in json.dumps(held)

    # Even a scope that reads the whole document sees none of it, handed the raw configuration.
    assert not load_config({"scope": f"contains(to_string(@), '{CANARY}')"}).in_scope(raw[0])
    assert not load_config({"scope": "contains(keys(@), 'Environment')"}).in_scope(raw[0])

    clients = AwsClients(aws, region="eu-west-1")
    snapshot, _ = collect_snapshot(clients, AuditConfig(), AuditWindow.ending_at(AT), clients.account_id())
    assert [fn.name for fn in snapshot.functions] == ["holds-a-secret"] and CANARY not in repr(snapshot)

    report = audit(clients, AuditConfig(), at=AT)
    assert report.functions_audited == 1
    assert CANARY not in repr(report) and CANARY not in report_json(report).decode()
    assert CANARY not in render_html(report)
