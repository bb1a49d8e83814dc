"""``python -m funcmlp.cli``: the ``funcmlp`` program."""

import sys

from funcmlp.cli import run

sys.exit(run())
