"""Adam and AdamW: momentum on the gradient, scaled by a running RMS, with bias correction."""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import accumulate

from ..autograd import Tensor
from ..backend import namespace, of
from .optimizer import Optimizer, _check, _implementation_flags, _lerp_, zeros_like

flat_size = 1 << 14
"""Parameters of at most this many elements take their Adam step together, on flat
moment arrays (:meth:`Adam._flat_moments`): for small ones the array library's cost per
call outweighs the arithmetic. Larger ones step alone: copying their gradients into a flat
array costs more than the calls saved (an MLP's 784x256 weight steps slower that way)."""


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
        foreach, capturable, differentiable, fused: torch's implementation switches,
            accepted and kept in the groups (see
            :func:`~axon.optim.optimizer._implementation_flags`).
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
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
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
            **_implementation_flags(
                foreach=foreach,
                capturable=capturable,
                differentiable=differentiable,
                fused=fused,
            ),
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)
        self._flat: dict[int, dict] = {}  # per group: its moments as flat arrays

    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = self._evaluate(closure)
        for index, group in enumerate(self.param_groups):
            amsgrad = group["amsgrad"]
            items = list(self._params_with_grad(group))
            for p, _, state in items:
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                if amsgrad and "max_exp_avg_sq" not in state:
                    state["max_exp_avg_sq"] = zeros_like(p)
                state["step"] += 1
            small = [item for item in items if item[0].size <= flat_size]
            large = [item for item in items if item[0].size > flat_size]
            flat = self._flat_moments(index, small, amsgrad)
            for p, grad, state in items if flat is None else large:
                g = self._decayed(p, grad, group, None)  # parameter by parameter
                update = self._update(state, g, self._scratch(p), state["step"], group)
                if update is not None:
                    p -= update
            if flat is None:
                continue
            # the small ones at once: flat moments, each parameter's state a view of them
            g, tmp = (self._scratch(flat["exp_avg"], slot) for slot in (2, 3))
            for (p, grad, _), part in zip(small, flat["parts"], strict=True):
                self._decayed(p, grad, group, g[part].reshape(p.shape))
            update = self._update(flat, g, tmp, small[0][2]["step"], group)
            if update is not None:
                for (p, _, _), part in zip(small, flat["parts"], strict=True):
                    p -= update[part].reshape(p.shape)
        return loss

    def _decayed(self, p, grad, group, out):
        """The gradient to step with (decoupled decay shrinks ``p`` itself first)."""
        weight_decay, maximize = float(group["weight_decay"]), group["maximize"]
        if group["decoupled_weight_decay"]:
            if weight_decay != 0:
                p *= 1.0 - float(group["lr"]) * weight_decay
            weight_decay = 0.0
        return self._grad_with_decay(p, grad, weight_decay, maximize, out)

    @staticmethod
    def _update(state, g, tmp, step: int, group):
        """Advance the moments in ``state`` by ``g``; return the step to subtract from the
        parameters (in ``tmp``), or None when lr is 0."""
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        step_size = lr / (1.0 - beta1**step)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
        fused = of(g).kernels()
        if fused is not None and not group["amsgrad"] and step_size != 0:
            # a GPU: the moments and the step in one kernel (the same formula as below)
            scale = 1.0 / (bias_correction2_sqrt * step_size)
            fused.adam(g, exp_avg, exp_avg_sq, tmp, beta1, beta2, scale, eps / step_size)
            return tmp
        xp = namespace(g)
        _lerp_(exp_avg, g, 1.0 - beta1, tmp)  # m = beta1 m + (1 - beta1) g
        exp_avg_sq *= beta2  # v = beta2 v + (1 - beta2) g^2
        xp.multiply(g, g, out=tmp)
        exp_avg_sq += xp.multiply(tmp, 1.0 - beta2, out=tmp)
        if group["amsgrad"]:
            exp_avg_sq = xp.maximum(
                state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"]
            )

        # Python floats (not NumPy float64 scalars) keep float32 updates in float32.
        if step_size == 0:  # lr == 0: the moments advance, the weights stay
            return None
        # step_size m / (sqrt(v) / bc2 + eps), with step_size folded into the denominator
        # so the update needs one pass less
        xp.sqrt(exp_avg_sq, out=tmp)
        tmp *= 1.0 / (bias_correction2_sqrt * step_size)
        tmp += eps / step_size
        return xp.divide(exp_avg, tmp, out=tmp)

    def _flat_moments(self, index: int, items: list, amsgrad: bool):
        """The moments of a group's parameters as flat arrays (``exp_avg`` etc., and
        ``parts``: each parameter's slice), with each ``state[name]`` a view of them, so
        one pass of each array op updates them all (see :data:`flat_size`). Made again
        (copying the values) when the parameters with a gradient change or a loaded
        state dict replaced the views; None (step each parameter alone) for one
        parameter, mixed dtypes, backends or steps."""
        if len(items) < 2:
            return None
        first, step = items[0][0], items[0][2]["step"]
        if any(
            p.dtype != first.dtype or p.__class__ is not first.__class__ or state["step"] != step
            for p, _, state in items
        ):
            return None
        names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
        states = [state for _, _, state in items]
        flat = self._flat.get(index)
        if (
            flat is not None
            and flat["names"] == names
            and len(flat["views"]) == len(states)
            and all(
                state[name] is view[name]
                for state, view in zip(states, flat["views"], strict=True)
                for name in names
            )
        ):
            return flat
        sizes = [p.size for p, _, _ in items]
        ends = list(accumulate(sizes))
        parts = [slice(end - size, end) for end, size in zip(ends, sizes, strict=True)]
        flat = {"names": names, "parts": parts}
        xp = namespace(items[0][0])
        for name in names:
            flat[name] = xp.concatenate([state[name].ravel() for state in states])
        flat["views"] = []
        for (p, _, state), part in zip(items, flat["parts"], strict=True):
            views = {name: flat[name][part].reshape(p.shape) for name in names}
            state.update(views)
            flat["views"].append(views)
        self._flat[index] = flat
        return flat


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
        foreach, capturable, differentiable, fused: accepted as torch's (see Adam).
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
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
