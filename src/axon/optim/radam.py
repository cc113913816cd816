"""RAdam: Adam whose adaptive step is switched on only once its variance is tractable."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..autograd import Tensor
from ..backend import namespace
from .optimizer import Optimizer, _check, _implementation_flags, _lerp_, zeros_like


class RAdam(Optimizer):
    r"""Rectified Adam (Liu et al., 2020), PyTorch's update rule.

    In the first steps the second-moment estimate rests on too few gradients for its
    variance to be finite, so RAdam steps with momentum alone (SGD with bias-corrected
    momentum) until the length :math:`\rho_t` of the approximated simple moving average
    exceeds 5, then takes Adam's step scaled by the rectification :math:`r_t`:

    .. math::
        \rho_\infty &= \frac{2}{1 - \beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t} \\
        \hat m_t &= \frac{m_t}{1 - \beta_1^t}, \qquad
        r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}
                         {(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}} \\
        \theta_t &= \theta_{t-1} - \gamma \hat m_t \cdot
            \begin{cases}
                r_t \sqrt{1 - \beta_2^t} / (\sqrt{v_t} + \epsilon) & \rho_t > 5 \\
                1 & \text{otherwise}
            \end{cases}

    Args:
        params: Tensors or parameter groups (dicts) to optimize.
        lr: learning rate :math:`\gamma`.
        betas: decay rates :math:`(\beta_1, \beta_2)` of the two moment estimates.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty :math:`\lambda` (added to the gradient), or the decoupled
            decay rate when ``decoupled_weight_decay``, as in AdamW.
        decoupled_weight_decay: decay the weights directly instead of the gradient.
        foreach, capturable, differentiable: torch's implementation switches, accepted and
            kept in the groups (see :func:`~axon.optim.optimizer._implementation_flags`).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
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
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay,
            **_implementation_flags(differentiable=differentiable),
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
                    state["exp_avg_sq"] = zeros_like(p)
                state["step"] += 1
                step = state["step"]
                if group["decoupled_weight_decay"]:
                    if weight_decay != 0:
                        p *= 1.0 - lr * weight_decay
                    g = self._grad_with_decay(p, grad, 0.0, group["maximize"])
                else:
                    g = self._grad_with_decay(p, grad, weight_decay, group["maximize"])
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                tmp, update, xp = self._scratch(p), self._scratch(p, 2), namespace(p)

                _lerp_(exp_avg, g, 1.0 - beta1, tmp)  # m = beta1 m + (1 - beta1) g
                exp_avg_sq *= beta2  # v = beta2 v + (1 - beta2) g^2
                xp.multiply(g, g, out=tmp)
                exp_avg_sq += xp.multiply(tmp, 1.0 - beta2, out=tmp)

                bias_correction2 = 1.0 - beta2**step
                xp.divide(exp_avg, 1.0 - beta1**step, out=update)  # m_hat
                update *= lr
                rect = _rectification(beta2, step, bias_correction2)
                if rect is not None:  # the adaptive step: r sqrt(bc2) / (sqrt(v) + eps)
                    xp.sqrt(exp_avg_sq, out=tmp)
                    tmp += eps
                    xp.divide(math.sqrt(bias_correction2), tmp, out=tmp)
                    update *= tmp
                    update *= rect
                p -= update
        return loss


def _rectification(beta2: float, step: int, bias_correction2: float) -> float | None:
    """RAdam's :math:`r_t`, or None while :math:`\\rho_t \\le 5` (momentum steps only)."""
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * step * beta2**step / bias_correction2
    if rho_t <= 5.0:
        return None
    return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
