"""The architecture, checked from the imports (DESIGN: imports only point down the pipeline
registry -> core -> checks -> gradients/evaluation -> training -> io -> fit -> cli/sklearn).

Every import statement of every module counts, also those inside functions (an import moved
into a function to break a cycle is still a cycle)."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

# the layer of each part of funcmlp: a module may import its own layer and the ones below
LAYERS = {
    "funcmlp.version": 0,
    "funcmlp.compile_cache": 0,
    "funcmlp.data": 0,
    "funcmlp.sources": 0,  # the one reader of files (imports nothing of funcmlp): data, io, derivations read through it
    "funcmlp.arguments": 1,  # the checks of one argument (a key, a count, a number in a range): imports nothing
    "funcmlp.memory": 1,  # memory estimates and the process's limits (imports nothing of funcmlp): MLP.init reads it
    "funcmlp.registry": 1,
    "funcmlp.core": 2,
    "funcmlp.checks": 3,
    "funcmlp.gradients": 4,
    "funcmlp.per_example": 4,
    "funcmlp.curvature": 4,
    "funcmlp.evaluation": 4,
    "funcmlp.gradcheck": 4,
    "funcmlp.gradcheck_report": 4,
    "funcmlp.function_check": 4,
    "funcmlp.training": 5,
    "funcmlp.tasks": 5,
    "funcmlp.io": 6,  # files hold a training state: io reads training's History
    "funcmlp.training.fit": 7,  # the loop plus checkpoints (files) and early stopping
    "funcmlp.training.callbacks": 7,
    "funcmlp": 8,  # the package's public names
    "funcmlp.sklearn": 9,
    "funcmlp.cli": 9,
}


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> dict[str, pathlib.Path]:
    return {module_name(path): path for path in sorted((ROOT / package).rglob("*.py"))}


def imports(path: pathlib.Path, name: str) -> set[str]:
    """The funcmlp and derivations modules ``path`` imports (``from funcmlp import X`` is the package)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
    return {m for m in found if m.split(".")[0] in ("funcmlp", "derivations")}


def layer(name: str) -> tuple[str, int]:
    """The part of funcmlp ``name`` belongs to, and its layer."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in LAYERS:
            return prefix, LAYERS[prefix]
    raise AssertionError(f"{name} belongs to no layer: add it to LAYERS")


FUNCMLP = modules("funcmlp")
GRAPH = {name: imports(path, name) for name, path in {**FUNCMLP, **modules("derivations")}.items()}


@pytest.mark.parametrize("name", sorted(FUNCMLP))
def test_imports_only_point_down(name):
    part, level = layer(name)
    for target in GRAPH[name]:
        if target.startswith("derivations"):
            assert part == "funcmlp.cli", f"{name} imports {target}: only the command line's derive uses derivations"
            continue
        target_part, target_level = layer(target)
        assert target_level <= level, f"{name} (layer {level}) imports {target} (layer {target_level}, above it)"
        if target_level == level and target_part != part:
            assert target_part != "funcmlp", f"{name} imports the package root: import the module that defines the name"


def test_the_core_imports_neither_checks_training_io_nor_cli():
    for name in (n for n in FUNCMLP if n.startswith("funcmlp.core")):
        assert all(layer(target)[1] <= LAYERS["funcmlp.core"] for target in GRAPH[name]), (name, GRAPH[name])


def test_derivations_reads_only_the_registry_and_the_core_of_funcmlp():
    for name, targets in GRAPH.items():
        if name.startswith("derivations"):
            for target in (t for t in targets if t.startswith("funcmlp")):
                assert layer(target)[1] <= LAYERS["funcmlp.core"] or target == "funcmlp.io.plots", (name, target)


def test_the_command_line_enters_derivations_by_its_front_door_only():
    entered = {target for name in FUNCMLP for target in GRAPH[name] if target.startswith("derivations")}
    assert entered == {"derivations"}, entered


def test_no_import_cycle():
    known = set(GRAPH)

    def resolve(target):  # "from funcmlp.core.model import MLP" names a module; "from funcmlp.core import x" a package
        return target if target in known else None

    edges = {name: {t for t in map(resolve, targets) if t and t != name} for name, targets in GRAPH.items()}
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])


def test_modules_stay_small():
    """About 300 lines a module; the exceptions say why."""
    reasons: dict[str, str] = {}
    for name, path in FUNCMLP.items():
        lines = len(path.read_text().splitlines())
        assert lines <= 320 or name in reasons, f"{name} has {lines} lines: split it by job"
