"""``axon.gradcheck``: every differentiable op passes a float64 finite-difference check (on
inputs away from kinks), and gradcheck itself catches a wrong backward."""

import numpy as np
import pytest

import axon as ax
from axon.autograd import ops

IDX = ax.tensor([0, 2, 0, 1])
GATHER_IDX = ax.tensor([[0, 0, 2], [1, 0, 1]])

# name -> (function, input shapes); inputs are drawn away from 0 (the kinks) in ±[0.2, 1.5]
OPS = {
    "add": (lambda a, b: a + b, [(2, 3), (3,)]),
    "sub": (lambda a, b: a - b, [(2, 1), (3,)]),
    "mul": (lambda a, b: a * b, [(2, 3), (2, 3)]),
    "div": (lambda a, b: a / b, [(2, 3), (2, 3)]),
    "pow": (lambda a, b: a.abs() ** b, [(2, 3), (2, 3)]),
    "rpow": (lambda a: 2.0**a, [(2, 3)]),
    "rsub_rdiv": (lambda a: 1.0 - 2.0 / a, [(2, 3)]),
    "maximum": (lambda a, b: a.maximum(b), [(2, 3), (2, 3)]),
    "minimum": (lambda a, b: a.minimum(b), [(2, 3), (3,)]),
    "where": (lambda a, b: ax.where(a > 0, a, b), [(2, 3), (2, 3)]),
    "clamp": (lambda a: a.clamp(-0.5, 0.7), [(2, 3)]),
    "clamp_tensor_bounds": (lambda a, lo, hi: a.clamp(lo - 1.0, hi + 1.0), [(2, 3), (3,), (2, 1)]),
    "neg": (lambda a: -a, [(2, 3)]),
    "exp": (lambda a: a.exp(), [(2, 3)]),
    "log": (lambda a: a.abs().log(), [(2, 3)]),
    "sqrt": (lambda a: a.abs().sqrt(), [(2, 3)]),
    "abs": (lambda a: a.abs(), [(2, 3)]),
    "sin_cos": (lambda a: a.sin() * a.cos(), [(2, 3)]),
    "sigmoid": (lambda a: a.sigmoid(), [(2, 3)]),
    "tanh": (lambda a: a.tanh(), [(2, 3)]),
    "relu": (lambda a: a.relu(), [(2, 3)]),
    "leaky_relu": (lambda a: a.leaky_relu(0.1), [(2, 3)]),
    "elu": (lambda a: a.elu(1.5), [(2, 3)]),
    "softplus": (lambda a: a.softplus(2.0, 1.0), [(2, 3)]),
    "gelu": (lambda a: a.gelu(), [(2, 3)]),
    "gelu_tanh": (lambda a: a.gelu("tanh"), [(2, 3)]),
    "softmax": (lambda a: a.softmax(0), [(3, 2)]),
    "log_softmax": (lambda a: a.log_softmax(-1), [(2, 3)]),
    "sum": (lambda a: a.sum(1, keepdim=True), [(2, 3)]),
    "mean": (lambda a: a.mean((0, 1)), [(2, 3, 2)]),
    "var": (lambda a: a.var(1), [(2, 3)]),
    "std": (lambda a: a.std(0, correction=0), [(3, 2)]),
    "logsumexp": (lambda a: a.logsumexp(1), [(2, 3)]),
    "norm": (lambda a: a.norm(dim=1), [(2, 3)]),
    "norm_p3": (lambda a: a.norm(3), [(2, 3)]),
    "max": (lambda a: a.max(), [(2, 3)]),
    "amin": (lambda a: a.amin(0), [(2, 3)]),
    "max_dim": (lambda a: a.max(1).values, [(2, 3)]),
    "min_dim": (lambda a: a.min(0, keepdim=True)[0], [(2, 3)]),
    "matmul": (lambda a, b: a @ b, [(2, 3), (3, 2)]),
    "matmul_batched": (lambda a, b: a @ b, [(2, 1, 2, 3), (2, 3, 2)]),
    "matmul_vec": (lambda a, b: a @ b, [(3,), (2, 3, 2)]),
    "matmul_dot": (lambda a, b: a @ b, [(3,), (3,)]),
    "linear": (lambda x, w, b: ops.Linear.apply(x, w, b), [(2, 3), (2, 3), (2,)]),
    "reshape": (lambda a: a.reshape(3, 2) * ax.arange(6.0).reshape(3, 2), [(2, 3)]),
    "permute": (lambda a: a.permute(2, 0, 1) * ax.arange(6.0).reshape(2, 1, 3), [(1, 3, 2)]),
    "expand": (lambda a: a.expand(2, 3, 2) * ax.arange(12.0).reshape(2, 3, 2), [(3, 1)]),
    "squeeze_unsqueeze": (lambda a: a.squeeze(0).unsqueeze(-1), [(1, 3)]),
    "flatten": (lambda a: a.flatten(1), [(2, 2, 2)]),
    "repeat": (lambda a: a.repeat(2, 1) * ax.arange(12.0).reshape(4, 3), [(2, 3)]),
    "cat": (lambda a, b: ax.cat([a, b, a], 1), [(2, 1), (2, 2)]),
    "stack": (lambda a, b: ax.stack([a, b], -1), [(2, 2), (2, 2)]),
    "split": (lambda a: a.split([1, 2], 1)[1] * 2.0, [(2, 3)]),
    "chunk": (lambda a: a.chunk(2, 0)[0].exp(), [(3, 2)]),
    "pad": (lambda a: ops.Pad.apply(a, (1, -1, 0, 2), 0.5), [(2, 3)]),
    "index_basic": (lambda a: a[1:, ::2, None], [(3, 4)]),
    "index_repeats": (lambda a: a[IDX] * ax.arange(8.0).reshape(4, 2), [(3, 2)]),
    "index_mask": (lambda a: a[a > 0], [(2, 3)]),
    "gather": (lambda a: a.gather(1, GATHER_IDX), [(2, 3)]),
    "setitem": (lambda a, v: _setitem(a, v), [(3, 3), (3,)]),
}


