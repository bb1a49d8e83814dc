"""A worked example's backward pass as a program you can run: a standalone NumPy script, written
out layer by layer with the example's numbers, that prints what the replay computes.

The script holds the example's inputs, targets and parameters as the file writes them (its
convention: ``n = b + a W`` with one example per row, or ``n = W a + b`` with one per column),
the activations' and the loss's closed forms printed from the registry's sympy forms (those the
replay uses; ``f'`` as funcmlp takes it at the kinks), and one function, ``backward_pass``, that
computes in float64 the forward pass, the loss, the output sensitivity, the sensitivity
recursion, the gradients and the update, each line naming its step in a textbook's words. It prints
one quantity per line: its name as the derivation writes it (``n^1``, ``s^2``, ``dL/dW^1``,
``W^1 new``), a colon and its entries in the file's layout, row by row, as Python floats; ``steps = N``
adds each step the replay writes out in full (``n^1 (step 2)``, ..., with the parameters and velocity it
starts from), the loss after each step the replay shows and the final parameters; with momentum each
parameter's velocity (``v_W^1``) comes before its new value.

Contract: a checked :class:`~derivations.examples.spec.WorkedExample` and its replayed derivation (which
steps' losses to print) in, Python source out; numbers are the file's decimals (exact), formulas
printed by sympy's NumPy printer from the registry (a user's text is never evaluated). Online
(``update = "online"``): step 1, the first example's, in full, then a loop over the examples, one step each,
printing what the replay shows (each example's loss and the parameters after it, the mean loss after a pass).

Example:
    >>> from derivations.examples.spec import read_spec
    >>> from derivations.examples.replay import run
    >>> ex = read_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.1",
    ...                 "x": ["2"], "y": ["1"], "layers": [{"W": [["3"]], "b": ["0.5"]}]})
    >>> exec(compile(program(ex, run(ex)), "example.py", "exec"), {})
    a^0: 2.0
    n^1: 6.5
    a^1: 6.5
    L: 15.125
    s^1: 5.5
    dL/da^0: 16.5
    dL/dW^1: 11.0
    dL/db^1: 5.5
    W^1 new: 1.9
    b^1 new: -0.050000000000000044
"""

from __future__ import annotations

import re

from derivations.examples.spec import WorkedExample
from derivations.formats.backward_source import backward_source
from derivations.formats.numpy_source import (
    Layout,
    activation_source,
    bias_name,
    data_source,
    kept_names,
    loss_source,
)
from derivations.model.quantity import Key

_SHOW = ["def show(name, value):", "    print(f'{name}:', *(repr(float(v)) for v in numpy.ravel(value)))", "", ""]


UNCOMPUTED = ("delta", "delta_W", "delta_b", "delta_theta", "f'", "exp")
"""Quantities a replay writes where a text prints them that the program does not compute (a text's delta = -s,
a parameter's change, f'(n), exp(n), the output's dL/da): its later steps show the others."""


def _losses_shown(derivation, unit: str) -> list:
    """The steps (``unit`` step) or passes (pass) after which the replay shows the loss."""
    keys = [s.key for s in derivation.steps if s.key is not None]
    return sorted(key.t for key in keys if key == Key("L", None, key.t, "after", unit))


def _main_source(ex: WorkedExample, derivation, depth: int) -> list:
    """Print the first step's quantities; with ``steps = N``, the loss after each shown step and the last parameters."""
    shown = _losses_shown(derivation, "step")
    params = ", ".join(f"(W{k}, {bias_name(ex, k) or 'None'})" for k in range(1, depth + 1))
    written: dict = {}  # the steps after the first written out in full, and their quantities (the program's)
    for step in derivation.steps:
        key = step.key
        if key and key.t > 1 and key.stage in ("", "new"):
            if key.quantity not in UNCOMPUTED and (key.quantity, key.layer) != ("dL/da", depth):
                written.setdefault(key.t, []).append(key.at(1).text())
    lines = [
        *_SHOW,
        *(_before_source(ex, depth) if written or ex.velocity else []),
        f"params = [{params}]",
        *(["show_before(1, params, velocity)"] if ex.velocity else []),
        f"quantities, params, changes = backward_pass(params{', velocity' if ex.velocity else ''})",
        "for name, value in quantities.items():",
        "    show(name, value)",
    ]
    if ex.steps > 1:
        lines += [
            f"SHOWN = {set(shown)}  # the steps whose loss funcmlp derive shows",
            f"WRITTEN = {written}  # the steps after the first it writes out in full",
            f"for t in range(1, {ex.steps} + 1):  # the loss after step t is the next step's loss",
            "    quantities, after, next_changes = backward_pass(params, changes)",
            "    if t in SHOWN:",
            "        show(f'L after step {t}', quantities['L'])",
            "    if t + 1 in WRITTEN:  # step t + 1 in full: it starts from the parameters after step t",
            "        show_before(t + 1, params, changes)",
            "        for name in WRITTEN[t + 1]:",
            "            show(f'{name} (step {t + 1})', quantities[name])",
            f"    if t < {ex.steps}:",
            "        params, changes = after, next_changes",
        ]
        lines += _show_parameters(ex, depth, f"'{{label}} after {ex.steps} steps'")
    return lines


