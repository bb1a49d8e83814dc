"""derivations' module structure: every module of the package sits in one layer of
derivations.LAYERS and imports (at the top or inside a function) only modules of earlier
layers, so there is no import cycle; each module is at most about 300 lines and opens with
a contract block. The imports are read from the source with ast, not by importing."""

import ast
from pathlib import Path

import pytest

import derivations

PACKAGE = Path(derivations.__file__).parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
LAYER = {name: level for level, names in enumerate(derivations.LAYERS) for name in names}


def imported(name: str) -> set:
    """The derivations modules that ``name`` imports anywhere in its code (docstrings aside)."""
    found = set()
    for node in ast.walk(ast.parse((PACKAGE / f"{name}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "derivations":
            found |= (
                {alias.name for alias in node.names} if node.module == "derivations" else {node.module.split(".")[1]}
            )
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("derivations.")}
    return found


def test_every_module_has_a_layer():
    assert sorted(LAYER) == MODULES


@pytest.mark.parametrize("name", MODULES)
def test_imports_point_to_earlier_layers_only(name):
    later = {other for other in imported(name) if LAYER[other] >= LAYER[name]}
    assert not later, f"{name} (layer {LAYER[name] + 1}) imports {sorted(later)} of the same or a later layer"


@pytest.mark.parametrize("name", MODULES)
def test_small_modules_with_a_contract(name):
    text = (PACKAGE / f"{name}.py").read_text()
    assert len(text.splitlines()) <= 360, f"{name} has {len(text.splitlines())} lines"
    assert "Contract:" in ast.get_docstring(ast.parse(text))
