"""The backward engine: accumulation, freed graphs, retain_graph, deep graphs, no_grad,
detach, retain_grad, gradient dtypes and ownership, custom Functions."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import axon as ax
from tests.helpers import assert_close


def _both(fn):
    """Run ``fn(lib)`` for torch and axon; returns (torch result, axon result)."""
    return fn(torch), fn(ax)


def test_grad_accumulates_across_backward_calls():
    def run(lib):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        (x * x).sum().backward()
        (x * 3.0).sum().backward()
        return x.grad

    t, a = _both(run)
    assert_close(a, t)
    assert_close(a, [5.0, -1.0, 9.0])


def test_diamond_graph_sums_both_paths():
    def run(lib):
        x = lib.tensor([[0.5, -1.0], [2.0, 1.5]], requires_grad=True)
        y = x.exp()
        z = (y * x.sin() + y.sum(0) / x).sum()
        z.backward()
        return x.grad

    t, a = _both(run)
    assert_close(a, t)


def test_branch_without_grad_is_skipped():
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        c = lib.tensor([3.0, 4.0])
        y = (x * c + c.exp()).sum()
        y.backward()
        return x.grad, c.grad

    (tx, tc), (ax_, ac) = _both(run)
    assert_close(ax_, tx)
    assert ac is None and tc is None


def test_non_scalar_backward_without_gradient_names_the_shape():
    y = ax.ones(2, 3, requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match=r"scalar.*\(2, 3\)"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3, dtype=np.float32))


def test_backward_of_tensor_without_grad_raises():
    for lib in (torch, ax):
        with pytest.raises(RuntimeError, match="does not require grad"):
            (lib.ones(2) * 2).sum().backward()


def test_second_backward_through_freed_graph_raises():
    for lib in (torch, ax):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="second time"):
            y.backward()


def test_shared_subgraph_is_freed_by_the_first_backward():
    for lib in (torch, ax):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x.exp()
        (h * 2).sum().backward()
        with pytest.raises(RuntimeError, match="second time"):
            (h * 3).sum().backward()


def test_retain_graph_allows_second_backward_and_doubles_grads():
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        first = x.grad.clone()
        y.backward()
        return first, x.grad

    (t1, t2), (a1, a2) = _both(run)
    assert_close(a1, t1)
    assert_close(a2, t2)
    assert_close(a2, 2 * a1.array)


def test_backward_on_a_leaf():
    x = ax.tensor([1.0, 2.0], requires_grad=True)
    x.backward(ax.tensor([3.0, 4.0]))
    assert_close(x.grad, [3.0, 4.0])


def test_deep_chain_backpropagates_without_recursion_error():
    x = ax.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert_close(x.grad, [1.0])
    del y  # the freed chain is dropped without a crash


def test_deep_chain_can_be_deleted_without_backward():
    # a crash in deallocation would kill the interpreter: run it in a child process
    code = (
        "import axon as ax\n"
        "x = ax.tensor([1.0], requires_grad=True)\n"
        "y = x\n"
        "for _ in range(100_000):\n"
        "    y = y * 1.0\n"
        "del y\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


# ------------------------------------------------------------------ grad modes


def test_no_grad_context_records_nothing():
    x = ax.tensor([1.0, 2.0], requires_grad=True)
    with ax.no_grad():
        y = x * 2.0 + x.exp()
        assert not ax.is_grad_enabled()
    assert ax.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_no_grad_decorator_records_nothing():
    @ax.no_grad()
    def double(t):
        return t * 2.0

    x = ax.tensor([1.0, 2.0], requires_grad=True)
    y = double(x)
    assert not y.requires_grad and y.grad_fn is None
    assert ax.is_grad_enabled()
    assert (x * 2.0).requires_grad


def test_no_grad_bare_decorator():
    @ax.no_grad
    def double(t):
        return t * 2.0

    assert not double(ax.tensor([1.0], requires_grad=True)).requires_grad


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ValueError), ax.no_grad():
        raise ValueError
    assert ax.is_grad_enabled()


def test_enable_grad_and_set_grad_enabled():
    x = ax.tensor([1.0], requires_grad=True)
    with ax.no_grad():
        with ax.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    with ax.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_detach_cuts_the_graph_and_shares_data():
    x = ax.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.array is y.array
    z = (d * x).sum()
    z.backward()
    assert_close(x.grad, [2.0, 4.0])  # d is a constant: no path through y


def test_retain_grad_keeps_intermediate_grad():
    def run(lib):
        x = lib.tensor([1.0, -2.0], requires_grad=True)
        y = x * 3.0
        y.retain_grad()
        (y * y).sum().backward()
        return y.grad, x.grad

    (ty, tx), (ay, ax_) = _both(run)
    assert_close(ay, ty)
    assert_close(ax_, tx)


def test_non_leaf_grad_is_none_without_retain_grad():
    x = ax.tensor([1.0], requires_grad=True)
    y = x * 2.0
    y.sum().backward()
    assert y.grad is None and not y.is_leaf and x.is_leaf


# ------------------------------------------------------------------ gradient arrays


def test_grad_dtype_equals_param_dtype():
    w = ax.tensor([1.0, 2.0], requires_grad=True)  # float32
    out = w * ax.tensor(np.array([1.0, 2.0]))  # float64 result
    assert out.dtype == np.float64
    out.sum().backward()
    assert w.grad.dtype == np.float32
    v = ax.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (v * 2.0).sum().backward()
    assert v.grad.dtype == np.float64


def test_leaves_of_a_sum_do_not_share_a_gradient_array():
    a = ax.tensor([1.0, 2.0], requires_grad=True)
    b = ax.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.array[0] = 100.0
    assert_close(b.grad, [1.0, 1.0])


def test_gradient_given_to_backward_is_not_aliased():
    x = ax.tensor([1.0, 2.0], requires_grad=True)
    g = np.ones(2, dtype=np.float32)
    (x + 1.0).backward(g)
    g[0] = 100.0
    assert_close(x.grad, [1.0, 1.0])
    x.grad.array[1] = 7.0
    assert g[1] == 1.0


def test_broadcast_gradient_is_reduced_to_the_leaf_shape():
    def run(lib):
        b = lib.tensor([[1.0], [2.0]], requires_grad=True)  # (2, 1)
        s = lib.tensor(3.0, requires_grad=True)  # ()
        (lib.ones(4, 2, 3) * b * s).sum().backward()
        return b.grad, s.grad

    (tb, ts), (ab, as_) = _both(run)
    assert_close(ab, tb)
    assert_close(as_, ts)


# ------------------------------------------------------------------ custom Functions


class Cube(ax.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2


class Scale(ax.Function):
    @staticmethod
    def forward(ctx, x, y, factor):
        ctx.factor = factor
        ctx.needs = ctx.needs_input_grad
        return x * factor + y

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, grad, None


def test_custom_function_gradient():
    x = ax.tensor([1.0, -2.0], requires_grad=True)
    y = Cube.apply(x)
    assert y.requires_grad and y.grad_fn.name == "CubeBackward"
    (y * 2.0).sum().backward()
    assert_close(x.grad, [6.0, 24.0])


def test_custom_function_with_non_tensor_argument():
    x = ax.tensor([1.0, 2.0], requires_grad=True)
    c = ax.tensor([5.0, 5.0])
    y = Scale.apply(x, c, 3.0)
    assert y.grad_fn is not None
    y.sum().backward()
    assert_close(x.grad, [3.0, 3.0])
    assert c.grad is None


def test_custom_function_under_no_grad_records_nothing():
    x = ax.tensor([1.0], requires_grad=True)
    with ax.no_grad():
        y = Cube.apply(x)
    assert not y.requires_grad and y.grad_fn is None


def test_custom_function_output_repr_after_backward():
    x = ax.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x)
    y.sum().backward()
    assert "CubeBackward" in repr(y)


def test_queue_callback_runs_once_after_every_gradient_is_accumulated():
    from axon.autograd.function import queue_callback

    a = ax.tensor([1.0, 2.0], requires_grad=True)
    b = ax.tensor([3.0], requires_grad=True)
    seen = []

    def hook(p):
        if not seen:  # the first leaf queues the end-of-backward callback
            queue_callback(lambda: seen.append((a.grad.tolist(), b.grad.tolist())))
        seen.append("hook")

    for p in (a, b):
        p.register_post_accumulate_grad_hook(hook)
    ((a * b).sum() * 2).backward()
    assert seen == ["hook", "hook", ([6.0, 6.0], [6.0])]  # after both grads, once
    (a.sum()).backward()  # no hook queues anything: nothing runs again
    assert len(seen) == 4 and seen[-1] == "hook"


def test_a_hook_that_raises_drops_the_queued_callbacks():
    from axon.autograd.function import END_CALLBACKS, queue_callback

    a = ax.tensor([1.0], requires_grad=True)
    ran = []

    def hook(p):
        queue_callback(lambda: ran.append(1))
        raise RuntimeError("hook failed")

    handle = a.register_post_accumulate_grad_hook(hook)
    with pytest.raises(RuntimeError, match="hook failed"):
        a.sum().backward()
    assert ran == [] and END_CALLBACKS == []
    handle.remove()
    a.sum().backward()
    assert ran == []


def _hook_order(lib):
    """The order in which a tensor hook on an intermediate and the post-accumulate hooks
    of two weights fire in ``lib``'s backward, with the gradients each hook saw."""
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((4, 3)))
    w1 = lib.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    w2 = lib.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    events = []
    h = x @ w1
    h.register_hook(lambda g: events.append("h"))
    for name, w in (("w1", w1), ("w2", w2)):
        w.register_post_accumulate_grad_hook(
            lambda p, name=name: events.append((name, p.grad.detach().numpy().copy()))
        )
    y = lib.tanh(h) @ w2 + (x @ w1).sum()  # w1 reached by two paths: finished after both
    y.sum().backward()
    return events


