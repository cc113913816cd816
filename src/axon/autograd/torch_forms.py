"""torch's remaining spellings of tensor functions that programs use: the top-level forms
of methods (``torch.clone``, ``torch.exp_``, ...), small queries (``is_signed``,
``is_same_size``), ``scalar_tensor`` and ``asarray``, the in-place shape methods
(``squeeze_``, ``t_``, ``resize_``, ...), and ``axis=`` wherever torch takes it for ``dim``.

Everything here binds or forwards to an op that exists elsewhere; nothing is computed
twice. The methods are set on ``Tensor`` when this module is imported (by ``axon``).
"""

from __future__ import annotations

import builtins
import warnings

from .. import backend as B
from ..backend import host, xp
from .grad_mode import grad_mode, no_grad
from .math_api import _inplace_form, div
from .reduce_api import numpy_keywords
from .tensor import RemovableHandle, Tensor, _data, _shape_arg, _to_array, _wrap

__all__ = [
    "asarray",
    "clone",
    "detach",
    "detach_",
    "fill",
    "fill_",
    "is_same_size",
    "is_signed",
    "scalar_tensor",
    "zero_",
    "adjoint",
    "split_with_sizes",
]


# ------------------------------------------------------------------ making tensors
def scalar_tensor(
    s,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A 0-d tensor holding the number ``s``, in the default float dtype unless ``dtype``
    (``torch.scalar_tensor(3)`` is ``tensor(3.)``)."""
    out = _wrap(xp.asarray(_data(s), dtype=B.to_dtype(dtype) or B.get_default_dtype()))
    return out.requires_grad_(True) if requires_grad else out


def asarray(
    obj, *, dtype=None, device=None, copy: bool | None = None, requires_grad: bool = False
) -> Tensor:
    """``obj`` as a tensor, sharing its memory when it is a tensor or NumPy array of the
    asked dtype (unless ``copy=True``); Python data is copied (floats to the default
    float, as ``tensor``). ``copy=False`` where a copy is needed raises ValueError."""
    dt = B.to_dtype(dtype)
    if isinstance(obj, Tensor) or B.of(obj) is not None:
        arr = obj.array if isinstance(obj, Tensor) else obj
        if copy is False and dt is not None and dt != arr.dtype:
            raise ValueError(f"asarray: copy=False but casting {arr.dtype} to {dt} copies")
        arr = arr.astype(dt or arr.dtype, copy=bool(copy))
        out = obj if isinstance(obj, Tensor) and arr is obj.array else _wrap(arr)
    else:
        out = _wrap(_to_array(obj, dt))
    return out.requires_grad_(True) if requires_grad and not out.requires_grad else out


# ------------------------------------------------------------------ function forms
def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``input`` that records the graph (``Tensor.clone``)."""
    return input.clone()


def detach(input: Tensor) -> Tensor:
    """``input``'s values cut from the graph, sharing memory (``Tensor.detach``)."""
    return input.detach()


def detach_(input: Tensor) -> Tensor:
    """``input`` cut from the graph in place (``Tensor.detach_``)."""
    return input.detach_()


def fill(input: Tensor, value) -> Tensor:
    """A new tensor of ``input``'s shape and dtype holding ``value``, differentiable
    in ``input`` (a zero gradient) as torch's ``fill``."""
    return input.clone().fill_(value)


def fill_(input: Tensor, value) -> Tensor:
    """``input`` filled with ``value`` in place (``Tensor.fill_``)."""
    return input.fill_(value)


def zero_(input: Tensor) -> Tensor:
    """``input`` filled with zeros in place (``Tensor.zero_``)."""
    return input.zero_()


def is_same_size(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape."""
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input: Tensor) -> bool:
    """True for signed dtypes: the floats and int8..int64 (not uint8 nor bool)."""
    return input.array.dtype.kind in "fic"


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dimensions (the transpose, for real
    tensors): ``Tensor.mH``."""
    return input.mT


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """``input`` cut along ``dim`` into pieces of ``split_sizes``, which must add up to the
    size of that dimension."""
    sizes = [int(s) for s in split_sizes]
    length = input.shape[dim]
    if builtins.sum(sizes) != length:
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {length} "
            f"(input tensor's size at dimension {dim}), but got "
            f"split_sizes={sizes}"
        )
    return input.split(sizes, dim)


# torch.X_(input, ...) for every in-place method Tensor.X_ that torch has at the top level
_INPLACE_FUNCTIONS = (
    "abs_ acos_ acosh_ addmv_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ "
    "asinh_ atan_ atanh_ ceil_ clamp_ clamp_max_ clamp_min_ clip_ cos_ cosh_ deg2rad_ "
    "erf_ erfc_ exp2_ exp_ expm1_ fix_ floor_ frac_ gcd_ i0_ index_put_ lcm_ ldexp_ "
    "log10_ log1p_ log2_ log_ logit_ nan_to_num_ neg_ negative_ rad2deg_ reciprocal_ "
    "resize_as_ round_ rsqrt_ sin_ sinc_ sinh_ sqrt_ square_ tan_ trunc_ xlogy_"
).split()


def _function_form(name: str):
    def fn(input: Tensor, *args, **kwargs) -> Tensor:
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Function form of ``Tensor.{name}`` (``input`` changed in place)."
    return fn


# ------------------------------------------------------------------ Tensor: in-place shape
def _reshape_in_place(self: Tensor, out: Tensor) -> Tensor:
    """``self`` takes ``out``'s shape and values: rebound when a graph is recorded (a leaf
    that requires grad refuses, as torch), else its array becomes ``out``'s view."""
    self._check_inplace(None)
    if grad_mode.enabled and self.requires_grad:
        self._rebind(out)
    else:
        self.array = out.array
    return self


def _shape_method(name: str, method):
    def inplace(self: Tensor, *args, **kwargs) -> Tensor:
        return _reshape_in_place(self, method(self, *args, **kwargs))

    inplace.__name__ = inplace.__qualname__ = name
    inplace.__doc__ = f"In-place ``{method.__name__}``: this tensor takes the new shape."
    return inplace


def _resize_(self: Tensor, *sizes, memory_format=None) -> Tensor:
    """This tensor made ``sizes``: the first elements (in row-major order) are kept, any
    new ones are uninitialised. Refused for tensors that require grad, as torch."""
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    shape = _shape_arg(sizes)
    count = int(host.prod(shape, dtype=host.int64))
    flat = self.array.reshape(-1)
    xp = B.namespace(flat)
    if count > flat.size:
        flat = xp.concatenate([flat, xp.empty(count - flat.size, flat.dtype)])
    self.array = xp.ascontiguousarray(flat[:count]).reshape(shape)
    return self


def _resize_as_(self: Tensor, the_template: Tensor, *, memory_format=None) -> Tensor:
    """This tensor resized to ``the_template``'s shape (``resize_``)."""
    return _resize_(self, tuple(the_template.shape))


def _sum_to_size(self: Tensor, *size) -> Tensor:
    """The sum of this tensor down to ``size``, a shape it broadcasts from (summing the
    dimensions that ``size`` lacks or has as 1); the gradient flows."""
    shape = _shape_arg(size)
    lead = self.ndim - len(shape)
    if lead < 0 or builtins.any(
        s not in (1, d) for s, d in zip(shape, self.shape[lead:], strict=True)
    ):
        raise RuntimeError(
            f"size {{{list(shape)}}} is not expandable to size {{{list(self.shape)}}}."
        )
    dims = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and self.shape[lead + i] != 1
    )
    out = self.sum(dims, keepdim=True) if dims else self
    return out.reshape(shape)


