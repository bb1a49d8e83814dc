"""The function ``backward_pass(params, changes)`` of a worked example's program (:mod:`derivations.formats.program`)
as NumPy source: the forward pass, the loss, the output sensitivity, the sensitivity recursion, the gradients and
the update (with momentum, each velocity first), each line naming its step as the derivation writes it.

Contract: a checked :class:`~derivations.examples.spec.WorkedExample`, its :class:`Layout` and sizes in, lines of
Python source out; nothing is evaluated.
"""

from __future__ import annotations

from derivations.examples.spec import WorkedExample
from derivations.formats.numpy_source import Layout, bias_name, function_names, kept_names, vector
from funcmlp.registry.activations import get_activation


def backward_source(ex: WorkedExample, layout: Layout, sizes: list, paired: bool) -> list:
    """``backward_pass(params, changes)``: every quantity of one step, by name, the new
    parameters and their changes; each line naming its step in a textbook's words."""
    depth, batch, functions = len(ex.weights), len(ex.x), function_names(ex.activations)
    names = [f"W{k}, {bias_name(ex, k)}" if bias_name(ex, k) else f"W{k}, _" for k in range(1, depth + 1)]
    head = [
        "def backward_pass(params, changes=None):",
        '    """One gradient step on the mean loss of the examples: (the quantities by name, the new',
        f"    batch = {batch}  # the loss is the mean over the examples: s^L carries 1 / batch",
    ]
    if ex.online:  # one example's step at a time, the mean loss over all of them after each pass
        head = [
            "def backward_pass(params, changes=None, x=x, y=y):",
            '    """One gradient step on the mean loss of the examples x, y (online: one example), returning',
            f"    batch = x.shape[{layout.batch_axis}]  # the loss is the mean over these examples: s^L has 1 / batch",
        ]
    lines = [
        *head[:2],
        '    params, their changes)."""',
        f"    [{', '.join('(' + name + ')' for name in names)}] = params",
        head[2],
        "    q = {}",
        "    q['a^0'] = a0 = x  # the input",
    ]
    for k in range(1, depth + 1):
        activation, bias = get_activation(ex.activations[k - 1]), bias_name(ex, k)
        term = "" if bias is None else (f" - {bias}" if bias.startswith("theta") else f" + {bias}")
        lines.append(f"    q['n^{k}'] = n{k} = {layout.net_input(k, term)}  # the net input of layer {k}")
        forward = (
            f"{functions[str(activation)]}(n{k})"
            if activation.is_elementwise
            else vector(activation, sizes[k], layout, f"n{k}")
        )
        lines.append(f"    q['a^{k}'] = a{k} = {forward}  # the activation: a^{k} = f^{k}(n^{k})")
    out = f"n{depth}" if paired else f"a{depth}"
    lines.append(f"    L = numpy.mean(loss({out}, y))  # the loss, the mean over the examples")
    if ex.l2 is not None:
        squares = " + ".join(f"numpy.sum(W{k} ** 2)" for k in range(1, depth + 1))
        lines.append(f"    L = L + l2 / 2 * ({squares})  # the L2 penalty")
    lines.append("    q['L'] = L")
    last = get_activation(ex.activations[-1])
    if paired:
        lines.append(
            f"    s{depth} = loss_gradient(n{depth}, y) / batch"
            "  # the output sensitivity, on the net input: s^L = dL/dn^L"
        )
    elif last.is_elementwise:
        lines.append(
            f"    s{depth} = loss_gradient(a{depth}, y) / batch * {functions[str(last)]}_slope(n{depth})"
            "  # the output sensitivity: s^L = dL/da^L f'(n^L)"
        )
    else:
        lines.append(f"    g{depth} = loss_gradient(a{depth}, y) / batch  # dL/da^L")
        lines.append(
            f"    s{depth} = {vector(last, sizes[depth], layout, f'n{depth}', f'g{depth}')}"
            "  # the output sensitivity: dL/da^L J_f"
        )
    lines.append(f"    q['s^{depth}'] = s{depth}")
    for k in range(depth - 1, -1, -1):
        lines.append(
            f"    q['dL/da^{k}'] = g{k} = {layout.back(k + 1)}  # the sensitivity recursion: back through W^{k + 1}"
        )
        if k == 0:
            break
        activation = get_activation(ex.activations[k - 1])
        slope = (
            f"g{k} * {functions[str(activation)]}_slope(n{k})"
            if activation.is_elementwise
            else vector(activation, sizes[k], layout, f"n{k}", f"g{k}")
        )
        lines.append(f"    q['s^{k}'] = s{k} = {slope}  # the sensitivity recursion: s^{k} = dL/da^{k} f'(n^{k})")
    for k in range(depth, 0, -1):
        bias, kept = bias_name(ex, k), kept_names(ex, k)
        l2 = f" + l2 * W{k}" if ex.l2 is not None else ""
        lines.append(
            f"    q['dL/dW^{k}'] = dW{k} = {layout.weight_gradient(k)}{l2}"
            "  # the weight gradient, summed over the examples"
        )
        if bias is not None and bias.startswith("theta"):
            lines.append(f"    q['dL/dtheta^{k}'] = d{bias} = -{layout.bias_gradient(k)}  # theta = -b")
        elif bias is not None:
            lines.append(
                f"    q['dL/db^{k}'] = d{bias} = {layout.bias_gradient(k)}  # the bias gradient (the bias's input is 1)"
            )
        for index, name in enumerate((f"W{k}", bias)):
            if name is None:
                lines.append(f"    b{k}_new = change_b{k} = None  # no biases")
                continue
            if ("W" if index == 0 else "b") in kept:
                lines.append(f"    {name}_new, change_{name} = {name}, 0 * {name}  # kept")
                continue
            label = f"{name[: -len(str(k))]}^{k}"
            if ex.momentum is None:
                lines.append(f"    change_{name} = -eta * d{name}  # the gradient-descent update: the step")
            else:
                lines += [
                    f"    earlier = 0 if changes is None else changes[{k - 1}][{index}]  # the velocity before it",
                    f"    q['v_{label}'] = change_{name} = momentum * earlier - eta * d{name}  # momentum's velocity",
                ]
            lines.append(
                f"    q['{label} new'] = {name}_new = {name} + change_{name}"
                + ("  # w + v" if ex.momentum is not None else "")
            )
    new = ", ".join(f"({f'W{k}_new'}, {(bias_name(ex, k) or f'b{k}')}_new)" for k in range(1, depth + 1))
    changes = ", ".join(f"(change_W{k}, change_{bias_name(ex, k) or f'b{k}'})" for k in range(1, depth + 1))
    lines += [f"    new = [{new}]", f"    changes = [{changes}]"]
    return lines + ["    return q, new, changes", "", ""]
