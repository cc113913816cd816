"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from collections.abc import Iterable

from ..autograd import Tensor
from ..backend import namespace
from .optimizer import Optimizer, _check, _implementation_flags, _lerp_, zeros_like


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), PyTorch's update rule.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        v_t &= \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1 - \alpha) g_t, \quad
        \tilde v_t = v_t - \bar g_t^2 \text{ if centered, else } v_t \\
        b_t &= \mu b_{t-1} + \frac{g_t}{\sqrt{\tilde v_t} + \epsilon}, \quad
        \theta_t = \theta_{t-1} - \gamma b_t

    Without momentum (:math:`\mu = 0`) the step is :math:`\gamma g_t / (\sqrt{\tilde v_t}
    + \epsilon)` directly.

    Args:
        params: Tensors or parameter groups (dicts) to optimize.
        lr: learning rate :math:`\gamma`.
        alpha: smoothing constant :math:`\alpha` of the running averages.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty :math:`\lambda`.
        momentum: momentum factor :math:`\mu`.
        centered: normalize by an estimate of the gradient's variance instead of its
            second moment.
        capturable, foreach, differentiable: torch's implementation switches, accepted
            and kept in the groups (see :func:`~axon.optim.optimizer._implementation_flags`).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check(lr >= 0, "learning rate", lr)
        _check(eps >= 0, "epsilon value", eps)
        _check(momentum >= 0, "momentum value", momentum)
        _check(weight_decay >= 0, "weight_decay value", weight_decay)
        _check(alpha >= 0, "alpha value", alpha)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            **_implementation_flags(capturable=capturable, foreach=foreach),
            maximize=maximize,
            **_implementation_flags(differentiable=differentiable),
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            alpha = float(group["alpha"])
            eps = float(group["eps"])
            weight_decay = float(group["weight_decay"])
            momentum = float(group["momentum"])
            centered = group["centered"]
            for p, grad, state in self._params_with_grad(group):
                if not state:
                    state["step"] = 0
                    state["square_avg"] = zeros_like(p)
                if momentum > 0 and "momentum_buffer" not in state:
                    state["momentum_buffer"] = zeros_like(p)
                if centered and "grad_avg" not in state:
                    state["grad_avg"] = zeros_like(p)
                state["step"] += 1
                g = self._grad_with_decay(p, grad, weight_decay, group["maximize"])
                square_avg, tmp, xp = state["square_avg"], self._scratch(p), namespace(p)

                square_avg *= alpha  # v = alpha v + (1 - alpha) g^2
                xp.multiply(g, g, out=tmp)
                square_avg += xp.multiply(tmp, 1.0 - alpha, out=tmp)
                if centered:  # subtract the square of the running mean gradient
                    grad_avg = state["grad_avg"]
                    _lerp_(grad_avg, g, 1.0 - alpha, tmp)
                    xp.multiply(grad_avg, grad_avg, out=tmp)
                    xp.subtract(square_avg, tmp, out=tmp)
                    xp.sqrt(tmp, out=tmp)
                else:
                    xp.sqrt(square_avg, out=tmp)
                tmp += eps
                xp.divide(g, tmp, out=tmp)  # g / (sqrt(v) + eps)

                if momentum > 0:
                    buf = state["momentum_buffer"]
                    buf *= momentum
                    buf += tmp
                    p -= xp.multiply(buf, lr, out=tmp)
                else:
                    p -= xp.multiply(tmp, lr, out=tmp)
        return loss
