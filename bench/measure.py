"""Run a child process with a time budget and measure its own CPU seconds and peak RSS (os.wait4)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

KILL_GRACE_S = 10.0  # after SIGTERM, before SIGKILL


@dataclass(frozen=True)
class ChildRun:
    returncode: int
    wall_s: float
    cpu_s: float  # user + system of the child (and of any children it waited for)
    peak_rss_mb: float
    timed_out: bool


def run_measured(
    command: list[str], env: dict[str, str], stdout: Path, stderr: Path, budget_s: float, cwd: Path | None = None
) -> ChildRun:
    """Run `command`, killing it (by its own process group) once `budget_s` has passed."""
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.monotonic()
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True
        )
        timed_out = False
        try:
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                elapsed = time.monotonic() - started
                if elapsed > budget_s and not timed_out:
                    timed_out = True
                    os.killpg(process.pid, signal.SIGTERM)
                elif elapsed > budget_s + KILL_GRACE_S:
                    os.killpg(process.pid, signal.SIGKILL)
                time.sleep(0.05)
        except BaseException:  # Ctrl-C or an error here: leave no child behind
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            raise
        wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it: tell Popen
    return ChildRun(
        returncode=process.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        timed_out=timed_out,
    )
