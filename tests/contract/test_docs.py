"""The README's check catalogue is generated from the registry, never written twice."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_catalogue_matches_the_registry():
    generated = subprocess.run(
        [sys.executable, "-m", "healthaudit.cli", "checks", "--format", "markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    readme = (ROOT / "README.md").read_text()
    documented = re.search(r"<!-- checks:begin -->\n(.*?)\n<!-- checks:end -->", readme, re.S).group(1)
    assert documented == generated, "regenerate with: healthaudit checks --format markdown"


def test_readme_names_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
