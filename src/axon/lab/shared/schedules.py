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
    ``TimeBudget``) does, should that come first. After the warm-up, each update's end
    re-estimates how many more updates fit in the budget (from the mean time of those so
    far, validation included) and sets the cosine's horizon ``T_max`` to the smaller of
    the planned one and that; training stops at the cosine's bottom (a cosine run past
    ``T_max`` would climb again). The cosine is computed recursively, as torch's is, so a
    new horizon bends the curve without a jump and it still ends at the floor. Without a
    budget, or for a schedule without a warm-up, it changes nothing. The horizon is part
    of the schedule's state, so a resumed run keeps it; like the budget itself, it
    depends on the machine's speed."""
    return _CosineWithinBudget(schedule, budget)


class _CosineWithinBudget(Callback):
    def __init__(self, schedule: LRScheduler, budget) -> None:
        super().__init__()
        self.schedule, self.budget = schedule, budget
        fits = isinstance(schedule, SequentialLR) and budget.seconds is not None
        self.planned = schedule._schedulers[-1].T_max if fits else None

    def on_batch_end(self, batch: int, logs=None) -> None:
        s = self.schedule
        if self.planned is None or s.last_epoch < s._milestones[0]:
            return
        cosine, k = s._schedulers[-1], s._schedulers[-1].last_epoch  # k: the next update's
        elapsed = time.perf_counter() - self.budget.start
        left = math.floor((self.budget.seconds - elapsed) / (elapsed / s.last_epoch))
        if left < 1 or k >= self.planned:  # no time for another update, or none planned
            self.model.stop_training = True
            self.budget.stopped = self.budget.stopped or left < 1  # the budget ended it
        else:  # updates k .. T_max - 1 fit, the last at the cosine's bottom
            cosine.T_max = min(self.planned, k + left)
