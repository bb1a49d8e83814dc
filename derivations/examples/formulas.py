"""The formulas of a network step's quantities as typed parts (:mod:`derivations.model.formula`), in the spec file's
convention: the row convention writes a layer's net input ``b^k + a^(k-1) W^k`` (vectors as rows, W^k as inputs x
units), the column convention ``W^k a^(k-1) + b^k`` (vectors as columns, W^k as units x inputs). Each formula is
written here once, for the replay's steps in every format.

Contract: layer numbers, the :class:`~derivations.model.convention.Convention` and the example's loss and sizes in,
a :class:`~derivations.model.formula.Formula` out; imports only the model.

Example:
    >>> print(net_input(2, ROW, bias="b")); print(net_input(2, COLUMN, bias="b").latex())
    b^2 + a^1 W^2
    W^{2} a^{1} + b^{2}
"""

from __future__ import annotations

from derivations.model.convention import COLUMN, ROW, Convention  # noqa: F401 (COLUMN: the example above)
from derivations.model.formula import Entry, Formula, Jacobian, Name, Note, Words, formula, prose
from derivations.model.quantity import Key


def _joined(groups, between: str) -> tuple:
    """The parts of ``groups`` (tuples of parts) in order, ``between`` between two groups."""
    parts = []
    for group in groups:
        parts += [between, *group] if parts else list(group)
    return tuple(parts)


def net_input(k: int, convention: Convention, bias: str | None) -> Formula:
    """n^k from a^(k-1), W^k and the bias (``"b"``), the threshold (``"theta"``: minus it) or none (None)."""
    product = _joined(convention.ordered((Key("W", k),), (Key("a", k - 1),)), " ")
    if bias == "theta":
        return formula(*product, " - ", Key("theta", k))
    if bias is None:
        return formula(*product)
    return formula(*_joined(convention.ordered(product, (Key("b", k),)), " + "))


def activation(name: str, k: int) -> Formula:
    """a^k = f(n^k), the activation by the name funcmlp gives it (``elu(0.5)`` keeps its parameter)."""
    base, paren, rest = name.partition("(")
    return formula(Name(base), *([paren + rest] if paren else []), "(", Key("n", k), ")")


def _loss_parts(name: str, a: Key, units: int) -> tuple:
    """The registry loss ``name`` of the output ``a`` by its formula, as a textbook writes it."""
    aj, s, log = Entry(a, "j"), Name("sum_j"), Name("log")
    squares = (s, " (y_j - ", aj, ")^2")
    return {
        "sse": squares,
        "half_sse": ("1/2 ", *squares),
        "mse": (f"1/{units} ", *squares),
        "binary_cross_entropy": ("-", s, " (y_j ", log, "(", aj, ") + (1 - y_j) ", log, "(1 - ", aj, "))"),
        "cross_entropy": ("-", s, " y_j ", log, "(", aj, ")"),
        "sigmoid_binary_cross_entropy": (
            *("-", s, " (y_j ", log, "(", Name("sigmoid"), "(", aj, ")) + (1 - y_j) "),
            *(log, "(1 - ", Name("sigmoid"), "(", aj, ")))"),
        ),
        "softmax_cross_entropy": ("-", s, " y_j ", log, "(", Name("softmax"), "(", a, ")_j)"),
    }.get(name, (Name(name), "(y, ", a, ")"))


def loss(name: str | None, depth: int, units: int, batch: int, l2) -> Formula:
    """L of a network of ``depth`` layers and ``units`` outputs (``name`` None: the loss is the sum of the outputs),
    the mean over a ``batch``, plus the L2 penalty ``l2``/2 sum |W|^2 where given (then written as words)."""
    a = Key("a", depth)
    over = (Words(f", mean over {batch} examples"),) if batch > 1 else ()
    if name is None:
        return prose(f"sum_j a^{depth}_j (loss = output)" + (over[0].text if over else ""))
    parts = (*_loss_parts(name, a, units), *over)
    return prose(str(formula(*parts)) + f" + l2/2 sum_k |W^k|^2 (l2 = {l2})") if l2 is not None else formula(*parts)


def _through(k: int, activation: str, elementwise: bool, upstream: tuple) -> tuple:
    """``upstream`` (dL/da^k) through layer k's activation: ``* f'(n^k)`` elementwise, else the transposed
    Jacobian's product ``(J_f(n^k))^T dL/da^k`` (a vector activation such as softmax mixes the units)."""
    n = Key("n", k)
    if elementwise:
        return (*upstream, " * ", Name("f'"), "(", n, ")")
    return ("(", Jacobian(activation.partition("(")[0]), "(", n, "))", "^T", " ", *upstream)


