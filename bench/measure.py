"""Run a child process with a time budget and measure its own CPU seconds (os.wait4) and peak RSS (VmHWM).

The peak is the child's VmHWM in /proc/<pid>/status, read as it runs, not wait4's ru_maxrss: on Linux, exec
records the high-water RSS of the image it replaces into ru_maxrss (fs/exec.c, exec_mmap), and the image a
child replaces is its parent's, copied by fork. A child of this process, which has just seeded 10,000 functions,
would report this process's RSS: `python -c pass` measures 513 MB from a parent holding 500 MB, 13 MB from a
small one. VmHWM belongs to the exec'd image alone (proc(5)); it only grows, so the last reading, taken at most
POLL_S before the child exits, is its peak.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

KILL_GRACE_S = 10.0  # after SIGTERM, before SIGKILL
POLL_S = 0.05


@dataclass(frozen=True)
class ChildRun:
    returncode: int
    wall_s: float
    cpu_s: float  # user + system of the child (and of any children it waited for)
    peak_rss_mb: float  # VmHWM of the child's own image (see the module's docstring)
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
        peak_kb = 0  # Popen returns once the child has exec'd: every reading is of the auditor's own image
        try:
            while True:
                peak_kb = max(peak_kb, _high_water_kb(process.pid))
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                elapsed = time.monotonic() - started
                if elapsed > budget_s and not timed_out:
                    timed_out = True
                    os.killpg(process.pid, signal.SIGTERM)
                elif elapsed > budget_s + KILL_GRACE_S:
                    os.killpg(process.pid, signal.SIGKILL)
                time.sleep(POLL_S)
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
        peak_rss_mb=peak_kb / 1024,
        timed_out=timed_out,
    )


def _high_water_kb(pid: int) -> int:
    """VmHWM of a running process, in kB (0 once it has exited: a zombie has no memory to report)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
