"""Small torch spellings that real programs use and axon lacked: ``torch.utils.data``,
``torch.where(condition)`` alone, ``torch.jit``'s pass-throughs, ``Module.half()``,
``finfo(dtype).min`` masking; and torch's exact ``linspace`` / ``affine_grid`` values with
``grid_sample``'s rounding, which decide the gradient at pixel centres (torch is the
oracle)."""

import numpy as np
import pytest
import torch

import axon as ax


def test_utils_data_is_the_data_package():
    import axon.utils.data as data
    from axon.utils.data import DataLoader, TensorDataset

    assert ax.utils.data is ax.data is data and DataLoader is ax.data.DataLoader
    batches = list(ax.utils.data.DataLoader(TensorDataset(ax.arange(5)), batch_size=2))
    assert [b[0].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert ax.utils.data.get_worker_info() is None


@pytest.mark.parametrize(
    "values", [[[0.0, 1.0], [2.0, 0.0]], [0, 3, 0, 4], 1.0, 0.0, [[[True, False]], [[False, True]]]]
)
def test_where_with_a_condition_alone_is_nonzero_as_tuple(values):
    ours = ax.where(ax.tensor(values))
    theirs = torch.where(torch.tensor(values))
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == ax.int64 and np.array_equal(a.numpy(), b.numpy())


def test_where_with_three_arguments_still_selects():
    cond = [True, False, True]
    ours = ax.where(ax.tensor(cond), ax.tensor([1.0, 2.0, 3.0]), 0.0)
    theirs = torch.where(torch.tensor(cond), torch.tensor([1.0, 2.0, 3.0]), 0.0)
    assert ours.tolist() == theirs.tolist()
    with pytest.raises(TypeError):
        ax.where(ax.tensor(cond), ax.ones(3))  # torch: TypeError for a condition and one value
    with pytest.raises(TypeError):
        torch.where(torch.tensor(cond), torch.ones(3))


def test_finfo_min_masks_attention_scores_as_in_torch():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(2, 4)).astype(np.float32)
    keep = np.array([[1, 1, 0, 0], [1, 1, 1, 0]])
    results = []
    for lib in (ax, torch):
        s, m = lib.tensor(scores), lib.tensor(keep)
        s = s + (1.0 - m.to(s.dtype)) * lib.finfo(s.dtype).min
        results.append(s.softmax(dim=-1).numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-7)
    assert (results[0][keep == 0] == 0).all()


def test_jit_script_and_trace_hand_back_an_eager_module():
    model = ax.nn.Sequential(ax.nn.Linear(3, 2), ax.nn.ReLU())
    x = ax.randn(4, 3)
    for wrapped in (ax.jit.script(model), ax.jit.trace(model, (x,))):
        assert ax.equal(wrapped(x), model(x))
    assert not ax.jit.is_scripting() and not torch.jit.is_scripting()
    assert not ax.jit.is_tracing() and not torch.jit.is_tracing()

    @ax.jit.ignore
    def plain(v):
        return v + 1

    @ax.jit.ignore(drop=True)
    def dropped(v):
        return v - 1

    assert plain(1) == 2 and dropped(1) == 0 and ax.jit.unused(plain) is plain


