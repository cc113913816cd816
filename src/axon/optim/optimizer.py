"""``Optimizer``: the base class that holds parameter groups and per-parameter state.

As in PyTorch, ``params`` is an iterable of Tensors or of dicts (parameter groups, each
with its own options); every option missing from a group takes the optimizer's default.
``state[p]`` is a dict per parameter (moment buffers, step counts) created lazily by
``step``. ``state_dict`` refers to parameters by their index across all groups, so a
checkpoint can be loaded into a fresh optimizer built over copies of the parameters.

Subclasses implement ``step`` as in-place updates of ``p.array`` (never of ``p.grad.array``,
which may be shared) with the namespace of the parameter's backend (``namespace(p)``), using
the reusable scratch arrays from ``_scratch`` so a step allocates almost nothing.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from ..autograd import Tensor, enable_grad
from ..autograd.tensor import _host, _placed, _wrap
from ..backend.base import namespace, of
from .hooks import (  # noqa: F401  (torch.optim.optimizer's global hooks live here too)
    OptimizerHooks,
    hooked_step,
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)

_SET_ERROR = (
    "optimizer parameters need to be organized in ordered collections, but the ordering of "
    "tensors in sets will change between runs. Please use a list instead."
)


def _check(ok: bool, what: str, value) -> None:
    """Raise the ValueError PyTorch raises for a bad hyperparameter (naming the value)."""
    if not ok:
        raise ValueError(f"Invalid {what}: {value}")


def _implementation_flags(**flags) -> dict[str, Any]:
    """Torch's implementation switches (``foreach``, ``fused``, ``capturable``,
    ``differentiable``), accepted so torch programs run unchanged and kept in the groups
    as torch keeps them. They choose how torch runs an update (one kernel per tensor, a
    fused kernel, CUDA graphs), never what it computes, so axon's one path (with the
    parameters' backend) serves them all; only ``differentiable=True`` (recording the
    update for autograd) is not supported."""
    if flags.get("fused") and flags.get("foreach"):
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if flags.get("differentiable"):
        raise NotImplementedError(
            "differentiable=True is not supported: axon's optimizers update parameter "
            "arrays in place, outside autograd"
        )
    return flags


class Optimizer(OptimizerHooks):
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, or of dicts with a ``"params"`` entry and
            per-group options.
        defaults: the options used for every group that does not set them.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}"
            )
        if isinstance(params, set):
            raise TypeError(_SET_ERROR)
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._buffers: dict[tuple, Any] = {}  # scratch arrays reused by step()
        self._init_hooks()

        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs) -> None:
        """Every subclass's ``step`` runs the step hooks (:mod:`axon.optim.hooks`)."""
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__ and not getattr(cls.__dict__["step"], "hooked", False):
            cls.step = hooked_step(cls.__dict__["step"])

    # ----------------------------------------------------------------- groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (e.g. a smaller ``lr``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(_SET_ERROR)
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]  # model.named_parameters()
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            params = [p[1] for p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not getattr(p, "is_leaf", True):
                raise ValueError("can't optimize a non-leaf Tensor")

        group = dict(param_group)
        group["params"] = params
        if names:
            group["param_names"] = names
        if self.param_groups and ("param_names" in group) != (
            "param_names" in self.param_groups[0]
        ):
            kind = "with names" if names else "without names"
            raise ValueError(
                "all optimizer param groups should be with/without names. cannot add param "
                f"group {kind} to the optimizer"
            )
        for name, default in self.defaults.items():
            group.setdefault(name, default)

        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter group lists the same parameter more than once")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ----------------------------------------------------------------- stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to ``None`` (default) or to fresh zero arrays.

        The old gradient arrays are never written to (another tensor may share them).
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.array = zeros_like(p.grad.array)

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        raise NotImplementedError

    @staticmethod
    def _evaluate(closure: Callable[[], Any] | None):
        """Run the closure (which re-computes the loss and calls backward) with grad on."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _params_with_grad(self, group: dict):
        """``(p.array, grad array, state)`` for each parameter of ``group`` with a grad."""
        state = self.state
        for p in group["params"]:
            if p.grad is not None:
                yield p.array, p.grad.array, state[p]

    def _scratch(self, like, slot: int = 0):
        """A reusable uninitialized array shaped like ``like`` (one per dtype and slot).

        Parameters are updated one after another, so one flat buffer per dtype, as big as
        the largest parameter, serves them all without allocating on every step.
        """
        key = (like.dtype, slot, like.__class__)
        buf = self._buffers.get(key)
        if buf is None or buf.size < like.size:
            buf = namespace(like).empty(like.size, dtype=like.dtype)
            self._buffers[key] = buf
        return buf[: like.size].reshape(like.shape)

    def _grad_with_decay(self, param, grad, weight_decay: float, maximize: bool, out=None):
        """``(-grad if maximize else grad) + weight_decay * param``, without touching grad
        (in ``out`` when given, else in a scratch array or grad itself)."""
        if weight_decay == 0 and not maximize:
            if out is not None:
                out[...] = grad
            return grad if out is None else out
        if out is None:
            out = self._scratch(param, 1)
        xp = namespace(param)
        if weight_decay == 0:
            return xp.negative(grad, out=out)
        g = xp.multiply(param, weight_decay, out=out)
        return xp.subtract(g, grad, out=g) if maximize else xp.add(g, grad, out=g)

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state and options, with parameters replaced by their index.

        Returns ``{"state": {index: {name: value}}, "param_groups": [...]}``; arrays are
        copies, so later steps do not change a saved state dict.
        """
        self._run_state_dict_hooks("pre")
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {
            index[id(p)]: {k: _copy_value(v) for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index and s
        }
        return self._run_state_dict_hooks("post", {"state": state, "param_groups": groups})

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by :meth:`state_dict` (arrays are copied).

        All or nothing: every group and state entry is checked first, so when this raises
        (a different number of groups or parameters, a state entry shaped unlike its
        parameter), the optimizer keeps its own state and options."""
        state_dict = self._run_state_dict_hooks("load_pre", state_dict)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)}) than the optimizer ({len(self.param_groups)})"
            )
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group: group {i} has {len(saved['params'])} parameters in "
                    f"the state dict but {len(group['params'])} in the optimizer"
                )
        by_index = {
            i: p
            for group, saved in zip(self.param_groups, saved_groups, strict=True)
            for i, p in zip(saved["params"], group["params"], strict=True)
        }

        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for i, saved_state in state_dict["state"].items():
            if i not in by_index:
                raise ValueError(
                    f"loaded state dict has state for parameter {i}, but the optimizer's "
                    f"groups only list parameters {sorted(by_index)}"
                )
            p = by_index[i]
            state[p] = {k: self._load_state_value(k, v, p, i) for k, v in saved_state.items()}

        groups = [
            {
                **{k: v for k, v in group.items() if k == "param_names"},  # unless saved
                **{k: copy.deepcopy(v) for k, v in saved.items() if k != "params"},
                "params": group["params"],
            }
            for group, saved in zip(self.param_groups, saved_groups, strict=True)
        ]
        # all or nothing: both are assigned only once everything above has been checked
        self.state, self.param_groups = state, groups
        self._run_state_dict_hooks("load_post")

    def _load_state_value(self, key: str, value, param: Tensor, index: int):
        """A saved state entry made ready for ``param`` (subclasses with state that is
        not shaped like the parameter, such as LBFGS's flat vectors, override this)."""
        return _load_value(key, value, param, index)

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        lines.append(")")
        return "\n".join(lines)


def _lerp_(start, end, weight: float, tmp) -> None:
    """``start += weight * (end - start)`` in place, rounded the way ``torch.lerp`` rounds
    (``tmp``: scratch; the arrays of one backend)."""
    xp = namespace(start)
    xp.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        start += tmp
    else:  # end - (end - start) * (1 - weight): exact at weight == 1
        tmp *= 1.0 - weight
        xp.subtract(end, tmp, out=start)


def zeros_like(array):
    """Zeros shaped and typed as ``array``, on its device: optimizer state is created beside
    its parameter, with the namespace of the parameter's backend."""
    return namespace(array).zeros_like(array)


def full_like(array, value: float):
    """``value`` shaped and typed as ``array``, on its device (see :func:`zeros_like`)."""
    return namespace(array).full_like(array, value)


def _copy_value(value):
    """A copy of a state entry of the same kind (an array, a Tensor or a Python value), so
    a saved state dict does not follow later steps; an optimizer written for torch, whose
    state holds Tensors, gets Tensors back."""
    if of(value) is not None:  # any backend's array
        return value.copy()
    if isinstance(value, Tensor):
        return _wrap(value.array.copy())
    return copy.deepcopy(value)


def _load_value(key: str, value, param: Tensor, index: int):
    """A saved state entry made ready for ``param``: arrays (and Tensors, which stay
    Tensors) copied, floating ones in the parameter's dtype; ``step`` counts as saved
    (arrays of them as ints)."""
    if isinstance(value, Tensor):
        arr = value.array.copy() if key == "step" else _load_value(key, value.array, param, index)
        return _wrap(arr)
    if key == "step":
        return int(value) if hasattr(value, "dtype") else value  # an array or NumPy scalar
    if of(value) is None:
        return copy.deepcopy(value)
    value = _host(value)  # a NumPy array as it is, another backend's copied to the host
    arr = value.copy()
    if arr.dtype.kind == "f" and param.array.dtype.kind == "f":
        arr = arr.astype(param.array.dtype, copy=False)
    if arr.ndim and arr.shape != param.array.shape:
        raise ValueError(
            f"loaded state dict has '{key}' of shape {arr.shape} for parameter {index}, "
            f"but that parameter has shape {param.array.shape}"
        )
    return _placed(arr, param.device)
