"""The NaN/Inf guard of the training loops: it stops a step that went non-finite, names the
first bad tensor, and puts the model back to its last finite state.

One guard watches one model through a training loop::

    guard = FiniteGuard(model)
    for step, (x, y) in enumerate(loader):
        guard.remember()                      # before the forward
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        lv = float(loss.item())
        problem = guard.check(lv, epoch, step)  # after backward, before the step
        if problem is None:
            optimizer.step()
            problem = guard.check_params(epoch, step)
        if problem is not None:
            guard.restore()                   # the state before this step, all finite
            break
        guard.watch_loss(lv, epoch, step)     # warns once if the loss diverges

:meth:`FiniteGuard.step` is the part after ``backward`` in one call (``fit`` and
``fit_stream`` use it): ``problem = guard.step(lv, epoch, step, optimizer.step)``.

What is checked, in one reduction per array on the fast path (the sum of squares, a BLAS
dot: NaN or Inf anywhere makes it non-finite, and the squares cannot cancel): the loss,
every gradient, every floating-point buffer (BatchNorm's running statistics are updated
by the forward and are the first to go), and after the step the parameters it changed.
Only when a sum is not finite are the arrays searched one by one, in a fixed order that
follows cause and effect in a step: parameters, buffers, the loss, gradients, each in the
model's ``named_parameters`` / ``named_buffers`` order; the first non-finite one is named
with what it holds ("the buffer 'bn1.running_var' contains NaN (3 of 16 values)").

What "the last finite state" is, precisely: the parameters and buffers as they were when
``remember()`` was called at the start of the failing step. It is exact (bit for bit) and
costs one copy of the buffers per step plus one copy of the parameters the step changes:

- the forward changes buffers (running statistics, ``num_batches_tracked``): ``remember()``
  copies every buffer into arrays allocated once;
- forward and backward never change parameters, so when ``check`` fails the live
  parameters *are* the step's starting point and stay as they are;
- only ``optimizer.step()`` changes parameters, and only those with a gradient: ``check``
  copies exactly those, once it has found the gradients finite (a step will follow), and
  ``check_params`` verifies them after the step. A step from finite parameters and
  gradients turns non-finite only by overflow (a huge learning rate); then ``restore``
  copies the starting values back. (axon's optimizers update the parameter arrays in
  place, so no older array can be kept by reference: the copy is the cheapest exact
  undo. The parameters' sum of squares is taken once per step, after the step: before
  the next step it is trusted, see below.)

The guard trusts that between ``check_params`` and the next ``check`` only the optimizer
changed the parameters; parameters made non-finite by other code (a callback writing into
them) are still found, by ``check_params`` after the next step, but the copy it restores
then is not finite either, and the message says so. Without ``check_params`` calls,
``check`` verifies every parameter itself on each step. ``restore`` also drops the
gradients of the failed step (sets them to None, as ``zero_grad`` does) so no non-finite
value is left in the model. The optimizer's own state is not the guard's: after a
``check`` failure the step never ran; after a ``check_params`` failure the optimizer's
moments have advanced with the failed step, and training is expected to stop.

Cost (``benchmarks/bench_guard.py`` measures it): three passes over the parameters a step,
where an Adam step makes about a dozen, so a few percent of a small MLP's step and well
under one percent of a convolutional or recurrent model's, whose forward and backward
dominate.

The guard watches the parameters and buffers the model holds when the guard is made (as
``fit`` lists them once); a lazy layer materialised later is fine (same tensors, new
shapes: the copies are reallocated).
"""

from __future__ import annotations

import math
import warnings

from ..autograd import Tensor
from ..autograd.tensor import _host
from ..backend import namespace
from ..backend.numpy import cpu as _cpu

__all__ = ["FiniteGuard"]


# ----------------------------------------------------------------------------- one array
# the CPU's fast paths, bound once; another backend's arrays go through their namespace
_cpu_xp = _cpu.xp
_ndarray, _vdot, _copyto = _cpu.array_type, _cpu_xp.vdot, _cpu_xp.copyto


