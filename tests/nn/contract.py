"""The layer contract: what every layer of ``axon.nn`` must do, checked the same way for all.

Keras' ``run_layer_test`` idea, written for axon. ``check_layer`` builds a layer, runs it
and verifies, in order:

1. ``repr`` works and names the class;
2. ``train()`` / ``eval()`` set the mode flag of the layer and of every submodule;
3. the output shape (or the nested tuple of shapes) in training and in eval mode, and
   that a float32 input gives float32 outputs;
4. the number of parameters, all float32;
5. eval mode is deterministic (dropout off, statistics frozen);
6. one training step: a loss on the output, backward, SGD. Every parameter that requires
   grad gets a finite gradient of its own shape and dtype and is changed by the step; a
   floating input gets a finite gradient of its shape. The loss is the sum of squares of
   the output weighted elementwise by fixed random factors: a plain sum of squares has a
   zero gradient for batch norm's bias (sum(y) over a normalised batch is constant);
7. a state-dict round trip through ``axon.save`` / ``axon.load``: a fresh layer built
   with a different seed differs before loading (else the check proves nothing) and
   gives bit-identical eval outputs after ``load_state_dict``.

``check_layer_on_device`` runs the same layer on another device (the tests' "strict"
backend, whose arrays refuse NumPy): built on the CPU, moved with ``.to(device)``, its
forward, backward and one SGD step equal the CPU's, and its parameters stay on the device.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

import axon as ax
from axon import nn


def _tree(out):
    """The Tensors of a (possibly nested) tuple output, flattened, in order."""
    if isinstance(out, ax.Tensor):
        return [out]
    if isinstance(out, tuple | list):
        return [t for o in out for t in _tree(o)]
    raise AssertionError(f"layer returned {type(out).__name__}, expected Tensors")


def _shapes(out):
    """The shape of a Tensor, or the nested tuple of shapes of a tuple of outputs."""
    if isinstance(out, ax.Tensor):
        return tuple(out.shape)
    return tuple(_shapes(o) for o in out)


def _as_shape_tree(spec):
    """An expected shape spec with lists turned into tuples, to compare with ``_shapes``."""
    if isinstance(spec, tuple | list) and all(isinstance(s, int) for s in spec):
        return tuple(spec)
    return tuple(_as_shape_tree(s) for s in spec)


def _to_tensors(args):
    """Arrays (or nested tuples of them) as Tensors that need no gradient."""
    if isinstance(args, tuple | list):
        return tuple(_to_tensors(a) for a in args)
    return ax.tensor(args)


def _floats(out) -> list[ax.Tensor]:
    return [t for t in _tree(out) if t.dtype.kind == "f"]


def _arr(t: ax.Tensor) -> np.ndarray:
    """A copy of a Tensor's values (parameters that require grad included)."""
    return t.detach().numpy().copy()


def _state_arrays(layer: nn.Module) -> dict[str, np.ndarray]:
    return {k: _arr(v) for k, v in layer.state_dict().items()}


