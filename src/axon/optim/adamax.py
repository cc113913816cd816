"""Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm."""

from __future__ import annotations

from collections.abc import Iterable

from ..autograd import Tensor
from ..backend import namespace
from .optimizer import Optimizer, _check, _implementation_flags, _lerp_, zeros_like


class Adamax(Optimizer):
    r"""Adamax (Kingma and Ba, 2015, section 7), PyTorch's update rule.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon) \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \frac{m_t}{u_t}

    The max needs no bias correction: unlike Adam's average it does not start biased
    towards zero.

    Args:
        params: Tensors or parameter groups (dicts) to optimize.
        lr: learning rate :math:`\gamma` (default 2e-3).
        betas: decay rates :math:`(\beta_1, \beta_2)` of the moment and of the norm.
        eps: added to :math:`|g_t|`, so the norm is never zero.
        weight_decay: L2 penalty :math:`\lambda`.
        foreach, capturable, differentiable: torch's implementation switches, accepted and
            kept in the groups (see :func:`~axon.optim.optimizer._implementation_flags`).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check(lr >= 0, "learning rate", lr)
        _check(eps >= 0, "epsilon value", eps)
        _check(0.0 <= betas[0] < 1.0, "beta parameter at index 0", betas[0])
        _check(0.0 <= betas[1] < 1.0, "beta parameter at index 1", betas[1])
        _check(weight_decay >= 0, "weight_decay value", weight_decay)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
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
            lr, eps = float(group["lr"]), float(group["eps"])
            beta1, beta2 = (float(b) for b in group["betas"])
            weight_decay = float(group["weight_decay"])
            for p, grad, state in self._params_with_grad(group):
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = zeros_like(p)
                    state["exp_inf"] = zeros_like(p)
                state["step"] += 1
                g = self._grad_with_decay(p, grad, weight_decay, group["maximize"])
                exp_avg, exp_inf, tmp = state["exp_avg"], state["exp_inf"], self._scratch(p)
                xp = namespace(p)

                _lerp_(exp_avg, g, 1.0 - beta1, tmp)  # m = beta1 m + (1 - beta1) g
                exp_inf *= beta2  # u = max(beta2 u, |g| + eps)
                xp.abs(g, out=tmp)
                tmp += eps
                xp.maximum(exp_inf, tmp, out=exp_inf)
                clr = lr / (1.0 - beta1 ** state["step"])
                xp.divide(exp_avg, exp_inf, out=tmp)
                p -= xp.multiply(tmp, clr, out=tmp)
        return loss
