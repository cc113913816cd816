"""Weight averaging (torch.optim.swa_utils): stochastic weight averaging and EMA models.

``AveragedModel(model)`` keeps a copy of ``model`` whose weights are the running average
of the weights it is shown with ``update_parameters(model)`` (equal weights, SWA, by
default; an exponential moving average with ``multi_avg_fn=get_ema_multi_avg_fn(0.999)``).
``SWALR`` anneals the learning rate to a constant ``swa_lr`` for the averaging phase, and
``update_bn`` recomputes the batch-norm statistics of the averaged weights, which no
training step has seen. The averaging works on the arrays, outside autograd.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

from ..autograd import Tensor, no_grad
from ..autograd.creation import tensor
from ..backend import int64, namespace
from ..nn.module import Module
from ..nn.normalization import _BatchNorm, _InstanceNorm
from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer, _lerp_

__all__ = [
    "AveragedModel",
    "SWALR",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )


def get_ema_multi_avg_fn(decay: float = 0.999):
    """An exponential moving average over lists of tensors, updated in place:
    ``ema += (1 - decay) * (current - ema)``."""
    _check_decay(decay)

    def ema_update(ema_param_list: list[Tensor], current_param_list: list[Tensor], _) -> None:
        for ema, current in zip(ema_param_list, current_param_list, strict=True):
            if ema.array.dtype.kind in "fc":
                _lerp_(
                    ema.array, current.array, 1 - decay, namespace(ema.array).empty_like(ema.array)
                )
            else:
                ema.array[...] = ema.array * decay + current.array * (1 - decay)

    return ema_update


def get_swa_multi_avg_fn():
    """The equal-weight running mean over lists of tensors, in place:
    ``avg += (current - avg) / (n + 1)``."""

    def swa_update(
        averaged_param_list: list[Tensor], current_param_list: list[Tensor], num_averaged
    ) -> None:
        weight = 1 / (float(num_averaged) + 1)
        for avg, current in zip(averaged_param_list, current_param_list, strict=True):
            _lerp_(avg.array, current.array, weight, namespace(avg.array).empty_like(avg.array))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    """An exponential moving average of one tensor: returns the new average."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """The equal-weight running mean of one tensor: returns the new average."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` holding the average of the weights shown to it.

    Each ``update_parameters(model)`` folds the model's current parameters into the
    average (the first call copies them); ``n_averaged`` (a buffer) counts the calls.
    Buffers (batch-norm statistics) are copied as they are, or averaged too with
    ``use_buffers=True``. Calling the averaged model runs the copy.

    Args:
        model: the model to average (deep-copied).
        device: where the copy lives (the copy is moved with ``.to(device)``).
        avg_fn: ``avg_fn(averaged, current, n_averaged) -> new average``, one tensor at a
            time (e.g. :func:`get_ema_avg_fn`).
        multi_avg_fn: the same over lists of tensors, in place (e.g.
            :func:`get_ema_multi_avg_fn`); the default is the equal-weight mean (SWA).
        use_buffers: average the buffers with the parameters.
    """

    def __init__(
        self,
        model: Module,
        device=None,
        avg_fn: Callable | None = None,
        multi_avg_fn: Callable | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=int64))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters (and buffers with ``use_buffers``) into
        the average."""
        if self.use_buffers:
            mine = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            mine, theirs = list(self.parameters()), list(model.parameters())
        mine, theirs = mine[: len(theirs)], theirs[: len(mine)]  # torch zips without strict
        n = int(self.n_averaged.array)
        with no_grad():
            if n == 0:
                for averaged, current in zip(mine, theirs, strict=True):
                    averaged.array[...] = current.array
            elif self.avg_fn is not None:
                for averaged, current in zip(mine, theirs, strict=True):
                    new = self.avg_fn(averaged.detach(), current.detach(), self.n_averaged)
                    averaged.array[...] = new.array
            else:
                update = self.multi_avg_fn or _swa_update
                update([p.detach() for p in mine], [p.detach() for p in theirs], self.n_averaged)
            if not self.use_buffers:
                for b_avg, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                    b_avg.array[...] = b_model.array
        self.n_averaged.array += 1


def _swa_update(
    averaged_params: list[Tensor], current_params: list[Tensor], num_averaged: Tensor
) -> None:
    """torch's default on CPU: ``avg + (current - avg) / (n + 1)``, tensor by tensor."""
    n = float(num_averaged.array)
    for avg, current in zip(averaged_params, current_params, strict=True):
        if avg.array.dtype.kind == "f":
            avg.array[...] = avg.array + (current.array - avg.array) / (n + 1)
        else:
            avg.array[...] = (avg.array + (current.array - avg.array) / (n + 1)).astype(
                avg.array.dtype
            )


def update_bn(loader: Iterable[Any], model: Module, device=None) -> None:
    """Recompute the running statistics of every batch norm of ``model`` with one pass
    over ``loader`` (a cumulative average over its batches; a batch that is a list or
    tuple contributes its first element); the model's train/eval mode is restored."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for input in loader:
            if isinstance(input, list | tuple):
                input = input[0]
            if device is not None:
                input = input.to(device)
            model(input)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's rate to ``swa_lr`` over ``anneal_epochs`` epochs (half a
    cosine or a line), then keep it there: the schedule of the averaging phase of SWA.

    Args:
        optimizer: the optimizer whose rates are annealed.
        swa_lr: the final rate, one for all groups or one per group.
        anneal_epochs: the epochs the annealing takes (0: jump at once).
        anneal_strategy: ``'cos'`` or ``'linear'``.
        last_epoch: the index of the last epoch when resuming.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list[float],
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        for lr, group in zip(
            _per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups, strict=True
        ):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._anneal_strategy = anneal_strategy
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t: float) -> float:
        """The fraction of the way to ``swa_lr`` at fraction ``t`` of the annealing."""
        if self._anneal_strategy == "cos":
            return (1 - math.cos(math.pi * t)) / 2
        return t

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        """The rate the annealing started from, given the current one at ``alpha``."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        groups = self.optimizer.param_groups
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [
            g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev_lrs, strict=True)
        ]
