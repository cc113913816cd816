"""``gradcheck``: compare backward against central finite differences in float64.

The inputs and ``fn`` run on their device; the Jacobians are host NumPy arrays, read from
the device with its backend's ``to_host`` and seeded back with ``from_host``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .. import backend as B
from ..backend import host
from .grad_mode import no_grad
from .tensor import Tensor, _wrap


def _host(array) -> host.ndarray:
    """``array`` in host memory (the CPU's arrays as they are)."""
    return B.of(array).to_host(array)


@dataclass
class GradcheckReport:
    """What :func:`gradcheck` found: ``ok``, and per input the worst disagreement."""

    ok: bool
    lines: list[str] = field(default_factory=list)
    worst: list[tuple[int, float, float]] = field(default_factory=list)  # (input, abs, rel)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = "gradcheck passed" if self.ok else "gradcheck FAILED"
        return "\n".join([head, *self.lines])


def _as_tuple(x):
    return tuple(x) if isinstance(x, tuple | list) else (x,)


def gradcheck(
    fn: Callable,
    inputs: Tensor | Sequence,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> GradcheckReport:
    """Check the analytical gradient of ``fn`` against central differences.

    Every floating input that requires grad is checked in float64: for each element
    ``x_i``, the numerical Jacobian column ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``
    is compared with the one backward gives. An element fails when
    ``|analytic - numeric| > atol + rtol * |numeric|``; NaN always fails.

    Returns a :class:`GradcheckReport` (truthy when it passes) naming, per input, the worst
    absolute and relative error. Raises ``AssertionError`` with that report when it fails
    and ``raise_exception`` is true.
    """
    inputs = _as_tuple(inputs)
    xs = []
    for a in inputs:
        if isinstance(a, Tensor) and a.requires_grad:
            xs.append(_wrap(a.array.astype(host.float64), True, None))
        elif isinstance(a, Tensor) and a.dtype.kind == "f":
            xs.append(_wrap(a.array.astype(host.float64), False, None))
        else:
            xs.append(a)
    checked = [i for i, a in enumerate(xs) if isinstance(a, Tensor) and a.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")

    outputs = _as_tuple(fn(*xs))
    # the outputs that carry a gradient, by position (integer outputs such as indices don't)
    picked = [k for k, o in enumerate(outputs) if isinstance(o, Tensor) and o.requires_grad]
    if not picked:
        raise ValueError("gradcheck: the function's outputs do not depend on the inputs")
    outs = [outputs[k] for k in picked]
    n_out = sum(o.array.size for o in outs)

    def flat_outputs():
        """The picked outputs of ``fn`` at the current inputs, raveled and joined."""
        again = _as_tuple(fn(*xs))
        return host.concatenate([host.ravel(_host(again[k].array)) for k in picked])

    # analytic Jacobian, one output element (row) at a time
    analytic = {i: host.zeros((n_out, xs[i].array.size)) for i in checked}
    row = 0
    for o in outs:
        for j in range(o.array.size):
            for i in checked:
                xs[i].grad = None
            seed = host.zeros(o.array.shape)
            seed.flat[j] = 1.0
            o.backward(B.of(o.array).from_host(seed), retain_graph=True)
            for i in checked:
                g = xs[i].grad
                if g is not None:
                    analytic[i][row] = _host(g.array).ravel()
            row += 1

    # numerical Jacobian by central differences
    report = GradcheckReport(ok=True)
    with no_grad():
        for i in checked:
            x = xs[i].array
            numeric = host.zeros_like(analytic[i])
            flat = x.reshape(-1)
            for col in range(flat.size):
                old = flat[col]
                flat[col] = old + eps
                plus = flat_outputs()
                flat[col] = old - eps
                minus = flat_outputs()
                flat[col] = old
                numeric[:, col] = (plus - minus) / (2 * eps)
            a = analytic[i]
            err = host.abs(a - numeric)
            bad = ~(err <= atol + rtol * host.abs(numeric))  # NaN counts as bad
            rel = err / host.maximum(host.abs(numeric), 1e-12)
            worst_abs = float(host.nanmax(err)) if err.size else 0.0
            worst_rel = float(host.nanmax(host.where(err > atol, rel, 0))) if err.size else 0.0
            report.worst.append((i, worst_abs, worst_rel))
            if bad.any() or host.isnan(a).any():
                report.ok = False
                r, c = host.argwhere(bad | host.isnan(a))[0]
                report.lines.append(
                    f"input {i} (shape {x.shape}): analytic and numerical gradients differ; "
                    f"worst abs error {worst_abs:.3g}, worst rel error {worst_rel:.3g}; first "
                    f"bad entry: output {r}, element {c}: analytic {a[r, c]:.6g}, "
                    f"numerical {numeric[r, c]:.6g}"
                )
            else:
                report.lines.append(
                    f"input {i} (shape {x.shape}): ok, worst abs error {worst_abs:.3g}, "
                    f"worst rel error {worst_rel:.3g}"
                )
    if not report.ok and raise_exception:
        raise AssertionError(str(report))
    return report


def gradgradcheck(
    func: Callable,
    inputs: Tensor | Sequence,
    grad_outputs: Tensor | Sequence | None = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
    **_torch_only,
) -> GradcheckReport:
    """Check second derivatives, as ``torch.autograd.gradgradcheck``: :func:`gradcheck`
    of the vector-Jacobian product ``grad(func(inputs), inputs, grad_outputs,
    create_graph=True)`` with respect to the inputs and the ``grad_outputs`` (random
    float64 ones from ``seed`` unless given). torch's other switches are accepted and
    ignored."""
    from .function import grad
    from .grad_mode import enable_grad

    inputs = _as_tuple(inputs)
    n = len(inputs)
    outputs = [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor) and o.requires_grad]
    if grad_outputs is None:
        rng = host.random.default_rng(seed)
        grad_outputs = [_wrap(rng.standard_normal(o.shape), True, None) for o in outputs]
    grad_outputs = _as_tuple(grad_outputs)

    def vjp(*args):
        xs, gos = args[:n], args[n:]
        with enable_grad():  # gradcheck's finite differences run without a graph
            outs = [o for o in _as_tuple(func(*xs)) if isinstance(o, Tensor) and o.requires_grad]
            wrt = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
            grads = grad(outs, wrt, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None and g.requires_grad)

    return gradcheck(vjp, (*inputs, *grad_outputs), eps, atol, rtol, raise_exception)
