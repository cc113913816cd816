"""ASGD: SGD with a decaying step size and a running average of the iterates."""

from __future__ import annotations

from collections.abc import Iterable

from ..autograd import Tensor
from ..backend import namespace
from .nadam import _scalar_dtype, _scalar_state
from .optimizer import Optimizer, _check, _implementation_flags, zeros_like


class ASGD(Optimizer):
    r"""Averaged stochastic gradient descent (Polyak and Juditsky, 1992), PyTorch's rule.

    .. math::
        g_t &\leftarrow g_t + \lambda_{wd} \theta_{t-1} \\
        \theta_t &= (1 - \lambda \eta_t)\,\theta_{t-1} - \eta_t g_t \\
        \bar\theta_t &= \bar\theta_{t-1} + \mu_t (\theta_t - \bar\theta_{t-1})
            \quad (\bar\theta_t = \theta_t \text{ while } \mu_t = 1) \\
        \eta_{t+1} &= \frac{\gamma}{(1 + \lambda \gamma t)^{\alpha}}, \qquad
        \mu_{t+1} = \frac{1}{\max(1, t - t_0)}

    The average :math:`\bar\theta` (state ``ax``) starts to differ from the weights only
    after ``t0`` steps; the model's weights themselves are the plain iterates. ``eta``
    and ``mu`` are scalars kept, as in torch, in float32 unless the default dtype is
    float64.

    Args:
        params: Tensors or parameter groups (dicts) to optimize.
        lr: learning rate :math:`\gamma`.
        lambd: decay term :math:`\lambda`.
        alpha: power :math:`\alpha` of the step-size decay.
        t0: the step after which averaging starts.
        weight_decay: L2 penalty :math:`\lambda_{wd}`.
        foreach, differentiable, capturable: torch's implementation switches, accepted and
            kept in the groups (see :func:`~axon.optim.optimizer._implementation_flags`).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check(lr >= 0, "learning rate", lr)
        _check(weight_decay >= 0, "weight_decay value", weight_decay)
        defaults = dict(
            lr=lr,
            lambd=lambd,
            alpha=alpha,
            t0=t0,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            **_implementation_flags(differentiable=differentiable, capturable=capturable),
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, lambd, alpha = float(group["lr"]), float(group["lambd"]), float(group["alpha"])
            t0, weight_decay = float(group["t0"]), float(group["weight_decay"])
            for p, grad, state in self._params_with_grad(group):
                xp = namespace(p)
                if not state:
                    state["step"] = 0
                    state["eta"] = xp.asarray(lr, dtype=_scalar_dtype())
                    state["mu"] = xp.ones((), dtype=_scalar_dtype())
                    state["ax"] = zeros_like(p)
                state["step"] += 1
                g = self._grad_with_decay(p, grad, weight_decay, group["maximize"])
                eta, mu, tmp = float(state["eta"]), float(state["mu"]), self._scratch(p)

                p *= 1.0 - lambd * eta  # decay, then the gradient step
                p -= xp.multiply(g, eta, out=tmp)
                if mu != 1:
                    xp.subtract(p, state["ax"], out=tmp)
                    state["ax"] += xp.multiply(tmp, mu, out=tmp)
                else:
                    state["ax"][...] = p
                step = state["step"]
                state["eta"][...] = lr / ((1 + lambd * lr * step) ** alpha)
                state["mu"][...] = 1 / max(1, step - t0)
        return loss

    def _load_state_value(self, key: str, value, param: Tensor, index: int):
        """``eta`` and ``mu`` are scalars in their own dtype; the rest loads as usual."""
        if key in ("eta", "mu"):
            return _scalar_state(value, param)
        return super()._load_state_value(key, value, param, index)
