"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable

from ..autograd import Tensor
from ..backend.base import namespace
from .optimizer import Optimizer, _check, _implementation_flags


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's update rule).

    With gradient :math:`g_t` (negated when ``maximize``), weight decay :math:`\lambda`,
    momentum :math:`\mu` and dampening :math:`\tau`:

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        b_t &= \mu b_{t-1} + (1 - \tau) g_t \quad (b_1 = g_1) \\
        g_t &\leftarrow g_t + \mu b_t \text{ if nesterov, else } b_t \\
        \theta_t &= \theta_{t-1} - \gamma g_t

    With ``momentum=0`` this is plain gradient descent :math:`\theta \leftarrow \theta -
    \gamma g`; stepped once per epoch on the gradient of the whole training set it is the
    course's full-batch "GD".

    Args:
        params: Tensors or parameter groups (dicts) to optimize.
        lr: learning rate :math:`\gamma` (PyTorch 2's default 1e-3).
        momentum: momentum factor :math:`\mu`.
        dampening: dampening :math:`\tau` of the momentum.
        weight_decay: L2 penalty :math:`\lambda`.
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: ascend the objective instead of descending it.
        foreach, differentiable, fused: torch's implementation switches, accepted and
            kept in the groups (see :func:`~axon.optim.optimizer._implementation_flags`).
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check(lr >= 0, "learning rate", lr)
        _check(momentum >= 0, "momentum value", momentum)
        _check(weight_decay >= 0, "weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"Nesterov momentum requires a momentum and zero dampening "
                f"(got momentum={momentum}, dampening={dampening})"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            **_implementation_flags(foreach=foreach, differentiable=differentiable, fused=fused),
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            momentum = float(group["momentum"])
            dampening = float(group["dampening"])
            weight_decay = float(group["weight_decay"])
            nesterov = group["nesterov"]
            for p, grad, state in self._params_with_grad(group):
                g = self._grad_with_decay(p, grad, weight_decay, group["maximize"])
                tmp = self._scratch(p)
                xp = namespace(p)  # the parameter's backend: its state lives beside it
                if momentum != 0:
                    buf = state.get("momentum_buffer")
                    if buf is None:  # the first step starts the buffer at the gradient
                        buf = state["momentum_buffer"] = xp.array(g, dtype=p.dtype)
                    else:
                        buf *= momentum
                        if dampening == 0:
                            buf += g
                        else:
                            buf += xp.multiply(g, 1.0 - dampening, out=tmp)
                    if nesterov:
                        g = xp.add(g, xp.multiply(buf, momentum, out=tmp), out=tmp)
                    else:
                        g = buf
                p -= xp.multiply(g, lr, out=tmp)
        return loss
