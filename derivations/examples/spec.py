"""Worked-example spec files: a network, one example and a learning rate as data (TOML or
JSON), read and checked here, replayed exactly by :func:`derivations.examples.replay.from_spec` with the
errata of the numbers a text printed.

The keys (TOML shown; JSON takes the same)::

    title = "2-2-1 network, one step"       # free text
    convention = "column"                   # "row": n = a W + b, W is (in, out); "column": z = W a + b, W is (out, in)
    activations = ["sigmoid", "sigmoid"]    # one per layer, any funcmlp registry name, e.g. "leaky_relu(0.2)"
    loss = "half_sse"                       # any funcmlp loss name
    learning_rate = "0.5"
    x = ["0.5", "0.8"]                      # one example (a list of lists for a batch)
    y = ["0"]
    steps = 1                               # optional: gradient-descent steps to replay
    [[layers]]                              # one table per layer, W in the file's convention
    W = [["0.2", "0.4"], ["0.6", "0.8"]]
    b = ["0.1", "0.2"]
    [[layers]]
    W = [["0.3", "0.5"]]
    b = ["0.4"]
    [printed]                               # optional: numbers as the text printed them
    "a^1" = ["0.627", "0.758"]              # keys are step names, values in the file's layout

A batch replays the mean loss over its examples (funcmlp's default reduction); its steps are
shown (batch, units) in the row convention and (units, batch) in the column one. ``steps = N``
adds the loss after each of N full-batch gradient steps and the final weights (closed forms
are carried as 50-digit decimals from the second step on). Optional too: ``name`` (an
identifier), ``notes`` (a list of strings), and for each printed
step a table ``{values = [...], where = "eq. 8", slip = "...", slips = {"1" = "..."}}`` naming
the equation and the kind of slip of its wrong entries (the seeds' files use it). Numbers
may be strings or TOML/JSON numbers and are read exactly as decimals (``"0.1"`` is 1/10;
never evaluated as expressions); ``learning_rate_convention = "delta_rule"``: the text's eta multiplies the
error (w + eta (y - a) f'(n) x; :func:`~derivations.examples.spec_keys.read_convention`). Step names: ``a^0``,
``n^k``, ``a^k``, ``L``, ``s^k``,
``dL/da^k``, ``dL/dW^k``, ``dL/db^k``, ``W^k new``, ``b^k new``.

Contract: a path or a dict in, a checked :class:`WorkedExample` out (exact numbers, weights in
the row convention inside), or one ``ValueError`` line naming the key, what was expected and the
fix; text from the file is data, never evaluated. :mod:`derivations.examples.replay` runs it.

Example:
    >>> ex = read_spec({"activations": ["relu", "identity"], "loss": "sse", "learning_rate": "0.1",
    ...                 "x": [1, 1], "y": [0],
    ...                 "layers": [{"W": [[1, 1], [1, 1]], "b": [0, 0]}, {"W": [[1], [1]], "b": [0]}]})
    >>> ex.weights[1], ex.learning_rate
    ([[1], [1]], 1/10)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources

import sympy as sp

from derivations.examples import specfile
from derivations.examples.spec_keys import (
    layer_table,
    read_coefficient,
    read_convention,
    read_learning_rate,
    read_show_steps,
    read_update,
)
from derivations.model import cost, engine, symbolic
from derivations.model.convention import ROW, Convention, convention
from funcmlp.registry.activations import get_activation
from funcmlp.registry.losses import get_loss

KEYS = (
    "name",
    "title",
    "convention",
    "activations",
    "loss",
    "learning_rate",
    "x",
    "y",
    "steps",
    "layers",
    "printed",
    "notes",
    "momentum",
    "l2",
    "update",
    "show_steps",
    "learning_rate_convention",
)
MAX_STEPS = 100_000
"""The most gradient steps a spec replays (:mod:`derivations.examples.iterate` runs them)."""
REQUIRED = ("activations", "loss", "x", "layers")
OUTPUT = "output"
"""``loss = "output"``: L is the sum of the output units, no target (the network's own gradients)."""


@dataclass(frozen=True)
class WorkedExample:
    """A network worked example, read and checked: exact numbers, row-convention weights inside."""

    name: str
    title: str
    activations: tuple
    loss: str
    learning_rate: sp.Expr | None  # None: no update shown (the gradients only)
    x: tuple  # examples, each a tuple of inputs
    y: tuple  # targets, one tuple per example
    weights: tuple  # per layer, (d_in, d_out) lists of rows: row convention
    biases: tuple  # per layer, a list (d_out) or None: a layer without biases
    convention: Convention = ROW  # how the file writes W and the vectors
    printed: dict = field(default_factory=dict)
    notes: tuple = ()
    steps: int = 1
    fixed: tuple = ()  # per layer, a frozenset of the parameters kept ("W", "b")
    thresholds: tuple = ()  # per layer, True where the file gives theta (b = -theta, shown as theta)
    update: str = "batch"  # "batch": one step on the mean loss; "online": one step per example, in order
    momentum: sp.Expr | None = None  # v(t) = momentum v(t - 1) - eta dL/dw, w(t) = w(t - 1) + v(t)
    l2: sp.Expr | None = None  # L + l2/2 sum of the squared weights (not biases)
    velocity: tuple | None = None  # momentum's velocity before step 1, per layer (rows like W, like b or None)
    show_steps: tuple | None = None  # the gradient steps to write out in full (None: the default choice)

    @property
    def online(self) -> bool:
        """Whether the example takes one step per example over several (``update = "online"``, a batch of more
        than one): step 1 is then the first example's."""
        return self.update == "online" and len(self.x) > 1

    @property
    def loss_entry(self):
        """The registry loss, or None for ``loss = "output"`` (L = the sum of the output units)."""
        return None if self.loss == OUTPUT else get_loss(self.loss)

    def network(self, layers=None) -> engine.Net:
        """The network for :mod:`derivations.model.engine`, with ``layers`` ((W rows, b or None), row convention)
        or its own."""
        layers = tuple(zip(self.weights, self.biases, strict=True)) if layers is None else tuple(layers)
        return engine.Net(tuple(get_activation(a) for a in self.activations), self.loss_entry, layers)


def read_spec(
    source, *, name: str | None = None, steps: int | None = None, show_steps: list | None = None
) -> WorkedExample:
    """Read and check a spec: a path to a ``.toml`` or ``.json`` file, or a dict of the same keys.
    ``name``, ``steps`` and ``show_steps`` override the file's.

    Every problem is a ``ValueError`` naming the key, what was expected and the fix.
    """
    spec, origin = specfile.load(source)
    if not isinstance(spec, dict):
        raise ValueError(f"{origin}: a spec is a table of keys ({', '.join(KEYS)}), got {type(spec).__name__}")
    unknown = [k for k in spec if k not in KEYS]
    if unknown:
        raise ValueError(f"{origin}: unknown key {unknown[0]!r}; the keys are {', '.join(KEYS)}")
    missing = [k for k in REQUIRED if k not in spec]
    if missing:
        raise ValueError(f"{origin}: missing key {missing[0]!r}; a spec needs {', '.join(REQUIRED)}")
    layout = convention(spec.get("convention", "row"))
    steps = spec.get("steps", 1) if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number of gradient steps from 1 to {MAX_STEPS}, got {steps!r}")
    cost.check_sizes(spec, steps)  # (counted in the raw lists, before any number is read)
    names = spec["activations"]
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(a, str) for a in names):
        raise ValueError(
            f'activations must be a list of names, one per layer, e.g. ["sigmoid", "identity"]; got {names!r}'
        )
    activations = [symbolic.require_symbolic(get_activation(a)) for a in names]
    batched = isinstance(spec["x"], (list, tuple)) and bool(spec["x"]) and isinstance(spec["x"][0], (list, tuple))
    xs = specfile.matrix(spec["x"], "x") if batched else [specfile.vector(spec["x"], "x")]
    output = spec["loss"] == OUTPUT
    if output == ("y" in spec):
        raise ValueError(
            'y: loss = "output" takes no target; leave y out'
            if output
            else "missing key 'y': the targets, one row per example "
            '(or loss = "output" for the network\'s own gradients)'
        )
    ys = (
        [[] for _ in xs]
        if output
        else specfile.matrix(spec["y"], "y")
        if batched and isinstance(spec["y"], (list, tuple)) and spec["y"] and isinstance(spec["y"][0], (list, tuple))
        else ([[v] for v in specfile.vector(spec["y"], "y")] if batched else [specfile.vector(spec["y"], "y")])
    )
    if len(ys) != len(xs):
        raise ValueError(f"y has {len(ys)} examples, x has {len(xs)}; give one target per example")
    x, y = xs[0], ys[0]
    layers = spec["layers"]
    if not isinstance(layers, (list, tuple)) or len(layers) != len(activations):
        count = len(layers) if isinstance(layers, (list, tuple)) else layers
        raise ValueError(
            f"layers has {count} tables, expected {len(activations)}: one [[layers]] table with W and b per activation"
        )
    weights, biases, fixed, velocity, inputs = [], [], [], [], len(x)
    for k, layer in enumerate(layers, start=1):
        W, b, kept, start = layer_table(k, layer, inputs, layout)
        b = b if not (isinstance(layer, dict) and "theta" in layer) else [-v for v in b]
        weights.append(W)
        biases.append(b)
        fixed.append(kept)
        velocity.append(start)
        inputs = len(W[0])
    if len(y) != inputs and not output:
        raise ValueError(
            f"y has {len(y)} values{' per example' if batched else ''}, expected {inputs} (units of the last layer)"
        )
    if not output:
        get_loss(spec["loss"]).check_output(activations[-1], inputs)
    notes = spec.get("notes", [])
    if not isinstance(notes, (list, tuple)):
        raise ValueError(f"notes must be a list of strings, got {specfile.brief(notes)}")
    notes = [specfile.free_text(note, f"notes[{i}]") for i, note in enumerate(notes)]
    default_name = os.path.splitext(os.path.basename(origin))[0] if origin != "spec" else "example"
    loss = OUTPUT if output else str(get_loss(spec["loss"]))
    eta, delta_rule = read_convention(spec, loss, inputs, read_learning_rate(spec, steps))
    notes += [delta_rule] if delta_rule else []
    momentum, update = read_coefficient(spec, "momentum", below_one=True), read_update(spec)
    if any(v is not None for v in velocity) and momentum is None:
        k = next(k for k, v in enumerate(velocity, start=1) if v is not None)
        raise ValueError(f'layers[{k}].velocity is the starting velocity of momentum: give momentum, e.g. "0.9"')
    shown = read_show_steps(
        spec.get("show_steps") if show_steps is None else show_steps,
        steps,
        update == "online" and batched and len(xs) > 1,
        "show_steps" if show_steps is None else "--show-steps",
    )
    return WorkedExample(
        name=name or specfile.free_text(spec.get("name", default_name), "name"),
        title=specfile.free_text(spec.get("title", default_name), "title"),
        activations=tuple(names),
        loss=loss,
        learning_rate=eta,
        x=tuple(tuple(r) for r in xs),
        y=tuple(tuple(r) for r in ys),
        weights=tuple(weights),
        biases=tuple(biases),
        convention=layout,
        printed=specfile.printed_values(spec.get("printed", {}), origin),
        notes=tuple(notes),
        steps=steps,
        update=update,
        fixed=tuple(fixed),
        thresholds=tuple(isinstance(layer, dict) and "theta" in layer for layer in layers),
        momentum=momentum,
        l2=read_coefficient(spec, "l2"),
        velocity=_starting_velocity(velocity, weights, biases),
        show_steps=shown,
    )