def check_layer(
    make_layer: Callable[[], nn.Module],
    input_shape: tuple[int, ...],
    expected_output_shape,
    expected_num_params: int,
    *,
    make_input: Callable[[np.random.Generator], np.ndarray] | None = None,
    make_extra_args: Callable[[np.random.Generator], tuple] | None = None,
    input_dtype=np.float32,
    input_requires_grad: bool = True,
    tmp_path: Path | None = None,
    seed: int = 0,
    lr: float = 0.1,
) -> None:
    """Check the layer contract for ``make_layer()`` (see the module docstring).

    Args:
        make_layer: builds the layer (called under two different seeds).
        input_shape: the shape of the random input (uniform in [-2, 2)).
        expected_output_shape: a shape, or a nested tuple of shapes for tuple outputs
            (``((L, N, H), ((1, N, H), (1, N, H)))`` for an LSTM).
        expected_num_params: the total number of parameter elements.
        make_input: builds the input array from a NumPy generator instead (integer
            indices for an embedding).
        make_extra_args: builds further positional arguments (arrays, or tuples of them)
            from the generator: a recurrent cell's initial state, without which the
            recurrent weights get no gradient in one step.
        input_dtype: dtype of the random input.
        input_requires_grad: whether a floating input asks for its gradient.
        tmp_path: where to write the safetensors file (a temporary directory if None).
        seed: ``axon.manual_seed`` for building the layer; the fresh one uses seed + 1.
        lr: the SGD learning rate of the training step.
    """
    rng = np.random.default_rng(seed)
    ax.manual_seed(seed)
    layer = make_layer()
    name = type(layer).__name__
    data = (
        make_input(rng)
        if make_input is not None
        else rng.uniform(-2.0, 2.0, input_shape).astype(input_dtype)
    )
    assert tuple(data.shape) == tuple(input_shape), f"{name}: make_input gave {data.shape}"
    is_float = data.dtype.kind == "f"
    extra = _to_tensors(make_extra_args(rng)) if make_extra_args is not None else ()

    # 1. repr
    text = repr(layer)
    assert isinstance(text, str) and name in text, f"{name}: repr {text!r}"

    # 2. mode flags reach every submodule
    assert layer.training, f"{name}: a new layer must be in training mode"
    assert layer.eval() is layer
    assert not any(m.training for m in layer.modules()), f"{name}: eval() did not propagate"
    assert layer.train() is layer
    assert all(m.training for m in layer.modules()), f"{name}: train() did not propagate"

    # 3. output shapes in both modes; float32 in, float32 out
    want = _as_shape_tree(expected_output_shape)
    for mode in ("train", "eval"):
        getattr(layer, mode)()
        with ax.no_grad():
            out = layer(ax.tensor(data), *extra)
        assert _shapes(out) == want, f"{name} ({mode}): output shape {_shapes(out)} != {want}"
        if data.dtype == np.float32 or not is_float:
            for t in _floats(out):
                assert t.dtype == np.float32, f"{name} ({mode}): output dtype {t.dtype}"
    assert _floats(out), f"{name}: no floating output to train on"

    # 4. parameters
    params = list(layer.parameters())
    n_params = sum(p.numel() for p in params)
    assert n_params == expected_num_params, (
        f"{name}: {n_params} parameters, expected {expected_num_params}"
    )
    assert layer.num_parameters() == expected_num_params
    for pname, p in layer.named_parameters():
        assert p.dtype == np.float32, f"{name}.{pname}: dtype {p.dtype}"

    # 5. eval is deterministic
    layer.eval()
    with ax.no_grad():
        first = [_arr(t) for t in _tree(layer(ax.tensor(data), *extra))]
        second = [_arr(t) for t in _tree(layer(ax.tensor(data), *extra))]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: eval output is not deterministic")

    # 6. one training step
    layer.train()
    x = ax.tensor(data, requires_grad=is_float and input_requires_grad)
    out = layer(x, *extra)
    weights = [ax.tensor(rng.uniform(0.5, 1.5, t.shape).astype(t.dtype)) for t in _floats(out)]
    loss = sum(((t * w) ** 2).sum() for t, w in zip(_floats(out), weights, strict=True))
    trainable = [(n, p) for n, p in layer.named_parameters() if p.requires_grad]
    before = {n: _arr(p) for n, p in trainable}
    layer.zero_grad()
    if loss.requires_grad:  # else nothing to differentiate (no parameters, input not asked)
        loss.backward()
    for pname, p in trainable:
        g = p.grad
        assert g is not None, f"{name}.{pname}: no gradient"
        assert g.shape == p.shape and g.dtype == p.dtype, (
            f"{name}.{pname}: gradient {g.shape} {g.dtype} for parameter {p.shape} {p.dtype}"
        )
        assert np.isfinite(_arr(g)).all(), f"{name}.{pname}: non-finite gradient"
    if x.requires_grad:
        assert x.grad is not None and x.grad.shape == x.shape, f"{name}: input gradient"
        assert np.isfinite(_arr(x.grad)).all(), f"{name}: non-finite input gradient"
    if trainable:
        ax.optim.SGD([p for _, p in trainable], lr=lr).step()
    for pname, p in trainable:
        assert not np.array_equal(_arr(p), before[pname]), (
            f"{name}.{pname}: one SGD step did not change it"
        )

    # 7. state-dict round trip through a safetensors file
    layer.eval()
    with ax.no_grad():
        ref = [_arr(t) for t in _tree(layer(ax.tensor(data), *extra))]
    state = _state_arrays(layer)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp_path if tmp_path is not None else tmp) / f"{name}.safetensors"
        ax.save(layer.state_dict(), path)
        loaded = ax.load(path)
    assert sorted(loaded) == sorted(state), f"{name}: saved keys {sorted(loaded)}"
    for k, v in state.items():
        assert loaded[k].dtype == v.dtype, f"{name}: {k} came back as {loaded[k].dtype}"
        np.testing.assert_array_equal(_arr(loaded[k]), v, err_msg=f"{name}: {k}")
    ax.manual_seed(seed + 1)
    fresh = make_layer()
    fresh.eval()
    fresh_state = _state_arrays(fresh)
    assert list(fresh_state) == list(state), f"{name}: state-dict keys depend on the seed"
    if state:
        assert any(not np.array_equal(fresh_state[k], v) for k, v in state.items()), (
            f"{name}: the fresh layer already equals the trained one; the round trip "
            f"would prove nothing"
        )
    fresh.load_state_dict(loaded)
    with ax.no_grad():
        got = [_arr(t) for t in _tree(fresh(ax.tensor(data), *extra))]
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: outputs differ after loading")


def _moved(args, dev):
    """Tensors (or nested tuples of them) moved to ``dev``."""
    if isinstance(args, tuple | list):
        return tuple(_moved(a, dev) for a in args)
    return args.to(dev)


