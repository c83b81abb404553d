"""What `healthaudit` exits with: one code per outcome, so that a pipeline can tell them apart."""

from __future__ import annotations

EXIT_OK = 0
"""The audit ran (and, with --fail-on, found nothing at or above that severity)."""
EXIT_FAILED = 1
"""The audit could not run: no credentials, AWS unreachable or refusing, an AWS call failed."""
EXIT_USAGE = 2
"""A bad command line or config document, or no region to audit; nothing was called."""
EXIT_FINDINGS = 3
"""--fail-on SEVERITY: an active (unsuppressed) finding at or above SEVERITY."""
EXIT_NOT_DELIVERED = 4
"""The audit ran and its output was written, but the Slack digest was not posted."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), as shells report it."""

EXIT_CODES_HELP = f"""\
exit codes:
  {EXIT_OK}    the audit ran (with --fail-on: nothing at or above that severity)
  {EXIT_FAILED}    the audit could not run (credentials, network, an AWS call failed)
  {EXIT_USAGE}    bad command line or config, or no region; nothing was called
  {EXIT_FINDINGS}    --fail-on: an active finding at or above the given severity
  {EXIT_NOT_DELIVERED}    the Slack digest was not posted (wins over {EXIT_FINDINGS}; the output is written anyway)"""