def _h(self: Tensor) -> Tensor:
    """The conjugate transpose of a matrix (its transpose: axon is real)."""
    if self.ndim > 2:
        raise RuntimeError(
            "tensor.H is only supported on matrices (2-D tensors). Got "
            f"{self.ndim}-D tensor. For batches of matrices, consider using "
            "tensor.mH"
        )
    return self.t()


def _apply_(self: Tensor, callable) -> Tensor:  # noqa: A002  (torch's argument name)
    """Each element replaced by ``callable(element)`` (a Python function; slow, as in
    torch)."""
    if self.requires_grad:
        raise RuntimeError(
            "Can't call apply_() on Variable that requires grad. Use var.detach().apply_() instead."
        )
    flat = self.array.reshape(-1)
    for i, v in enumerate(flat.tolist()):
        flat[i] = callable(v)
    return self


def _map_(self: Tensor, tensor: Tensor, callable) -> Tensor:  # noqa: A002
    """Each element replaced by ``callable(element, other)``, ``tensor`` broadcast to
    this tensor's shape."""
    if self.requires_grad:
        raise RuntimeError(
            "Can't call map_() on Variable that requires grad. Use var.detach().map_() instead."
        )
    other = B.namespace(self.array).broadcast_to(_data(tensor), self.shape).reshape(-1).tolist()
    flat = self.array.reshape(-1)
    for i, (a, b) in enumerate(zip(flat.tolist(), other, strict=True)):
        flat[i] = callable(a, b)
    return self


