"""Data parallelism over a device mesh: each batch split over the mesh's ``"data"`` axis,
params and optimizer state replicated, the gradient still the manual sensitivity recursion.

Each device runs the backprop on its shard of the batch inside ``jax.shard_map`` and the
shards' gradients are summed with ``jax.lax.psum``. The global-batch semantics of one device
are kept exactly: with ``reduction="mean"`` each shard weights its examples by
``w_i / W`` with ``W`` the sum of the weights over the whole global batch, so the sum over
the shards is the mean over the global batch's real examples (padding weighs 0):

    dL/dW = sum_shards sum_{i in shard} (w_i / W) dl_i/dW

A batch whose size does not divide over the devices is padded with weight-0 examples; the
training set is padded with rows that are never drawn. Dropout's masks are drawn once for the
whole batch and split with it, so the steps are those of one device (its params, to rounding:
the sums over the shards add in another order), whatever the number of devices. Works the same
across processes (``jax.distributed``): every process holds the rows of its own devices.

Example:
    >>> import jax
    >>> mesh = data_mesh(1)
    >>> mesh.shape[DATA_AXIS], padded_size(10, 4)
    (1, 12)
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from funcmlp.core.reduction import weight_divisor

DATA_AXIS = "data"


def data_mesh(devices: int | str | None = None) -> Mesh:
    """A one-axis mesh named ``"data"`` over the first ``devices`` of ``jax.devices()`` (every
    device of every process for ``"all"`` or None).

    Example:
        >>> data_mesh("all").axis_names
        ('data',)
    """
    available = jax.devices()
    if devices is None or devices == "all":
        chosen = available
    else:
        count = int(devices)
        if not 1 <= count <= len(available):
            hint = (
                "; on CPU, JAX_NUM_CPU_DEVICES=N set before JAX starts gives N devices"
                if available[0].platform == "cpu"
                else ""
            )
            raise ValueError(
                f"{count} devices asked for, {len(available)} available ({available[0].platform}); "
                f"ask for 1 to {len(available)} or 'all'{hint}"
            )
        if jax.process_count() > 1 and count != len(available):
            raise ValueError(
                f"with {jax.process_count()} processes the mesh spans every device; use 'all', not {count}"
            )
        chosen = available[:count]
    return Mesh(np.array(chosen), (DATA_AXIS,))


def resolve_mesh(mesh) -> Mesh | None:
    """``None`` (one device), ``"auto"`` (every device: :func:`data_mesh`) or a ``Mesh`` with a
    ``"data"`` axis, checked; axes of any type (``jax.make_mesh`` makes Explicit ones) are taken as Auto.

    Example:
        >>> resolve_mesh(jax.make_mesh((1,), ("data",))).axis_types
        (Auto,)
    """
    if mesh is None:
        return None
    if isinstance(mesh, str):
        if mesh != "auto":
            raise ValueError(
                f"mesh must be None, 'auto' or a jax.sharding.Mesh with a {DATA_AXIS!r} axis, got {mesh!r}"
            )
        return data_mesh()
    if not isinstance(mesh, Mesh) or DATA_AXIS not in mesh.axis_names:
        names = getattr(mesh, "axis_names", None)
        raise ValueError(
            f"mesh needs an axis named {DATA_AXIS!r} to split the batch over, "
            f"got {type(mesh).__name__} with axes {names}; "
            f"e.g. jax.make_mesh((jax.device_count(),), ({DATA_AXIS!r},)) or mesh='auto'"
        )
    auto = (AxisType.Auto,) * len(mesh.axis_names)
    if tuple(mesh.axis_types) != auto:
        # funcmlp places the data (split by rows) and the params (replicated) itself and splits each batch in
        # shard_map: the axis types (jax.make_mesh's are Explicit) only change how XLA propagates shardings
        mesh = Mesh(mesh.devices, mesh.axis_names, axis_types=auto)
    return mesh


def shards(mesh: Mesh) -> int:
    """Devices along the data axis."""
    return mesh.shape[DATA_AXIS]


def padded_size(size: int, devices: int) -> int:
    """The smallest multiple of ``devices`` that is at least ``size``."""
    return math.ceil(size / devices) * devices


def pad_batches(indices: jax.Array, weights: jax.Array, devices: int) -> tuple[jax.Array, jax.Array]:
    """Batches ``(steps, B)`` padded to ``(steps, B')``, ``B'`` a multiple of ``devices``, with
    index 0 at weight 0."""
    extra = padded_size(indices.shape[1], devices) - indices.shape[1]
    if extra == 0:
        return indices, weights
    return jnp.pad(indices, ((0, 0), (0, extra))), jnp.pad(weights, ((0, 0), (0, extra)))


def shard_rows(array, mesh: Mesh) -> jax.Array:
    """``array`` ``(N, ...)`` as one global array split by rows over the data axis (rows padded
    with zeros to a multiple of the devices); each process supplies the rows of its own
    devices (``jax.make_array_from_process_local_data``).

    Example:
        >>> shard_rows(np.arange(6.0).reshape(3, 2), data_mesh(1)).shape
        (3, 2)
    """
    array = np.asarray(array)
    rows = padded_size(array.shape[0], shards(mesh))
    if rows != array.shape[0]:
        array = np.concatenate([array, np.zeros((rows - array.shape[0], *array.shape[1:]), array.dtype)])
    sharding = NamedSharding(mesh, PartitionSpec(DATA_AXIS))
    slices = [index[0] for index in sharding.addressable_devices_indices_map(array.shape).values()]
    start, stop = min(s.start or 0 for s in slices), max(rows if s.stop is None else s.stop for s in slices)
    if len({(s.start, s.stop) for s in slices}) * (rows // shards(mesh)) != stop - start:
        raise ValueError(
            "this process's devices are not next to each other along the mesh's data axis, so its rows of the data "
            "are not one block; order the mesh's devices by process (jax.devices() is) or use mesh='auto'"
        )
    return jax.make_array_from_process_local_data(sharding, array[start:stop], array.shape)


def replicate(tree, mesh: Mesh):
    """Every array of ``tree`` (params, optimizer state, typed keys) copied to every device of
    the mesh, of every process."""
    everywhere = NamedSharding(mesh, PartitionSpec())

    def put(leaf):
        if isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            # typed keys cannot be put on other processes' devices; their raw data can
            return jax.random.wrap_key_data(
                jax.device_put(jax.random.key_data(leaf), everywhere), impl=jax.random.key_impl(leaf)
            )
        return jax.device_put(leaf, everywhere)

    return jax.tree_util.tree_map(put, tree)


def sharded_gradient_fn(local_value_and_grad, mesh: Mesh, reduction: str, *, sums: int = 0, dropout_masks=None):
    """The batch's ``(loss, grads, outputs)`` from ``local_value_and_grad`` (a function of
    :func:`funcmlp.core.backward.gradient_fn`'s signature built with ``reduction="sum"``) run
    on each device's shard of the batch and summed over the data axis.

    ``reduction="mean"``: each example weighs ``w_i / W`` (``W`` over the global batch), so the
    sums are the global batch's mean. Dropout: ``dropout_masks(key, dtype)`` (e.g.
    ``lambda key, dtype: mlp.dropout_masks(key, B, dtype)`` for batches of ``B`` real rows) draws the masks once
    for the whole batch, outside the shards (under the epoch's ``jit``, JAX's partitionable threefry lets each
    device draw its own rows), padded with zero rows to the padded batch and split with it: every example gets
    the mask it gets on one device, so the params are those of one device whatever the number of devices and
    processes. ``sums``: the number of further outputs ``local_value_and_grad`` returns after ``outputs`` (e.g.
    DP-SGD's count of clipped examples), each summed over the shards too.

    Example (two rows, one device: the mean's gradient, as without a mesh):
        >>> import jax, jax.numpy as jnp
        >>> from funcmlp.core.backward import gradient_fn
        >>> from funcmlp.core.model import MLP
        >>> from funcmlp.registry.losses import get_loss
        >>> mlp = MLP((2, 3, 1), "tanh", dropout=0.5)
        >>> params, sse = mlp.init(jax.random.key(0)), get_loss("sse")
        >>> draw = lambda key, dtype: mlp.dropout_masks(key, 2, dtype)
        >>> step = sharded_gradient_fn(gradient_fn(mlp, sse, "sum"), data_mesh(1), "mean", dropout_masks=draw)
        >>> x, y, w, key = jnp.ones((2, 2)), jnp.zeros((2, 1)), jnp.ones(2), jax.random.key(1)
        >>> value, grads, _ = step(params, x, y, w, key)
        >>> same = gradient_fn(mlp, sse, "mean")(params, x, y, w, key)
        >>> bool(jnp.allclose(value, same[0])), bool(jnp.allclose(grads[0].W, same[1][0].W))
        (True, True)
    """

    def per_shard(params, x, y, weights, masks):
        if reduction == "mean":
            weights = weights / weight_divisor(jax.lax.psum(jnp.sum(weights), DATA_AXIS))
        value, grads, outputs, *more = local_value_and_grad(params, x, y, weights, None, masks=masks)
        summed = (jax.lax.psum(m, DATA_AXIS) for m in more)
        return jax.lax.psum(value, DATA_AXIS), jax.lax.psum(grads, DATA_AXIS), outputs, *summed

    batch, whole = PartitionSpec(DATA_AXIS), PartitionSpec()
    # check_vma=False: the psum above is the only sum over the shards (with the check on,
    # jax.grad inside would already sum the gradient of the replicated params).
    mapped = jax.shard_map(
        per_shard,
        mesh=mesh,
        in_specs=(whole, batch, batch, batch, batch),
        out_specs=(whole, whole, batch, *[whole] * sums),
        check_vma=False,
    )

    def sharded(params, x, y, weights, key):
        masks = None
        if key is not None:  # the batch's real rows' masks, then the padding columns' (weight 0: any will do)
            drawn = dropout_masks(key, params[0].W.dtype)
            masks = tuple(None if m is None else jnp.pad(m, ((0, x.shape[0] - m.shape[0]), (0, 0))) for m in drawn)
        return mapped(params, x, y, weights, masks)

    return sharded
