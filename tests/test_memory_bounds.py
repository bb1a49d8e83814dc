"""Issue 33, item 5 (bounds on what costs) and its lesser cases: one memory estimate
(funcmlp/memory.py) against the limits the process is under, read where the work is known; nonsense
counts and returns of the gradient checks; an estimator going on from a network or an optimizer it
was not fitted with. The cases that would crash the process (huge allocations) are the probe
suite's (tests/probe_memory.py); here the limits are made small, so that a refusal costs nothing."""

import json
import re
import subprocess
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import funcmlp
import funcmlp.core.model
import funcmlp.memory
from funcmlp import MLP, check_function, check_gradients, fit
from funcmlp.memory import JAX_GROWTH, cgroup_left, check_fits, gradient_check_bytes, training_bytes
from funcmlp.sklearn import MLPClassifier, MLPRegressor

GiB = 1 << 30
X = np.random.RandomState(0).randn(40, 3)
LABELS = (X[:, 0] > 0).astype(int)


@pytest.fixture
def one_megabyte(monkeypatch):
    """The process under a made-up limit: 1 MB left, as an address-space limit would say."""
    limits = {"the address-space limit (ulimit -v) leaves": 10**6}
    monkeypatch.setattr(funcmlp.memory, "memory_limits", lambda: limits)


# -- the estimates: what must exist at once ---------------------------------------------------------------------


def test_training_bytes_count_params_gradients_update_new_params_slots_the_trace_and_the_data():
    # a 2-1 network: 3 parameters; (4 + 2 slots) x 3, a batch of 4 x (2 inputs + 3 x 1), 10 rows x (2 + 1), float32
    assert training_bytes((2, 1), batch_size=4, examples=10, itemsize=4, optimizer_slots=2) == 4 * (18 + 20 + 30)


def test_gradient_check_bytes_count_six_float64_copies_of_the_params_and_the_batch_trace():
    # (3, 2, 1): 11 parameters; a batch of 4 x (3 + 2 + 1) entries, 4 arrays of them (inputs, n, a, sensitivities)
    assert gradient_check_bytes((3, 2, 1), 4) == 8 * (6 * 11 + 4 * 4 * 6)
    assert gradient_check_bytes((3, 2, 1), 4, copies=3) == 8 * (3 * 11 + 4 * 4 * 6)


def test_a_refusal_is_one_line_naming_what_the_bytes_the_limit_and_the_fix(one_megabyte):
    with pytest.raises(ValueError) as refused:
        check_fits(5 * 10**9, "a model of five gigabytes", "use a smaller one")
    assert str(refused.value) == (
        "a model of five gigabytes needs about 5.0 GB of memory, more than the 1.0 MB of memory the address-space "
        "limit (ulimit -v) leaves available; use a smaller one"
    )
    check_fits(10**5, "a model of 100 kilobytes", "nothing")  # within the limit: nothing said


# -- the limits the process is under -------------------------------------------------------------------------


def _write(folder, **files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name.replace("_", ".", 1)).write_text(content)


def test_a_cgroup_v2_limit_leaves_the_least_of_max_minus_current_over_the_group_and_its_parents(tmp_path):
    _write(tmp_path / "job" / "step", memory_max="3000000000\n", memory_current="1000000000\n")
    _write(tmp_path / "job", memory_max="2500000000\n", memory_current="1200000000\n")  # the parent: less left
    _write(tmp_path, memory_max="max\n", memory_current="5000000000\n")  # no limit at the top
    (tmp_path / "self").write_text("0::/job/step\n")
    assert cgroup_left(str(tmp_path), str(tmp_path / "self")) == 1_300_000_000


