"""`healthaudit`: run an audit from a terminal or a pipeline, list the checks; with the development
install, run the sandbox and the demo."""

from __future__ import annotations

import sys
from typing import Sequence

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from ..config import ConfigError
from .exit_codes import EXIT_FAILED, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_NOT_DELIVERED, EXIT_OK, EXIT_USAGE
from .parser import build_parser
from .progress import progress_to, report_retries
from .terminal import print_report, render_blocks, wants_colour
from .timestamps import parse_timestamp

__all__ = [
    "EXIT_FAILED",
    "EXIT_FINDINGS",
    "EXIT_NOT_DELIVERED",
    "EXIT_OK",
    "EXIT_USAGE",
    "main",
    "parse_timestamp",
    "print_report",
    "progress_to",
    "render_blocks",
    "report_retries",
    "wants_colour",
]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.command(args)
    except ConfigError as error:
        print(f"healthaudit: invalid config: {error}", file=sys.stderr)
        return EXIT_USAGE
    except NoCredentialsError:
        print("healthaudit: no AWS credentials found (--profile, AWS_ACCESS_KEY_ID, or aws sso login)", file=sys.stderr)
        return EXIT_FAILED
    except (ClientError, BotoCoreError) as error:
        print(f"healthaudit: AWS call failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
