"""Adafactor: Adam's per-coordinate scaling with a factored second moment (a row and a
column average per matrix instead of a full-size array), and a step relative to the
parameter's size."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..autograd import Tensor
from ..autograd.tensor import _host, _placed
from ..backend import namespace
from .optimizer import Optimizer, _check, zeros_like


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer and Stern, 2018), PyTorch's update rule.

    .. math::
        \beta_{2,t} &= 1 - t^{c}, \qquad \rho_t = \min(\gamma, 1/\sqrt t), \qquad
        \alpha_t = \max(\epsilon_2, \mathrm{RMS}(\theta_{t-1}))\,\rho_t \\
        R_t, C_t &\leftarrow \text{lerps towards the row and column means of } g_t^2
            \text{ (a vector keeps the full } V_t) \\
        \hat V_t &= R_t C_t / \max(\mathrm{mean}(R_t), \epsilon_1), \qquad
        U_t = g_t / \sqrt{\max(\hat V_t, \epsilon_1^2)} \\
        \theta_t &= \theta_{t-1} - \alpha_t\, U_t / \max(1, \mathrm{RMS}(U_t) / d)

    Args:
        params: Tensors or parameter groups (dicts) to optimize.
        lr: the largest relative step :math:`\gamma`.
        beta2_decay: :math:`c` of the second-moment decay (<= 0).
        eps: :math:`(\epsilon_1, \epsilon_2)`; ``None`` for :math:`\epsilon_1` is the
            dtype's machine epsilon.
        d: the clipping threshold of the update's RMS.
        weight_decay: decoupled decay: :math:`\theta \leftarrow (1 - \gamma\lambda)\theta`.
        foreach: torch's implementation switch, accepted.
        maximize: ascend the objective instead of descending it.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        _check(eps[0] is None or eps[0] >= 0, "epsilon1", eps[0])
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(
            lr=lr,
            beta2_decay=beta2_decay,
            eps=eps,
            d=d,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, (eps1, eps2) = float(group["lr"]), group["eps"]
            for p, grad, state in self._params_with_grad(group):
                xp = namespace(p)
                g = -grad if group["maximize"] else grad
                e1 = float(xp.finfo(p.dtype).eps) if eps1 is None else float(eps1)
                if "step" not in state:
                    self._init_state(state, g)
                state["step"] += 1
                t = float(state["step"])
                weight = t ** group["beta2_decay"]  # 1 - beta2_t
                rho = min(lr, 1 / math.sqrt(t))
                alpha = max(eps2, _rms(p, xp)) * rho
                if group["weight_decay"]:
                    p *= 1 - lr * group["weight_decay"]
                square = g * g
                if g.ndim > 1:
                    row, col = state["row_var"], state["col_var"]
                    row += weight * (square.mean(-1, keepdims=True) - row)
                    col += weight * (square.mean(-2, keepdims=True) - col)
                    estimate = (row @ col) / xp.maximum(row.mean(-2, keepdims=True), e1)
                else:
                    variance = state["variance"]
                    variance += weight * (square - variance)
                    estimate = variance.copy()
                update = g / xp.sqrt(xp.maximum(estimate, e1 * e1))
                rms = _rms(update, xp)
                p -= update * (alpha / max(1.0, rms / group["d"]))
        return loss

    def _load_state_value(self, key: str, value, param: Tensor, index: int):
        """The factored moments are not shaped like the parameter: checked against the
        shapes they must have (a row and a column of each matrix)."""
        if key not in ("row_var", "col_var"):
            return super()._load_state_value(key, value, param, index)
        shape = param.shape
        want = tuple(shape[:-1]) + (1,) if key == "row_var" else tuple(shape[:-2]) + (1, shape[-1])
        arr = _host(value.array if isinstance(value, Tensor) else value).astype(param.array.dtype)
        if arr.shape != want:
            raise ValueError(
                f"loaded state dict has '{key}' of shape {arr.shape} for "
                f"parameter {index}, but Adafactor needs {want}"
            )
        return _placed(arr, param.device)

    @staticmethod
    def _init_state(state: dict, g) -> None:
        state["step"] = 0.0
        if g.ndim > 1:
            xp = namespace(g)
            state["row_var"] = xp.zeros(g.shape[:-1] + (1,), dtype=g.dtype)
            state["col_var"] = xp.zeros(g.shape[:-2] + (1, g.shape[-1]), dtype=g.dtype)
        else:
            state["variance"] = zeros_like(g)


def _rms(x, xp) -> float:
    """The root mean square of ``x``'s elements: ``np.linalg.norm(x) / sqrt(x.size)``, with
    the norm computed as NumPy computes it (``sqrt`` of the flat vector's dot product)."""
    flat = x.ravel(order="K")
    return float(xp.sqrt(flat.dot(flat))) / math.sqrt(x.size)
