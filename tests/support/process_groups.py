"""Test modules that must run in one process when `make test` runs two pytest processes (run_shards.py).

Each process has its own sandbox. The permission parity test judges the calls that the function-running
modules made in its process's sandbox, so they share its process; the modules that read the shared
`healthaudit demo` run (a per-process session fixture, about 45 s) join them so that it runs once.
"""

#: The modules whose tests run the functions under their roles (the parity needs all of them).
FUNCTION_RUNNING_MODULES = (
    "tests/integration/test_pipeline.py",
    "tests/integration/test_duplicates.py",
    "tests/integration/test_fanout.py",
    "tests/integration/test_state_machine.py",
    "tests/integration/test_interact.py",
    "tests/integration/test_routing.py",
    "tests/contract/test_local_invoke.py",
)
#: The modules that read the session's demo run.
DEMO_RUN_MODULES = (
    "tests/contract/test_report_schema.py",
    "tests/contract/test_html_report.py",
)
ONE_PROCESS = frozenset((*FUNCTION_RUNNING_MODULES, *DEMO_RUN_MODULES, "tests/integration/test_permission_parity.py"))
