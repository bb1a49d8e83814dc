"""The formulas a replay writes for a vector activation and a paired loss: the output sensitivity says what was
computed (a^L - y on the logits where the loss is paired with its activation; the transposed Jacobian's product for
softmax otherwise, never the elementwise dL/da * f'(n)), checked against numbers worked out here in sympy from the
spec's own parameters."""

import sympy as sp

from derivations.examples.replay import from_spec

R = sp.Rational
W1, W2 = [[R(1, 2), R(-1, 4)], [R(1, 4), R(1, 2)]], [[R(1, 2), R(-1, 2)], [R(1, 4), R(3, 4)]]
X = [R(1), R(2)]


def _spec(loss: str, y: list, hidden: str = "identity") -> dict:
    return {
        "activations": [hidden, "softmax"],
        "loss": loss,
        "learning_rate": "0.1",
        "x": [str(v) for v in X],
        "y": y,
        "layers": [{"W": [[str(v) for v in row] for row in W1]}, {"W": [[str(v) for v in row] for row in W2]}],
    }


def _forward():
    """a^2 = softmax(a^1 W^2) with a^1 = x W^1 (rows: inputs x units), exactly."""
    a1 = [sum(X[i] * W1[i][j] for i in range(2)) for j in range(2)]
    n2 = [sum(a1[i] * W2[i][j] for i in range(2)) for j in range(2)]
    exps = [sp.exp(v) for v in n2]
    return n2, [e / sum(exps) for e in exps]


def _s2(d):
    return next(s for s in d.steps if s.name == "s^2")


def test_softmax_paired_with_cross_entropy_is_a_minus_y_on_the_logits():
    d = from_spec(_spec("cross_entropy", ["1", "0"]))
    step = _s2(d)
    assert str(step.formula) == "a^2 - y  (the loss paired with its activation, on the logits n)"
    _, a2 = _forward()
    expected = [a2[0] - 1, a2[1]]
    assert all(abs(sp.N(v - e, 40)) < 1e-35 for v, e in zip(step.values, expected, strict=True))


def test_softmax_targets_that_do_not_sum_to_one_scale_the_output():
    d = from_spec(_spec("cross_entropy", ["1", "1"]))
    step = _s2(d)
    assert str(step.formula).startswith("a^2 sum_j y_j - y")
    _, a2 = _forward()
    expected = [2 * a2[0] - 1, 2 * a2[1] - 1]
    assert all(abs(sp.N(v - e, 40)) < 1e-35 for v, e in zip(step.values, expected, strict=True))


def test_softmax_with_squared_error_goes_through_its_jacobian():
    d = from_spec(_spec("sse", ["1", "0"]))
    step = _s2(d)
    assert str(step.formula) == "(J_softmax(n^2))^T dL/da^2"
    assert step.formula.latex() == r"(J_{\operatorname{softmax}}(n^{2}))^{\top} \frac{\partial L}{\partial a^{2}}"
    _, a = _forward()
    g = [2 * (a[0] - 1), 2 * a[1]]  # dL/da of sum_j (y_j - a_j)^2
    jacobian = [[a[i] * ((1 if i == j else 0) - a[j]) for j in range(2)] for i in range(2)]  # da_i/dn_j
    expected = [sum(jacobian[i][j] * g[i] for i in range(2)) for j in range(2)]
    assert all(abs(sp.N(v - e, 40)) < 1e-35 for v, e in zip(step.values, expected, strict=True))


def test_an_elementwise_output_keeps_the_elementwise_product():
    spec = _spec("sse", ["1", "0"])
    spec["activations"] = ["identity", "sigmoid"]
    assert str(_s2(from_spec(spec)).formula) == "dL/da^2 * f'(n^2)"
    spec["loss"] = "binary_cross_entropy"
    assert str(_s2(from_spec(spec)).formula).startswith("a^2 - y  (the loss paired")
