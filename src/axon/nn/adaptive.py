"""``AdaptiveLogSoftmaxWithLoss``: the adaptive softmax of Grave et al. (2017), a
log-softmax over a large vocabulary that spends little on rare words.

The classes, sorted by frequency, are cut into a head (the ``cutoffs[0]`` most frequent
ones) and clusters [cutoffs[i], cutoffs[i + 1]). The head is a linear layer over the
frequent classes plus one logit per cluster; cluster i has its own small two-layer
projection (through ``in_features / div_value^(i + 1)`` units) over its classes. Then

    log p(c | x) = log p_head(c | x)                                    c in the head
    log p(c | x) = log p_head(cluster i | x) + log p_i(c | x)           c in cluster i

so a batch pays the full head, and each cluster only for the rows whose target lies in
it. PyTorch's module, parameters, state-dict keys, outputs and errors.
"""

from __future__ import annotations

from collections import namedtuple

from .. import backend as B
from ..autograd.creation import cat
from ..autograd.tensor import Tensor, _wrap
from . import functional as F
from .containers import ModuleList, Sequential
from .linear import Linear
from .module import Module

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """``forward(input, target)`` returns ``(output, loss)``: the log-probability of each
    row's target, (N,), and the mean negative log-likelihood. ``log_prob(input)`` gives
    the full (N, n_classes) log-probabilities; ``predict(input)`` the most likely class.

    Args:
        in_features: size of each input row.
        n_classes: number of classes (sorted from most to least frequent).
        cutoffs: increasing class indices in [1, n_classes - 1] that start each cluster.
        div_value: how much smaller each cluster's projection is than the last.
        head_bias: whether the head has a bias.
    """

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cutoffs,
        div_value: float = 4.0,
        head_bias: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (
            cutoffs != sorted(cutoffs)
            or min(cutoffs) <= 0
            or max(cutoffs) > n_classes - 1
            or len(set(cutoffs)) != len(cutoffs)
            or any(int(c) != c for c in cutoffs)
        ):
            raise ValueError(
                "cutoffs should be a sequence of unique, positive integers sorted in an "
                "increasing order, where each value is between 1 and n_classes-1 (got "
                f"cutoffs={cutoffs}, n_classes={n_classes})"
            )
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        factory = dict(device=device, dtype=dtype)
        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(
                Sequential(
                    Linear(in_features, hidden, bias=False, **factory),
                    Linear(hidden, size, bias=False, **factory),
                )
            )

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        target = target_.array if isinstance(target_, Tensor) else B.xp.asarray(target_)
        batched = target.ndim == 1
        if target.ndim == 1:
            if input_.ndim != 2:
                raise RuntimeError(
                    f"1D target tensor expects 2D input tensors, but found "
                    f"input of shape {tuple(input_.shape)}"
                )
            if input_.shape[0] != target.shape[0]:
                raise RuntimeError(
                    f"Input and target should have the same size in the batch "
                    f"dimension: input of shape {tuple(input_.shape)}, target "
                    f"of shape {target.shape}"
                )
        elif target.ndim == 0:
            if input_.ndim != 1:
                raise RuntimeError(
                    f"0D target tensor expects 1D input tensors, but found "
                    f"input of shape {tuple(input_.shape)}"
                )
            input_, target = input_.unsqueeze(0), target[None]
        else:
            raise RuntimeError(
                f"0D or 1D target tensor expected, multi-target not supported "
                f"(target of shape {target.shape})"
            )
        if target.size and (target.min() < 0 or target.max() >= self.n_classes):
            raise RuntimeError(
                f"Target values should be in [0, {self.n_classes - 1}], but "
                f"values in range [{int(target.min())}, {int(target.max())}] "
                f"were found."
            )
        output = self._target_log_prob(input_, target)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _target_log_prob(self, input: Tensor, target) -> Tensor:
        """log p(target | x) per row: the head's entry (the class itself, or its
        cluster), plus, for rows in a cluster, the cluster's log-probability of the class
        (computed on those rows only and placed back by a 0/1 matrix product)."""
        xp = B.namespace(target)
        n = target.shape[0]
        head_index = target.copy()
        out = None
        for i in range(self.n_clusters):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            rows = xp.flatnonzero((target >= low) & (target < high))
            if rows.size == 0:
                continue
            head_index[rows] = self.shortlist_size + i
            cluster = F.log_softmax(self.tail[i](input.index_select(0, _wrap(rows))), dim=1)
            local = cluster.gather(1, _wrap((target[rows] - low)[:, None])).squeeze(1)
            place = xp.zeros((n, rows.size), input.dtype)  # (N, rows): row k -> rows[k]
            place[rows, xp.arange(rows.size)] = 1
            part = _wrap(place) @ local
            out = part if out is None else out + part
        head = F.log_softmax(self.head(input), dim=1)
        picked = head.gather(1, _wrap(head_index[:, None])).squeeze(1)
        return picked if out is None else picked + out

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        head = F.log_softmax(head_output, dim=1)
        parts = [head[:, : self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster + head[:, self.shortlist_size + i : self.shortlist_size + i + 1])
        return cat(parts, dim=1)

    def log_prob(self, input: Tensor) -> Tensor:
        """log p(c | x) for every class c of every row of the (N, in_features) input:
        (N, n_classes)."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each row: (N,)."""
        return self.log_prob(input).argmax(dim=-1)
