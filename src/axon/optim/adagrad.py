"""Adagrad: per-coordinate step sizes that shrink with the sum of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable

from ..autograd import Tensor
from ..backend import namespace
from .optimizer import Optimizer, _check, _implementation_flags, full_like


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), PyTorch's update rule.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1}, \qquad
        \tilde\gamma_t = \frac{\gamma}{1 + (t - 1)\,\eta} \\
        s_t &= s_{t-1} + g_t^2 \\
        \theta_t &= \theta_{t-1} - \tilde\gamma_t \frac{g_t}{\sqrt{s_t} + \epsilon}

    Args:
        params: Tensors or parameter groups (dicts) to optimize.
        lr: learning rate :math:`\gamma`.
        lr_decay: learning-rate decay :math:`\eta`.
        weight_decay: L2 penalty :math:`\lambda`.
        initial_accumulator_value: starting value of the sum :math:`s_0`.
        eps: added to the denominator for numerical stability.
        foreach, differentiable, fused: torch's implementation switches, accepted and
            kept in the groups (see :func:`~axon.optim.optimizer._implementation_flags`).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check(lr >= 0, "learning rate", lr)
        _check(lr_decay >= 0, "lr_decay value", lr_decay)
        _check(weight_decay >= 0, "weight_decay value", weight_decay)
        _check(
            initial_accumulator_value >= 0,
            "initial_accumulator_value value",
            initial_accumulator_value,
        )
        _check(eps >= 0, "epsilon value", eps)
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            **_implementation_flags(differentiable=differentiable, fused=fused),
        )
        super().__init__(params, defaults)
        # like PyTorch, the state exists from the start (so a group's initial value is used)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = 0
                state["sum"] = full_like(p.array, float(group["initial_accumulator_value"]))

    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            lr_decay = float(group["lr_decay"])
            eps = float(group["eps"])
            weight_decay = float(group["weight_decay"])
            for p, grad, state in self._params_with_grad(group):
                if "sum" not in state:  # a parameter added with add_param_group
                    state["step"] = 0
                    state["sum"] = full_like(p, float(group["initial_accumulator_value"]))
                state["step"] += 1
                clr = lr / (1.0 + (state["step"] - 1) * lr_decay)
                g = self._grad_with_decay(p, grad, weight_decay, group["maximize"])
                total, tmp, xp = state["sum"], self._scratch(p), namespace(p)
                total += xp.multiply(g, g, out=tmp)  # s += g^2
                xp.sqrt(total, out=tmp)
                tmp += eps
                xp.divide(g, tmp, out=tmp)
                p -= xp.multiply(tmp, clr, out=tmp)
        return loss
