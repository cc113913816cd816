"""The learning-rate schedule of the lab's Transformers: a linear warm-up, then a cosine
down to a floor, built from ``axon.optim.lr_scheduler`` exactly as one writes it in torch.
"""

from __future__ import annotations

from axon.optim.lr_scheduler import CosineAnnealingLR, LinearLR, LRScheduler, SequentialLR
from axon.train.callbacks import LearningRateScheduler


def warmup_cosine(optimizer, warmup: int, total: int, floor: float = 0.1) -> LRScheduler:
    """torch's warm-up-then-cosine recipe, to be stepped after every update:

        SequentialLR(optimizer, [LinearLR(optimizer, start_factor=1 / warmup,
                                          total_iters=warmup - 1),
                                 CosineAnnealingLR(optimizer, T_max=total - warmup,
                                                   eta_min=floor * lr)],
                     milestones=[warmup])

    With ``lr`` the optimizer's rate (its first group's), update t (from 0) runs at
    ``lr * (t + 1) / warmup`` for t < ``warmup``, then along the cosine from ``lr`` at t =
    ``warmup`` to ``floor * lr`` at t = ``total``. ``warmup`` 0 or 1: the cosine alone, from t = 0.
    The time budgets of the experiments stop the training wherever the cosine is.
    """
    eta_min = floor * optimizer.param_groups[0]["lr"]
    if warmup <= 1:
        return CosineAnnealingLR(optimizer, T_max=max(total, 1), eta_min=eta_min)
    cosine = CosineAnnealingLR(optimizer, T_max=max(total - warmup, 1), eta_min=eta_min)
    ramp = LinearLR(optimizer, start_factor=1.0 / warmup, end_factor=1.0, total_iters=warmup - 1)
    return SequentialLR(optimizer, [ramp, cosine], milestones=[warmup])


def per_update(scheduler: LRScheduler) -> LearningRateScheduler:
    """The callback that steps ``scheduler`` after every update of :func:`axon.fit` (its
    state goes into the run's backup, so ``--resume`` continues the schedule)."""
    return LearningRateScheduler(scheduler, interval="step")