def _starting_velocity(given: list, weights: list, biases: list) -> tuple | None:
    """The starting velocity of every layer (zero where a layer gives none), or None where no layer gives one."""
    if all(v is None for v in given):
        return None
    zero = lambda W, b: ([[sp.Integer(0)] * len(W[0]) for _ in W], None if b is None else [sp.Integer(0)] * len(b))
    return tuple(zero(W, b) if v is None else v for v, W, b in zip(given, weights, biases, strict=True))


def _shipped(seeds: bool) -> tuple:
    """The names of the spec files shipped in ``derivations/examples``: the seeds' (``seedNNN_...``) or the others."""
    files = resources.files("derivations.examples").iterdir()
    names = sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml"))
    return tuple(n for n in names if n.startswith("seed") == seeds)


SEED_EXAMPLES = _shipped(seeds=True)
"""The seeds' network examples, shipped as spec files in ``derivations/examples`` (found by listing them)."""
LITERATURE = _shipped(seeds=False)
"""Published worked examples, shipped the same way, each with its citation and printed numbers: a new one is a
new spec file in ``derivations/examples``."""
NETWORK_EXAMPLES = SEED_EXAMPLES + LITERATURE
"""The shipped network examples: ``funcmlp derive NAME`` draws them, and replays them ``--steps`` long."""


def seed_spec_path(name: str):
    """The shipped spec file of a seed's or a published example (a path inside the installed package)."""
    return resources.files("derivations") / "examples" / f"{name}.toml"
