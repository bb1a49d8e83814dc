"""derivations' module structure: every module sits in one folder of derivations.FOLDERS (or above them, in
derivations.TOP) and one layer of its folder's LAYERS, and imports (at the top or inside a function) only modules
of earlier folders or earlier layers of its own, so there is no import cycle; the one exception is a derivation's
Jupyter display, which imports its printer when called. Each module is at most about 300 lines and opens with a
contract block; each folder opens with a docstring saying what it holds. The imports are read from the source with
ast, not by importing."""

import ast
import importlib
from pathlib import Path

import pytest

import derivations

PACKAGE = Path(derivations.__file__).parent
LAYER = {
    f"{folder}.{name}": (f, level)
    for f, folder in enumerate(derivations.FOLDERS)
    for level, names in enumerate(importlib.import_module(f"derivations.{folder}").LAYERS)
    for name in names
}
LAYER.update({name: (len(derivations.FOLDERS), 0) for name in derivations.TOP})
MODULES = sorted(
    ".".join(p.relative_to(PACKAGE).with_suffix("").parts) for p in PACKAGE.rglob("*.py") if p.stem != "__init__"
)
DISPLAY = {("model.derivation", "formats.render")}
"""A derivation's Jupyter display imports its printer when called (as sympy's Basic.__str__ does)."""


def imported(name: str) -> set:
    """The derivations modules that ``name`` imports anywhere in its code (docstrings aside), as ``folder.module``."""
    found = set()
    for node in ast.walk(ast.parse((PACKAGE / (name.replace(".", "/") + ".py")).read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "derivations":
            parts = node.module.split(".")[1:]
            found |= {".".join([*parts, alias.name]) for alias in node.names} if len(parts) < 2 else {".".join(parts)}
        elif isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[2] for alias in node.names if alias.name.startswith("derivations.")}
    return found


def test_every_module_has_a_layer():
    assert sorted(LAYER) == MODULES


@pytest.mark.parametrize("name", MODULES)
def test_imports_point_to_earlier_folders_and_layers_only(name):
    later = {other for other in imported(name) if LAYER[other] >= LAYER[name] and (name, other) not in DISPLAY}
    assert not later, f"{name} (folder, layer {LAYER[name]}) imports {sorted(later)} of the same or a later layer"


def test_the_display_exception_is_a_call_time_import_only():
    ((name, printer),) = DISPLAY
    tree = ast.parse((PACKAGE / (name.replace(".", "/") + ".py")).read_text())
    top = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert f"derivations.{printer}" not in top and printer in imported(name)


@pytest.mark.parametrize("name", MODULES)
def test_small_modules_with_a_contract(name):
    text = (PACKAGE / (name.replace(".", "/") + ".py")).read_text()
    assert len(text.splitlines()) <= 360, f"{name} has {len(text.splitlines())} lines"
    assert "Contract:" in ast.get_docstring(ast.parse(text))


@pytest.mark.parametrize("folder", derivations.FOLDERS)
def test_each_folder_says_what_it_holds(folder):
    doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text()))
    assert doc and len(doc.split()) > 20