def _host(t: ax.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def check_layer_on_device(
    make_layer: Callable[[], nn.Module],
    input_shape: tuple[int, ...],
    device: str,
    *,
    dtype=np.float64,
    make_input: Callable[[np.random.Generator], np.ndarray] | None = None,
    make_extra_args: Callable[[np.random.Generator], tuple] | None = None,
    input_requires_grad: bool = True,
    seed: int = 0,
    lr: float = 0.1,
) -> None:
    """The layer on ``device`` computes what it computes on the CPU (the keywords are
    :func:`check_layer`'s, ``input_dtype`` replaced by ``dtype``).

    Two copies of ``make_layer()`` under one seed, cast to ``dtype``; one moved with
    ``.to(device)``. Each runs the same input (moved to the device) in training mode under
    one seed (dropout draws the same mask), then the weighted sum of squares of
    :func:`check_layer` is differentiated and one SGD step taken. Outputs, the input's
    gradient, every parameter's gradient and the stepped parameters must agree (float64:
    to 1e-10 relative; float32: to 1e-5), and the parameters stay on ``device``.
    """
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(2):
        ax.manual_seed(seed)
        layers.append(make_layer().to(dtype))
    cpu_layer, dev_layer = layers
    dev_layer.to(device)
    name = type(cpu_layer).__name__
    data = (
        make_input(rng)
        if make_input is not None
        else rng.uniform(-2.0, 2.0, input_shape).astype(dtype)
    )
    is_float = data.dtype.kind == "f"
    if is_float:
        data = data.astype(dtype)
    extra = _to_tensors(make_extra_args(rng)) if make_extra_args is not None else ()
    extra = tuple(
        e.to(dtype) if isinstance(e, ax.Tensor) and e.dtype.kind == "f" else e for e in extra
    )
    tol = (
        dict(rtol=1e-10, atol=1e-12)
        if np.dtype(dtype) == np.float64
        else dict(rtol=1e-5, atol=1e-6)
    )

    results = []
    for layer, dev in ((cpu_layer, "cpu"), (dev_layer, device)):
        layer.train()
        x = ax.tensor(data, requires_grad=is_float and input_requires_grad)
        xd = x.to(dev) if dev != "cpu" else x
        ax.manual_seed(seed + 7)
        out = layer(xd, *_moved(extra, dev))
        floats = _floats(out)
        assert all(t.device.type == dev for t in floats), (
            f"{name}: an output left {dev}: {[str(t.device) for t in floats]}"
        )
        w_rng = np.random.default_rng(seed + 1)
        weights = [
            ax.tensor(w_rng.uniform(0.5, 1.5, t.shape).astype(t.dtype), device=dev) for t in floats
        ]
        loss = sum(((t * w) ** 2).sum() for t, w in zip(floats, weights, strict=True))
        trainable = [(n, p) for n, p in layer.named_parameters() if p.requires_grad]
        layer.zero_grad()
        if loss.requires_grad:
            loss.backward()
        grads = {n: None if p.grad is None else _host(p.grad) for n, p in trainable}
        if trainable:
            ax.optim.SGD([p for _, p in trainable], lr=lr).step()
        results.append(
            dict(
                out=[_host(t) for t in floats],
                x_grad=None if x.grad is None else _host(x.grad),
                grads=grads,
                params={n: _host(p) for n, p in layer.named_parameters()},
            )
        )
    for pname, p in dev_layer.named_parameters():
        assert p.device.type == device, f"{name}.{pname} left {device}: {p.device}"
    for bname, b in dev_layer.named_buffers():
        assert b.device.type == device, f"{name} buffer {bname} left {device}"
    cpu, dev = results
    for i, (a, b) in enumerate(zip(dev["out"], cpu["out"], strict=True)):
        np.testing.assert_allclose(a, b, **tol, err_msg=f"{name}: output {i} on {device}")
    if cpu["x_grad"] is not None or dev["x_grad"] is not None:
        assert dev["x_grad"] is not None, f"{name}: no input gradient on {device}"
        np.testing.assert_allclose(
            dev["x_grad"], cpu["x_grad"], **tol, err_msg=f"{name}: input gradient on {device}"
        )
    for pname, g in cpu["grads"].items():
        if g is None:
            assert dev["grads"][pname] is None, f"{name}.{pname}: a gradient on {device} only"
            continue
        assert dev["grads"][pname] is not None, f"{name}.{pname}: no gradient on {device}"
        np.testing.assert_allclose(
            dev["grads"][pname], g, **tol, err_msg=f"{name}.{pname}: gradient on {device}"
        )
    for pname, v in cpu["params"].items():
        np.testing.assert_allclose(
            dev["params"][pname], v, **tol, err_msg=f"{name}.{pname} after SGD on {device}"
        )


def on_input_device(module: nn.Module) -> Callable:
    """``module`` as the axon side of the parity harness (``helper_test_op``), which runs it
    on every device of ``AXON_PARITY_DEVICES``: each call first moves the module to its first
    input's device and clears its gradients, so after the harness they are the last
    device's alone. Call ``module.cpu()`` before reading its tensors on the host."""

    def run(*args, **kwargs):
        module.to(args[0].device).zero_grad()
        return module(*args, **kwargs)

    return run