def test_a_cgroup_v1_limit_and_no_limit(tmp_path):
    unlimited = "9223372036854771712\n"  # what v1 writes for none
    _write(tmp_path / "memory" / "pod", memory_limit_in_bytes="4000000000\n", memory_usage_in_bytes="500000000\n")
    _write(tmp_path / "memory", memory_limit_in_bytes=unlimited, memory_usage_in_bytes="900000000\n")
    (tmp_path / "self").write_text("9:pids:/pod\n4:memory:/pod\n0::/\n")
    assert cgroup_left(str(tmp_path), str(tmp_path / "self")) == 3_500_000_000
    (tmp_path / "free").write_text("4:memory:/\n")
    assert cgroup_left(str(tmp_path), str(tmp_path / "free")) is None  # only "no limit" there
    assert cgroup_left(str(tmp_path), str(tmp_path / "absent")) is None


UNDER_A_LIMIT = """
import json, resource
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

def mapped():
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmSize:"))

import funcmlp.memory as memory
before = mapped()
limits = memory.memory_limits()
after = mapped()
try:
    memory.check_fits(3 << 30, "three gibibytes", "use less")
    refused = None
except ValueError as error:
    refused = str(error)
print(json.dumps({"limits": limits, "before": before, "after": after, "refused": refused}))
"""


def test_under_an_address_space_limit_what_is_left_is_the_limit_less_what_the_started_jax_maps():
    """RLIMIT_AS set in a child: the limit less VmSize once JAX's backend has started (which
    memory_limits starts first) and less JAX_GROWTH; 3 GiB, within the machine's memory, is refused."""
    found = json.loads(
        subprocess.run([sys.executable, "-c", UNDER_A_LIMIT], capture_output=True, text=True, check=True).stdout
    )
    left = found["limits"]["the address-space limit (ulimit -v) leaves"]
    assert 4 * GiB - found["after"] - JAX_GROWTH <= left <= 4 * GiB - found["before"] - JAX_GROWTH
    assert found["after"] > found["before"]  # the backend started inside, and what it maps was counted
    assert found["refused"].startswith("three gibibytes needs about 3.2 GB of memory, more than the ")
    assert found["refused"].endswith("of memory the address-space limit (ulimit -v) leaves available; use less")


# -- the library refuses before allocating ------------------------------------------------------------------


def test_mlp_init_refuses_before_drawing(one_megabyte, monkeypatch):
    monkeypatch.setattr(funcmlp.core.model, "draw_entries", lambda *a: pytest.fail("drawn before the size was checked"))
    with pytest.raises(ValueError) as refused:
        MLP((4, 10000, 3), "tanh", output="tanh").init(jax.random.key(0), dtype="float64")
    # 4 x 10000 + 10000 + 10000 x 3 + 3 = 80,003 parameters and the draws of the 70,000 weights, float64: 1,200,024 bytes
    assert str(refused.value) == (
        "MLP.init of MLP 4 -> 10000(tanh) -> 3(tanh) (80,003 parameters, float64) needs about 1.2 MB of memory, more "
        "than the 1.0 MB of memory the address-space limit (ulimit -v) leaves available; use fewer or narrower "
        "layers, or float32 (dtype='float32')"
    )


def test_fit_refuses_before_it_trains(monkeypatch):
    mlp = MLP((3, 200, 1), "tanh", output="tanh")
    params = mlp.init(jax.random.key(0))
    monkeypatch.setattr(funcmlp.memory, "memory_limits", lambda: {"the machine has": 10**4})
    with pytest.raises(
        ValueError, match=r"^fit of MLP 3 -> 200\(tanh\) -> 1\(tanh\) \(1,001 parameters, 40 examples, batc"
    ):
        fit(
            mlp,
            params,
            (X, X[:, 0]),
            loss="sse",
            optimizer=optax.adam(1e-3),
            batch_size=8,
            epochs=1,
            key=jax.random.key(1),
        )