def _setitem(a, v):
    y = a * 1.0
    y[1] = v * 2.0
    return y


def _inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for s in shapes:
        mag = rng.uniform(0.2, 1.5, size=s)
        out.append(
            ax.tensor(mag * rng.choice([-1.0, 1.0], size=s), requires_grad=True, dtype=ax.float64)
        )
    return out


@pytest.mark.parametrize("name", OPS)
def test_op_passes_gradcheck(name):
    fn, shapes = OPS[name]
    report = ax.gradcheck(fn, _inputs(shapes))
    assert report, str(report)


def test_gradcheck_casts_float32_inputs_to_float64():
    x = ax.randn(2, 3, requires_grad=True)
    assert ax.gradcheck(lambda a: (a * a).tanh(), x)


def test_gradcheck_runs_on_the_inputs_device():
    import tests.backend.strict  # noqa: F401  (registers the strict backend)

    x = ax.randn(2, 3, dtype=ax.float64, device="strict", requires_grad=True)
    assert ax.autograd.gradcheck(lambda t: (t * t).sin().sum(dim=1), (x,))


def test_gradcheck_with_integer_output_first():
    # outputs that do not require grad (indices) must not shift the numerical Jacobian
    def fn(a):
        values, indices = a.max(1)
        return indices, values * 3.0

    assert ax.gradcheck(fn, _inputs([(2, 3)]))


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="requires grad"):
        ax.gradcheck(lambda a: a * 2, ax.tensor([1.0, 2.0]))


# ------------------------------------------------------------------ gradcheck catches bugs


class Cube(ax.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2


class WrongCube(Cube):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x**2  # should be 3 x^2


class ScaledProduct(ax.Function):
    """x * y * scale; ``scale`` is a Python number and gets no gradient."""

    @staticmethod
    def forward(ctx, x, y, scale):
        ctx.save_for_backward(x, y)
        ctx.scale = scale
        return x * y * scale

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * y * ctx.scale, grad * x, None  # wrong for y: scale forgotten


def test_correct_custom_function_passes():
    x = _inputs([(2, 3)])[0]
    report = ax.gradcheck(Cube.apply, x)
    assert report and report.ok
    assert "input 0" in str(report)


def test_wrong_backward_raises_a_readable_report():
    x = _inputs([(2, 3)])[0]
    with pytest.raises(AssertionError) as info:
        ax.gradcheck(WrongCube.apply, x)
    message = str(info.value)
    assert "FAILED" in message and "input 0" in message and "(2, 3)" in message
    assert "worst rel error 0.333" in message  # (3 - 2) / 3


def test_wrong_backward_without_raising_returns_falsy_report():
    x = _inputs([(2, 3)])[0]
    report = ax.gradcheck(WrongCube.apply, x, raise_exception=False)
    assert not report
    assert not report.ok
    assert report.worst[0][0] == 0 and report.worst[0][2] == pytest.approx(1 / 3, rel=1e-4)


def test_report_names_only_the_wrong_input():
    x, y = _inputs([(2,), (2,)])
    report = ax.gradcheck(
        lambda a, b: ScaledProduct.apply(a, b, 2.0), (x, y), raise_exception=False
    )
    assert not report
    ok_line, bad_line = str(report).splitlines()[1:]
    assert ok_line.startswith("input 0") and "ok" in ok_line
    assert bad_line.startswith("input 1") and "differ" in bad_line
