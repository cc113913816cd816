"""Adadelta: step sizes from the ratio of running RMS of updates to running RMS of gradients."""

from __future__ import annotations

from collections.abc import Iterable

from ..autograd import Tensor
from ..backend import namespace
from .optimizer import Optimizer, _check, _implementation_flags, zeros_like


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), PyTorch's update rule.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        v_t &= \rho v_{t-1} + (1 - \rho) g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t, \qquad
        u_t = \rho u_{t-1} + (1 - \rho) \Delta_t^2 \\
        \theta_t &= \theta_{t-1} - \gamma \Delta_t

    The update carries its own units (an RMS of past updates over an RMS of gradients),
    which is why the default learning rate is 1.

    Args:
        params: Tensors or parameter groups (dicts) to optimize.
        lr: learning rate :math:`\gamma`, a scale on the update.
        rho: decay :math:`\rho` of both running averages.
        eps: added inside both square roots; it also sets the size of the first steps.
        weight_decay: L2 penalty :math:`\lambda`.
        foreach, capturable, differentiable: torch's implementation switches, accepted and
            kept in the groups (see :func:`~axon.optim.optimizer._implementation_flags`).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check(lr >= 0, "learning rate", lr)
        _check(0.0 <= rho <= 1.0, "rho value", rho)
        _check(eps >= 0, "epsilon value", eps)
        _check(weight_decay >= 0, "weight_decay value", weight_decay)
        defaults = dict(
            lr=lr,
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            **_implementation_flags(
                capturable=capturable, foreach=foreach, differentiable=differentiable
            ),
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
            weight_decay = float(group["weight_decay"])
            for p, grad, state in self._params_with_grad(group):
                if not state:
                    state["step"] = 0
                    state["square_avg"] = zeros_like(p)
                    state["acc_delta"] = zeros_like(p)
                state["step"] += 1
                g = self._grad_with_decay(p, grad, weight_decay, group["maximize"])
                square_avg, acc_delta = state["square_avg"], state["acc_delta"]
                delta, tmp = self._scratch(p, 2), self._scratch(p, 3)
                xp = namespace(p)

                _decay_add_square(square_avg, g, rho, tmp)  # v = rho v + (1 - rho) g^2
                xp.add(acc_delta, eps, out=delta)  # delta = sqrt(u + eps) / sqrt(v + eps) g
                xp.sqrt(delta, out=delta)
                xp.add(square_avg, eps, out=tmp)
                xp.sqrt(tmp, out=tmp)
                delta /= tmp
                delta *= g
                _decay_add_square(acc_delta, delta, rho, tmp)  # u = rho u + (1 - rho) delta^2
                p -= xp.multiply(delta, lr, out=delta)
        return loss


def _decay_add_square(avg, x, rho: float, tmp) -> None:
    """``avg = rho * avg + (1 - rho) * x**2`` in place (``tmp`` is scratch)."""
    avg *= rho
    xp = namespace(x)
    xp.multiply(x, x, out=tmp)
    avg += xp.multiply(tmp, 1.0 - rho, out=tmp)
