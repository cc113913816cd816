"""Adam and AdamW: momentum on the gradient, scaled by a running RMS, with bias correction."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..autograd import Tensor
from .optimizer import Optimizer, _check, _lerp_


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015), PyTorch's update rule.

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1}
            \quad (\text{or } \theta_{t-1} \leftarrow (1 - \gamma\lambda)\theta_{t-1}
            \text{ when decoupled, as in AdamW}) \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \text{ if amsgrad, else } v_t \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}
            \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    Args:
        params: Tensors or parameter groups (dicts) to optimize.
        lr: learning rate :math:`\gamma`.
        betas: decay rates :math:`(\beta_1, \beta_2)` of the two moment estimates.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty :math:`\lambda` (added to the gradient), or the decoupled
            decay rate when ``decoupled_weight_decay``.
        amsgrad: use the running maximum of :math:`v_t` (Reddi et al., 2018).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: decay the weights directly, which makes this AdamW.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
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
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps = float(group["eps"])
            weight_decay = float(group["weight_decay"])
            decoupled = group["decoupled_weight_decay"]
            amsgrad = group["amsgrad"]
            for p, grad, state in self._params_with_grad(group):
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(p)
                    state["exp_avg_sq"] = np.zeros_like(p)
                if amsgrad and "max_exp_avg_sq" not in state:
                    state["max_exp_avg_sq"] = np.zeros_like(p)
                state["step"] += 1
                step = state["step"]

                if decoupled:
                    if weight_decay != 0:
                        p *= 1.0 - lr * weight_decay
                    g = self._grad_with_decay(p, grad, 0.0, group["maximize"])
                else:
                    g = self._grad_with_decay(p, grad, weight_decay, group["maximize"])
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                tmp = self._scratch(p)

                _lerp_(exp_avg, g, 1.0 - beta1, tmp)  # m = beta1 m + (1 - beta1) g
                exp_avg_sq *= beta2  # v = beta2 v + (1 - beta2) g^2
                np.multiply(g, g, out=tmp)
                exp_avg_sq += np.multiply(tmp, 1.0 - beta2, out=tmp)
                if amsgrad:
                    exp_avg_sq = np.maximum(
                        state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"]
                    )

                # Python floats (not NumPy float64 scalars) keep float32 updates in float32.
                step_size = lr / (1.0 - beta1**step)
                if step_size == 0:  # lr == 0: the moments advance, the weights stay
                    continue
                bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
                # p -= step_size m / (sqrt(v) / bc2 + eps), with step_size folded into the
                # denominator so the update needs one pass less
                np.sqrt(exp_avg_sq, out=tmp)
                tmp *= 1.0 / (bias_correction2_sqrt * step_size)
                tmp += eps / step_size
                p -= np.divide(exp_avg, tmp, out=tmp)
        return loss


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

    Each step first shrinks the weights, :math:`\theta \leftarrow (1 - \gamma\lambda)
    \theta`, then takes an Adam step on the plain gradient; unlike L2 regularization the
    decay is not rescaled by Adam's per-coordinate step size.

    Args:
        params: Tensors or parameter groups (dicts) to optimize.
        lr: learning rate :math:`\gamma`.
        betas: decay rates of the two moment estimates.
        eps: added to the denominator for numerical stability.
        weight_decay: decoupled decay rate :math:`\lambda` (default 1e-2).
        amsgrad: use the running maximum of the second moment.
        maximize: ascend the objective instead of descending it.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )
