"""torch's semantics at the Tensor core, checked against torch itself: out-of-range dims
raise its IndexError, dtypes promote by ``torch.result_type``, mixed basic and advanced
indexing puts the advanced dims where torch does, and bad data for ``tensor`` is refused
with torch's exception class."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import axon as ax
from tests.helpers import assert_close

# ------------------------------------------------------------------ 1. dims out of range
# each entry: name -> f(lib, x) on a (2, 3) tensor with a dim that is out of range
BAD_DIM_CALLS = {
    "sum": lambda L, x: x.sum(dim=2),
    "sum_tuple": lambda L, x: x.sum(dim=(0, -3)),
    "mean": lambda L, x: x.mean(2),
    "var": lambda L, x: x.var(2),
    "std": lambda L, x: x.std(-3),
    "logsumexp": lambda L, x: x.logsumexp(2),
    "max_dim": lambda L, x: x.max(2),
    "min_dim": lambda L, x: x.min(-3),
    "amax": lambda L, x: x.amax(2),
    "amin": lambda L, x: x.amin(2),
    "argmax": lambda L, x: x.argmax(2),
    "argmin": lambda L, x: x.argmin(-3),
    "norm": lambda L, x: x.norm(dim=2),
    "norm_p1": lambda L, x: x.norm(p=1, dim=2),
    "softmax": lambda L, x: x.softmax(2),
    "log_softmax": lambda L, x: x.log_softmax(-3),
    "flatten": lambda L, x: x.flatten(5),
    "unflatten": lambda L, x: x.unflatten(2, (1, 3)),
    "squeeze": lambda L, x: x.squeeze(5),
    "unsqueeze": lambda L, x: x.unsqueeze(3),
    "unsqueeze_neg": lambda L, x: x.unsqueeze(-4),
    "transpose": lambda L, x: x.transpose(0, 2),
    "permute": lambda L, x: x.permute(0, 2),
    "gather": lambda L, x: x.gather(2, L.zeros(2, 3, dtype=L.int64)),
    "cat": lambda L, x: L.cat([x, x], 2),
    "stack": lambda L, x: L.stack([x, x], 3),
    "split": lambda L, x: x.split(1, 2),
    "chunk": lambda L, x: x.chunk(2, 2),
    "narrow": lambda L, x: x.narrow(2, 0, 1),
    "select": lambda L, x: x.select(2, 0),
    "unbind": lambda L, x: x.unbind(2),
    "index_select": lambda L, x: x.index_select(2, L.tensor([0])),
    "flip": lambda L, x: x.flip(2),
    "all": lambda L, x: (x > 0).all(2),
    "any": lambda L, x: (x > 0).any(-3),
}


@pytest.mark.parametrize("name", sorted(BAD_DIM_CALLS))
def test_out_of_range_dim_raises_index_error_as_torch(name):
    call = BAD_DIM_CALLS[name]
    arr = np.arange(6.0).reshape(2, 3)
    with pytest.raises(IndexError) as t_info:
        call(torch, torch.tensor(arr))
    with pytest.raises(IndexError) as a_info:
        call(ax, ax.tensor(arr))
    assert str(a_info.value) == str(t_info.value)


def test_repeated_dims_raise_runtime_error():
    with pytest.raises(RuntimeError, match="appears multiple times"):
        torch.ones(2, 3).sum(dim=(0, -2))
    with pytest.raises(RuntimeError, match="appears multiple times"):
        ax.ones(2, 3).sum(dim=(0, -2))


# a 0-d tensor accepts dim 0 and -1, as in torch
ZERO_D_CALLS = {
    "sum": lambda L, x: x.sum(0),
    "mean": lambda L, x: x.mean(-1),
    "amax": lambda L, x: x.amax(0),
    "max_dim": lambda L, x: x.max(0)[0],
    "argmax": lambda L, x: x.argmax(0),
    "softmax": lambda L, x: x.softmax(0),
    "flatten": lambda L, x: x.flatten(0),
    "squeeze": lambda L, x: x.squeeze(0),
    "unsqueeze": lambda L, x: x.unsqueeze(-1),
    "transpose": lambda L, x: x.transpose(0, -1),
}


@pytest.mark.parametrize("name", sorted(ZERO_D_CALLS))
def test_zero_d_tensors_accept_dim_0_and_minus_1(name):
    call = ZERO_D_CALLS[name]
    expected = call(torch, torch.tensor(1.5))
    got = call(ax, ax.tensor(1.5))
    assert got.shape == tuple(expected.shape)
    assert_close(got, expected.to(torch.float64), rtol=0, atol=0)


@pytest.mark.parametrize(
    "call",
    [lambda x: x.sum(1), lambda x: x.softmax(-2), lambda x: x.unsqueeze(1), lambda x: x.argmax(1)],
)
def test_zero_d_tensors_refuse_other_dims(call):
    with pytest.raises(IndexError) as t_info:
        call(torch.tensor(1.5))
    with pytest.raises(IndexError) as a_info:
        call(ax.tensor(1.5))
    assert str(a_info.value) == str(t_info.value)


@pytest.mark.parametrize("dim", [-2, -1, 0, 1])
def test_negative_and_positive_dims_agree_with_torch(dim):
    arr = np.random.default_rng(0).normal(size=(2, 3))
    for fn in (
        lambda L, x: x.sum(dim),
        lambda L, x: x.softmax(dim),
        lambda L, x: x.argmax(dim),
        lambda L, x: L.cat([x, x], dim),
        lambda L, x: L.stack([x, x], dim),
        lambda L, x: x.unsqueeze(dim),
        lambda L, x: x.max(dim)[0],
    ):
        expected = fn(torch, torch.tensor(arr))
        got = fn(ax, ax.tensor(arr))
        assert got.shape == tuple(expected.shape)
        assert_close(got, expected, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ 2. type promotion
DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
BINARY = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "sub": lambda a, b: a - b,
    "div": lambda a, b: a / b,
    "maximum": lambda a, b: a.maximum(b) if hasattr(a, "maximum") else b.maximum(a),
}


def _operand(lib, dtype: str, zero_d: bool):
    """A tensor of ``dtype``: shape (3,) or 0-d, with values every dtype holds exactly."""
    arr = (
        np.array(True if zero_d else [True, True, True])
        if dtype == "bool"
        else (np.array(2 if zero_d else [1, 2, 3]).astype(dtype))
    )
    return lib.tensor(arr)


def _check_same(got, expected):
    assert got.dtype == np.dtype(str(expected.dtype).removeprefix("torch.")), (
        got.dtype,
        expected.dtype,
    )
    assert got.shape == tuple(expected.shape)
    assert_close(got, expected, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("db", DTYPES)
@pytest.mark.parametrize("dims", ["nd-nd", "nd-0d", "0d-nd", "0d-0d"])
def test_binary_ops_promote_as_torch_result_type(da, db, dims):
    za, zb = dims.startswith("0d"), dims.endswith("0d")
    for name, fn in BINARY.items():
        if name == "sub" and "bool" in (da, db):
            continue  # torch refuses bool subtraction
        a_t, b_t = _operand(torch, da, za), _operand(torch, db, zb)
        expected = fn(a_t, b_t)
        got = fn(_operand(ax, da, za), _operand(ax, db, zb))
        assert ax.result_type(_operand(ax, da, za), _operand(ax, db, zb)) == np.dtype(
            str(torch.result_type(a_t, b_t)).removeprefix("torch.")
        )
        _check_same(got, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scalar", [True, 3, 2.5])
@pytest.mark.parametrize("zero_d", [False, True])
def test_python_numbers_are_weakest(dtype, scalar, zero_d):
    for fn in (
        lambda a: a + scalar,
        lambda a: scalar * a,
        lambda a: a / scalar,
        lambda a: scalar - a if dtype != "bool" and scalar is not True else a * 1,
    ):
        expected = fn(_operand(torch, dtype, zero_d))
        _check_same(fn(_operand(ax, dtype, zero_d)), expected)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64"])
@pytest.mark.parametrize(
    "op", ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "reciprocal", "rsqrt"]
)
def test_float_ops_on_integer_tensors_give_the_default_float(dtype, op):
    expected = getattr(_operand(torch, dtype, False), op)()
    _check_same(getattr(_operand(ax, dtype, False), op)(), expected)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64"])
def test_integer_reductions_as_torch(dtype):
    for fn in (lambda t: t.sum(), lambda t: t.sum(0), lambda t: t.logsumexp(0)):
        _check_same(fn(_operand(ax, dtype, False)), fn(_operand(torch, dtype, False)))


def test_float32_parameter_stays_float32_beside_float64_scalars():
    """The common case: a float32 model times a float64 0-d tensor or a NumPy float64."""
    w = ax.ones(3, requires_grad=True)
    out = (w * ax.tensor(2.0, dtype=ax.float64) + np.float64(1.0)) / ax.tensor(4.0).double()
    assert out.dtype == np.float32
    out.sum().backward()
    assert w.grad.dtype == np.float32
    assert_close(w.grad, np.full(3, 0.5))


# ------------------------------------------------------------------ 3. mixed indexing
IDX = np.array([[0, 2], [1, 0]])
MASK = np.array([True, False, True, True])
# index expressions on a (3, 4, 6, 3, 5) tensor; "I" stands for IDX, "M" for MASK
INDEX_EXPRESSIONS = {
    "int_slice_step_adv_slice": (1, slice(None), slice(1, 6, 2), "I", slice(0, 2)),
    "int_slice_adv": (0, slice(None), "I"),
    "none_int_slice_adv": (None, 1, slice(None), "I"),
    "slice_int_slice_adv": (slice(None), 0, slice(None), "I"),
    "int_slices_adv_int": (0, slice(None), slice(None), "I", 1),
    "int_ellipsis_adv": (1, Ellipsis, "I"),
    "adv_slice_adv": (slice(None), "I", slice(None), "I"),
    "adv_int": (slice(None), "I", 1),
    "int_adv_adjacent": (1, "I"),
    "adv_first": ("I", slice(None), 0),
    "mask_int": (slice(None), "M", 0, slice(None), 1),
    "int_mask": (2, "M"),
    "plain_basic": (1, slice(None), 2),
    "zero_d_tensor_int": ("T1", slice(None), "I"),
}


def _index(lib, key):
    return tuple(
        lib.tensor(IDX)
        if k == "I"
        else lib.tensor(MASK)
        if k == "M"
        else lib.tensor(1)
        if k == "T1"
        else k
        for k in INDEX_EXPRESSIONS[key]
    )


@pytest.mark.parametrize("key", sorted(INDEX_EXPRESSIONS))
def test_getitem_places_advanced_dims_as_torch(key):
    arr = np.random.default_rng(1).normal(size=(3, 4, 6, 3, 5))
    xt = torch.tensor(arr, requires_grad=True)
    xa = ax.tensor(arr, requires_grad=True)
    expected, got = xt[_index(torch, key)], xa[_index(ax, key)]
    assert got.shape == tuple(expected.shape)
    assert_close(got, expected, rtol=0, atol=0)
    up = np.random.default_rng(2).normal(size=got.shape)
    expected.backward(torch.tensor(up))
    got.backward(ax.tensor(up))
    assert_close(xa.grad, xt.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("key", sorted(INDEX_EXPRESSIONS))
@pytest.mark.parametrize("grad", [False, True])
def test_setitem_writes_where_torch_does(key, grad):
    rng = np.random.default_rng(3)
    arr = rng.normal(size=(3, 4, 6, 3, 5))
    value_shape = tuple(torch.tensor(arr)[_index(torch, key)].shape)[-2:]  # broadcast
    val = rng.normal(size=value_shape)
    results = []
    for lib in (torch, ax):
        base = lib.tensor(arr, requires_grad=grad)
        v = lib.tensor(val, requires_grad=grad)
        x = base * 1 if grad else base.clone()
        x[_index(lib, key)] = v
        results.append(x)
        if grad:
            (x * lib.tensor(arr)).sum().backward()
            results += [base.grad, v.grad]
    n = len(results) // 2
    for got, expected in zip(results[n:], results[:n], strict=True):
        assert_close(got, expected.detach(), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ 4. data without numbers
BAD_DATA = {
    "str": lambda: "hello",
    "list_of_str": lambda: ["a"],
    "nested_str": lambda: [["a", "b"]],
    "number_and_str": lambda: [1, "a"],
    "object": lambda: object(),
    "list_of_objects": lambda: [object(), object()],
    "ragged": lambda: [[1, 2], [3]],
}


@pytest.mark.parametrize("name", sorted(BAD_DATA))
def test_tensor_of_bad_data_raises_torch_exception_class(name):
    with pytest.raises(Exception) as t_info:
        torch.tensor(BAD_DATA[name]())
    with pytest.raises(type(t_info.value)) as a_info:
        ax.tensor(BAD_DATA[name]())
    assert type(a_info.value) is type(t_info.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.var(dim=[]),
        lambda x: x.std(dim=()),
        lambda x: x.amax(dim=()),
        lambda x: x.amin(dim=[]),
    ],
)
def test_an_empty_dim_list_reduces_over_all_dims(call):
    arr = np.arange(6.0).reshape(2, 3)
    expected, got = call(torch.tensor(arr)), call(ax.tensor(arr))
    assert got.shape == tuple(expected.shape)
    assert_close(got, expected, rtol=1e-12, atol=1e-12)


INPLACE = {
    "int_plus_float": (lambda L: L.tensor([1, 2]), lambda t: t.__iadd__(0.5)),
    "int_add_float_tensor": (lambda L: L.tensor([1, 2]), lambda t: t.add_(t * 0.5)),
    "int_divided": (lambda L: L.tensor([1, 2]), lambda t: t.__itruediv__(2)),
    "bool_plus_int": (lambda L: L.tensor([True]), lambda t: t.__iadd__(1)),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_ops_refuse_a_result_of_a_higher_kind(name):
    make, op = INPLACE[name]
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        op(make(torch))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        op(make(ax))


@pytest.mark.parametrize("grad", [False, True])
def test_inplace_ops_keep_the_tensor_dtype(grad):
    results = []
    for L in (torch, ax):
        w = L.tensor([1.0, 2.0], requires_grad=grad)
        x = w * 1
        x += L.tensor([0.25, 0.5], dtype=L.float64)
        x *= L.tensor([2, 3])
        results.append(x)
        if grad:
            x.sum().backward()
            results.append(w.grad)
    n = len(results) // 2
    for got, expected in zip(results[n:], results[:n], strict=True):
        assert str(got.dtype) == str(expected.dtype).removeprefix("torch.")
        assert_close(got, expected.detach(), rtol=0, atol=0)