def test_half_casts_a_module_to_float16_as_torch():
    ours, theirs = ax.nn.Linear(2, 3).half(), torch.nn.Linear(2, 3).half()
    assert ours.weight.dtype == ax.float16 and theirs.weight.dtype == torch.float16
    assert ours.bias.dtype == ax.float16 and isinstance(ours.weight, ax.nn.Parameter)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linspace_is_torchs_bit_for_bit(dtype):
    for start, end in ((-1, 1), (0, 1), (-3.5, 7.25), (2, -2), (0.1, 0.7)):
        for steps in [*range(1, 70), 255, 1000]:
            ours = ax.linspace(start, end, steps, dtype=getattr(ax, dtype)).numpy()
            theirs = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
            assert np.array_equal(ours, theirs), (start, end, steps)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_is_torchs_bit_for_bit(dtype, align_corners):
    rng = np.random.default_rng(0)
    for nd, size in ((2, (2, 1, 7, 9)), (2, (1, 3, 14, 14)), (3, (2, 1, 4, 5, 6))):
        theta = rng.normal(size=(size[0], nd, nd + 1)).astype(dtype)
        ours = ax.nn.functional.affine_grid(ax.tensor(theta), size, align_corners=align_corners)
        theirs = torch.nn.functional.affine_grid(
            torch.tensor(theta), size, align_corners=align_corners
        )
        assert np.array_equal(ours.numpy(), theirs.numpy()), size


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 1, 14, 14), (2, 2, 5, 6, 7)])
def test_spatial_transformer_gradient_at_the_identity_is_torchs(dtype, align_corners, size):
    """At the identity every sampling point sits on a pixel centre, where bilinear
    interpolation has a kink: the gradient is torch's only if the points round as torch's."""
    rng = np.random.default_rng(1)
    nd = len(size) - 2
    x = rng.random(size).astype(dtype)
    weights = rng.random(size).astype(dtype)
    theta = np.tile(np.eye(nd, nd + 1), (size[0], 1, 1)).astype(dtype)
    theta[1, 0, nd] = 0.25  # a shift of a quarter of the width keeps some points on centres
    grads = []
    for lib in (ax, torch):
        F = lib.nn.functional
        inp, th = lib.tensor(x, requires_grad=True), lib.tensor(theta, requires_grad=True)
        grid = F.affine_grid(th, size, align_corners=align_corners)
        out = F.grid_sample(inp, grid, align_corners=align_corners)
        (out * lib.tensor(weights)).sum().backward()
        grads.append((th.grad.numpy(), inp.grad.numpy(), out.detach().numpy()))
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-10, "atol": 1e-12}
    for ours, theirs in zip(grads[0], grads[1], strict=True):
        np.testing.assert_allclose(ours, theirs, **tol)


@pytest.mark.parametrize("name", ["median", "nanmedian"])
@pytest.mark.parametrize(
    "values",
    [
        [1.0, 3.0, 3.0, 2.0, 3.0],
        [4.0, 1.0, 4.0, 1.0],
        [1.0, float("nan"), 2.0, float("nan")],
        [2.0, 2.0, 1.0, float("nan")],
        [np.inf, np.inf, 1.0],
    ],
)
def test_median_of_all_elements_shares_its_gradient_among_ties(name, values):
    results = []
    for lib in (ax, torch):
        x = lib.tensor(values, requires_grad=True)
        y = getattr(x, name)()
        y.backward()
        results.append((y.item(), x.grad.numpy()))
    (ours, our_grad), (theirs, their_grad) = results
    assert ours == theirs or (np.isnan(ours) and np.isnan(theirs))
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6)


def test_batch_norm_loads_a_state_dict_without_num_batches_tracked():
    """Older checkpoints (and hand-built dicts) lack the counter: torch keeps its own."""
    results = []
    for lib in (ax, torch):
        net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
        net(lib.ones(4, 2))  # one training step: the counter is 1
        state = {k: v for k, v in net.state_dict().items() if "num_batches" not in k}
        state["1.running_mean"] = lib.full((3,), 0.5)
        result = net.load_state_dict(state)
        results.append(
            (
                list(result.missing_keys),
                list(result.unexpected_keys),
                int(net[1].num_batches_tracked),
                net[1].running_mean.tolist(),
            )
        )
    assert results[0] == results[1] == ([], [], 1, [0.5, 0.5, 0.5])
    with pytest.raises(RuntimeError, match='Missing key.*"1.running_var"'):
        del state["1.running_var"]
        ax.nn.Sequential(ax.nn.Linear(2, 3), ax.nn.BatchNorm1d(3)).load_state_dict(
            {k: ax.tensor(v.numpy()) for k, v in state.items()}
        )