def _sum_of_squares(a) -> float:
    """``sum(a ** 2)`` for a float32/float64 array by one BLAS dot, else 0.0 or inf from a
    direct test; non-finite exactly when some value of ``a`` is NaN or Inf, or when the
    sum overflows (values near 1e19 in float32: the caller then searches the arrays)."""
    xp = _cpu_xp if type(a) is _ndarray else namespace(a)
    if a.dtype.char in "fd":
        return float(xp.vdot(a, a))  # flattens without a copy when contiguous
    return 0.0 if _finite(a) else math.inf


def _finite(a) -> bool:
    """Whether every value of ``a`` is finite (the slow, exact test)."""
    return bool(namespace(a).isfinite(a).all())


def _what(a) -> str:
    """What a non-finite array holds: ``contains NaN (3 of 16 values)``."""
    host = _host(a)
    xp = namespace(host)
    n_nan, n_inf = int(xp.isnan(host).sum()), int(xp.isinf(host).sum())
    if n_nan and n_inf:
        return f"contains NaN and Inf ({n_nan} NaN and {n_inf} Inf of {host.size} values)"
    kind, n = ("NaN", n_nan) if n_nan else ("Inf", n_inf)
    return f"contains {kind} ({n} of {host.size} values)"


def _is_float(a) -> bool:
    return a.dtype.kind in "fc"


def _copy_into(saved: list, i: int, src) -> None:
    """``saved[i] <- src``, in the array kept there when it has the same shape and dtype
    (allocated once, then reused every step)."""
    dst = saved[i]
    if dst is None or dst.shape != src.shape or dst.dtype != src.dtype:
        saved[i] = src.copy()
    elif type(dst) is _ndarray:
        _copyto(dst, src)
    else:
        dst[...] = src


def _put_back(t: Tensor, saved) -> None:
    """Write ``saved`` into the tensor's array in place (so views of it, an optimizer's
    references, stay valid); a tensor whose array was replaced by another shape gets a
    copy instead."""
    a = t.array
    if a.shape == saved.shape and a.dtype == saved.dtype:
        if type(a) is _ndarray:
            _copyto(a, saved)
        else:
            a[...] = saved
    else:
        t.array = saved.copy()


