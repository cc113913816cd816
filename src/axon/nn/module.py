"""``Module`` and ``Parameter``: the containers every layer is built from.

As in PyTorch, assigning a ``Parameter`` or a ``Module`` to an attribute registers it
(``__setattr__`` routes it into ``_parameters`` / ``_modules``), so ``parameters()``,
``state_dict()`` and ``train()`` find everything without being told. State-dict keys are
the dotted attribute paths (``0.weight``, ``encoder.layers.1.bias``), the same as
PyTorch's, so weights carry over both ways.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import (
    Tensor,
    _check_grad_dtype,
    _cuda_device,
    _device_of,
    _placed,
    _to_array,
    _wrap,
    parse_to_args,
)
from ..backend.base import for_device


class Parameter(Tensor):
    """A Tensor that is a module's learnable weight: registered automatically and
    ``requires_grad=True`` by default. Shares the memory of the data it is given."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            arr = B.xp.empty((0,), dtype=B.get_default_dtype())
        elif isinstance(data, Tensor):
            arr = data.array
        else:
            arr = _to_array(data, copy=False)
        self.array = arr
        self.grad = None
        self._ctx = None
        if requires_grad:
            _check_grad_dtype(arr)
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """A marker that registers a tensor as a buffer when assigned to a module attribute,
    as torch's (>= 2.5): ``self.mean = nn.Buffer(torch.zeros(3))`` is
    ``self.register_buffer("mean", torch.zeros(3))``; ``persistent=False`` keeps it out of
    the state dict. The module stores a plain Tensor sharing the data."""

    __slots__ = ("persistent",)

    def __init__(self, data=None, *, persistent: bool = True) -> None:
        if data is None:
            data = B.xp.empty((0,), dtype=B.get_default_dtype())
        src = data if isinstance(data, Tensor) else _wrap(_to_array(data, copy=False))
        self.array = src.array
        self.grad = None
        self._ctx = None
        self.requires_grad = src.requires_grad
        self.persistent = persistent


class _IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class RemovableHandle:
    """Returned by ``register_*_hook``; ``remove()`` takes the hook away."""

    _ids = itertools.count()

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks
        self.id = next(self._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


_global_forward_hooks: dict[int, Callable] = {}

# The types of a first argument that make ``Module.__call__`` look closer: the containers
# that may hold a symbolic value first, and every ``SymbolicValue`` subclass (added as it
# is defined). Any other first argument (a Tensor) costs one set lookup per call.
_MAYBE_SYMBOLIC: set[type] = {list, tuple, dict}


class SymbolicValue:
    """Base of the placeholders that stand for tensors while a graph of layer calls is
    recorded (the functional API's ``nn.Input`` and the outputs built on it).

    Calling a module on one, or on a list/tuple/dict whose first item is one, does not run
    ``forward``: it returns ``value.record_call(module, args, kwargs)``. Subclassing is the
    whole registration: ``Module.__call__`` knows every subclass by its type.
    """

    __slots__ = ()

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _MAYBE_SYMBOLIC.add(cls)

    def record_call(self, module: Module, args: tuple, kwargs: dict) -> Any:
        """What ``module(*args, **kwargs)`` returns when ``self`` leads its arguments."""
        raise NotImplementedError(f"{type(self).__name__} does not record module calls")


def _symbolic_in(arg) -> SymbolicValue | None:
    """``arg`` itself, or the first item of the list/tuple/dict ``arg``, when it is a
    ``SymbolicValue``; else None."""
    if type(arg) is dict:
        arg = next(iter(arg.values()), None)
    elif type(arg) is list or type(arg) is tuple:
        arg = arg[0] if arg else None
    return arg if isinstance(arg, SymbolicValue) else None


def register_module_forward_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, inputs, output)`` after every module's forward (used by
    ``summary``)."""
    handle = RemovableHandle(_global_forward_hooks)
    _global_forward_hooks[handle.id] = hook
    return handle


def _loadable(key: str, value: Any, target) -> tuple[Any, str]:
    """``(array, "")``: ``value`` as an array of ``target``'s shape and dtype, cast as
    ``torch.Tensor.copy_`` casts and never a view of ``value``'s memory being written; or
    ``(None, error)`` naming ``key`` in torch's words."""
    if isinstance(value, Tensor):
        arr = value.array
    elif value.__class__ is not B.xp.ndarray and B.of(value) is not None:
        arr = value  # an array of another backend (a GPU's): moved to the target's device
    else:
        try:
            arr = (
                None
                if value is None or isinstance(value, str | bytes | Mapping)
                else B.xp.asarray(value)  # a checkpoint's array-like: in host memory
            )
        except Exception:  # noqa: BLE001 - any failure means "not an array"
            arr = None
    if arr is None or arr.dtype.kind not in "biufc":
        return None, (
            f'While copying the parameter named "{key}", expected axon.Tensor, a NumPy array '
            f"or a numeric array-like object from checkpoint but received {type(value)}"
        )
    if target.ndim == 0 and arr.shape == (1,):  # torch's backward compatibility (0.3 files)
        arr = arr.reshape(())
    if arr.shape != target.shape:
        return None, (
            f"size mismatch for {key}: copying a param with shape {arr.shape} from "
            f"checkpoint, the shape in current model is {target.shape}."
        )
    if arr.dtype.kind == "c" and target.dtype.kind != "c":
        warnings.warn(
            "Casting complex values to real discards the imaginary part", UserWarning, stacklevel=4
        )
        arr = arr.real
    if arr.dtype != target.dtype:
        with B.xp.errstate(all="ignore"):  # overflow to inf, NaN into ints: as torch does
            arr = arr.astype(target.dtype)
    return arr, ""


