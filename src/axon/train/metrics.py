"""Metrics: scores averaged over an epoch, computed on the outputs' arrays where they live
(with their backend's namespace; Keras' names).

A metric's ``update(output, target)`` scores one batch and returns that batch's value; it
also adds to a running mean weighted by the number of items scored (samples, or positions
for sequence outputs), so ``result()`` after an epoch is the exact epoch-wide value, not a
mean of batch means. ``get("accuracy")`` turns a name into a metric; a plain function
``fn(output, target) -> float`` (NumPy arrays in: a device's arrays are copied to the host
for it) becomes a metric named after it.

Accuracy follows Keras: class scores ``(N, C)`` (logits or probabilities) against integer
targets ``(N,)`` are scored by argmax; a single output ``(N,)`` or ``(N, 1)`` is binary and
thresholded at 0.5 (so it expects probabilities; for logits use
``BinaryAccuracy(threshold=0.0)``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from typing import Any

from ..autograd.tensor import Tensor, _host
from ..backend import int64, namespace


def _array(x):
    """The array of a Tensor (on its device), or anything array-like as a host array."""
    return x.array if isinstance(x, Tensor) else _host(x)


class Metric:
    """Base class: subclasses define ``batch(output, target) -> (sum of scores, count)``."""

    name: str = "metric"

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name
        self.reset()

    def batch(self, output, target) -> tuple[float, int]:
        """One batch's ``(sum of scores, count)`` from the arrays of the output and the
        target (of the output's backend; a target may be a host array)."""
        raise NotImplementedError

    def update(self, output, target) -> float:
        """Score one batch; returns its value and adds it to the running mean."""
        total, count = self.batch(_array(output), _array(target))
        self.total += float(total)
        self.count += int(count)
        return float(total) / count if count else float("nan")

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def result(self) -> float:
        """The running mean since the last ``reset()`` (NaN before any update)."""
        return self.total / self.count if self.count else float("nan")

    def state_dict(self) -> dict[str, Any]:
        """The running mean's sums (``total``, ``count``), for a checkpoint taken in the
        middle of an epoch; a metric keeping more state overrides both methods."""
        return {"total": self.total, "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the running mean from :meth:`state_dict`'s sums."""
        self.total = float(state["total"])
        self.count = int(state["count"])

    def __call__(self, output, target) -> float:
        """One batch's value, without touching the running mean."""
        total, count = self.batch(_array(output), _array(target))
        return float(total) / count if count else float("nan")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _class_axis(output, target) -> int:
    """Which axis of ``output`` holds the classes for integer ``target`` (torch: axis 1)."""
    if output.shape[:1] + output.shape[2:] == target.shape:
        return 1
    if output.shape[:-1] == target.shape:
        return output.ndim - 1
    raise ValueError(
        f"accuracy: output of shape {output.shape} does not match integer targets of shape "
        f"{target.shape}; expected output (N, C, ...) for targets (N, ...)"
    )


def _as_labels(output, target) -> tuple:
    """Integer labels from targets that are labels already or one-hot/probability rows."""
    if target.shape == output.shape:
        return target.argmax(axis=1), 1
    return target, _class_axis(output, target)


def _is_binary(output) -> bool:
    return output.ndim == 1 or (output.ndim >= 2 and output.shape[-1] == 1)


class BinaryAccuracy(Metric):
    """Share of items where ``output > threshold`` agrees with ``target > 0.5``."""

    name = "binary_accuracy"

    def __init__(self, threshold: float = 0.5, name: str | None = None) -> None:
        self.threshold = threshold
        super().__init__(name)

    def batch(self, output, target):
        pred = output.reshape(-1) > self.threshold
        true = target.reshape(-1) > 0.5
        if pred.shape != true.shape:
            raise ValueError(
                f"binary_accuracy: output of shape {output.shape} and target of shape "
                f"{target.shape} do not hold the same number of items"
            )
        return namespace(pred).count_nonzero(pred == true), pred.size


class Accuracy(Metric):
    """Share of correct predictions: argmax over the class axis for class scores, a 0.5
    threshold for a single output (see the module docstring). Targets equal to
    ``ignore_index`` (e.g. padding) are not counted."""

    name = "accuracy"

    def __init__(self, ignore_index: int | None = None, name: str | None = None) -> None:
        self.ignore_index = ignore_index
        self._binary = BinaryAccuracy()
        super().__init__(name)

    def batch(self, output, target):
        if _is_binary(output) and output.size == target.size:
            return self._binary.batch(output, target)
        labels, axis = _as_labels(output, target)
        correct = output.argmax(axis=axis) == labels
        xp = namespace(correct)
        if self.ignore_index is not None:
            keep = labels != self.ignore_index
            return xp.count_nonzero(correct & keep), xp.count_nonzero(keep)
        return xp.count_nonzero(correct), correct.size


class TopKAccuracy(Metric):
    """Share of items whose target class is among the ``k`` highest scores.

    A target tied with the k-th score counts as a hit (the rank is the number of classes
    scored strictly higher).
    """

    def __init__(self, k: int = 5, name: str | None = None) -> None:
        if k < 1:
            raise ValueError(f"TopKAccuracy: k must be >= 1, got {k}")
        self.k = k
        super().__init__(name or f"top_{k}_accuracy")

    def batch(self, output, target):
        labels, axis = _as_labels(output, target)
        xp = namespace(output)
        scores = xp.moveaxis(output, axis, -1)  # (..., C)
        target_score = xp.take_along_axis(scores, labels[..., None].astype(int64), axis=-1)
        rank = (scores > target_score).sum(axis=-1)
        return xp.count_nonzero(rank < self.k), rank.size


def _match(output, target):
    """``target`` reshaped to ``output`` when only singleton axes differ ((N,) vs (N, 1)):
    broadcasting them would silently compare every pair."""
    if target.shape != output.shape and target.size == output.size:
        return target.reshape(output.shape)
    return target


class MeanAbsoluteError(Metric):
    """mean |output - target| over all elements."""

    name = "mae"

    def batch(self, output, target):
        n = output.shape[0] if output.ndim else 1
        return abs(output - _match(output, target)).mean() * n, n


class MeanSquaredError(Metric):
    """mean (output - target)^2 over all elements."""

    name = "mse"

    def batch(self, output, target):
        n = output.shape[0] if output.ndim else 1
        diff = output - _match(output, target)
        return (diff * diff).mean() * n, n


class MeanMetric(Metric):
    """Wraps ``fn(output, target) -> float`` (NumPy arrays in, copied to the host from
    another device); weighted by batch size."""

    def __init__(self, fn: Callable[[Any, Any], float], name: str | None = None) -> None:
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", type(fn).__name__))

    def batch(self, output, target):
        n = output.shape[0] if output.ndim else 1
        return float(self.fn(_host(output), _host(target))) * n, n


_NAMES: dict[str, Callable[[str], Metric]] = {
    "accuracy": lambda name: Accuracy(name=name),
    "acc": lambda name: Accuracy(name=name),
    "binary_accuracy": lambda name: BinaryAccuracy(name=name),
    "top_k_accuracy": lambda name: TopKAccuracy(5, name=name),
    "mae": lambda name: MeanAbsoluteError(name=name),
    "mean_absolute_error": lambda name: MeanAbsoluteError(name=name),
    "mse": lambda name: MeanSquaredError(name=name),
    "mean_squared_error": lambda name: MeanSquaredError(name=name),
}


def get(spec: Any) -> Metric:
    """A metric from a name (``"accuracy"``, ``"acc"``, ``"top_k_accuracy"`` (k=5),
    ``"top_3_accuracy"``, ``"binary_accuracy"``, ``"mae"``, ``"mse"``), a Metric (returned
    as is), a Metric subclass, or a function ``fn(output, target) -> float``.

    The log key is the name as given: ``metrics=["acc"]`` logs ``acc`` and ``val_acc``.
    """
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, type) and issubclass(spec, Metric):
        return spec()
    if isinstance(spec, str):
        if spec in _NAMES:
            return _NAMES[spec](spec)
        m = re.fullmatch(r"top_(\d+)_accuracy", spec)
        if m:
            return TopKAccuracy(int(m.group(1)), name=spec)
        raise ValueError(
            f"unknown metric {spec!r}; known: {', '.join(sorted(_NAMES))}, "
            "top_<k>_accuracy, or pass a function fn(output, target) -> float"
        )
    if callable(spec):
        return MeanMetric(spec)
    raise TypeError(f"a metric must be a name, a Metric or a function, got {type(spec).__name__}")


def get_all(specs: Iterable[Any], fresh: bool = False) -> list[Metric]:
    """Metrics for ``specs``; ``fresh=True`` copies Metric instances (for validation)."""
    if isinstance(specs, str | Metric) or callable(specs):
        specs = [specs]
    out = []
    for spec in specs:
        m = get(spec)
        if fresh and m is spec:
            m = copy.deepcopy(m)
        out.append(m)
    names = [m.name for m in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"two metrics share the name(s) {dupes}; give them distinct names")
    return out


__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "MeanAbsoluteError",
    "MeanMetric",
    "MeanSquaredError",
    "Metric",
    "TopKAccuracy",
    "get",
    "get_all",
]

# corpus-level BLEU is no running mean, so it is a function, not a Metric
from .bleu import BLEUScore, corpus_bleu, sentence_bleu  # noqa: E402

__all__ += ["BLEUScore", "corpus_bleu", "sentence_bleu"]