def _register_post_accumulate_grad_hook(self: Tensor, hook):
    """Call ``hook(self)`` after a backward pass has accumulated this leaf's ``.grad``
    (to step an optimizer per parameter and free the gradient); returns a handle whose
    ``remove()`` unregisters it."""
    from .function import post_accumulate_hooks

    if self._ctx is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    hooks = post_accumulate_hooks(self)
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


# ------------------------------------------------------------------ Tensor: small changes
_plain_div_ = Tensor.div_
_rounded_div_ = _inplace_form(div, "div_")


def _div_(self: Tensor, other, *, rounding_mode: str | None = None) -> Tensor:
    """``self /= other`` in place; ``rounding_mode`` "trunc" or "floor" rounds the
    quotient (as ``div``)."""
    if rounding_mode is None:
        return _plain_div_(self, other)
    return _rounded_div_(self, other, rounding_mode=rounding_mode)


# the methods whose ``dim`` torch also accepts as ``axis`` (checked one by one against
# torch 2.13); the top-level forms that call these methods inherit it
_AXIS_METHODS = (
    "softmax log_softmax squeeze unsqueeze argsort sort topk gather unbind "
    "chunk index_select narrow median scatter repeat_interleave kthvalue "
    "mode select"
).split()


def _bind_methods() -> None:
    for name in _AXIS_METHODS:
        setattr(Tensor, name, numpy_keywords(getattr(Tensor, name)))
    for name in ("squeeze", "unsqueeze", "t", "transpose", "swapaxes", "swapdims"):
        setattr(Tensor, name + "_", _shape_method(name + "_", getattr(Tensor, name)))
    from ..linalg import renorm

    Tensor.renorm_ = _inplace_form(renorm, "renorm_")
    Tensor.resize_ = _resize_
    Tensor.resize_as_ = _resize_as_
    Tensor.sum_to_size = _sum_to_size
    Tensor.is_signed = is_signed
    Tensor.is_same_size = is_same_size
    Tensor.split_with_sizes = split_with_sizes
    Tensor.adjoint = adjoint
    Tensor.mH = property(adjoint, doc="The transpose of the last two dimensions (real).")
    Tensor.H = property(_h, doc="The transpose of a matrix (real).")
    Tensor.is_cpu = property(lambda self: True, doc="True: axon computes on the CPU.")
    Tensor.is_shared = lambda self: False
    Tensor.apply_ = _apply_
    Tensor.map_ = _map_
    Tensor.register_post_accumulate_grad_hook = _register_post_accumulate_grad_hook
    Tensor.div_ = _div_


_bind_methods()
for _name in _INPLACE_FUNCTIONS:
    if hasattr(Tensor, _name):
        globals()[_name] = _function_form(_name)
        __all__.append(_name)


def _axis_functions() -> dict:
    """The top-level functions that do not go through a method, with ``axis=``."""
    from . import select_api, shape_api

    names = (
        "cat",
        "stack",
        "index_select",
        "narrow",
        "sort",
        "argsort",
        "topk",
        "median",
        "kthvalue",
        "mode",
    )
    return {
        name: numpy_keywords(getattr(module, name))
        for name in names
        for module in (shape_api, select_api)
        if name in getattr(module, "__all__", ())
    }


_AXIS_FUNCTIONS = _axis_functions()
globals().update(_AXIS_FUNCTIONS)
__all__ += list(_AXIS_FUNCTIONS)
concat = concatenate = _AXIS_FUNCTIONS["cat"]
__all__ += ["concat", "concatenate"]


# ------------------------------------------------------------------ small queries and forms
def is_neg(input: Tensor) -> bool:
    """False: axon has no lazy negation bit (torch's is for complex conjugate views)."""
    return False


def is_inference(input: Tensor) -> bool:
    """Whether ``input`` was made in inference mode (``Tensor.is_inference``)."""
    return input.is_inference()