def _show_parameters(ex: WorkedExample, depth: int, text: str, indent: str = "") -> list:
    """One ``show`` line per parameter of every layer (W^k, then b^k or theta^k): ``text`` is the Python string
    written for its name, ``{label}`` in it replaced by the parameter's label."""
    lines = []
    for k in range(1, depth + 1):
        bias = bias_name(ex, k)
        labels = [f"W^{k}"] + ([] if bias is None else [f"theta^{k}" if bias.startswith("theta") else f"b^{k}"])
        for index, label in enumerate(labels):
            lines.append(f"{indent}show({text.replace('{label}', label)}, params[{k - 1}][{index}])")
    return lines


def _before_source(ex: WorkedExample, depth: int) -> list:
    """``show_before(t, params, changes)``: what step t starts from, its parameters (after the first step) and with
    momentum the velocity before it, as funcmlp derive names them."""
    lines = [
        "def show_before(t, params, changes):",
        '    """What step t starts from: its parameters (after step 1), with momentum the velocity before it."""',
    ]
    for k in range(1, depth + 1):
        kept = kept_names(ex, k)
        for index, name in enumerate((f"W{k}", bias_name(ex, k))):
            if name is None:
                continue
            label = f"{name[: -len(str(k))]}^{k}"
            lines.append(f"    if t > 1:\n        show(f'{label} before step {{t}}', params[{k - 1}][{index}])")
            if ex.momentum is not None and ("W" if index == 0 else "b") not in kept:
                lines.append(f"    show(f'v_{label} before step {{t}}', changes[{k - 1}][{index}])")
    return lines + ["", ""]


def _online_source(ex: WorkedExample, derivation, depth: int) -> list:
    """Print step 1's quantities (the first example's), each further example's loss before its step and the
    parameters after it; with ``steps = N``, the mean loss after each pass the replay shows and the last parameters."""
    shown = _losses_shown(derivation, "pass")
    params = ", ".join(f"(W{k}, {bias_name(ex, k) or 'None'})" for k in range(1, depth + 1))
    at = Layout(ex.convention).examples("e : e + 1")
    lines = [*_SHOW, "def show_params(when, params):", *_show_parameters(ex, depth, "f'{label} {when}'", "    ")]
    lines += [
        "",
        "",
        "def example(e):",
        '    """Example e (from 0) alone, its inputs and targets in the file\'s layout."""',
        f"    return x{at}, None if y is None else y{at}",
        "",
        "",
        *(_before_source(ex, depth) if ex.velocity else []),
        f"params = [{params}]",
        *(["show_before(1, params, velocity)"] if ex.velocity else []),
        f"changes = {'velocity' if ex.velocity else 'None'}",
        "quantities, params, changes = backward_pass(params, changes, *example(0))  # step 1: example 1, in full",
        "for name, value in quantities.items():",
        "    show(name, value)",
        f"for e in range(1, {len(ex.x)}):  # the rest of pass 1: each example's loss before its step",
        "    quantities, params, changes = backward_pass(params, changes, *example(e))",
        "    show(f'L (example {e + 1})', quantities['L'])",
        "    show_params(f'after example {e + 1}', params)",
    ]
    if ex.steps > 1:
        lines += [
            f"SHOWN = {set(shown)}  # the passes whose mean loss funcmlp derive shows",
            f"for t in range(1, {ex.steps} + 1):  # the mean loss after pass t, over all the examples",
            "    if t in SHOWN:",
            "        show(f'L after pass {t}', backward_pass(params, changes)[0]['L'])",
            f"    for e in range({len(ex.x)}) if t < {ex.steps} else ():  # pass t + 1, one step per example",
            "        quantities, params, changes = backward_pass(params, changes, *example(e))",
            f"show_params('after {ex.steps} passes', params)",
        ]
    return lines


_CODING = re.compile(r"coding([:=])")
"""PEP 263: a comment on line 1 or 2 holding ``coding:`` or ``coding=`` sets the source's encoding; the title,
on line 1, gets a space before the colon ("coding :"), so it never does."""


def program(ex: WorkedExample, derivation) -> str:
    """The example as a standalone NumPy script (see the module docstring); ``derivation``:
    the replay of ``ex`` (its ``L after step t`` entries say which losses to print)."""
    layout, depth = Layout(ex.convention), len(ex.weights)
    sizes = [len(ex.x[0])] + [len(W[0]) for W in ex.weights]
    loss_lines, paired = loss_source(ex, layout, sizes[-1])
    lines = [
        "# " + _CODING.sub(r"coding \1", ex.title),  # the file's text, one line (no control characters): a comment
        '"""The worked example\'s backward pass as a NumPy program, written by funcmlp derive --format python:',
        "the forward pass, the loss, the output sensitivity and the sensitivity recursion, the gradients and the",
        "update, layer by layer, in float64. It prints each quantity as funcmlp derive names it, one per line,",
        "with its entries in the file's layout" + (" (one example per column)." if ex.convention.column else "."),
        '"""',
        "",
        "import math",
        "",
        "import numpy",
        "",
        "erfc = numpy.vectorize(math.erfc, otypes=[float])  # the complementary error function, elementwise",
        "",
        "",
        *activation_source(ex.activations),
        *loss_lines,
        *data_source(ex, layout),
        *backward_source(ex, layout, sizes, paired),
        *(_online_source if ex.online else _main_source)(ex, derivation, depth),
    ]
    return "\n".join(lines) + "\n"
