"""The built functions under the Lambda runtime interface that `sam local invoke` uses, without Docker.

`sam build` once per session; then each function runs from .aws-sam/build under the Runtime
Interface Emulator shipped in the aws-sam-cli wheel, in front of awslambdaric on python3.12, with
the layer where /opt/python would be (tests/support/local_invoke.py). Every file in events/ is
POSTed to RIE's invoke endpoint; the functions reach only the sandbox and the local Slack server,
and everything listens on 127.0.0.1.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from healthaudit_sandbox.fleet import seed_fleet
from healthaudit_sandbox.planted_problems import demo_fleet
from tests.support import local_invoke
from tests.support.clock import AT, at_audit_time, day
from tests.support.deployment import CHANNEL, provision
from tests.support.local_invoke import LOOPBACK, Build, LocalLambda, lambda_environment

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
#: Two payments functions (the manual run's scope), one more problem and one healthy function.
FLEET = [
    fn for fn in demo_fleet() if fn.name in {"checkout-payments", "fraud-scoring", "nightly-cleanup", "orders-api"}
]
PAYMENTS = {fn.name for fn in FLEET if fn.tags.get("team") == "payments"}
_accounts = itertools.count(600000000001)
INVOKED_EVENTS = ("scheduled.json", "manual-run.json", "s3-report-created.json")


def load_event(name: str) -> dict:
    """An events/ file, at the time the fleet was seeded for."""
    return at_audit_time(json.loads((ROOT / "events" / name).read_text()))


@pytest.fixture(scope="session")
def python312():
    found = local_invoke.find_python312()
    if found is None:
        reason = (
            f"no python{local_invoke.LAMBDA_PYTHON} found (`pyenv prefix {local_invoke.PYENV_VERSION}` or "
            f"python{local_invoke.LAMBDA_PYTHON} on PATH): sam build and the runtime need the Lambda runtime's Python"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI must prove the built functions run
        pytest.skip(reason)
    return found


@pytest.fixture(scope="session")
def build(python312) -> Build:
    local_invoke.ensure_runtime_venv(python312)
    built = local_invoke.sam_build(python312)
    print(f"\nsam build: {built.seconds:.1f}s")
    return built


@pytest.fixture
def deployment(sandbox):
    """A fresh account with a small fleet and what the template provisions: bucket, config, Slack secret, roles."""
    account = f"{next(_accounts):012d}"
    session = sandbox.session_for_account(account, region=REGION)
    seed_fleet(session, AT, FLEET)
    with provision(session, REGION) as stack:
        s3, bucket, table, secret, parameter, slack = (
            stack[k] for k in ("s3", "bucket", "table", "secret", "parameter", "slack")
        )
        yield {
            "account": account,
            "s3": s3,
            "bucket": bucket,
            "slack": slack,
            "endpoint": sandbox.endpoint,
            # Each function's execution role, as Lambda hands it to the runtime (the sandbox enforces its policies).
            "credentials": stack["credentials"],
            # Each function's variables, as the template sets them once deployed with these resources.
            "variables": {
                "AuditFunction": {
                    "HEALTHAUDIT_BUCKET": bucket,
                    "HEALTHAUDIT_IDEMPOTENCY_TABLE": table,
                    "HEALTHAUDIT_SUPPRESSIONS_TABLE": stack["suppressions_table"],
                    "HEALTHAUDIT_CONFIG_PARAMETER": parameter,
                },
                "NotifyFunction": {
                    "HEALTHAUDIT_IDEMPOTENCY_TABLE": table,
                    "HEALTHAUDIT_CONFIG_PARAMETER": parameter,
                    "HEALTHAUDIT_SLACK_SECRET_ARN": secret,
                    "HEALTHAUDIT_SLACK_CHANNEL": CHANNEL,
                    "HEALTHAUDIT_SLACK_API_URL": stack["slack_api_url"],
                },
            },
        }


@contextmanager
def running(build: Build, deployment: dict, workdir: Path, *logical_ids: str) -> Iterator[dict[str, LocalLambda]]:
    """Start each function under RIE (each in a session of its own); stop them all, whatever happens."""
    with ExitStack() as stack:
        functions = {}
        for logical_id in logical_ids:
            function = build.function(logical_id)
            variables = deployment["variables"][logical_id]
            undeclared = set(variables) - set(function.variables)
            assert not undeclared, f"{logical_id} does not declare {undeclared} in template.yaml"
            environment = lambda_environment(
                function,
                region=REGION,
                endpoint_url=deployment["endpoint"],
                credentials=deployment["credentials"][logical_id],
                variables=variables,
                scratch=workdir / logical_id,
            )
            functions[logical_id] = stack.enter_context(LocalLambda(function, environment, workdir))
        yield functions


def invoke(function: LocalLambda, event: dict) -> dict:
    invocation = function.invoke(event)
    print(f"{function.function.logical_id} {event['detail-type']!r}: {invocation.seconds:.2f}s")
    assert invocation.status == 200, (invocation.status, invocation.body, function.log())
    payload = invocation.json()
    assert "errorType" not in payload, (payload, function.log())
    return payload


def report_created(bucket: str, account: str) -> dict:
    """events/s3-report-created.json, as EventBridge would deliver it for this deployment's report."""
    event = load_event("s3-report-created.json")
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"]["key"] = f"latest/account={account}/region={REGION}/report.json"
    return event


