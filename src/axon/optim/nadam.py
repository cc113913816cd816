"""NAdam: Adam with Nesterov momentum, looking one momentum step ahead."""

from __future__ import annotations

from collections.abc import Iterable

from ..autograd import Tensor
from ..backend import float32, float64, get_default_dtype, namespace
from .optimizer import Optimizer, _check, _implementation_flags, _lerp_, zeros_like


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), PyTorch's update rule.

    The momentum coefficient warms up over the steps, :math:`\mu_t = \beta_1 (1 -
    \tfrac12 \cdot 0.96^{t\psi})` with ``momentum_decay`` :math:`\psi`, and the update
    mixes the current gradient with the next step's momentum:

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
        d_t = \sqrt{v_t / (1 - \beta_2^t)} + \epsilon \\
        \theta_t &= \theta_{t-1}
            - \gamma \frac{1 - \mu_t}{1 - \prod_{i \le t} \mu_i} \frac{g_t}{d_t}
            - \gamma \frac{\mu_{t+1}}{1 - \prod_{i \le t+1} \mu_i} \frac{m_t}{d_t}

    The running product :math:`\prod \mu_i` (state ``mu_product``) is a scalar kept, as
    in torch, in float32 unless the default dtype is float64.

    Args:
        params: Tensors or parameter groups (dicts) to optimize.
        lr: learning rate :math:`\gamma` (default 2e-3).
        betas: decay rates :math:`(\beta_1, \beta_2)` of the two moment estimates.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty :math:`\lambda` (added to the gradient), or the decoupled
            decay rate (:math:`\theta \leftarrow (1 - \gamma\lambda)\theta`) when
            ``decoupled_weight_decay``, as in NAdamW.
        momentum_decay: :math:`\psi`, how fast the momentum coefficient warms up.
        decoupled_weight_decay: decay the weights directly instead of the gradient.
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
        momentum_decay: float = 4e-3,
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
        _check(momentum_decay >= 0, "momentum_decay value", momentum_decay)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            **_implementation_flags(
                foreach=foreach, capturable=capturable, differentiable=differentiable
            ),
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, eps = float(group["lr"]), float(group["eps"])
            beta1, beta2 = (float(b) for b in group["betas"])
            weight_decay, psi = float(group["weight_decay"]), float(group["momentum_decay"])
            for p, grad, state in self._params_with_grad(group):
                xp = namespace(p)
                if not state:
                    state["step"] = 0
                    state["mu_product"] = xp.ones((), dtype=_scalar_dtype())
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

                mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
                state["mu_product"] *= mu
                mu_product = float(state["mu_product"])
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                tmp, denom = self._scratch(p), self._scratch(p, 2)

                _lerp_(exp_avg, g, 1.0 - beta1, tmp)  # m = beta1 m + (1 - beta1) g
                exp_avg_sq *= beta2  # v = beta2 v + (1 - beta2) g^2
                xp.multiply(g, g, out=tmp)
                exp_avg_sq += xp.multiply(tmp, 1.0 - beta2, out=tmp)
                xp.divide(exp_avg_sq, 1.0 - beta2**step, out=denom)
                xp.sqrt(denom, out=denom)
                denom += eps

                xp.divide(g, denom, out=tmp)  # the gradient's part, then the momentum's
                p += xp.multiply(tmp, -lr * (1.0 - mu) / (1.0 - mu_product), out=tmp)
                xp.divide(exp_avg, denom, out=tmp)
                p += xp.multiply(tmp, -lr * mu_next / (1.0 - mu_product * mu_next), out=tmp)
        return loss

    def _load_state_value(self, key: str, value, param: Tensor, index: int):
        """``mu_product`` is a scalar in its own dtype; the rest is loaded as usual."""
        if key == "mu_product":
            return _scalar_state(value, param)
        return super()._load_state_value(key, value, param, index)


def _scalar_dtype():
    """The dtype torch keeps scalar optimizer state in: float64 only when that is the
    default dtype, else float32."""
    return float64 if get_default_dtype() == float64 else float32


def _scalar_state(value, param: Tensor):
    """A saved scalar state entry (a number, a 0-d array or Tensor of any backend) as a 0-d
    array in :func:`_scalar_dtype`, beside ``param``."""
    value = value.array if isinstance(value, Tensor) else value
    return namespace(param.array).asarray(float(value), dtype=_scalar_dtype())
