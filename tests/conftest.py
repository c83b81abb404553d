"""Shared fixtures: one moto server on loopback for the session, a fresh AWS account per test."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

from healthaudit_sandbox import Sandbox

REGION = "eu-west-1"
_accounts = itertools.count(100000000001)


@pytest.fixture(scope="session", autouse=True)
def _no_real_aws():
    # Tests must never reach real AWS, whatever the developer's shell holds.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "HealthAuditTests")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "healthaudit")


@pytest.fixture(scope="session")
def sandbox():
    with Sandbox() as running:
        yield running


@pytest.fixture
def aws(sandbox) -> boto3.Session:
    """A boto3 session for a fresh account of its own in the sandbox (moto isolates accounts)."""
    return sandbox.session_for_account(f"{next(_accounts):012d}", region=REGION)


@pytest.fixture(autouse=True)
def _fresh_default_boto3_session():
    """Handlers call boto3.client(), whose default session keeps the credentials it first saw, and Powertools
    Parameters keeps its default providers (with their clients) for the process; tests change accounts."""
    boto3.DEFAULT_SESSION = None
    DEFAULT_PROVIDERS.clear()
    yield
    boto3.DEFAULT_SESSION = None
    DEFAULT_PROVIDERS.clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked after_all_other_tests (permission parity: what the functions called) run last."""
    items.sort(key=lambda item: item.get_closest_marker("after_all_other_tests") is not None)


@dataclass(frozen=True)
class DemoRun:
    result: subprocess.CompletedProcess[str]
    output: Path


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    """`healthaudit demo` run once for the session (it seeds a fleet and audits it: about 45 s); the
    tests that read what it wrote share it."""
    from tests.support.clock import AT

    output = tmp_path_factory.mktemp("demo")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        [sys.executable, "-m", "healthaudit.cli", "demo", "--output-dir", str(output), "--at", AT.isoformat()],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    return DemoRun(result, output)
