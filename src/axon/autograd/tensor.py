"""``Tensor``: an array plus what autodiff needs (``requires_grad``, ``grad``, ``grad_fn``).

Names and semantics follow PyTorch: ``x.grad`` is a Tensor that accumulates across
backward calls, ``backward()`` on a scalar seeds the gradient with 1, ``detach()`` cuts
the graph, in-place methods end with ``_``. The arithmetic lives in the op classes of
``autograd/ops/`` (each forward beside its backward); the methods here only route to them.
"""

from __future__ import annotations

import builtins
import sys
import weakref
from typing import Any

from .. import backend as B
from ..backend import xp
from ..backend.base import for_device, namespace
from ..backend.device import CPU, check_device, device, strided
from .grad_mode import grad_mode

_new = object.__new__


def _wrap(data, requires_grad: bool = False, ctx=None) -> Tensor:
    """Make a Tensor around an existing array without copying or checking (hot path)."""
    t = _new(Tensor)
    t.array = data
    t.grad = None
    t.requires_grad = requires_grad
    t._ctx = ctx
    return t


def _to_array(data, dtype=None, copy: bool = True):
    """Turn Python data, NumPy arrays or Tensors into a backend array.

    Python floats become the default dtype (float32); Python ints int64; NumPy arrays keep
    their dtype unless ``dtype`` is given.
    """
    if isinstance(data, Tensor):
        data = data.array
    if data.__class__ is not xp.ndarray and B.of(data) is not None:  # another backend's
        ns = B.of(data).xp
        return ns.array(data, dtype=dtype, copy=True) if copy else ns.asarray(data, dtype=dtype)
    if isinstance(data, xp.ndarray | xp.generic):
        arr = xp.array(data, dtype=dtype, copy=copy) if copy else xp.asarray(data, dtype=dtype)
        return arr if isinstance(arr, xp.ndarray) else xp.asarray(arr)
    if isinstance(data, list | tuple) and any(isinstance(d, Tensor) for d in data):
        data = [d.array if isinstance(d, Tensor) else d for d in data]
    if isinstance(data, str):
        raise TypeError(f"new(): invalid data type 'str': cannot make a tensor of {data!r:.80}")
    arr = xp.asarray(data, dtype=dtype)
    if dtype is None and arr.dtype.kind == "f" and arr.dtype != B.get_default_dtype():
        arr = arr.astype(B.get_default_dtype())
    if arr.dtype.kind in "OSUV":
        raise _bad_data(data)
    return arr


def _bad_data(data) -> Exception:
    """torch's exception for data that holds no numbers: ValueError for nested strings
    only, TypeError for strings among numbers, RuntimeError for other objects."""
    items, stack = [], [data]
    while stack:
        d = stack.pop()
        if isinstance(d, list | tuple):
            stack.extend(d)
        else:
            items.append(d)
    strings = [d for d in items if isinstance(d, str)]
    shown = f"{data!r:.80}"
    if strings and len(strings) == len(items):
        return ValueError(f"too many dimensions 'str': cannot make a tensor of {shown}")
    if strings:
        return TypeError(f"new(): invalid data type 'str': {strings[0]!r} in {shown}")
    odd = next((d for d in items if not isinstance(d, int | float | complex | xp.generic)), data)
    return RuntimeError(
        f"Could not infer dtype of {type(odd).__name__}: cannot make a tensor of {shown}"
    )


class Size(tuple):
    """A tensor's shape, as ``torch.Size``: a tuple of ints with ``numel()``."""

    __slots__ = ()

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds."""
        n = 1
        for d in self:
            n *= d
        return n

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __repr__(self) -> str:
        return f"axon.Size({list(self)})"


# torch's profiles, with NumPy's line width of 75 (axon's printed output so far)
_PRINT_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 75},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 75},
    "full": {"precision": 4, "threshold": sys.maxsize, "edgeitems": 3, "linewidth": 75},
}
_PRINT_OPTIONS = dict(_PRINT_PROFILES["default"], sci_mode=None)


def set_printoptions(
    precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None
) -> None:
    """How tensors print, as ``torch.set_printoptions``: digits after the point, the size
    above which the middle is elided, the items kept at each edge, the line width, a
    ``profile`` ("default", "short", "full") setting all four, and ``sci_mode``."""
    if profile is not None:
        if profile not in _PRINT_PROFILES:
            raise ValueError(
                f"set_printoptions: unknown profile {profile!r}; expected one "
                f"of {sorted(_PRINT_PROFILES)}"
            )
        _PRINT_OPTIONS.update(_PRINT_PROFILES[profile])
    for name, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            _PRINT_OPTIONS[name] = value
    _PRINT_OPTIONS["sci_mode"] = sci_mode


def parse_to_args(args: tuple, kwargs: dict):
    """``(device, dtype, copy)`` from the arguments of ``Tensor.to`` / ``Module.to``:
    ``(dtype)``, ``(device[, dtype])``, ``(tensor)``, each followed by optional
    ``non_blocking, copy``, or the keywords ``device``, ``dtype``, ``non_blocking``,
    ``copy``, ``memory_format``."""
    kwargs = dict(kwargs)
    dev, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        dtype = rest.pop(0).array.dtype
    elif rest and isinstance(rest[0], str | device):
        dev = rest.pop(0)
    elif rest and isinstance(rest[0], builtins.int) and not isinstance(rest[0], builtins.bool):
        dev = _cuda_device(rest.pop(0))
    if rest and not isinstance(rest[0], builtins.bool):
        dtype = rest.pop(0)
    if len(rest) > 2:
        raise TypeError(f"to() received too many positional arguments: {args}")
    if len(rest) == 2:
        copy = rest[1]
    return dev, dtype, builtins.bool(copy)


def _cuda_device(index) -> device:
    """``.to(0)`` / ``.cuda(0)``: torch reads a bare ordinal as a CUDA device."""
    return index if isinstance(index, str | device) else device("cuda", index)


_LEGACY_NAMES = {
    B.float32: "FloatTensor",
    B.float64: "DoubleTensor",
    B.float16: "HalfTensor",
    B.int64: "LongTensor",
    B.int32: "IntTensor",
    B.int16: "ShortTensor",
    B.int8: "CharTensor",
    B.uint8: "ByteTensor",
    B.bool_: "BoolTensor",
}
_LEGACY_DTYPES = {name: dt for dt, name in _LEGACY_NAMES.items()}


def _legacy_dtype(dtype) -> xp.dtype:
    """A dtype from a dtype-like, torch's legacy type names ("torch.FloatTensor") included,
    or an object carrying a ``dtype`` (a legacy tensor type)."""
    if isinstance(dtype, str):
        name = dtype.removeprefix("torch.").removeprefix("axon.")
        if name in _LEGACY_DTYPES:
            return _LEGACY_DTYPES[name]
        return B.to_dtype(name)
    inner = getattr(dtype, "dtype", None)
    if isinstance(inner, xp.dtype) and not isinstance(dtype, xp.dtype):
        return inner
    return B.to_dtype(dtype)


def _check_inplace_cast(result, target) -> None:
    """torch's refusal to write a result of a higher kind into a tensor in place."""
    if not xp.can_cast(result, target, casting="same_kind"):
        raise RuntimeError(
            f"result type {result} can't be cast to the desired output type {target}"
        )


