"""What ``fit`` minimises and reports: the loss and the metrics, of one output or several.

One output (the default): ``loss(output, target)`` and the metrics on the output's arrays.

Several outputs (Keras' habits): a model whose forward returns a dict name -> Tensor or a
tuple (a functional ``nn.Model`` names its outputs in ``output_names``; other models'
tuple outputs are ``output_1``, ``output_2``, ...), trained with

- ``loss``: one loss for every output, a dict name -> loss, or a list in output order; an
  output without a loss (None, or missing from the dict) is not trained;
- ``loss_weights``: a dict or list of factors (default 1); the loss minimised is
  ``sum_k w_k * loss_k(output_k, target_k)``;
- ``metrics``: a dict name -> metric(s), a list of lists in output order, or a flat list
  applied to every output.

The target is a dict name -> target or a tuple in output order. The logs are Keras': the
weighted total as ``loss``, then ``<output>_loss`` for each trained output and
``<output>_<metric>`` for each metric (``val_`` before each for the validation data).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..autograd.tensor import Tensor
from . import metrics as M
from .metrics import _array

_LOSS_NAMES = {
    "cross_entropy": "CrossEntropyLoss",
    "mse": "MSELoss",
    "l1": "L1Loss",
    "mae": "L1Loss",
    "bce": "BCELoss",
    "bce_with_logits": "BCEWithLogitsLoss",
    "nll": "NLLLoss",
    "huber": "HuberLoss",
    "smooth_l1": "SmoothL1Loss",
}


def resolve_loss(loss):
    """A loss callable; a name such as ``"cross_entropy"`` or ``"mse"`` builds the nn loss."""
    if isinstance(loss, str):
        from .. import nn

        if loss not in _LOSS_NAMES:
            raise ValueError(f"unknown loss {loss!r}; known: {', '.join(_LOSS_NAMES)}")
        return getattr(nn, _LOSS_NAMES[loss])()
    if not callable(loss):
        raise TypeError(f"loss must be callable (e.g. nn.CrossEntropyLoss()), got {loss!r}")
    return loss


class Objective:
    """One loss and its metrics on the model's single output (``loss`` may be None when
    only metrics are wanted)."""

    def __init__(self, loss, metrics: Iterable = (), fresh: bool = False) -> None:
        self.loss_fn = None if loss is None else resolve_loss(loss)
        self.metrics = M.get_all(metrics, fresh=fresh)

    @property
    def has_loss(self) -> bool:
        return self.loss_fn is not None

    @property
    def metric_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def __call__(self, out, target) -> Tensor:
        return self.loss_fn(out, target)

    def reset(self) -> None:
        for m in self.metrics:
            m.reset()

    def update(self, out, target, n: int) -> None:
        """Score one batch of ``n`` samples (after ``__call__`` on it, if there is a loss)."""
        if self.metrics:
            o, t = _array(out), _array(target)
            for m in self.metrics:
                m.update(o, t)

    def logs(self) -> dict[str, float]:
        return {m.name: m.result() for m in self.metrics}

    def state_dict(self) -> dict[str, Any]:
        """The metrics' running sums (a checkpoint in the middle of an epoch)."""
        return {"metrics": [m.state_dict() for m in self.metrics]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for m, s in zip(self.metrics, state["metrics"], strict=True):
            m.load_state_dict(s)


def _is_per_output_list(spec) -> bool:
    return (
        isinstance(spec, list | tuple)
        and bool(spec)
        and all(isinstance(s, list | tuple) for s in spec)
    )


class MultiOutputObjective:
    """Per-output losses, weighted and summed, and per-output metrics (module docstring).

    ``names`` are the output names when known in advance (a functional Model's); otherwise
    they are taken from the first output seen (a dict's keys, or ``output_k``).
    """

    def __init__(
        self,
        loss,
        metrics=(),
        loss_weights=None,
        names: Sequence[str] | None = None,
        fresh: bool = False,
    ) -> None:
        self._specs = (loss, metrics, loss_weights)
        self._fresh = fresh
        self.names: list[str] | None = None
        self._last: dict[str, Tensor] = {}
        if names is not None:
            self._bind(list(names))

    # ------------------------------------------------------------- the outputs
    def _per_output(self, spec, what: str, default=None) -> dict[str, Any]:
        names = self.names
        if isinstance(spec, Mapping):
            unknown = [k for k in spec if k not in names]
            if unknown:
                raise ValueError(
                    f"{what} given for unknown output(s) {unknown}; the model's outputs are {names}"
                )
            return {n: spec.get(n, default) for n in names}
        if isinstance(spec, list | tuple):
            if len(spec) != len(names):
                raise ValueError(
                    f"{what}: {len(spec)} given for the {len(names)} outputs "
                    f"{names}; give one per output or a dict by name"
                )
            return dict(zip(names, spec, strict=True))
        return dict.fromkeys(names, spec)

    def _bind(self, names: list[str]) -> None:
        self.names = names
        loss, metrics, weights = self._specs
        self.losses = {
            n: None if f is None else resolve_loss(f)
            for n, f in self._per_output(loss, "loss").items()
        }
        if all(f is None for f in self.losses.values()) and loss is not None:
            raise ValueError(f"no output has a loss; the model's outputs are {names}")
        self.weights = {
            n: 1.0 if w is None else float(w)
            for n, w in self._per_output(weights, "loss_weights").items()
        }
        if not isinstance(metrics, Mapping) and not _is_per_output_list(metrics):
            metrics = dict.fromkeys(names, metrics)  # a flat list: every output
        shared = len(names) > 1
        self.metrics = {
            n: M.get_all(spec or (), fresh=self._fresh or shared)
            for n, spec in self._per_output(metrics, "metrics").items()
        }
        self._sums = dict.fromkeys(names, 0.0)
        self._count = 0

    def _outputs(self, out) -> dict[str, Any]:
        """The model's output as a dict by output name (naming the outputs if not yet)."""
        if isinstance(out, Mapping):
            if self.names is None:
                self._bind(list(out))
            if list(out) != self.names:
                raise ValueError(
                    f"the model returned the outputs {list(out)}, expected {self.names}"
                )
            return dict(out)
        items = list(out) if isinstance(out, list | tuple) else [out]
        if self.names is None:
            self._bind([f"output_{k + 1}" for k in range(len(items))])
        if len(items) != len(self.names):
            raise ValueError(
                f"the model returned {len(items)} output(s), expected "
                f"{len(self.names)}: {self.names}"
            )
        return dict(zip(self.names, items, strict=True))

    def _targets(self, target, wanted: Iterable[str]) -> dict[str, Any]:
        """The targets by output name; every output in ``wanted`` must have one."""
        if isinstance(target, Mapping):
            unknown = [k for k in target if k not in self.names]
            if unknown:
                raise ValueError(
                    f"targets given for unknown output(s) {unknown}; the model's "
                    f"outputs are {self.names}"
                )
            targets = dict(target)
        elif isinstance(target, list | tuple):
            if len(target) != len(self.names):
                raise ValueError(
                    f"{len(target)} targets for the {len(self.names)} outputs "
                    f"{self.names}; give one per output or a dict by name"
                )
            targets = dict(zip(self.names, target, strict=True))
        elif len(self.names) == 1:
            targets = {self.names[0]: target}
        else:
            raise ValueError(
                f"the model has the outputs {self.names}: the target must be a "
                f"dict by output name or a tuple in output order, got one "
                f"{type(target).__name__}"
            )
        missing = [n for n in wanted if n not in targets]
        if missing:
            raise ValueError(
                f"no target for output(s) {missing} (they have a loss or "
                f"metrics); targets were given for {list(targets)}"
            )
        return targets

    # ------------------------------------------------------------- the protocol
    @property
    def has_loss(self) -> bool:
        return self._specs[0] is not None

    @property
    def metric_names(self) -> list[str]:
        return list(self.logs()) if self.names is not None else []

    def __call__(self, out, target) -> Tensor:
        outs = self._outputs(out)
        trained = [n for n, f in self.losses.items() if f is not None]
        targets = self._targets(target, trained)
        total = None
        self._last = {}
        for name in trained:
            o, t = outs[name], targets[name]
            try:
                part = self.losses[name](o, t)
            except Exception as err:
                raise ValueError(
                    f"the loss of output {name!r} failed (output of shape "
                    f"{tuple(getattr(o, 'shape', ()))}, target of shape "
                    f"{tuple(getattr(t, 'shape', ()))}): {err}"
                ) from err
            self._last[name] = part
            w = self.weights[name]
            term = part if w == 1.0 else part * w
            total = term if total is None else total + term
        return total

    def reset(self) -> None:
        if self.names is None:
            return
        for name in self.names:
            self._sums[name] = 0.0
            for m in self.metrics[name]:
                m.reset()
        self._count = 0
        self._last = {}

    def update(self, out, target, n: int) -> None:
        """Add the per-output losses of the last ``__call__`` and score the metrics."""
        outs = self._outputs(out)
        for name, part in self._last.items():
            self._sums[name] += float(part.item()) * n
        self._count += n
        scored = [name for name in self.names if self.metrics[name]]
        if scored:
            targets = self._targets(target, scored)
            for name in scored:
                o, t = _array(outs[name]), _array(targets[name])
                for m in self.metrics[name]:
                    m.update(o, t)

    def logs(self) -> dict[str, float]:
        logs = {}
        if self.has_loss:
            for name, f in self.losses.items():
                if f is not None:
                    logs[f"{name}_loss"] = (
                        self._sums[name] / self._count if self._count else float("nan")
                    )
        for name in self.names or ():
            logs.update((f"{name}_{m.name}", m.result()) for m in self.metrics[name])
        return logs

    def state_dict(self) -> dict[str, Any]:
        """The output names, the per-output loss sums and the metrics' running sums."""
        if self.names is None:
            return {"names": None}
        return {
            "names": list(self.names),
            "sums": dict(self._sums),
            "count": self._count,
            "metrics": {n: [m.state_dict() for m in self.metrics[n]] for n in self.names},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["names"] is None:
            return
        if self.names is None:
            self._bind(list(state["names"]))
        if list(state["names"]) != self.names:
            raise ValueError(
                f"the saved objective has the outputs {list(state['names'])}, this one {self.names}"
            )
        self._sums = {n: float(state["sums"][n]) for n in self.names}
        self._count = int(state["count"])
        for n in self.names:
            for m, s in zip(self.metrics[n], state["metrics"][n], strict=True):
                m.load_state_dict(s)


def make_objective(model, loss, metrics=(), loss_weights=None, fresh: bool = False):
    """The objective for ``model``: several outputs when ``loss``, ``loss_weights`` or
    ``metrics`` are given per output (a dict, a list of losses, a list of metric lists)
    or the model names more than one output (``model.output_names``); else one."""
    names = getattr(model, "output_names", None)
    names = list(names) if isinstance(names, list | tuple) else None
    multi = (
        isinstance(loss, Mapping | list | tuple)
        or loss_weights is not None
        or isinstance(metrics, Mapping)
        or _is_per_output_list(metrics)
        or (names is not None and len(names) > 1)
    )
    if not multi:
        return Objective(loss, metrics, fresh=fresh)
    return MultiOutputObjective(loss, metrics, loss_weights, names=names, fresh=fresh)