def stored(s3, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def active_findings(report: dict) -> set[tuple[str, str]]:
    return {(f["function_name"], f["check_id"]) for f in report["findings"] if f["suppressed_by"] is None}


def assert_loopback_only(functions: dict[str, LocalLambda]) -> None:
    for function in functions.values():
        listening = function.listening()
        assert listening, f"{function.function.logical_id}: no listening socket found for {function.pids()}"
        assert {address for address, _ in listening} == {LOOPBACK}, listening


def test_scheduled_event_audits_and_the_report_landing_posts_the_digest(build, deployment, tmp_path):
    account, s3, bucket, slack = (deployment[k] for k in ("account", "s3", "bucket", "slack"))
    report_key = f"reports/dt={day(AT)}/account={account}/region={REGION}/report.json"

    with running(build, deployment, tmp_path, "AuditFunction", "NotifyFunction") as functions:
        assert_loopback_only(functions)
        audited = invoke(functions["AuditFunction"], load_event("scheduled.json"))
        assert audited["report_key"] == report_key
        assert audited["functions_audited"] == len(FLEET)
        assert audited["slack"] == "left to the notifier"
        report = stored(s3, bucket, report_key)
        assert report == stored(s3, bucket, f"latest/account={account}/region={REGION}/report.json")
        assert report["account"] == account and report["functions_audited"] == len(FLEET)
        assert active_findings(report) == {(fn.name, check) for fn in FLEET for check in fn.expect}
        assert slack.posts == []  # the audit never talks to Slack

        notified = invoke(functions["NotifyFunction"], report_created(bucket, account))
        assert notified["status"] == "posted" and notified["report_key"] == report_key
        digest = slack.messages[0]
        assert digest["channel"] == CHANNEL and "fraud-scoring" in json.dumps(digest["blocks"])
        assert stored(s3, bucket, report_key.replace("report.json", "notify.json"))["status"] == "posted"

        assert_loopback_only(functions)  # RIE's runtime API and nothing else, now that the runtimes run
        sessions = {name: function.process.pid for name, function in functions.items()}
        assert all(len(function.pids()) == 2 for function in functions.values())  # RIE and its runtime
    left = {name: local_invoke.session_members(session) for name, session in sessions.items()}
    assert left == {"AuditFunction": [], "NotifyFunction": []}, "RIE or the runtime outlived the test"


def test_manual_run_audits_its_scope_and_nothing_is_posted(build, deployment, tmp_path):
    account, s3, bucket, slack = (deployment[k] for k in ("account", "s3", "bucket", "slack"))
    event = load_event("manual-run.json")
    report_key = f"manual/dt={day(AT)}/account={account}/region={REGION}/{event['id']}/report.json"
    assert event["detail"]["scope"] == "Tags.team == 'payments'" and event["detail"]["notify"] is False

    with running(build, deployment, tmp_path, "AuditFunction", "NotifyFunction") as functions:
        audited = invoke(functions["AuditFunction"], event)
        assert audited["report_key"] == report_key
        assert audited["functions_audited"] == len(PAYMENTS)
        assert audited["slack"] == "skipped: notify is off for this run"
        report = stored(s3, bucket, report_key)
        assert {fn["name"] for fn in report["functions"]} == PAYMENTS
        assert active_findings(report) == {
            (fn.name, check) for fn in FLEET if fn.name in PAYMENTS for check in fn.expect
        }

        created = report_created(bucket, account)
        created["detail"]["object"]["key"] = report_key  # the manual report, never latest/
        notified = invoke(functions["NotifyFunction"], created)
        assert notified["status"] == "skipped: notify is off for this run"
    assert slack.posts == []


#: The state machine's events: tests/integration/test_fanout.py runs them through the real handlers, in process.
FANOUT_EVENTS = ("plan.json", "audit-target.json", "merge.json")


def test_every_event_file_is_invoked_through_rie_here():
    # A new file in events/ needs its invocation above (or, for the state machine, in test_fanout.py).
    names = sorted(path.name for path in (ROOT / "events").glob("*.json"))
    assert names == sorted(INVOKED_EVENTS + FANOUT_EVENTS)


def env_vars_file() -> dict:
    return json.loads((ROOT / "env-vars.json").read_text())


def test_env_vars_file_sets_the_variables_sam_local_invoke_passes(build):
    """env-vars.json names functions of the template, and each HEALTHAUDIT_* value reaches the function."""
    env_vars = env_vars_file()
    for logical_id, variables in env_vars.items():
        build.function(logical_id)  # raises for a function the template does not have
        environment = local_invoke.sam_local_environment(logical_id, env_vars, build.build_dir)
        ours = {name: value for name, value in variables.items() if name.startswith("HEALTHAUDIT_")}
        assert ours and {name: environment.get(name) for name in ours} == ours, logical_id


def test_env_vars_file_aims_sam_local_invoke_at_the_sandbox(build):
    env_vars = env_vars_file()
    for logical_id in env_vars:
        environment = local_invoke.sam_local_environment(logical_id, env_vars, build.build_dir)
        assert environment.get("AWS_ENDPOINT_URL") == "http://127.0.0.1:5000", logical_id


def test_the_layer_imports_on_this_machine_with_the_runtime_python(build):
    """The layer is built for arm64; its pure-Python code must import here (PyYAML without libyaml)."""
    function = build.function("AuditFunction")
    assert function.architectures == ("arm64",)
    probe = (
        "import importlib, json, pkgutil, yaml, healthaudit\n"
        "skip = ('healthaudit_sandbox', 'healthaudit.cli')\n"
        "names = [m.name for m in pkgutil.walk_packages(healthaudit.__path__, 'healthaudit.')"
        " if not m.name.startswith(skip)]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(json.dumps({'modules': len(names), 'libyaml': yaml.__with_libyaml__,"
        " 'yaml': yaml.safe_load('a: [1, 2]')}))\n"
    )
    result = subprocess.run(
        [str(local_invoke.RUNTIME_VENV / "bin" / "python"), "-c", probe],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join(map(str, function.layer_paths))},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["modules"] > 10 and outcome["yaml"] == {"a": [1, 2]}
    assert outcome["libyaml"] is False  # the aarch64 _yaml extension cannot load here; pure Python it is


def test_runtime_pins_match_the_development_pins():
    def pins(path: Path) -> dict[str, str]:
        lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
        return dict(line.split("==", 1) for line in lines if "==" in line)

    runtime = pins(local_invoke.RUNTIME_REQUIREMENTS.with_suffix(".in"))
    development = pins(ROOT / "requirements-dev.in")
    assert {name: runtime[name] for name in ("boto3", "botocore")} == {
        name: development[name] for name in ("boto3", "botocore")
    }


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of a requirements file written by `make lock`."""
    entries: dict[str, tuple[str, int]] = {}
    name = ""
    for line in path.read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            name, version = line.rstrip(" \\").split("==")
            entries[name.lower().replace("_", "-")] = (version, 0)
        elif line.strip().startswith("--hash=sha256:"):
            version, hashes = entries[name.lower().replace("_", "-")]
            entries[name.lower().replace("_", "-")] = (version, hashes + 1)
    return entries


def test_the_layer_holds_exactly_the_locked_distributions_each_with_hashes(build):
    """layers/healthaudit/requirements.txt pins every distribution, direct or not, with its hashes (pip's
    --require-hashes refuses anything else), and `sam build` installs exactly those into the layer."""
    lock = locked(ROOT / "layers" / "healthaudit" / "requirements.txt")
    assert lock and all(hashes >= 1 for _, hashes in lock.values()), lock
    direct = {
        line.split("==")[0].lower(): line.split("==")[1].strip()
        for line in (ROOT / "layers" / "healthaudit" / "requirements.in").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert {name: lock[name][0] for name in direct} == direct  # the lock holds the .in's pins
    (layer,) = build.function("AuditFunction").layer_paths
    installed = {}
    for info in Path(layer).glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[name.lower().replace("_", "-")] = version
    assert installed == {name: version for name, (version, _) in lock.items()}
    assert (Path(layer) / "healthaudit" / "audit.py").exists()


def test_the_layer_holds_the_auditor_and_no_emulator(build):
    """The sandbox is a development distribution of its own (sandbox/): nothing of it, and no moto, is
    deployed; and nothing in the layer's healthaudit package imports either."""
    (layer,) = build.function("AuditFunction").layer_paths
    layer = Path(layer)
    shipped = {path.name for path in layer.iterdir()}
    assert "healthaudit" in shipped
    assert not {name for name in shipped if name.startswith(("moto", "healthaudit_sandbox"))}, shipped
    assert not (layer / "healthaudit" / "sandbox").exists()
    importing = [
        str(module.relative_to(layer))
        for module in (layer / "healthaudit").rglob("*.py")
        if re.search(r"^\s*(from|import)\s+(moto|healthaudit_sandbox)\b", module.read_text(), re.MULTILINE)
    ]
    assert importing == []