def output_sensitivity(depth: int, batch: int, output: str, elementwise: bool, paired: str) -> Formula:
    """s^L = dL/dn^L over the batch's size: dL/da^L through the output activation ``output``; ``paired`` ``"own"``:
    the loss is the outputs' sum (dL/da = 1); ``"probabilities"`` or ``"scaled"``: the loss is paired with its
    activation and taken on the logits, a^L - y (or a^L sum_j y_j - y where a softmax's targets do not sum to 1)."""
    mean = (f" / {batch}",) if batch > 1 else ()
    if paired in ("probabilities", "scaled"):
        a = Key("a", depth)
        difference = (a, " - y") if paired == "probabilities" else (a, " ", Name("sum_j"), " y_j - y")
        return formula(*difference, *mean, Note("the loss paired with its activation, on the logits n"))
    upstream = ("1",) if paired == "own" else (Key("dL/da", depth),)
    if paired == "own" and elementwise:
        return formula(Name("f'"), "(", Key("n", depth), ")", *mean)
    return formula(*_through(depth, output, elementwise, upstream), *mean)


def upstream(k: int, convention: Convention) -> Formula:
    """dL/da^k = s^(k+1) through W^(k+1)."""
    return formula(*_joined(convention.ordered(("(", Key("W", k + 1), ")", "^T"), (Key("s", k + 1),)), " "))


def recursion(k: int, activation: str, elementwise: bool) -> Formula:
    """s^k = dL/da^k * f'(n^k) (a vector activation: its transposed Jacobian), the sensitivity recursion."""
    return formula(*_through(k, activation, elementwise, (Key("dL/da", k),)), Note("the sensitivity recursion"))


def weight_gradient(k: int, convention: Convention, batch: int, l2) -> Formula:
    """dL/dW^k = s^k (a^(k-1))^T (column) or (a^(k-1))^T s^k (row), summed over a batch, plus l2 W^k."""
    product = _joined(convention.ordered((Key("s", k),), ("(", Key("a", k - 1), ")", "^T")), " ")
    summed = (Words(" summed over the batch"),) if batch > 1 else ()
    penalty = (" + l2 ", Key("W", k)) if l2 is not None else ()
    return formula(*product, *summed, *penalty)


def bias_gradient(k: int, theta: bool, batch: int) -> Formula:
    """dL/db^k = s^k, or dL/dtheta^k = -s^k, summed over a batch."""
    summed = (Words(" summed over the batch"),) if batch > 1 else ()
    return formula(*(("-",) if theta else ()), Key("s", k), *summed)


def update(kind: str, k: int) -> Formula:
    """The new parameter: W^k - eta dL/dW^k (b, theta likewise)."""
    return formula(Key(kind, k), " - ", Name("eta"), " ", Key(f"dL/d{kind}", k))


def momentum_update(kind: str, k: int) -> Formula:
    """The new parameter with momentum: W^k + v_W^k."""
    return formula(Key(kind, k), " + ", Key(f"v_{kind}", k))


def delta(k: int) -> Formula:
    """A text's classic delta^k = -s^k = -dL/dn^k."""
    words = rf"\text{{(the classic }}\delta = -\frac{{\partial L}}{{\partial {Key('n', k).latex()}}}\text{{)}}"
    return formula("-", Key("s", k), Note(f"the classic delta = -dL/dn^{k}", gap=1, latex=words))


def slope(activation: str, k: int) -> Formula:
    """f'(n^k): the derivative of layer k's activation (by its registry name) at its net input."""
    return formula(Name(activation.partition("(")[0] + "'"), "(", Key("n", k), ")")


def exponentials(k: int) -> Formula:
    """exp(n^k), entry by entry (a softmax's numerators)."""
    return formula(Name("exp"), "(", Key("n", k), ")")


def loss_derivative(name: str | None, depth: int, batch: int) -> Formula:
    """dL/da^L of the loss ``name`` (None: the loss is the outputs' sum, dL/da = 1), over a ``batch``'s size."""
    a = Key("a", depth)
    mean = (f" / {batch}",) if batch > 1 else ()
    parts = {
        None: ("1",),
        "half_sse": (a, " - y"),
        "sse": ("2 (", a, " - y)"),
        "binary_cross_entropy": ("(", a, " - y) / (", a, " (1 - ", a, "))"),
        "cross_entropy": ("-y / ", a),
    }.get(name, (Words(f"the derivative of {name} at "), a))
    return formula(*parts, *mean)


def change(kind: str, k: int, momentum: bool) -> Formula:
    """A parameter's change in the step: -eta dL/dW^k, or with momentum the velocity v_W^k (new - old)."""
    if momentum:
        return formula(Key(f"v_{kind}", k), Note("new - old"))
    return formula("-", Name("eta"), " ", Key(f"dL/d{kind}", k), Note("new - old"))