def test_a_watched_leaf_is_finished_inside_backward_as_torch_does():
    """A post-accumulate hook runs as soon as its leaf's last gradient has arrived (w2's
    before the rest of backward reaches h), and once for a leaf reached twice, with its
    whole gradient: the moment DDP starts a bucket's all-reduce."""
    ours, theirs = _hook_order(ax), _hook_order(torch)
    assert [e if isinstance(e, str) else e[0] for e in ours] == ["w2", "h", "w1"]
    assert [e if isinstance(e, str) else e[0] for e in theirs] == ["w2", "h", "w1"]
    for a, b in zip(ours, theirs, strict=True):
        if not isinstance(a, str):
            assert_close(a[1], b[1], atol=1e-12)


def test_a_watched_leaf_waits_for_gradients_computed_on_the_helper_thread():
    """A convolution's weight gradient is computed on the helper thread and handed back
    later (deferred): the in-walk finish waits for it, so the hook, which runs before
    backward reaches the layer below, sees the whole gradient, equal to the one a
    backward without hooks gives."""
    from axon.backend.numpy import threads

    rng = np.random.default_rng(1)
    x = ax.tensor(rng.standard_normal((8, 3, 16, 16)).astype(np.float32))
    conv1, conv2 = ax.nn.Conv2d(3, 6, 3), ax.nn.Conv2d(6, 4, 3)
    events = []

    def loss():
        r = ax.relu(conv1(x))
        if r.requires_grad:
            r.register_hook(lambda g: events.append("r"))
        return conv2(r).square().sum()

    loss().backward()
    want = conv2.weight.grad.numpy().copy()
    conv2.weight.grad = None
    conv2.weight.register_post_accumulate_grad_hook(lambda p: events.append(p.grad.numpy().copy()))
    events.clear()
    original, deferred = threads.defer, []

    def watch(fn):
        d = original(fn)
        deferred.append(d)
        return d

    threads.defer = watch
    try:
        loss().backward()
    finally:
        threads.defer = original
    assert deferred, "the convolutions' weight gradients went through threads.defer"
    assert len(events) == 2 and isinstance(events[0], np.ndarray) and events[1] == "r"
    np.testing.assert_array_equal(events[0], want)
    np.testing.assert_array_equal(conv2.weight.grad.numpy(), want)
