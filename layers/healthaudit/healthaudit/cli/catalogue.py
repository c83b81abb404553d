"""`healthaudit checks`: the check catalogue, from the registry."""

from __future__ import annotations

import argparse
import json
import sys

from ..audit import check_catalogue
from .exit_codes import EXIT_OK
from .terminal import print_table


def list_checks(args: argparse.Namespace) -> int:
    rows = check_catalogue()
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif args.format == "markdown":
        print("| id | severity, by how far past the threshold | what it finds | IAM permissions | remediation |")
        print("|---|---|---|---|---|")
        for row in rows:
            perms = ", ".join(f"`{p.strip()}`" for p in row["permissions"].split(",") if p.strip()) or "none"
            link = f"[`{row['id']}`]({row['docs']})"
            print(f"| {link} | {row['severity']} | {row['title']} | {perms} | {row['remediation']} |")
    else:
        print_table(
            [(r["id"], r["severity"], r["title"], r["permissions"]) for r in rows],
            ("ID", "SEVERITY", "TITLE", "PERMISSIONS"),
            sys.stdout,
        )
    return EXIT_OK
