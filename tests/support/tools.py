"""Run the project's command-line tools (cfn-lint, checkov, sam) from the repository's root."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str | None:
    """The executable installed beside this interpreter (the project's venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def run_tool(command: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"{shlex.join(result.args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
