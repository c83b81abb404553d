"""`python -m healthaudit.cli`: the same as the `healthaudit` command."""

import sys

from . import main

sys.exit(main())
