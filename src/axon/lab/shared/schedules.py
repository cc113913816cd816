"""The learning-rate schedule of the lab's Transformers: a linear warm-up, then a cosine
down to a floor, built from ``axon.optim.lr_scheduler`` exactly as one writes it in torch.
"""

from __future__ import annotations

import math
import time

from axon.optim.lr_scheduler import CosineAnnealingLR, LinearLR, LRScheduler, SequentialLR
from axon.train.base import Callback
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
    With a time budget, :func:`cosine_within_budget` shortens the cosine to end with it.
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


def cosine_within_budget(schedule: LRScheduler, budget) -> Callback:
    """The callback that makes :func:`warmup_cosine`'s cosine end when ``budget`` (a
    ``TimeBudget``) does, should that come first: at the end of the warm-up, the mean time
    of an update so far says how many more fit in the budget, the cosine's horizon
    (``T_max``) becomes the smaller of the planned one and that, and training stops at its
    bottom (a cosine run past ``T_max`` would climb again). Without a budget, or for a
    schedule without a warm-up, it changes nothing. The horizon is part of the schedule's
    state, so a resumed run keeps it; like the budget itself, it depends on the machine."""
    return _CosineWithinBudget(schedule, budget)


class _CosineWithinBudget(Callback):
    def __init__(self, schedule: LRScheduler, budget) -> None:
        super().__init__()
        self.schedule, self.budget = schedule, budget

    def on_batch_end(self, batch: int, logs=None) -> None:
        s = self.schedule
        if self.budget.seconds is None or not isinstance(s, SequentialLR):
            return
        warmup, cosine = s._milestones[0], s._schedulers[-1]
        if s.last_epoch == warmup and cosine.last_epoch == 0:  # the cosine begins
            elapsed = time.perf_counter() - self.budget.start
            left = math.floor((self.budget.seconds - elapsed) / (elapsed / warmup))
            cosine.T_max = max(1, min(cosine.T_max, left))
        elif s.last_epoch > warmup and cosine.last_epoch >= cosine.T_max:
            self.model.stop_training = True