def _device_of(arr) -> device:
    """The device ``arr`` lives on (the CPU for NumPy arrays)."""
    if arr.__class__ is xp.ndarray:
        return CPU
    b = B.of(arr)
    return CPU if b is None else b.device_of(arr)  # None: a NumPy scalar some op left


def _host(arr) -> xp.ndarray:
    """``arr`` as a NumPy array in host memory (itself when it is one)."""
    if arr.__class__ is xp.ndarray:
        return arr
    b = B.of(arr)
    return xp.asarray(arr) if b is None else b.to_host(arr)


def _placed(arr, dev):
    """``arr`` (any backend's) on device ``dev``, copied through host memory when it lives
    elsewhere; None leaves it where it is."""
    if dev is None:
        return arr
    d = check_device(dev)
    if d is None:
        return _host(arr)
    target = for_device(d)
    d = target.device(d.index)
    return arr if _device_of(arr) == d else target.from_host(_host(arr), d)


def _check_grad_dtype(arr) -> None:
    if arr.dtype.kind not in "fc":
        raise RuntimeError(
            f"only Tensors of floating point dtype can require gradients (got {arr.dtype})"
        )


class Tensor:
    """A multi-dimensional array that records the operations applied to it.

    The constructor is torch's ``torch.Tensor``: ``Tensor(data)`` copies nested lists or
    numbers as the default float dtype (``Tensor([1, 2])`` is float32), ``Tensor(2, 3)``
    is an uninitialised tensor of that shape, ``Tensor()`` an empty one. Unlike torch, a
    NumPy array or a Tensor keeps its dtype. ``axon.tensor(data)`` infers the dtype
    (int64 for ints) and is what programs usually call.

    Args:
        data: nested lists, a number, a NumPy array or a Tensor (copied); or sizes.
        requires_grad: record operations on this tensor so ``backward`` can reach it.
        dtype: the element type (the default float unless the data is an array).
    """

    # ``_hooks`` (a leaf's gradient hooks) is left unset by ``_wrap``: the hot path pays
    # nothing for it, and backward reads it with ``getattr(leaf, "_hooks", None)``
    __slots__ = ("array", "grad", "requires_grad", "_ctx", "_hooks", "__weakref__")
    __array_priority__ = 1000  # NumPy defers ``ndarray * Tensor`` to Tensor.__rmul__
    __array_ufunc__ = None

    def __init__(self, *data: Any, requires_grad: bool = False, dtype=None, device=None) -> None:
        check_device(device)
        dt = B.to_dtype(dtype)
        if all(isinstance(d, builtins.int) and not isinstance(d, builtins.bool) for d in data):
            self.array = xp.empty(data or (0,), dtype=dt or B.get_default_dtype())
        elif len(data) == 1:
            arr = _to_array(data[0], dt)
            if (
                dt is None
                and arr.dtype.kind in "biu"
                and not isinstance(data[0], Tensor | xp.ndarray | xp.generic)
            ):
                arr = arr.astype(B.get_default_dtype())
            self.array = arr
        else:
            raise TypeError(f"Tensor(): expected data or sizes (ints), got {data!r:.80}")
        if device is not None:
            self.array = _placed(self.array, device)
        self.grad = None
        self._ctx = None
        if requires_grad:
            _check_grad_dtype(self.array)
        self.requires_grad = bool(requires_grad)

    # ----------------------------------------------------------------- properties
    @property
    def data(self) -> Tensor:
        """This tensor's values as a new Tensor that shares the storage and records nothing.

        As in PyTorch: ``p.data.add_(p.grad, alpha=-lr)`` updates ``p`` in place without
        touching the graph, and ``p.data = t`` makes ``p`` hold ``t``'s values. The array
        itself is ``p.array`` (or ``p.detach().numpy()``).
        """
        return _wrap(self.array)

    @data.setter
    def data(self, value) -> None:
        arr = value.array if isinstance(value, Tensor) else _to_array(value, copy=False)
        self.array = arr

    @property
    def shape(self) -> Size:
        """The dims as an ``axon.Size`` (a tuple, as ``torch.Size``)."""
        return Size(self.array.shape)

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self) -> xp.dtype:
        return self.array.dtype

    @property
    def device(self) -> device:
        """Where the tensor lives, from its array's backend: ``device("cpu")`` for NumPy
        arrays (equal to the string "cpu")."""
        return _device_of(self.array)

    @property
    def is_cuda(self) -> bool:
        return self.array.__class__ is not xp.ndarray and self.device.type == "cuda"

    # ------------------------------------------------ memory layout, as torch reports it
    is_sparse = is_quantized = is_meta = False
    layout = strided

    def stride(self, dim: int | None = None):
        """Steps between neighbours along each dim, in elements (torch's units)."""
        steps = tuple(s // self.array.itemsize for s in self.array.strides)
        return steps if dim is None else steps[normalize_dim(dim, self.array.ndim)]

    def data_ptr(self) -> int:
        """The address of the first element (in the GPU's memory for a CUDA tensor)."""
        cuda = getattr(self.array, "__cuda_array_interface__", None)
        if cuda is not None:
            return cuda["data"][0]
        return self.array.__array_interface__["data"][0]

    def storage_offset(self) -> int:
        """Elements between the start of the storage (the base array) and this view."""
        base = self.array
        while isinstance(base.base, xp.ndarray):
            base = base.base
        return (self.data_ptr() - base.__array_interface__["data"][0]) // self.array.itemsize

    @property
    def nbytes(self) -> int:
        return self.array.nbytes

    @property
    def itemsize(self) -> int:
        return self.array.itemsize

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf tensor after ``retain_grad()``."""
        return self._ctx is not None and self._ctx._retain is not None

    def is_inference(self) -> bool:
        """False: axon makes no separate inference tensors."""
        return False

    def get_device(self) -> int:
        """The device's ordinal (``cuda:1`` gives 1); -1 on the CPU, as torch."""
        if self.array.__class__ is xp.ndarray:
            return -1
        index = self.device.index
        return 0 if index is None else index

    def is_pinned(self) -> bool:
        return False

    def pin_memory(self) -> Tensor:
        """The tensor itself when a GPU is present (CuPy copies from pageable memory, so
        the batches a DataLoader pins move as they are); refused as torch refuses it
        without an accelerator."""
        from .. import cuda

        if cuda.is_available():
            return self
        raise RuntimeError(
            "Cannot access accelerator device when none is available: axon "
            "runs on the CPU, so there is no pinned memory (drop pin_memory())"
        )

    def share_memory_(self) -> Tensor:
        """The tensor itself: NumPy arrays reach worker processes by pickling or fork."""
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (not by an op that records a graph)."""
        return self._ctx is None

    @property
    def grad_fn(self):
        """The graph node that produced this tensor (``None`` for leaves)."""
        return self._ctx

    @property
    def T(self) -> Tensor:
        """All dimensions reversed (the transpose of a matrix)."""
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self) -> Tensor:
        """The last two dimensions swapped (a batch of transposed matrices)."""
        return self.transpose(-2, -1)

    def size(self, dim: int | None = None):
        """``Size`` of all dims, or the length of dim ``dim``."""
        if dim is None:
            return Size(self.array.shape)
        if not self.array.ndim:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self.array.shape[normalize_dim(dim, self.array.ndim)]

    def dim(self) -> int:
        return self.array.ndim

    def numel(self) -> int:
        return self.array.size

    nelement = numel

    def ndimension(self) -> int:
        return self.array.ndim

    def element_size(self) -> int:
        return self.array.itemsize

    def is_floating_point(self) -> bool:
        return self.array.dtype.kind == "f"

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __contains__(self, element) -> bool:
        """``element in t``: whether any element equals it, as torch."""
        return builtins.bool((self.array == _data(element)).any())

    __hash__ = object.__hash__

    # ----------------------------------------------------------------- autograd
    def backward(
        self,
        gradient=None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs=None,
    ) -> None:
        """Compute the gradient of this tensor with respect to every leaf of its graph.

        ``gradient`` is required unless the tensor holds a single element, in which case
        it defaults to 1. Gradients accumulate into ``leaf.grad`` (into the ``.grad`` of
        ``inputs`` only, when given); with ``create_graph`` they record their own graph.
        """
        from .function import run_backward

        if inputs is not None or create_graph:
            from .function import backward

            backward(self, gradient, retain_graph, create_graph, inputs=inputs)
            return

        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn: "
                "call .requires_grad_() on a leaf, or do not compute under no_grad()"
            )
        if gradient is None:
            if self.array.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs, but this tensor "
                    f"has shape {self.array.shape}: pass backward(gradient=...) of that shape"
                )
            grad = namespace(self.array).ones_like(self.array)
        else:
            # a private copy: the caller's array must not become (or alias) a leaf's .grad
            grad = _to_array(gradient, self.array.dtype, copy=True)
            if grad.shape != self.array.shape:
                raise RuntimeError(
                    f"backward: gradient has shape {grad.shape} but the tensor has shape "
                    f"{self.array.shape}"
                )
        run_backward(self, grad, bool(retain_graph))

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the graph."""
        return _wrap(self.array, False, None)

    def detach_(self) -> Tensor:
        self._ctx = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self._ctx is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad of leaf tensors; use detach() instead"
            )
        if requires_grad:
            _check_grad_dtype(self.array)
        self.requires_grad = requires_grad
        return self

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` with this tensor's gradient each time backward computes it;
        a hook returning a Tensor replaces the gradient (for the graph below and for
        ``.grad``). Works on leaves and on intermediate tensors. Returns a handle whose
        ``remove()`` unregisters the hook."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._ctx is not None:
            node = self._ctx
            if node.__dict__.get("_hooks") is None:
                node._hooks = []
            hooks = node._hooks
        else:
            hooks = getattr(self, "_hooks", None)
            if hooks is None:
                hooks = self._hooks = []
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self._ctx is not None:
            self._ctx._retain = weakref.ref(self)

    # ----------------------------------------------------------------- conversion
    def numpy(self) -> xp.ndarray:
        """The underlying NumPy array (shared, like ``torch.Tensor.numpy``)."""
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on a Tensor that requires grad. Use tensor.detach().numpy()"
            )
        if self.array.__class__ is not xp.ndarray and B.of(self.array) not in (None, B.cpu):
            raise TypeError(
                f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() "
                f"to copy the tensor to host memory first."
            )
        return self.array

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)

    def item(self):
        if self.array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.array.size} elements cannot be converted to a scalar"
            )
        return self.array.item()

    def tolist(self):
        return self.array.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self.array.size} values is ambiguous"
            )
        return bool(self.array.item())

    def __index__(self) -> int:
        if self.array.dtype.kind not in "iub" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.array.item())

    def to(self, *args, **kwargs) -> Tensor:
        """This tensor in another dtype and/or on another device, as ``torch.Tensor.to``:
        ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``, and the
        keywords ``dtype``, ``device``, ``non_blocking``, ``copy``.

        Returns ``self`` when nothing changes (unless ``copy=True``); a cast and a move
        record the graph (the gradient moves back). A device without a registered backend
        raises ``DeviceUnavailableError`` naming it.
        """
        dev, dtype, copy = parse_to_args(args, kwargs)
        out = self if dtype is None else self.type(dtype)
        if dev is not None:
            out = out._to_device(dev)
        return out.clone() if copy and out is self else out

    def _to_device(self, dev) -> Tensor:
        """This tensor on ``dev`` (itself when it is there already), recording the move."""
        target = for_device(dev)
        d = target.device(device(dev).index)
        return self if d == _device_of(self.array) else Transfer.apply(self, target, d)

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        """This tensor on a CUDA device; ``DeviceUnavailableError`` without a CUDA backend."""
        return self._to_device("cuda" if device is None else _cuda_device(device))

    def type(self, dtype=None, non_blocking: bool = False):
        """Without ``dtype``: torch's name of this tensor's type (``"torch.FloatTensor"``).
        With one (a dtype, its name, or a legacy name such as ``"torch.LongTensor"``): this
        tensor cast to it (``self`` when it already has it); casts between floats record
        the graph."""
        if dtype is None:
            return "torch." + _LEGACY_NAMES.get(self.array.dtype, str(self.array.dtype))
        dt = _legacy_dtype(dtype)
        if dt == self.array.dtype:
            return self
        if dt.kind not in "fc":  # an integer or bool result carries no gradient (as torch)
            return _wrap(self.array.astype(dt))
        return ops.Cast.apply(self, dt)

    def type_as(self, other: Tensor) -> Tensor:
        return self.type(other.dtype)

    def float(self) -> Tensor:
        return self.type(B.float32)

    def double(self) -> Tensor:
        return self.type(B.float64)

    def half(self) -> Tensor:
        return self.type(B.float16)

    def long(self) -> Tensor:
        return self.type(B.int64)

    def int(self) -> Tensor:
        return self.type(B.int32)

    def bool(self) -> Tensor:
        return self.type(B.bool_)

    def cpu(self, memory_format=None) -> Tensor:
        """This tensor in host memory (itself when it is there)."""
        return self if self.array.__class__ is xp.ndarray else self._to_device(CPU)

    def clone(self, memory_format=None) -> Tensor:
        return ops.Clone.apply(self)

    def is_contiguous(self, memory_format=None) -> bool:
        """True when the elements are laid out in row-major order without gaps."""
        return self.array.flags.c_contiguous

    def contiguous(self, memory_format=None) -> Tensor:
        """``self`` when row-major already, else a row-major copy (recording the graph)."""
        return self if self.array.flags.c_contiguous else ops.Clone.apply(self)

    # ----------------------------------------------------------------- new_* factories
    def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False):
        """A new tensor of ``data``, with this tensor's dtype and device unless given."""
        arr = _to_array(data, B.to_dtype(dtype) or self.array.dtype)
        arr = self._place(_host(arr), device)
        if requires_grad:
            _check_grad_dtype(arr)
        return _wrap(arr, builtins.bool(requires_grad))

    def new_zeros(self, *shape, size=None, dtype=None, device=None, requires_grad: bool = False):
        """Zeros of ``size``, with this tensor's dtype unless ``dtype`` is given."""
        return self._new(xp.zeros, shape if size is None else (size,), dtype, device, requires_grad)

    def new_ones(self, *shape, size=None, dtype=None, device=None, requires_grad: bool = False):
        """Ones of ``size``, with this tensor's dtype unless ``dtype`` is given."""
        return self._new(xp.ones, shape if size is None else (size,), dtype, device, requires_grad)

    def new_empty(self, *shape, size=None, dtype=None, device=None, requires_grad: bool = False):
        """An uninitialised tensor of ``size``, with this tensor's dtype unless ``dtype``."""
        return self._new(xp.empty, shape if size is None else (size,), dtype, device, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad: bool = False):
        """``fill_value`` in ``size``, with this tensor's dtype unless ``dtype`` is given."""

        def fill(shape, dtype):
            return xp.full(shape, fill_value, dtype)

        return self._new(fill, (size,), dtype, device, requires_grad)

    def _new(self, make, size, dtype, device, requires_grad) -> Tensor:
        arr = self._place(make(_shape_arg(size), B.to_dtype(dtype) or self.array.dtype), device)
        if requires_grad:
            _check_grad_dtype(arr)
        return _wrap(arr, bool(requires_grad))

    def _place(self, arr, dev):
        """A host array ``arr`` moved to ``dev``, or to this tensor's device when None."""
        if dev is None:
            return arr if self.array.__class__ is xp.ndarray else _placed(arr, self.device)
        return _placed(arr, dev)

    def __format__(self, spec: str) -> str:
        """A one-element tensor formats as its number (``f"{loss:.4f}"``); others, with an
        empty spec, as ``str``; a spec for a tensor of many elements is torch's TypeError."""
        if self.array.ndim == 0:
            return format(self.array.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return str(self)

    def __repr__(self) -> str:
        opts = _PRINT_OPTIONS
        body = xp.array2string(
            _host(self.array),
            separator=", ",
            prefix="tensor(",
            precision=opts["precision"],
            suppress_small=opts["sci_mode"] is not True,
            threshold=opts["threshold"],
            edgeitems=opts["edgeitems"],
            max_line_width=opts["linewidth"],
            floatmode="maxprec" if opts["sci_mode"] is not True else "fixed",
        )
        extra = ""
        if self.array.__class__ is not xp.ndarray:  # torch names a device other than the CPU
            extra += f", device='{self.device}'"
        if self.array.dtype not in (B.float32, B.int64, B.bool_):
            extra += f", dtype=axon.{self.array.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{self._ctx.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return ops.Add.apply(self, other)

    def __radd__(self, other):
        return ops.Add.apply(other, self)

    def __sub__(self, other):
        return ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return ops.Sub.apply(other, self)

    def __mul__(self, other):
        return ops.Mul.apply(self, other)

    def __rmul__(self, other):
        return ops.Mul.apply(other, self)

    def __truediv__(self, other):
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        return ops.Div.apply(other, self)

    def __pow__(self, other):
        return ops.Pow.apply(self, other)

    def __rpow__(self, other):
        return ops.Pow.apply(other, self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, _as_tensor(other))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(_as_tensor(other), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.Abs.apply(self)

    # in-place forms: true in-place on the array when no graph is recorded, otherwise the
    # result of the op is rebound to this tensor (and a leaf that requires grad refuses)
    def __iadd__(self, other):
        return self._inplace(ops.Add, xp.add, other)

    def __isub__(self, other):
        return self._inplace(ops.Sub, xp.subtract, other)

    def __imul__(self, other):
        return self._inplace(ops.Mul, xp.multiply, other)

    def __itruediv__(self, other):
        return self._inplace(ops.Div, xp.true_divide, other)

    def __ipow__(self, other):
        return self._inplace(ops.Pow, xp.power, other)

    def add_(self, other, alpha=1):
        return self._inplace(ops.Add, xp.add, other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha=1):
        return self._inplace(ops.Sub, xp.subtract, other if alpha == 1 else other * alpha)

    def mul_(self, other):
        return self._inplace(ops.Mul, xp.multiply, other)

    def div_(self, other):
        return self._inplace(ops.Div, xp.true_divide, other)

    def pow_(self, other):
        return self._inplace(ops.Pow, xp.power, other)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        self._check_inplace(value)
        if grad_mode.enabled and self.requires_grad:
            self._rebind(ops.Mul.apply(self, 0) + _data(value))
        else:
            self.array[...] = _data(value)
        return self

    def copy_(self, src):
        src_data = _data(src)
        self._check_inplace(src)
        if grad_mode.enabled and (self.requires_grad or _requires(src)):
            self._rebind(ops.CopyInto.apply(self, src))
        else:
            self.array[...] = src_data
        return self

    def clamp_(self, min=None, max=None):
        self._check_inplace(None)
        if grad_mode.enabled and (self.requires_grad or _requires(min) or _requires(max)):
            self._rebind(self.clamp(min, max))
        else:
            namespace(self.array).clip(self.array, _data(min), _data(max), out=self.array)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
        from ..nn import init  # drawn in the tensor's dtype, straight into its memory

        return init.uniform_(self, a, b, generator=generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
        from ..nn import init

        return init.normal_(self, mean, std, generator=generator)

    def _check_inplace(self, other) -> None:
        if grad_mode.enabled and self._ctx is None and self.requires_grad:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation; "
                "wrap the update in `with axon.no_grad():`"
            )

    def _rebind(self, out: Tensor) -> None:
        self.array, self._ctx, self.requires_grad = out.array, out._ctx, out.requires_grad

    def _inplace(self, op, ufunc, other):
        """``self op= other`` keeping this tensor's dtype, as torch: the result type may be
        cast down within its kind (float64 into float32) but not across kinds (a float
        result into an integer tensor raises torch's RuntimeError)."""
        self._check_inplace(other)
        if grad_mode.enabled and (self.requires_grad or _requires(other)):
            out = op.apply(self, other)
            if out.array.dtype != self.array.dtype:
                _check_inplace_cast(out.array.dtype, self.array.dtype)
                out = out.type(self.array.dtype)
            self._rebind(out)
        else:
            if self.array.__class__ is not xp.ndarray:  # the same ufunc of the array's backend
                ufunc = getattr(namespace(self.array), ufunc.__name__)
            try:
                ufunc(self.array, _data(other), out=self.array, casting="same_kind")
            except TypeError:  # NumPy's casting error: say it as torch does
                result = B.result_type(self.array, _data(other))
                if ufunc.__name__ == "divide" and result.kind not in "fc":
                    result = B.get_default_dtype()
                _check_inplace_cast(result, self.array.dtype)
                raise
        return self

    # ----------------------------------------------------------------- comparisons
    def __eq__(self, other):  # type: ignore[override]
        return _wrap(namespace(self.array).equal(self.array, _data(other)))

    def __ne__(self, other):  # type: ignore[override]
        return _wrap(namespace(self.array).not_equal(self.array, _data(other)))

    def __lt__(self, other):
        return _wrap(namespace(self.array).less(self.array, _data(other)))

    def __le__(self, other):
        return _wrap(namespace(self.array).less_equal(self.array, _data(other)))

    def __gt__(self, other):
        return _wrap(namespace(self.array).greater(self.array, _data(other)))

    def __ge__(self, other):
        return _wrap(namespace(self.array).greater_equal(self.array, _data(other)))

    # ``~ & | ^ << >> // %`` and their in-place forms are bound in math_api.py

    eq = __eq__
    ne = __ne__
    lt = __lt__
    le = __le__
    gt = __gt__
    ge = __ge__

    def equal(self, other) -> bool:
        o = _data(other)
        shape = o.shape if hasattr(o, "shape") else xp.shape(o)
        return self.array.shape == shape and bool((self.array == o).all())

    def isnan(self):
        return _wrap(namespace(self.array).isnan(self.array))

    def isinf(self):
        return _wrap(namespace(self.array).isinf(self.array))

    def isfinite(self):
        return _wrap(namespace(self.array).isfinite(self.array))

    # ----------------------------------------------------------------- elementwise math
    def neg(self):
        return ops.Neg.apply(self)

    def add(self, other, alpha=1):
        return ops.Add.apply(self, other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return ops.Sub.apply(self, other if alpha == 1 else other * alpha)

    def mul(self, other):
        return ops.Mul.apply(self, other)

    def pow(self, exponent):
        return ops.Pow.apply(self, exponent)

    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def rsqrt(self):
        return ops.Pow.apply(self, -0.5)

    def reciprocal(self):
        return ops.Div.apply(1.0, self)

    def abs(self):
        return ops.Abs.apply(self)

    def sin(self):
        return ops.Sin.apply(self)

    def cos(self):
        return ops.Cos.apply(self)

    def maximum(self, other):
        return ops.Maximum.apply(self, _as_tensor(other, self))

    def minimum(self, other):
        return ops.Minimum.apply(self, _as_tensor(other, self))

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        return ops.Clamp.apply(self, min, max)  # tensor bounds get gradients too

    clip = clamp

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def relu(self):
        return ops.Relu.apply(self)

    def leaky_relu(self, negative_slope: float = 0.01):
        return ops.LeakyRelu.apply(self, negative_slope)

    def elu(self, alpha: float = 1.0):
        return ops.Elu.apply(self, alpha)

    def softplus(self, beta: float = 1.0, threshold: float = 20.0):
        return ops.Softplus.apply(self, beta, threshold)

    def gelu(self, approximate: str = "none"):
        return ops.Gelu.apply(self, approximate)

    def softmax(self, dim: int = -1, dtype=None):
        x = self if dtype is None else self.type(dtype)  # dtype: cast first, as torch
        return ops.Softmax.apply(x, normalize_dim(dim, x.array.ndim))

    def log_softmax(self, dim: int = -1, dtype=None):
        x = self if dtype is None else self.type(dtype)
        return ops.LogSoftmax.apply(x, normalize_dim(dim, x.array.ndim))

    def where(self, condition, other):
        return where(condition, self, other)

    # ----------------------------------------------------------------- reductions
    def var(
        self,
        dim=None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: int | None = None,
    ):
        return ops.Var.apply(
            self, _reduced_dims(dim, self.array.ndim), _correction(unbiased, correction), keepdim
        )

    def std(
        self,
        dim=None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: int | None = None,
    ):
        return ops.Std.apply(
            self, _reduced_dims(dim, self.array.ndim), _correction(unbiased, correction), keepdim
        )

    def logsumexp(self, dim, keepdim: bool = False):
        return ops.LogSumExp.apply(self, _reduced_dims(dim, self.array.ndim), keepdim)

    def max(self, dim=None, keepdim: bool = False):
        """``max()`` is the largest value (gradient shared among ties, like torch);
        ``max(dim)`` returns ``(values, indices)``; ``max(tensor)`` is ``maximum``."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return ops.Amax.apply(self, None, False)
        return _min_max(self, dim, keepdim, "argmax")

    def min(self, dim=None, keepdim: bool = False):
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            return ops.Amin.apply(self, None, False)
        return _min_max(self, dim, keepdim, "argmin")

    def amax(self, dim=None, keepdim: bool = False):
        return ops.Amax.apply(self, _reduced_dims(dim, self.array.ndim), keepdim)

    def amin(self, dim=None, keepdim: bool = False):
        return ops.Amin.apply(self, _reduced_dims(dim, self.array.ndim), keepdim)

    def argmax(self, dim=None, keepdim: bool = False):
        return _arg(self.array, dim, keepdim, "argmax")

    def argmin(self, dim=None, keepdim: bool = False):
        return _arg(self.array, dim, keepdim, "argmin")

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape):
        return ops.Reshape.apply(self, _shape_arg(shape))

    def view(self, *shape):
        return ops.Reshape.apply(self, _shape_arg(shape))

    def view_as(self, other: Tensor):
        return ops.Reshape.apply(self, other.shape)

    def reshape_as(self, other: Tensor):
        return ops.Reshape.apply(self, other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        shape = self.array.shape
        s = normalize_dim(start_dim, len(shape))
        e = normalize_dim(end_dim, len(shape))
        if not shape:
            return self.reshape(1)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        n = 1
        for k in shape[s : e + 1]:
            n *= k
        return ops.Reshape.apply(self, shape[:s] + (n,) + shape[e + 1 :])

    def unflatten(self, dim: int, sizes):
        shape = self.array.shape
        d = normalize_dim(dim, len(shape))
        return self.reshape(shape[:d] + tuple(sizes) + shape[d + 1 :])

    def transpose(self, dim0: int, dim1: int):
        n = self.array.ndim
        dim0, dim1 = normalize_dim(dim0, n), normalize_dim(dim1, n)
        if n < 2:
            return self
        axes = list(range(n))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return ops.Permute.apply(self, tuple(axes))

    swapaxes = transpose

    def t(self):
        if self.array.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got {self.array.ndim}")
        return self.transpose(0, 1) if self.array.ndim == 2 else self

    def permute(self, *dims):
        dims = _shape_arg(dims)
        n = self.array.ndim
        if len(dims) != n:
            raise RuntimeError(
                f"permute: dims {dims} are not a permutation of the {n} "
                f"dimensions of a tensor of shape {self.array.shape}"
            )
        axes = tuple(normalize_dim(d, n) for d in dims)
        if len(set(axes)) != n:
            raise RuntimeError(
                f"permute: duplicate dims are not allowed (got {dims} for a tensor of shape "
                f"{self.array.shape})"
            )
        return ops.Permute.apply(self, axes)

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        shape = self.array.shape
        lead = len(sizes) - len(shape)
        if lead < 0:
            raise RuntimeError(f"expand: cannot expand shape {shape} to {sizes}")
        full = tuple(shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
        return ops.Expand.apply(self, full)

    def expand_as(self, other: Tensor):
        return self.expand(other.shape)

    def broadcast_to(self, shape):
        return self.expand(shape)

    def repeat(self, *sizes):
        sizes = _shape_arg(sizes)
        return ops.Repeat.apply(self, sizes)

    def squeeze(self, dim=None):
        shape = self.array.shape
        if dim is None:
            new = tuple(s for s in shape if s != 1)
        else:
            dims = set(_dims(dim, len(shape)))
            new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
        return self if new == shape else ops.Reshape.apply(self, new)

    def unsqueeze(self, dim: int):
        shape = self.array.shape
        d = normalize_dim(dim, len(shape) + 1)
        return ops.Reshape.apply(self, shape[:d] + (1,) + shape[d:])

    def chunk(self, chunks: int, dim: int = 0):
        return chunk(self, chunks, dim)

    def __getitem__(self, index):
        index = _index_arg(index)
        if self.array.__class__ is not xp.ndarray:
            index = _index_on(index, self.array)
        mixed = _split_mixed(index, self.array.ndim)
        if mixed is not None:  # torch's order: the ints and slices, then the arrays
            return ops.Index.apply(ops.Index.apply(self, mixed[0]), mixed[1])
        return ops.Index.apply(self, index)

    def __setitem__(self, index, value) -> None:
        index = _index_arg(index)
        if self.array.__class__ is not xp.ndarray:
            index = _index_on(index, self.array)
        self._check_inplace(value)
        mixed = _split_mixed(index, self.array.ndim)
        if grad_mode.enabled and (self.requires_grad or _requires(value)):
            value = _as_tensor(value, self)
            if mixed is not None:  # write into the basic view, then put the view back
                basic, adv = mixed
                value = ops.IndexPut.apply(ops.Index.apply(self, basic), adv, value)
                index = basic
            self._rebind(ops.IndexPut.apply(self, index, value))
        elif mixed is not None:
            self.array[mixed[0]][mixed[1]] = _data(value)  # basic indexing gives a view
        else:
            self.array[index] = _data(value)


# -------------------------------------------------------------------- helpers
def bind_methods(**functions) -> None:
    """Make free functions Tensor methods too, as torch has both ``ax.cumsum(x, 0)`` and
    ``x.cumsum(0)``: each op is written once, as a function whose first argument is the
    tensor, and bound here."""
    for name, fn in functions.items():
        setattr(Tensor, name, fn)


def _data(x):
    """The array inside a Tensor, or the value itself."""
    return x.array if isinstance(x, Tensor) else x


def _requires(x) -> bool:
    return isinstance(x, Tensor) and x.requires_grad


def _as_tensor(x, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    dtype = like.array.dtype if like is not None and like.array.dtype.kind == "f" else None
    arr = _to_array(x, dtype, copy=False)
    if like is not None and arr.__class__ is xp.ndarray is not like.array.__class__:
        arr = B.of(like.array).from_host(arr)  # host data goes onto like's device
    return _wrap(arr)


def _shape_arg(shape) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = shape[0]
    return tuple(builtins.int(s) for s in shape)


def normalize_dim(dim: int, ndim: int) -> int:
    """``dim`` as an index in ``range(ndim)``; torch's IndexError when it is out of range.

    The one check every op that takes a ``dim`` goes through (a 0-d tensor accepts 0 and -1).
    """
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def _dims(dim, ndim: int):
    """A ``dim`` argument (None, an int or a sequence of ints) as None or a tuple of dims in
    ``range(ndim)``: out-of-range dims raise torch's IndexError, repeated ones its
    RuntimeError."""
    if dim is None:
        return None
    if not isinstance(dim, tuple | list):
        return (normalize_dim(dim, ndim),)
    dims = tuple(normalize_dim(d, ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims {dim}")
    return dims


def _reduced_dims(dim, ndim: int):
    """``_dims`` for a reduction: an empty list of dims reduces over all, as in torch."""
    dims = _dims(dim, ndim)
    return None if dims == () else dims


def _correction(unbiased, correction) -> int:
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _index_arg(index):
    """Replace Tensors (and lists) inside an index by arrays; a 0-d integer Tensor inside
    a tuple is an int, as torch reads it (``x[torch.tensor(1), :, idx]``)."""
    if isinstance(index, Tensor):
        return index.array
    if isinstance(index, tuple):
        return tuple(_index_item(i) for i in index)
    if isinstance(index, list):
        return xp.asarray(index)
    return index


def _index_on(index, array):
    """``index`` with its NumPy arrays moved to ``array``'s device: torch indexes a tensor on
    any device with CPU index tensors, lists and NumPy arrays."""
    b = B.of(array)

    def move(i):
        return b.from_host(i, b.device_of(array)) if i.__class__ is xp.ndarray else i

    return tuple(move(i) for i in index) if index.__class__ is tuple else move(index)


def _index_item(i):
    if isinstance(i, Tensor):
        arr = i.array
        return builtins.int(arr) if arr.ndim == 0 and arr.dtype.kind in "iu" else arr
    return xp.asarray(i) if isinstance(i, list) else i


def _split_mixed(index, ndim: int):
    """``(basic, advanced)`` to apply one after the other when ``index`` mixes ints with
    array indices; None otherwise (NumPy's rules are torch's there).

    torch applies an int as a basic index: it drops its dim first, and the array indices
    then keep their place among the remaining dims when they are adjacent there. NumPy
    counts the int as one more advanced index, which can send the advanced dims to the
    front: ``x[1, :, idx]`` is ``(n, *idx.shape)`` in torch but ``(*idx.shape, n)`` in
    NumPy. ``basic`` holds the ints, slices and None (the arrays' dims kept whole);
    ``advanced`` the arrays, placed at the dims ``basic`` leaves.
    """
    if index.__class__ is not tuple:
        return None
    has_int = has_array = False
    for i in index:
        if isinstance(i, builtins.bool | xp.bool_):
            return None  # a bool scalar index: leave it to NumPy
        if isinstance(i, builtins.int | xp.integer):
            has_int = True
        elif isinstance(i, xp.ndarray):
            has_array = True
    if not (has_int and has_array):
        return None
    used = builtins.sum(
        i.ndim
        if isinstance(i, xp.ndarray) and i.dtype == xp.bool_
        else 0
        if i is None or i is Ellipsis
        else 1
        for i in index
    )
    basic, advanced = [], []
    for i in index:
        if i is Ellipsis:
            basic += [slice(None)] * (ndim - used)
            advanced += [slice(None)] * (ndim - used)
        elif isinstance(i, xp.ndarray):
            basic += [slice(None)] * (i.ndim if i.dtype == xp.bool_ else 1)
            advanced.append(i)
        elif isinstance(i, builtins.int | xp.integer):
            basic.append(i)
        else:  # a slice or None: one dim of the result either way
            basic.append(i)
            advanced.append(slice(None))
    return tuple(basic), tuple(advanced)


def _arg(data, dim, keepdim, name: str):
    """``argmax``/``argmin`` (``name``) of ``data`` with the functions of its namespace."""
    ns = namespace(data)
    fn = getattr(ns, name)
    if dim is None:
        return _wrap(ns.asarray(fn(data)))
    dim = normalize_dim(dim, data.ndim)
    if data.ndim == 0:
        return _wrap(ns.zeros((), B.int64))
    out = fn(data, axis=dim)
    if keepdim:
        out = ns.expand_dims(out, dim)
    return _wrap(ns.asarray(out))


def _min_max(t: Tensor, dim: int, keepdim: bool, argname: str):
    dim = normalize_dim(dim, t.array.ndim)
    ns = namespace(t.array)
    if t.array.ndim == 0:  # torch: the value itself at index 0
        return MinMax((ops.Amax.apply(t, (dim,), keepdim), _wrap(ns.zeros((), B.int64))))
    idx = getattr(ns, argname)(t.array, axis=dim)
    idx_k = ns.expand_dims(idx, dim)
    values = ops.Gather.apply(t, dim % t.array.ndim, idx_k)
    if not keepdim:
        return MinMax((values.squeeze(dim), _wrap(idx)))
    return MinMax((values, _wrap(idx_k)))


class RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class MinMax(tuple):
    """``(values, indices)`` as returned by ``max(dim)`` / ``min(dim)``."""

    @property
    def values(self) -> Tensor:
        return self[0]

    @property
    def indices(self) -> Tensor:
        return self[1]


# -------------------------------------------------------------------- free functions
_MISSING = object()  # where()'s absent input/other (None is no tensor, but is a value)


def where(condition, input=_MISSING, other=_MISSING) -> Tensor:
    """Pick ``input`` where ``condition`` holds, else ``other`` (gradient flows to both).

    ``where(condition)`` alone is torch's ``nonzero(condition, as_tuple=True)``.
    """
    if input is _MISSING and other is _MISSING:
        from .select_api import nonzero

        return nonzero(
            condition if isinstance(condition, Tensor) else _wrap(_data(condition)), as_tuple=True
        )
    if input is _MISSING or other is _MISSING:
        raise TypeError(
            "where() takes a condition alone, or a condition, input and other: "
            "got a condition and one of input/other"
        )
    cond = _data(condition)
    like = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else None
    return ops.Where.apply(cond, _as_tensor(input, like), _as_tensor(other, like))


def chunk(t: Tensor, chunks: int, dim: int = 0) -> tuple:
    dim = normalize_dim(dim, t.array.ndim)
    n = t.array.shape[dim]
    size = -(-n // chunks)
    return t.split(size, dim)  # shape_api.split, bound as a method


from . import ops  # noqa: E402  (ops needs Tensor, so it is imported after the class)
from .ops.elementwise import Transfer  # noqa: E402
