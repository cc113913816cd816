"""torch's legacy spellings that old programs still use: the typed tensor constructors
(``torch.FloatTensor(2, 3)``, ``torch.LongTensor([1, 2])``), ``set_default_tensor_type``,
``typename``, the inclusive ``range``, and the methods ``Tensor.new``, ``byte``, ``char``
and ``short``.

A legacy type is a class whose call makes a tensor of its dtype and against which
``isinstance`` asks for that dtype (``isinstance(x, torch.FloatTensor)`` is true for a
float32 tensor); it is no subclass of Tensor, as in torch.
"""

from __future__ import annotations

import warnings

from .. import backend as B
from ..backend import host, xp
from .tensor import _LEGACY_NAMES, Tensor, _legacy_dtype, _shape_arg, _to_array, _wrap

__all__ = ["set_default_tensor_type", "typename", "range"]


def _is_size(args: tuple) -> bool:
    """True when constructor arguments are sizes (``T(2, 3)``, ``T(Size)``), not data."""
    if not args:
        return True
    if len(args) > 1 or isinstance(args[0], int | host.integer):
        return all(isinstance(a, int | host.integer) for a in args)
    from .tensor import Size

    return isinstance(args[0], Size)


def _new_of(dtype: host.dtype, args: tuple) -> Tensor:
    """An uninitialised tensor of the sizes ``args`` or a copy of the data ``args[0]``."""
    if _is_size(args):
        return _wrap(xp.empty(_shape_arg(args) if args else (0,), dtype=dtype))
    data = args[0]
    if isinstance(data, Tensor) and data.array.dtype != dtype:
        raise TypeError(f"expected a tensor of dtype {dtype} (got one of {data.array.dtype})")
    return _wrap(_to_array(data, dtype))


class _LegacyTensorType(type):
    """The metaclass of the legacy types: calling one builds a tensor, ``isinstance``
    checks the dtype."""

    dtype: host.dtype

    def __call__(cls, *args, device=None):
        return _new_of(cls.dtype, args)

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.array.dtype == cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"


def _legacy_type(dtype: host.dtype) -> type:
    name = _LEGACY_NAMES[dtype]
    doc = (
        f"torch.{name}: ``{name}(2, 3)`` is an uninitialised {dtype} tensor of that "
        f"size, ``{name}([1, 2])`` one holding that data."
    )
    return _LegacyTensorType(name, (), {"dtype": dtype, "__doc__": doc, "is_cuda": False})


FloatTensor = _legacy_type(B.float32)
DoubleTensor = _legacy_type(B.float64)
HalfTensor = _legacy_type(B.float16)
LongTensor = _legacy_type(B.int64)
IntTensor = _legacy_type(B.int32)
ShortTensor = _legacy_type(B.int16)
CharTensor = _legacy_type(B.int8)
ByteTensor = _legacy_type(B.uint8)
BoolTensor = _legacy_type(B.bool_)
__all__ += [
    "FloatTensor",
    "DoubleTensor",
    "HalfTensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
    "BoolTensor",
]


def set_default_tensor_type(t) -> None:
    """Deprecated in torch for ``set_default_dtype``: ``t`` is a floating legacy type or
    its name (``"torch.DoubleTensor"``)."""
    dt = _legacy_dtype(t)
    if dt.kind != "f":
        raise TypeError("only floating-point types are supported as the default type")
    B.set_default_dtype(dt)


def typename(obj, /) -> str:
    """The fully qualified name of ``obj``'s type: ``"torch.FloatTensor"`` for a float32
    tensor (``Tensor.type()``), ``"module.Qualname"`` for a class or function."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module, qualname = type(obj).__module__ or "", type(obj).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def range(
    start,
    end,
    step=1,
    *,
    dtype=None,
    layout=None,
    device=None,  # noqa: A001
    requires_grad: bool = False,
) -> Tensor:
    """Deprecated in torch: ``start, start + step, ...`` up to ``end`` *included*, in the
    default float dtype unless ``dtype``. Warns as torch does; use ``arange``."""
    warnings.warn(
        "torch.range is deprecated and will be removed in a future release "
        "because its behavior is inconsistent with Python's range builtin. "
        "Instead, use torch.arange, which produces values in [start, end).",
        UserWarning,
        stacklevel=2,
    )
    count = int(host.floor((end - start) / step)) + 1
    arr = start + step * xp.arange(max(count, 0), dtype=host.float64)
    out = _wrap(arr.astype(B.to_dtype(dtype) or B.get_default_dtype()))
    return out.requires_grad_(True) if requires_grad else out


# ------------------------------------------------------------------ Tensor methods
def _new(self: Tensor, *args, **kwargs) -> Tensor:
    """Legacy ``Tensor.new``: like the typed constructor of this tensor's dtype (sizes
    give an uninitialised tensor, data a copy in this dtype)."""
    if _is_size(args):
        return _new_of(self.array.dtype, args)
    return _wrap(_to_array(args[0], self.array.dtype))


Tensor.new = _new
Tensor.byte = lambda self: self.type(B.uint8)
Tensor.char = lambda self: self.type(B.int8)
Tensor.short = lambda self: self.type(B.int16)
Tensor.byte.__doc__ = "This tensor as uint8 (``self`` when it is already)."
Tensor.char.__doc__ = "This tensor as int8 (``self`` when it is already)."
Tensor.short.__doc__ = "This tensor as int16 (``self`` when it is already)."
