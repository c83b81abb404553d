"""The README's check catalogue is generated from the registry, never written twice."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from healthaudit.checks.catalogue import all_checks

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


def test_readme_catalogue_states_each_checks_severity_rule_in_words():
    readme = (ROOT / "README.md").read_text()
    documented = re.search(r"<!-- checks:begin -->\n(.*?)\n<!-- checks:end -->", readme, re.S).group(1)
    rows = {re.search(r"\[`([a-z0-9-]+)`\]", line).group(1): line for line in documented.splitlines()[2:]}
    assert set(rows) == {spec.id for spec in all_checks()}
    for spec in all_checks():
        assert f"| {spec.severity.words} |" in rows[spec.id], spec.id
    assert "| throttle rate: HIGH ≥ 5 %, MEDIUM ≥ 1 %, else LOW |" in rows["throttled"]


def test_readme_names_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_shows_the_report_and_the_digest_from_committed_pictures():
    readme = (ROOT / "README.md").read_text()
    pictures = set(re.findall(r"!\[[^\]]*\]\((docs/images/[^)]+\.png)\)", readme))
    assert pictures == {"docs/images/report.png", "docs/images/slack-digest.png"}
    for picture in pictures:
        assert (ROOT / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{picture}: run `make screenshots`"
    assert "screenshots:" in (ROOT / "Makefile").read_text()


def test_documented_exit_codes_are_the_clis():
    from healthaudit.cli import exit_codes

    readme = (ROOT / "docs" / "cli.md").read_text()
    table = readme.split("| exit code | meaning |", 1)[1].split("\n\n", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}
    defined = {
        value for name, value in vars(exit_codes).items() if name.startswith("EXIT_") and isinstance(value, int)
    } - {exit_codes.EXIT_INTERRUPTED}
    assert documented == defined
    assert f"| {exit_codes.EXIT_FINDINGS} | `--fail-on`" in table


def test_the_cli_page_documents_every_option_of_run():
    import argparse

    from healthaudit.cli.parser import build_parser

    readme = (ROOT / "docs" / "cli.md").read_text() + (ROOT / "docs" / "configuration.md").read_text()
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    options = [o for a in commands.choices["run"]._actions for o in a.option_strings if o.startswith("--")]
    assert [o for o in options if o != "--help" and not re.search(rf"(?<![\w-]){o}(?![\w-])", readme)] == []


def test_readme_says_where_a_slack_channel_id_is():
    readme = (ROOT / "README.md").read_text()
    assert "**Channel ID**" in readme and "conversations.list" in readme


def test_relative_links_in_the_readme_and_docs_lead_to_files():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(((?!https?://|#)[^)#\s]+)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)}: {target}"
