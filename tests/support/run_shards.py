"""`make test`'s pytest run on two cores: two pytest processes at once, one per core.

One process runs the modules that must share a sandbox and a demo run (tests/support/process_groups.py: the
permission parity test judges the calls those modules made in its own process); the other runs everything
else. Each process's output is printed whole, one after the other; the exit status is the worse of the two.
(pytest-xdist's --dist loadgroup does not keep marked tests together under pytest 9.2 here, so the two
shards are named explicitly.)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.process_groups import ONE_PROCESS

ROOT = Path(__file__).resolve().parents[2]


def main(extra: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest", *extra]
    shared = sorted(ONE_PROCESS)
    with tempfile.TemporaryFile("w+") as shared_output:
        shared_run = subprocess.Popen(
            [*pytest, "-p", "no:cacheprovider", *shared], cwd=ROOT, stdout=shared_output, stderr=subprocess.STDOUT
        )
        rest = subprocess.call([*pytest, *(f"--ignore={module}" for module in shared)], cwd=ROOT)
        shared_status = shared_run.wait()
        shared_output.seek(0)
        print(f"\n==== the modules that share one process ({len(shared)}) ====\n", flush=True)
        sys.stdout.write(shared_output.read())
    print(f"\n==== exit: {rest} (the rest), {shared_status} (the shared process) ====", flush=True)
    return max(rest, shared_status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