class Module:
    """Base class of every layer and model.

    Subclasses set parameters and submodules as attributes in ``__init__`` and write
    ``forward``; call the module itself (``model(x)``) to run it with hooks.
    """

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent"] = set()
        d["_modules"] = {}
        d["_forward_hooks"] = {}
        d["_forward_pre_hooks"] = {}

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        if args and type(args[0]) in _MAYBE_SYMBOLIC:
            sym = _symbolic_in(args[0])
            if sym is not None:
                return sym.record_call(self, args, kwargs)
        if self._forward_pre_hooks:
            for hook in list(self._forward_pre_hooks.values()):
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        if self._forward_hooks or _global_forward_hooks:
            for hook in [*_global_forward_hooks.values(), *self._forward_hooks.values()]:
                res = hook(self, args, out)
                if res is not None:
                    out = res
        return out

    # ------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )
        params, modules, buffers = d["_parameters"], d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            self._drop(name, keep="_parameters")
            params[name] = value
        elif isinstance(value, Module):
            self._drop(name, keep="_modules")
            modules[name] = value
        elif isinstance(value, Buffer):
            plain = _wrap(value.array, value.requires_grad)
            self.register_buffer(name, plain, persistent=value.persistent)
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} "
                    "(an axon.nn.Parameter or None is required)"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r}")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r}")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _drop(self, name: str, keep: str = "") -> None:
        """Forget ``name`` everywhere but in the store ``keep`` (where re-assigning keeps
        its place, so state-dict order stays PyTorch's)."""
        for key in ("_parameters", "_modules", "_buffers"):
            if key != keep:
                self.__dict__[key].pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[key]:
                del self.__dict__[key][name]
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if "." in name or not name:
            raise KeyError(f"parameter name {name!r} must be non-empty and contain no '.'")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} as parameter {name!r}")
        self._drop(name, keep="_parameters")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that belongs to the module's state but is not trained (running mean)."""
        if "." in name or not name:
            raise KeyError(f"buffer name {name!r} must be non-empty and contain no '.'")
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = _wrap(_to_array(tensor, copy=False))
        self._drop(name, keep="_buffers")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._drop(name, keep="_modules")
        self._modules[name] = module

    register_module = add_module

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, inputs, output)`` runs after forward; a non-None return replaces
        the output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------- traversal
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        # iterative pre-order walk (deep models cannot hit the recursion limit)
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in memo:
                    continue
                memo.add(id(mod))
            yield name, mod
            children = [
                (f"{name}.{k}" if name else k, m) for k, m in mod._modules.items() if m is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, store: str, prefix: str, recurse: bool):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in mod.__dict__[store].items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a parameter shared by two layers comes once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule {part!r}")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter {name!r}")
        return mod._parameters[name]

    # ------------------------------------------------------------- modes and helpers
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch norm uses batch statistics)."""
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.array = B.namespace(p.grad.array).zeros_like(p.grad.array)

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Cast floating parameters and buffers in place, as ``torch.nn.Module.to``:
        ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)`` or keywords.

        The device needs a backend (others raise ``DeviceUnavailableError`` naming it):
        parameters, buffers and gradients move there, each object kept. The dtype must be
        floating (torch's TypeError otherwise). Returns the module.
        """
        dev, dtype, _ = parse_to_args(args, kwargs)
        if dev is not None:
            for_device(dev)  # refuse a device without a backend before anything changes
        if dtype is not None:
            dt = B.to_dtype(dtype)
            if dt.kind not in "fc":
                raise TypeError(
                    f"nn.Module.to only accepts floating point or complex dtypes, but got "
                    f"desired dtype={dt}"
                )
            self._cast(dt, floating_only=True)
        if dev is not None:
            for t in itertools.chain(self.parameters(), self.buffers()):
                t.array = _placed(t.array, dev)
                if t.grad is not None:
                    t.grad.array = _placed(t.grad.array, dev)
        return self

    def _cast(self, dt, floating_only: bool) -> Module:
        """Cast every parameter and buffer (only the floating ones if ``floating_only``) and
        their gradients to ``dt``, keeping the Parameter objects (an optimizer holds them)."""
        for t in itertools.chain(self.parameters(), self.buffers()):
            if t.array.dtype != dt and (t.array.dtype.kind == "f" or not floating_only):
                t.array = t.array.astype(dt)
                if t.grad is not None:
                    t.grad.array = t.grad.array.astype(dt)
        return self

    def type(self, dst_type) -> Module:
        """Cast every parameter and buffer to ``dst_type`` (torch's ``Module.type``)."""
        return self._cast(B.to_dtype(dst_type), floating_only=False)

    def cuda(self, device=None) -> Module:
        """Parameters and buffers to a CUDA device; ``DeviceUnavailableError`` without a
        CUDA backend."""
        return self.to("cuda" if device is None else _cuda_device(device))

    def float(self) -> Module:
        return self.to(B.float32)

    def double(self) -> Module:
        return self.to(B.float64)

    def half(self) -> Module:
        """Floating parameters and buffers to float16 (torch's ``Module.half``)."""
        return self.to(B.float16)

    def cpu(self) -> Module:
        """Parameters and buffers to host memory (the module itself is returned)."""
        return self.to("cpu")

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.array.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------- state dict
    def state_dict(
        self, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> dict[str, Tensor]:
        """Every parameter and persistent buffer under its dotted name (PyTorch's keys).

        A module or parameter reachable by two paths appears under both, as in PyTorch.
        """
        out = {} if destination is None else destination
        for mod_prefix, mod in self.named_modules(
            prefix=prefix.rstrip("."), remove_duplicate=False
        ):
            base = f"{mod_prefix}." if mod_prefix else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    out[base + name] = p if keep_vars else p.detach()
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent:
                    out[base + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> _IncompatibleKeys:
        """Copy values (axon Tensors, NumPy arrays, or numeric array-likes such as torch
        tensors) into this module's parameters and buffers, in place.

        All or nothing: every entry is checked (and cast) before the first copy, so when
        this raises, the model is exactly as it was. Every problem is reported at once, in
        torch's words: missing and unexpected keys (when ``strict``), shape mismatches
        (always) and values that are not numeric arrays, each naming its key.

        Values are cast as ``torch.Tensor.copy_`` casts: float64 into a float32 parameter,
        ints and bools into floats, floats into an int buffer (truncated toward zero), a
        complex value into a real tensor (its imaginary part dropped, with torch's
        warning). A one-element 1-d value fills a 0-d tensor, as in torch.
        """
        lazy = [
            (name, module)
            for name, module in self.named_modules()
            if hasattr(module, "_materialize_from_state")
        ]
        if lazy:  # first check what can be checked before lazy layers take their shapes
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the second pass gives the warnings
                self._plan_load(state_dict, strict)
            for name, module in lazy:  # then they take the saved shapes, as in torch
                module._materialize_from_state(state_dict, f"{name}." if name else "")
        own, values, missing, unexpected = self._plan_load(state_dict, strict)
        with no_grad():  # nothing below can fail: values have the targets' shapes and dtypes
            for key, arr in values.items():
                target = own[key].array
                target[...] = _placed(arr, _device_of(target))  # the value moved to its device
        return _IncompatibleKeys(missing, unexpected)

    def _plan_load(self, state_dict: dict, strict: bool):
        """What :meth:`load_state_dict` would copy: ``(own, values, missing, unexpected)``
        with every value an array of its target's shape and dtype; raises the collected
        errors instead when there are any. Changes nothing."""
        from .lazy import _is_uninitialized

        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"Expected state_dict to be dict-like, got {type(state_dict).__name__}."
            )
        own = self.state_dict(keep_vars=True)
        # torch keeps a norm layer's own num_batches_tracked when a state dict (an
        # older checkpoint, or one built by hand) leaves it out: not missing
        missing = [
            k for k in own if k not in state_dict and k.rsplit(".", 1)[-1] != "num_batches_tracked"
        ]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        values = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            if _is_uninitialized(target):  # a lazy layer: shaped from the state dict later
                continue
            arr, error = _loadable(key, state_dict[key], target.array)
            if not error and not target.array.flags.writeable:
                error = (
                    f'While copying the parameter named "{key}", the tensor in the '
                    f"current model is read-only"
                )
            if error:
                errors.append(error)
            else:
                values[key] = arr
        if strict:
            if unexpected:
                errors.insert(
                    0,
                    "Unexpected key(s) in state_dict: "
                    + ", ".join(f'"{k}"' for k in unexpected)
                    + ".",
                )
            if missing:
                errors.insert(
                    0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + "."
                )
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        return own, values, missing, unexpected

    # ------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (layer settings)."""
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, mod in self._modules.items():
            text = repr(mod).replace("\n", "\n  ")
            lines.append(f"({name}): {text}")
        head = type(self).__name__ + "("
        if not lines:
            return head + ")"
        if len(lines) == 1 and not self._modules:
            return head + lines[0] + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class Container(Module):
    """Deprecated in torch for ``Module``: the keyword arguments become submodules."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        warnings.warn(
            "nn.Container is deprecated. All of it's functionality is now "
            "implemented in nn.Module. Subclass that instead.",
            FutureWarning,
            stacklevel=2,
        )
        for key, value in kwargs.items():
            self.add_module(key, value)


def factory_kwargs(kwargs) -> dict:
    """The ``device``/``dtype``/``memory_format`` of a module's ``**kwargs`` as one dict
    for a factory (``torch.empty(10, **factory_kwargs(kwargs))``), also read from a
    ``factory_kwargs`` entry; an unknown key, or one given twice, raises TypeError."""
    if kwargs is None:
        return {}
    simple = {"device", "dtype", "memory_format"}
    unexpected = kwargs.keys() - simple - {"factory_kwargs"}
    if unexpected:
        raise TypeError(f"unexpected kwargs {unexpected}")
    out = dict(kwargs.get("factory_kwargs", {}))
    for key in simple & kwargs.keys():
        if key in out:
            raise TypeError(f"{key} specified twice, in **kwargs and in factory_kwargs")
        out[key] = kwargs[key]
    return out
