"""The command line: `run` and `checks`, and the commands that other distributions add (the development
install's `sandbox` and `demo`)."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

from .catalogue import list_checks
from .exit_codes import EXIT_USAGE
from .run import add_run_command

PLUGIN_COMMANDS = "healthaudit.commands"
"""Entry-point group through which the development distribution (sandbox/) adds `sandbox` and `demo`."""
DEVELOPMENT_COMMANDS = {
    "sandbox": "run the embedded AWS emulator on 127.0.0.1 in the foreground",
    "demo": "seed a fleet with known problems in the sandbox and audit it",
}
DESCRIPTION = "Audit the Lambda functions of an AWS account: throttles, errors, timeouts, memory, cold starts, tracing."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="healthaudit", description=DESCRIPTION)
    commands = parser.add_subparsers(required=True, metavar="COMMAND", title="commands")
    add_run_command(commands)
    _add_plugin_commands(commands)

    checks = commands.add_parser(
        "checks",
        help="list the checks this auditor runs",
        description="List the registered checks: id, severity, what each finds and the IAM permissions it needs.",
    )
    checks.add_argument(
        "--format",
        choices=("table", "markdown", "json"),
        default="table",
        help="table (the default), markdown (the README's table) or json (with each check's thresholds)",
    )
    checks.set_defaults(command=list_checks)
    return parser


def _add_plugin_commands(commands: argparse._SubParsersAction) -> None:
    """Commands other distributions register; the development ones name their install when missing."""
    added = set()
    for entry_point in entry_points(group=PLUGIN_COMMANDS):
        entry_point.load()(commands)
        added.add(entry_point.name)
    for name, help_text in DEVELOPMENT_COMMANDS.items():
        if name not in added:
            missing = commands.add_parser(name, help=f"{help_text} (needs the development install)")
            missing.set_defaults(command=_needs_development_install, missing_command=name)


def _needs_development_install(args: argparse.Namespace) -> int:
    print(
        f"healthaudit: `{args.missing_command}` comes with the development install of the sandbox"
        " (healthaudit-sandbox): run `make bootstrap`, or `pip install -e sandbox` from the repository",
        file=sys.stderr,
    )
    return EXIT_USAGE
