"""Elementwise arithmetic and math: + - * / **, maximum/minimum, where, exp, log, sqrt,
abs, sin, cos, clamp, casts, copies and moves between devices. Each forward sits beside its
local derivative; all compute with ``self.xp``, the namespace of their inputs' backend.

Subgradients at kinks follow PyTorch: abs'(0) = 0, clamp passes the gradient at the
bounds, ``maximum``/``minimum`` split it in half on ties.
"""

from __future__ import annotations

from ... import backend as B
from ...backend import host
from ...backend.base import _by_class as _array_types
from ..function import Op


def _shape_error(op: str, a, b) -> RuntimeError:
    return RuntimeError(
        f"{op}: shapes {getattr(a, 'shape', ())} and {getattr(b, 'shape', ())} cannot be "
        f"broadcast together"
    )


def _weak(x):
    """A NumPy scalar acts like a Python one, weakly typed as in torch: a float32 tensor
    times ``np.sqrt(2)`` stays float32."""
    return x.item() if isinstance(x, host.generic) else x


_ndarray = host.ndarray


def _is_array(x) -> bool:
    """True for an array of any backend (False for numbers)."""
    return x.__class__ is _ndarray or x.__class__ in _array_types


def promote(a, b):
    """``a`` and ``b`` cast to torch's result type (``backend.result_type``) and that dtype.

    Arrays of another dtype are cast (a 0-d float64 beside a float32 matrix becomes
    float32, an int matrix beside 0.5 the default float); Python numbers stay numbers, which
    NumPy 2 treats as weakly typed, as torch does. Same-dtype arrays return at once.
    """
    ca, cb = a.__class__, b.__class__
    if ca is _ndarray:
        if cb is _ndarray:
            if a.dtype == b.dtype:
                return a, b, a.dtype
        elif (cb is float or cb is int) and a.dtype.kind == "f":
            return a, b, a.dtype  # a Python number never changes a float array's dtype
    elif cb is _ndarray and (ca is float or ca is int) and b.dtype.kind == "f":
        return a, b, b.dtype
    dt = B.result_type(a, b)
    if _is_array(a) and a.dtype != dt:
        a = a.astype(dt)
    if _is_array(b) and b.dtype != dt:
        b = b.astype(dt)
    return a, b, dt


def float_input(a):
    """``a`` as a floating array: integer and bool arrays become the default float dtype, as
    torch computes ``exp``, ``sqrt``, ``sigmoid``, ... of an integer tensor."""
    return a if a.dtype.kind in "fc" else a.astype(B.get_default_dtype())


def _binary(op: str, ufunc, a, b):
    """``ufunc(a, b)`` in torch's result dtype; an integer result type whose ufunc gives
    floats (true division) gives the default float, as torch."""
    a, b, dt = promote(a, b)
    try:
        out = ufunc(a, b)
    except ValueError as e:
        if "broadcast" not in str(e):
            raise
        raise _shape_error(op, a, b) from None
    if out.dtype != dt and out.dtype.kind == "f" and dt.kind not in "fc":
        return out.astype(B.get_default_dtype())
    return out


class Add(Op):
    def forward(self, a, b):
        return _binary("add", self.xp.add, _weak(a), _weak(b))

    def backward(self, g):
        return g, g


_BOOL_SUB = (
    "Subtraction, the `-` operator, with two bool tensors is not supported. Use "
    "the `^` or `logical_xor()` operator instead."
)
_BOOL_MIXED_SUB = (
    "Subtraction, the `-` operator, with a bool tensor is not supported. If "
    "you are trying to invert a mask, use the `~` or `logical_not()` "
    "operator instead."
)


def _is_bool_array(x) -> bool:
    return _is_array(x) and x.dtype.kind == "b"