def test_the_gradient_checks_refuse_before_casting(monkeypatch):
    mlp = MLP((3, 20000, 2), "tanh", output="tanh")
    params = mlp.init(jax.random.key(0), dtype="float32")
    monkeypatch.setattr(funcmlp.memory, "memory_limits", lambda: {"the machine has": 10**6})
    # 120,002 parameters: 6 float64 copies, and a batch of 8's trace (4 arrays of 20,005 entries a row): 10.9 MB
    with pytest.raises(
        ValueError,
        match=r"^the gradient check of MLP 3 -> 20000\(tanh\) -> 2\(tanh\) \(120,002 parameters, "
        r"a batch of 8, float64\) needs about 10.9 MB",
    ):
        check_gradients(mlp, params, np.zeros((8, 3)), np.zeros((8, 2)), "sse")
    with pytest.raises(ValueError, match=r"^the gradient check of .* needs about 3.5 MB"):  # 3 copies, a batch of 1
        funcmlp.finite_difference_grad(mlp, params, np.zeros((1, 3)), np.zeros((1, 2)), "sse")
    # 200,000 entries: the arguments on the device, jax.grad's gradient, two moved copies: 6.4 MB
    with pytest.raises(ValueError, match=r"^check_function on 200,000 floating-point entries .* needs about 6.4 MB"):
        check_function(lambda v: jnp.sum(v**2), np.zeros(200_000))


def test_an_estimator_refuses_at_fit(one_megabyte):
    with pytest.raises(ValueError, match=r"^MLPClassifier.fit of layer sizes \(3, 5000, 1\) \(25,001 parameters, "):
        MLPClassifier(hidden_layer_sizes=(5000,)).fit(X, LABELS)
    with pytest.raises(ValueError, match=r"solver='lbfgs', the 40 rows at once"):
        MLPRegressor(hidden_layer_sizes=(5000,), solver="lbfgs").fit(X, X[:, 0])


# -- a large argument of check_function: only the directions checked are drawn --------------------------------


def test_check_function_draws_one_direction_at_a_time():
    """A leaf beyond max_entries: each of the 8 directions drawn in the compiled loop (no directions x
    entries matrix), the differences along it against u . g."""
    report = check_function(lambda v: jnp.sum(jnp.sin(v)), jnp.linspace(-1.0, 1.0, 20_000))
    assert report.passed and report.rows[0].reference == "random directions" and report.rows[0].compared == 8


# -- nonsense counts and returns of the gradient checks -------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        (-1, ValueError, "max_fd_entries must be at least 1 (entries to difference; None for all, or finite_diff"),
        (0, ValueError, "max_fd_entries must be at least 1"),
        (2.5, TypeError, "max_fd_entries must be a whole number (entries to difference; None for all, or finite_"),
        (True, TypeError, "max_fd_entries must be a whole number"),
    ],
)
def test_check_gradients_refuses_a_count_of_entries_that_is_not_one(given, error, message):
    mlp = MLP((2, 1), "identity")
    with pytest.raises(error, match="^" + re.escape(message)):
        check_gradients(mlp, mlp.init(jax.random.key(0)), np.ones((2, 2)), np.ones((2, 1)), max_fd_entries=given)


def test_the_checks_refuse_tolerances_that_are_not_positive_numbers():
    mlp = MLP((2, 1), "identity")
    params = mlp.init(jax.random.key(0))
    with pytest.raises(ValueError, match=r"^rtol_fd must be a finite number above 0, got nan; e.g. 1e-10 against jax"):
        check_gradients(mlp, params, np.ones((2, 2)), np.ones((2, 1)), rtol_fd=float("nan"))
    with pytest.raises(ValueError, match=r"^rtol_grad must be a finite number above 0, got -1"):
        check_function(lambda v: jnp.sum(v**2), jnp.ones(3), rtol_grad=-1)


def test_check_function_of_a_function_returning_text_names_what_it_returned():
    with pytest.raises(ValueError) as refused:
        check_function(lambda v: "a loss", jnp.ones(3))
    assert str(refused.value) == (
        "check_function: f must return a real scalar (a loss), got str 'a loss'; sum or average what it returns"
    )


