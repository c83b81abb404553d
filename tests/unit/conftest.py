"""The unit tier starts no server: a test here that asks for the sandbox, an AWS session or the demo
run fails, naming the tier it belongs in (tests/integration or tests/contract)."""

from __future__ import annotations

import pytest


def _not_in_the_unit_tier(name: str):
    @pytest.fixture
    def refused():
        pytest.fail(f"tests/unit starts no servers: a test that needs `{name}` belongs in tests/integration")

    return refused


sandbox = _not_in_the_unit_tier("sandbox")
aws = _not_in_the_unit_tier("aws")
aws_env = _not_in_the_unit_tier("aws_env")
demo_run = _not_in_the_unit_tier("demo_run")
