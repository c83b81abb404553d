"""bench/measure.py reports the child's own peak RSS, not the parent's that fork copied (Linux).

Linux's exec records the high-water RSS of the image it replaces, the parent's copy, into the child's
ru_maxrss (fs/exec.c, exec_mmap); VmHWM in /proc/<pid>/status is the peak of the exec'd image alone (proc(5)).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from measure import _high_water_kb, run_measured  # noqa: E402

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")

BALLAST_MB = 300


def test_a_child_of_a_large_parent_reports_its_own_peak_rss_not_the_parents(tmp_path):
    ballast = bytearray(BALLAST_MB * 1024 * 1024)
    ballast[:: os.sysconf("SC_PAGE_SIZE")] = b"\1" * len(ballast[:: os.sysconf("SC_PAGE_SIZE")])  # touch every page
    assert _high_water_kb(os.getpid()) / 1024 > BALLAST_MB  # the parent does hold it

    child = run_measured(
        [sys.executable, "-c", "pass"], dict(os.environ), tmp_path / "out", tmp_path / "err", budget_s=60
    )

    assert child.returncode == 0
    assert child.peak_rss_mb < BALLAST_MB / 3  # an interpreter that did nothing, not the parent's copy
    del ballast


def test_a_childs_own_allocation_is_its_peak(tmp_path):
    """The child holds 100 MB until the budget stops it: VmHWM, read while it runs, shows them."""
    hold = "b = bytearray(100 * 1024 * 1024); b[::4096] = bytes(len(b[::4096])); import time; time.sleep(600)"
    child = run_measured([sys.executable, "-c", hold], dict(os.environ), tmp_path / "out", tmp_path / "err", budget_s=5)
    assert child.timed_out
    assert 100 < child.peak_rss_mb < 200


def test_high_water_of_a_process_that_has_gone_is_zero():
    assert _high_water_kb(2**22 + 12345) == 0  # above the kernel's largest pid: no such process