class Sub(Op):
    def forward(self, a, b):
        try:
            out = _binary("sub", self.xp.subtract, _weak(a), _weak(b))
        except TypeError as e:  # NumPy refuses bool - bool: say it as torch does
            if "boolean" in str(e):
                raise RuntimeError(_BOOL_SUB) from None
            raise
        # an integer result may come from a bool tensor and a number, which torch refuses
        if out.dtype.kind in "iu" and (_is_bool_array(a) or _is_bool_array(b)):
            raise RuntimeError(_BOOL_MIXED_SUB)
        return out

    def backward(self, g):
        return g, (-g if self.parents[1] is not None else None)


class Mul(Op):
    def forward(self, a, b):
        a, b, _ = promote(_weak(a), _weak(b))
        parents = self.parents
        if parents is not None:  # recording: keep only what backward reads (each factor
            self.a = a if parents[1] is not None else None  # for the other's gradient:
            self.b = b if parents[0] is not None else None  # x * 0 keeps no x alive)
        return _binary("mul", self.xp.multiply, a, b)

    def backward(self, g):
        pa, pb = self.parents
        return (
            g * self.b if pa is not None else None,
            g * self.a if pb is not None else None,
        )


class Div(Op):
    def forward(self, a, b):
        a, b, _ = promote(_weak(a), _weak(b))
        self.a, self.b = a, b
        return _binary("div", self.xp.true_divide, a, b)

    def backward(self, g):
        pa, pb = self.parents
        ga = g / self.b if pa is not None else None
        gb = -g * self.a / (self.b * self.b) if pb is not None else None
        return ga, gb


class Pow(Op):
    """a ** b: d/da = b a^(b-1) (0 where b == 0, as in torch), d/db = a^b log a."""

    def forward(self, a, b):
        a, b, _ = promote(_weak(a), _weak(b))
        self.a, self.b = a, b
        self.out = _binary("pow", self.xp.power, a, b)
        return self.out

    def backward(self, g):
        pa, pb = self.parents
        a, b = self.a, self.b
        ga = gb = None
        with self.xp.errstate(divide="ignore", invalid="ignore"):
            if pa is not None:
                if isinstance(b, int | float):  # a Python exponent
                    if b == 2:
                        ga = g * (2 * a)
                    elif b == 0:
                        ga = self.xp.zeros_like(g)
                    else:
                        ga = g * (b * self.xp.power(a, b - 1))
                else:
                    ga = g * self.xp.where(b == 0, 0, b * self.xp.power(a, b - 1))
            if pb is not None:
                # torch defines d(a^b)/db as 0 where a == 0 and b >= 0
                zero_base = (self.xp.asarray(a) == 0) & (self.xp.asarray(b) >= 0)
                gb = g * self.xp.where(zero_base, 0, self.out * self.xp.log(a))
        return ga, gb


class Maximum(Op):
    def forward(self, a, b):
        a, b, _ = promote(a, b)
        self.a, self.b = a, b
        return _binary("maximum", self.xp.maximum, a, b)

    def backward(self, g):
        a, b = self.a, self.b
        # on ties torch sends half of the gradient to each input
        wa = (a > b) + 0.5 * (a == b)
        return g * wa.astype(g.dtype), g * (1 - wa).astype(g.dtype)


class Minimum(Op):
    def forward(self, a, b):
        a, b, _ = promote(a, b)
        self.a, self.b = a, b
        return _binary("minimum", self.xp.minimum, a, b)

    def backward(self, g):
        a, b = self.a, self.b
        wa = (a < b) + 0.5 * (a == b)
        return g * wa.astype(g.dtype), g * (1 - wa).astype(g.dtype)


class Where(Op):
    def forward(self, cond, a, b):
        self.cond = self.xp.asarray(cond, dtype=bool)
        a, b, _ = promote(a, b)
        return self.xp.where(self.cond, a, b)

    def backward(self, g):
        _, pa, pb = self.parents
        zero = self.xp.zeros((), dtype=g.dtype)
        return (
            None,
            self.xp.where(self.cond, g, zero) if pa is not None else None,
            self.xp.where(self.cond, zero, g) if pb is not None else None,
        )


