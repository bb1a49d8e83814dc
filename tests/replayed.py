"""The shipped worked examples replayed once per test process (Mazur's 10,000 steps take seconds)."""

import functools
from pathlib import Path

from derivations.replay import run
from derivations.spec import read_spec

EXAMPLES = sorted(Path("derivations/examples").glob("*.toml"))


@functools.cache
def replayed(path: Path) -> tuple:
    """(the checked example, its derivation) of a spec file."""
    ex = read_spec(path)
    return ex, run(ex)
