"""Rprop: per-coordinate step sizes that grow while the gradient keeps its sign."""

from __future__ import annotations

from collections.abc import Iterable

from ..autograd import Tensor
from ..backend import namespace
from .optimizer import Optimizer, _check, _implementation_flags, full_like, zeros_like


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller and Braun, 1993), PyTorch's update rule.

    Only the sign of each gradient coordinate is used. Its step size :math:`\Delta`
    (starting at ``lr``) is multiplied by :math:`\eta_+` while the sign stays the same and
    by :math:`\eta_-` when it flips, clipped to ``step_sizes``; after a flip the
    coordinate does not move and its gradient is forgotten (so the next step grows
    again):

    .. math::
        \Delta_t &= \operatorname{clip}(\Delta_{t-1} \cdot
            \{\eta_+, \eta_-, 1\}[\operatorname{sign}(g_t g_{t-1})]) \\
        \theta_t &= \theta_{t-1} - \operatorname{sign}(g_t)\, \Delta_t
            \quad (g_t \leftarrow 0 \text{ where the sign flipped})

    Meant for full-batch training: mini-batch noise flips the signs at random.

    Args:
        params: Tensors or parameter groups (dicts) to optimize.
        lr: the initial step size of every coordinate.
        etas: the multipliers :math:`(\eta_-, \eta_+)`, with :math:`0 < \eta_- < 1 <
            \eta_+`.
        step_sizes: the bounds (min, max) of the step sizes.
        capturable, foreach, differentiable: torch's implementation switches, accepted and
            kept in the groups (see :func:`~axon.optim.optimizer._implementation_flags`).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check(lr >= 0, "learning rate", lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(
            lr=lr,
            etas=tuple(etas),
            step_sizes=tuple(step_sizes),
            foreach=foreach,
            maximize=maximize,
            **_implementation_flags(differentiable=differentiable, capturable=capturable),
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            etaminus, etaplus = (float(e) for e in group["etas"])
            step_size_min, step_size_max = (float(s) for s in group["step_sizes"])
            for p, grad, state in self._params_with_grad(group):
                if not state:
                    state["step"] = 0
                    state["prev"] = zeros_like(p)
                    state["step_size"] = full_like(p, float(group["lr"]))
                state["step"] += 1
                xp = namespace(p)
                g = xp.negative(grad) if group["maximize"] else grad.copy()
                prev, step_size = state["prev"], state["step_size"]

                agreement = xp.sign(g * prev)  # +1 same sign, -1 flipped, 0 unknown
                factor = xp.where(
                    agreement > 0, etaplus, xp.where(agreement < 0, etaminus, 1.0)
                ).astype(p.dtype)
                step_size *= factor
                xp.clip(step_size, step_size_min, step_size_max, out=step_size)
                g[agreement < 0] = 0  # after a flip: stand still, forget the gradient
                p -= xp.sign(g) * step_size
                prev[...] = g
        return loss