def get_device(input: Tensor) -> int:
    """The device's index: -1 for the CPU, as torch."""
    d = input.device
    return -1 if d.type == "cpu" else (d.index or 0)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def can_cast(from_, to) -> bool:
    """Whether torch's in-place ops may cast ``from_`` into ``to``: never into a lower
    category (float to int, int to bool), any width within one (float64 to float32)."""
    return _CATEGORY[B.to_dtype(from_).kind] <= _CATEGORY[B.to_dtype(to).kind]


def empty_strided(
    size,
    stride,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """An uninitialised tensor of ``size`` (laid out row-major: the strides are a request
    NumPy's arrays need not honour for a fresh tensor)."""
    out = _wrap(xp.empty(_shape_arg((size,)), B.to_dtype(dtype) or B.get_default_dtype()))
    return out.requires_grad_(True) if requires_grad else out


def frombuffer(
    buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False
) -> Tensor:
    """A 1-D tensor sharing the memory of a Python buffer (``bytearray``, ``memoryview``):
    ``count`` elements of ``dtype`` from byte ``offset`` (-1: up to the end)."""
    arr = host.frombuffer(buffer, dtype=B.to_dtype(dtype), count=count, offset=offset)
    out = _wrap(arr)
    return out.requires_grad_(True) if requires_grad else out


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero`` padded with ``fill_value`` (or cut) to exactly ``size`` rows."""
    xp = B.namespace(input.array)
    idx = xp.argwhere(input.array)[:size]
    pad = xp.full((size - idx.shape[0], input.ndim), fill_value, dtype=xp.int64)
    return _wrap(xp.concatenate([idx.astype(xp.int64), pad]))


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunk`` (torch's variant that skips a view check)."""
    return input.chunk(chunks, dim)


def unsafe_split(tensor: Tensor, split_size, dim: int = 0) -> tuple:
    """``split`` (torch's variant that skips a view check)."""
    return tensor.split(split_size, dim)


def unsafe_split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """``split_with_sizes`` (torch's variant that skips a view check)."""
    return split_with_sizes(input, split_sizes, dim)


# torch.X_copy(input, ...): the view op X, copied (torch's functionalisation forms)
_COPY_FORMS = (
    "alias detach diagonal expand narrow permute select squeeze t transpose "
    "unbind unfold unsqueeze view split split_with_sizes"
).split()


def _copy_form(name: str):
    def fn(input: Tensor, *args, **kwargs):
        out = input.view_as(input) if name == "alias" else getattr(input, name)(*args, **kwargs)
        return tuple(o.clone() for o in out) if isinstance(out, tuple | list) else out.clone()

    fn.__name__ = fn.__qualname__ = name + "_copy"
    fn.__doc__ = f"``{name}`` of ``input`` as a new tensor (not a view)."
    return fn


def _deprecated_resize(self: Tensor, *sizes) -> Tensor:
    """Deprecated non-in-place ``resize``: a reshape that keeps the number of elements
    (what torch's autograd-aware version allows)."""
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    shape = _shape_arg(sizes)
    count = int(host.prod(shape, dtype=host.int64))
    if count != self.numel():
        raise RuntimeError(
            f"requested resize to {'x'.join(map(str, shape))} ({count} "
            f"elements in total), but the given tensor has a size of "
            f"{'x'.join(map(str, self.shape))} ({self.numel()} elements). "
            "autograd's resize can only change the shape of a given tensor, "
            "while preserving the number of elements. "
        )
    return self.reshape(shape)


def _bind_more() -> None:
    Tensor.is_neg = is_neg
    Tensor.get_device = get_device
    Tensor.output_nr = property(lambda self: 0, doc="0: this tensor is its op's output 0.")
    Tensor.to_dense = lambda self, dtype=None, *, masked_grad=None: (
        self if dtype is None else self.type(dtype)
    )
    Tensor.const_data_ptr = Tensor.data_ptr
    Tensor.dim_order = lambda self, *, ambiguity_check=False: tuple(
        int(i) for i in host.argsort([-s for s in self.stride()], kind="stable")
    )
    Tensor.nonzero_static = nonzero_static
    Tensor.unsafe_chunk = unsafe_chunk
    Tensor.unsafe_split = unsafe_split
    Tensor.unsafe_split_with_sizes = unsafe_split_with_sizes
    Tensor.narrow_copy = _copy_form("narrow")
    Tensor.resize = _deprecated_resize
    Tensor.resize_as = lambda self, tensor: _deprecated_resize(self, tuple(tensor.shape))
    Tensor.new_empty_strided = (
        lambda self, size, stride, *, dtype=None, device=None, requires_grad=False: empty_strided(
            size, stride, dtype=dtype or self.dtype, requires_grad=requires_grad
        )
    )


_bind_more()
for _name in _COPY_FORMS:
    globals()[_name + "_copy"] = _copy_form(_name)
    __all__.append(_name + "_copy")
__all__ += [
    "can_cast",
    "empty_strided",
    "frombuffer",
    "get_device",
    "is_inference",
    "is_neg",
    "nonzero_static",
    "unsafe_chunk",
    "unsafe_split",
    "unsafe_split_with_sizes",
]


# ------------------------------------------------------------------ Tensor: device queries
def _set_(self: Tensor, source=None, storage_offset: int = 0, size=None, stride=None):
    """This tensor made to share ``source``'s memory and shape (``set_()``: empty)."""
    self._check_inplace(None)
    if source is None:
        self.array = B.namespace(self.array).empty((0,), self.array.dtype)
    elif isinstance(source, Tensor):
        self.array = source.array
    else:
        raise TypeError(f"set_(): expected a Tensor source, got {type(source).__name__}")
    return self


def _is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """True when both tensors view the same memory with the same shape and strides."""
    a, b = self.array, tensor.array
    return (
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        and a.shape == b.shape
        and a.strides == b.strides
    )


def _as_subclass(self: Tensor, cls) -> Tensor:
    """A ``cls`` instance (a subclass of Tensor) sharing this tensor's data and graph."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"as_subclass: {cls!r} is not a subclass of Tensor")
    out = object.__new__(cls)
    out.array, out.grad, out.requires_grad, out._ctx = (
        self.array,
        None,
        self.requires_grad,
        self._ctx,
    )
    return out


def _bind_device_queries() -> None:
    for name in ("is_mps", "is_xla", "is_ipu", "is_maia", "is_vulkan", "is_mkldnn"):
        if not hasattr(Tensor, name):
            setattr(
                Tensor, name, property(lambda self: False, doc="False: axon computes on the CPU.")
            )
    Tensor.set_ = _set_
    Tensor.is_set_to = _is_set_to
    Tensor.as_subclass = _as_subclass
    from .select_api import histogram

    Tensor.histogram = histogram


_bind_device_queries()


def is_vulkan_available() -> bool:
    return False


__all__.append("is_vulkan_available")


# ------------------------------------------------------------------ DLPack exchange
def from_dlpack(ext_tensor) -> Tensor:
    """A tensor sharing the memory of any DLPack-capable array (a torch tensor, a NumPy or
    JAX array, ...) or of a DLPack capsule (``to_dlpack``'s): zero-copy exchange."""
    if type(ext_tensor).__name__ == "PyCapsule":
        ext_tensor = _CpuCapsule(ext_tensor)
    return _wrap(host.from_dlpack(ext_tensor))


class _CpuCapsule:
    """A bare DLPack capsule dressed as an array-API object for ``np.from_dlpack``."""

    def __init__(self, capsule) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU, device 0


def to_dlpack(tensor: Tensor):
    """A DLPack capsule of ``tensor``'s memory (for another library's ``from_dlpack``)."""
    return tensor.array.__dlpack__()


Tensor.__dlpack__ = lambda self, **kwargs: self.array.__dlpack__(**kwargs)
Tensor.__dlpack_device__ = lambda self: self.array.__dlpack_device__()
__all__ += ["from_dlpack", "to_dlpack"]


# ------------------------------------------------------------------ Tensor: legacy attributes
def _volatile(self: Tensor) -> bool:
    """Always False, with torch's warning (``volatile`` was replaced by ``no_grad``)."""
    warnings.warn(
        "volatile was removed (Variable.volatile is always False)", UserWarning, stacklevel=2
    )
    return False


def _module_load(self: Tensor, other: Tensor, assign: bool = False) -> Tensor:
    """What ``load_state_dict`` puts in place of ``self``: ``other`` detached when
    ``assign``, else ``self`` with ``other``'s values, detached."""
    if assign:
        return other.detach()
    with no_grad():
        self.copy_(other)
    return self.detach()


Tensor.volatile = property(_volatile)
Tensor.name = property(lambda self: None, doc="None: axon has no named tensors.")
Tensor.grad_dtype = property(lambda self: self.dtype, doc="The dtype a gradient must have.")
Tensor.module_load = _module_load