# ----------------------------------------------------------------------------- the guard
class FiniteGuard:
    """Checks a training step for NaN/Inf in the loss, gradients, buffers and parameters,
    names the first bad tensor, and restores the model's last finite state.

    Args:
        model: a Module (anything with ``named_parameters``; ``named_buffers`` if it has
            buffers).
        divergence_factor, divergence_floor: :meth:`watch_loss` warns when a finite loss
            exceeds both ``divergence_factor`` times the lowest loss seen and
            ``divergence_floor``.

    Epochs and steps are passed 0-based, as the loops count them; messages show them
    1-based. See the module docstring for what "last finite state" means exactly.
    """

    def __init__(
        self, model, *, divergence_factor: float = 1e4, divergence_floor: float = 1e4
    ) -> None:
        self.model = model
        self.params: list[tuple[str, Tensor]] = list(model.named_parameters())
        named_buffers = getattr(model, "named_buffers", None)
        self.buffers: list[tuple[str, Tensor]] = (
            [(n, b) for n, b in named_buffers() if b is not None] if named_buffers else []
        )
        self._param_tensors = [p for _, p in self.params]
        self._buffer_tensors = [b for _, b in self.buffers]
        self._saved_params: list = [None] * len(self.params)
        self._saved_buffers: list = [None] * len(self.buffers)
        self._stepped: list[int] = []  # the parameters check() copied: the step may change them
        self._pending = False  # a step may have changed them since: restore() copies back
        self._params_ok = False  # verified finite and, we trust, unchanged since
        self._remembered = False
        self.divergence_factor = float(divergence_factor)
        self.divergence_floor = float(divergence_floor)
        self._best: tuple[float, int, int] | None = None  # lowest loss, its epoch, step
        self._warned = False

    # ------------------------------------------------------------------ the step
    def remember(self) -> None:
        """Start of a step, before the forward: keep a copy of every buffer (the forward
        may change them). Parameters need no copy here (see the module docstring)."""
        saved = self._saved_buffers
        for i, b in enumerate(self._buffer_tensors):
            _copy_into(saved, i, b.array)
        self._remembered = True

    def check(self, loss_value: float, epoch: int, step: int) -> str | None:
        """After backward, before ``optimizer.step()``: None when the loss, every
        gradient, every floating buffer and every parameter is finite (then the
        parameters with a gradient are copied, so :meth:`restore` can undo the step);
        else the message "Training stopped at epoch E, step S: <the first bad tensor>
        (loss = ...). Try ..."."""
        lv = float(loss_value)
        # the fast path, inlined (a NumPy call per array and nothing else): no errstate
        # either, BLAS dots raise no floating-point warnings
        total = 0.0
        for p in self._param_tensors:
            g = p.grad
            if g is not None:
                a = g.array
                if type(a) is _ndarray and a.dtype.char in "fd":
                    total += float(_vdot(a, a))
                else:
                    total += _sum_of_squares(a)
        for b in self._buffer_tensors:
            a = b.array
            if _is_float(a):
                total += _sum_of_squares(a)
        if not self._params_ok:
            for p in self._param_tensors:
                total += _sum_of_squares(p.array)
        if not (math.isfinite(lv) and math.isfinite(total)):
            problem = self._find_before_step(lv)
            if problem is not None:
                kind, text = problem
                if kind != "parameter":
                    self._pending = False  # the parameters are this step's start: keep them
                elif not self._pending:
                    text += (
                        " (it was not finite when the step began: something outside "
                        "the optimizer step changed it, and no finite copy of it is "
                        "kept)"
                    )
                return self._message(epoch, step, text, lv, kind)
        # all finite (or only a sum overflowed): copy what the step will change; the step
        # then changes them, and only check_params() vouches for them again
        self._params_ok = False
        stepped = self._stepped
        stepped.clear()
        saved = self._saved_params
        for i, p in enumerate(self._param_tensors):
            if p.grad is not None:
                a, dst = p.array, saved[i]
                if (
                    type(a) is _ndarray
                    and type(dst) is _ndarray
                    and dst.shape == a.shape
                    and dst.dtype == a.dtype
                ):
                    _copyto(dst, a)
                else:
                    _copy_into(saved, i, a)
                stepped.append(i)
        self._pending = True
        return None

    def check_params(self, epoch: int, step: int) -> str | None:
        """After ``optimizer.step()``: None when the parameters the step changed are
        finite, else the message naming the first one that is not."""
        total = 0.0
        params = self._param_tensors
        for i in self._stepped:
            a = params[i].array
            if type(a) is _ndarray and a.dtype.char in "fd":
                total += float(_vdot(a, a))
            else:
                total += _sum_of_squares(a)
        if math.isfinite(total):
            self._pending = False
            self._params_ok = True
            return None
        for i in self._stepped:
            name, p = self.params[i]
            if not _finite(p.array):
                text = f"the parameter {name!r} {_what(p.array)} after the optimizer step"
                if not _finite(self._saved_params[i]):
                    text += (
                        " (it was already non-finite before the step: something "
                        "outside the optimizer step changed it)"
                    )
                return self._message(epoch, step, text, None, "step")
        self._pending = False  # the sum overflowed, every value is finite
        self._params_ok = True
        return None

    def restore(self) -> None:
        """Put the last finite state back into the model: the buffers as
        :meth:`remember` kept them and, when a step may have changed them since
        :meth:`check` copied them, the parameters; the gradients are dropped."""
        if self._remembered:
            for b, saved in zip(self._buffer_tensors, self._saved_buffers, strict=True):
                if saved is not None:
                    _put_back(b, saved)
        if self._pending:
            for i in self._stepped:
                _put_back(self._param_tensors[i], self._saved_params[i])
            self._pending = False
        for p in self._param_tensors:
            p.grad = None
        self._params_ok = False  # the next check verifies them again

    # ------------------------------------------------------------------ one step
    def step(self, loss_value: float, epoch: int, step: int, update) -> str | None:
        """The guarded update, after backward: :meth:`check`, then ``update()`` (clipping
        and ``optimizer.step()``), then :meth:`check_params`. On a problem the model is
        restored (:meth:`restore`) and the message returned; otherwise the loss is
        watched (:meth:`watch_loss`) and None returned."""
        problem = self.check(loss_value, epoch, step)
        if problem is None:
            update()
            problem = self.check_params(epoch, step)
        if problem is not None:
            self.restore()  # the model as it was before this step, all finite
            return problem
        self.watch_loss(loss_value, epoch, step)
        return None

    # ------------------------------------------------------------------ divergence
    def watch_loss(self, loss_value: float, epoch: int, step: int) -> str | None:
        """Warn once (``RuntimeWarning``, the text also returned) when a finite loss
        diverges: it exceeds both ``divergence_factor`` (1e4) times the lowest loss seen
        so far and ``divergence_floor`` (1e4). The floor keeps a loss that went from 1e-8
        to 1e-3 on a nearly solved problem quiet; the factor lets a loss that naturally
        lives around 1e10 (unscaled regression targets) be judged against itself. Returns
        None on every other call."""
        lv = float(loss_value)
        if not math.isfinite(lv):
            return None  # check()'s business
        best = self._best
        message = None
        if (
            not self._warned
            and best is not None
            and lv > max(self.divergence_floor, self.divergence_factor * best[0])
        ):
            self._warned = True
            message = (
                f"The training loss is diverging at epoch {epoch + 1}, step {step + 1}: "
                f"loss = {lv:.4g}, more than {self.divergence_factor:g} times the lowest "
                f"loss so far ({best[0]:.4g} at epoch {best[1] + 1}, step {best[2] + 1}). "
                "Try a lower learning rate (10 times lower), gradient clipping, or "
                "inputs and targets scaled to about unit size."
            )
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        if best is None or lv < best[0]:
            self._best = (lv, int(epoch), int(step))
        return message

    # ------------------------------------------------------------------ resume
    def state_dict(self) -> dict:
        """The divergence watch (lowest loss seen, whether it warned), for a backup; the
        last finite state is not part of it (a backup is taken between steps)."""
        return {"best": None if self._best is None else list(self._best), "warned": self._warned}

    def load_state_dict(self, state: dict) -> None:
        """Put back what :meth:`state_dict` returned (a resumed run warns at most once)."""
        best = state.get("best")
        self._best = None if best is None else (float(best[0]), int(best[1]), int(best[2]))
        self._warned = bool(state.get("warned", False))

    # ------------------------------------------------------------------ messages
    def _find_before_step(self, lv: float) -> tuple[str, str] | None:
        """The first non-finite tensor before the step, as (kind, description):
        parameters, buffers, the loss, gradients, in that order; None if all are finite."""
        for name, p in self.params:
            if not _finite(p.array):
                return "parameter", f"the parameter {name!r} {_what(p.array)}"
        for name, b in self.buffers:
            if _is_float(b.array) and not _finite(b.array):
                return "buffer", f"the buffer {name!r} {_what(b.array)}"
        if not math.isfinite(lv):
            return "loss", f"the loss is {lv}"
        for name, p in self.params:
            g = p.grad
            if g is not None and not _finite(g.array):
                return "gradient", f"the gradient of {name!r} {_what(g.array)}"
        return None

    _ADVICE = {
        "parameter": "Try a lower learning rate or gradient clipping.",
        "buffer": "Try a lower learning rate, gradient clipping, or inputs scaled to "
        "about unit size.",
        "loss": "Try a lower learning rate or gradient clipping; check the inputs and "
        "targets for NaN/Inf, and the loss for log(0) or a division by zero.",
        "gradient": "Try a lower learning rate or gradient clipping.",
        "step": "Try a lower learning rate or gradient clipping.",
    }

    def _message(self, epoch: int, step: int, text: str, lv: float | None, kind: str) -> str:
        loss = "" if lv is None or kind == "loss" else f" (loss = {lv:.4g})"
        return (
            f"Training stopped at epoch {epoch + 1}, step {step + 1}: {text}{loss}. "
            f"{self._ADVICE[kind]}"
        )