def test_check_function_refuses_a_grad_of_the_wrong_shape_or_of_text():
    def f(W, x):
        return jnp.sum((x @ W) ** 2)

    W, x = jnp.ones((3, 2)), jnp.ones((1, 3))
    with pytest.raises(ValueError) as refused:
        check_function(f, W, x, grad=lambda W, x: (jnp.ones(2), 2 * (x @ W) @ W.T))
    assert str(refused.value) == (
        "check_function: grad(*args) gives args[0] a gradient of float64 of shape (2,), expected real numbers of "
        "shape (3, 2), the shape of args[0]; return each argument's gradient in its argument's shape"
    )
    with pytest.raises(ValueError, match=r"gives args\[1\] a gradient of str 'dx', expected real numbers"):
        check_function(f, W, x, grad=lambda W, x: (2 * x.T @ (x @ W), "dx"))


# -- an estimator going on from what it was not fitted with -----------------------------------------------------


def _fitted(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached
        return model.fit(X, LABELS)


def test_a_warm_start_after_hidden_layer_sizes_changed_is_refused_naming_both():
    model = _fitted(MLPClassifier((4,), max_iter=2, warm_start=True, random_state=0))
    with pytest.raises(ValueError) as refused:
        model.set_params(hidden_layer_sizes=(5, 2)).fit(X, LABELS)
    assert str(refused.value) == (
        "warm_start=True goes on from the fitted weights of hidden_layer_sizes=(4,), but hidden_layer_sizes is now "
        "(5, 2); set it back to (4,), or start anew: fit with warm_start=False"
    )
    assert [w.shape for w in model.coefs_] == [(3, 4), (4, 1)]  # the fitted model as it was


def test_a_warm_start_after_solver_changed_goes_on_from_the_weights_as_scikit_learn_does():
    model = _fitted(MLPClassifier((4,), max_iter=2, warm_start=True, random_state=0))
    before = [w.copy() for w in model.coefs_]
    _fitted(model.set_params(solver="sgd", learning_rate_init=1e-12, momentum=0.0, max_iter=1))
    for old, new in zip(before, model.coefs_, strict=True):
        np.testing.assert_allclose(new, old, rtol=0, atol=1e-9)  # one step of 1e-12 from the kept weights


def test_partial_fit_after_hidden_layer_sizes_or_the_optimizer_changed_is_refused():
    model = MLPClassifier((4,), random_state=0).partial_fit(X, LABELS, classes=[0, 1])
    with pytest.raises(
        ValueError, match=r"^partial_fit goes on from the fitted weights of hidden_layer_sizes=\(4,\), but"
    ):
        model.set_params(hidden_layer_sizes=(6,)).partial_fit(X, LABELS)
    with pytest.raises(ValueError) as refused:
        model.set_params(hidden_layer_sizes=(4,), solver="sgd").partial_fit(X, LABELS)
    assert str(refused.value) == (
        "partial_fit goes on with the optimizer state the earlier calls made with solver='adam', but the estimator now "
        "has solver='sgd'; set it back, or fit anew (fit, or partial_fit on a clone)"
    )
    sgd = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", momentum=0.9, random_state=0).partial_fit(X, X[:, 0])
    with pytest.raises(
        ValueError, match=r"made with momentum=0.9, but the estimator now has momentum=0.0; set it back"
    ):
        sgd.set_params(momentum=0.0).partial_fit(X, X[:, 0])
    sgd.set_params(momentum=0.5).partial_fit(X, X[:, 0])  # another rate or momentum lives in the state: it goes on
    assert sgd.n_iter_ == 1


def test_partial_fit_after_an_lbfgs_warm_start_starts_a_new_optimizer_state():
    model = MLPRegressor(hidden_layer_sizes=(4,), solver="adam", random_state=0, warm_start=True).partial_fit(
        X, X[:, 0]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.set_params(solver="lbfgs", max_iter=2).fit(X, X[:, 0])
    model.set_params(solver="sgd").partial_fit(X, X[:, 0])  # not adam's state from before the lbfgs fit
    assert model.n_iter_ == 1