class Neg(Op):
    def forward(self, a):
        try:
            return self.xp.negative(a)
        except TypeError:  # a bool array: torch's error, not NumPy's
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            ) from None

    def backward(self, g):
        return (-g,)


class Exp(Op):
    def forward(self, a):
        a = float_input(a)
        self.out = self.xp.exp(a)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Op):
    def forward(self, a):
        a = float_input(a)
        self.a = a
        return self.xp.log(a)

    def backward(self, g):
        return (g / self.a,)


class Sqrt(Op):
    def forward(self, a):
        a = float_input(a)
        self.out = self.xp.sqrt(a)
        return self.out

    def backward(self, g):
        return (g / (2 * self.out),)


class Abs(Op):
    def forward(self, a):
        self.a = a
        return self.xp.abs(a)

    def backward(self, g):
        return (g * self.xp.sign(self.a),)  # sign(0) = 0, as in torch


class Sin(Op):
    def forward(self, a):
        a = float_input(a)
        self.a = a
        return self.xp.sin(a)

    def backward(self, g):
        return (g * self.xp.cos(self.a),)


class Cos(Op):
    def forward(self, a):
        a = float_input(a)
        self.a = a
        return self.xp.cos(a)

    def backward(self, g):
        return (-g * self.xp.sin(self.a),)


class Clamp(Op):
    """clip(a, lo, hi), as torch.clamp; either bound may be None, a number or a tensor.

    The gradient goes to ``a`` where lo <= a <= hi (bounds included), to a tensor ``lo``
    where a < lo < hi, and to a tensor ``hi`` where a > hi or hi < lo (then hi wins)."""

    def forward(self, a, lo, hi):
        lo, hi = _weak(lo), _weak(hi)
        self.a, self.lo, self.hi = a, lo, hi
        return self.xp.clip(a, lo, hi)

    def backward(self, g):
        a, lo, hi = self.a, self.lo, self.hi
        _, p_lo, p_hi = self.parents
        inside = True
        if lo is not None:
            inside = inside & (a >= lo)
        if hi is not None:
            inside = inside & (a <= hi)
        g_lo = g_hi = None
        # selected, not multiplied by the masks: a NaN or inf in g stays where it was
        if p_lo is not None:
            g_lo = B.masked(g, (a < lo) & (lo < hi) if hi is not None else a < lo, self.xp)
        if p_hi is not None:
            g_hi = B.masked(g, (a > hi) | (hi < lo) if lo is not None else a > hi, self.xp)
        return B.masked(g, inside, self.xp), g_lo, g_hi


class Cast(Op):
    def forward(self, a, dtype):
        self.in_dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        if self.in_dtype.kind not in "fc":
            return None, None
        return g.astype(self.in_dtype), None


class CopyInto(Op):
    """``dst.copy_(src)`` recorded: the value is ``src`` broadcast to ``dst``'s shape and
    cast to its dtype. The gradient goes to ``src`` (in its dtype; the walk sums it back
    over the broadcast) and a zero one to ``dst``'s old value, as torch's CopyBackwards.
    (``dst * 0 + src`` would turn an inf in ``dst`` into NaN.)"""

    def forward(self, dst, src):
        self.src_dtype = getattr(src, "dtype", None)
        out = self.xp.empty_like(dst)
        out[...] = src
        return out

    def backward(self, g):
        g_dst = self.xp.zeros_like(g) if self.parents[0] is not None else None
        g_src = None
        if self.parents[1] is not None and self.src_dtype is not None:
            g_src = g.astype(self.src_dtype, copy=False) if self.src_dtype.kind in "fc" else None
        return g_dst, g_src


class Clone(Op):
    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return (g,)


class Transfer(Op):
    """``.to(device)``: the array copied to ``target`` (a backend) on ``dev``, through host
    memory; the gradient moves back to the input's device."""

    def forward(self, a, target, dev):
        src = B.of(a)
        self.src, self.src_dev = src, src.device_of(a)
        return target.from_host(src.to_host(a), dev)

    def backward(self, g):
        return self.src.from_host(B.of(g).to_host(g), self.src_dev), None, None
