"""``Module.load_state_dict`` is all or nothing and casts as torch's ``copy_`` casts.

torch 2.13 is the oracle for the casts and the error messages; the model's bytes before
and after a failed load are the oracle for "untouched".
"""

import warnings

import numpy as np
import pytest

import axon as ax
from axon import nn
from tests.helpers import assert_equal

torch = pytest.importorskip("torch")


def _pair():
    """The same small model in axon and in torch, with the same weights."""
    ax.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2)
    )
    theirs.load_state_dict(
        {k: torch.from_numpy(v.array.copy()) for k, v in ours.state_dict().items()}
    )
    return ours, theirs


def _snapshot(model):
    """Every entry's dtype, shape and bytes: equality of these is bit-for-bit equality."""
    return {
        k: (v.array.dtype, v.array.shape, v.array.tobytes()) for k, v in model.state_dict().items()
    }


def _fresh_state(model, scale=7.0):
    """A state dict of the model's keys with new values (every entry differs)."""
    return {
        k: np.asarray(v.array + scale).astype(v.array.dtype) for k, v in model.state_dict().items()
    }


@pytest.mark.parametrize(
    "bad", ["shape", "string", "none", "object", "missing", "unexpected", "dict"]
)
def test_a_bad_entry_midway_leaves_the_whole_model_untouched(bad):
    ours, _ = _pair()
    state = _fresh_state(ours)
    keys = list(state)
    midway = keys[len(keys) // 2 + 1]  # after several good entries, in the model's order
    if bad == "shape":
        state[midway] = np.zeros((5, 5), np.float32)
    elif bad == "string":
        state[midway] = "not an array"
    elif bad == "none":
        state[midway] = None
    elif bad == "object":
        state[midway] = np.array([object()] * 4, dtype=object)
    elif bad == "dict":
        state[midway] = {"nested": 1}
    elif bad == "missing":
        del state[keys[-1]]
    else:
        state["3.extra"] = np.zeros(2, np.float32)
    before = _snapshot(ours)
    with pytest.raises(RuntimeError, match=r"Error\(s\) in loading state_dict for Sequential"):
        ours.load_state_dict(state)
    assert _snapshot(ours) == before
    # and with the bad entry fixed, everything loads
    ours.load_state_dict(_fresh_state(ours))
    assert _snapshot(ours) != before


def test_errors_are_collected_in_torchs_words_and_order():
    ours, theirs = _pair()
    state = _fresh_state(ours)
    state["0.weight"] = np.zeros((4, 5), np.float32)
    state["1.bias"] = "x"
    del state["3.bias"]
    state["extra"] = np.ones(1, np.float32)
    with pytest.raises(RuntimeError) as ours_info:
        ours.load_state_dict(state)
    torch_state = {
        k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in state.items()
    }
    with pytest.raises(RuntimeError) as theirs_info:
        theirs.load_state_dict(torch_state)
    mine = str(ours_info.value).split("\n\t")
    want = str(theirs_info.value).split("\n\t")
    assert mine[0] == want[0] == "Error(s) in loading state_dict for Sequential:"
    # torch leaves a trailing space after these two
    assert mine[1] == want[1].rstrip() == 'Missing key(s) in state_dict: "3.bias".'
    assert mine[2] == want[2].rstrip() == 'Unexpected key(s) in state_dict: "extra".'
    # torch prints shapes as torch.Size([...]); the rest of the line is the same
    assert mine[3] == want[3].replace("torch.Size([4, 5])", "(4, 5)").replace(
        "torch.Size([4, 3])", "(4, 3)"
    )
    assert mine[4].startswith('While copying the parameter named "1.bias", expected ')
    assert mine[4].endswith("from checkpoint but received <class 'str'>")
    assert want[4].endswith("from checkpoint but received <class 'str'>")
    assert len(mine) == len(want) == 5


def test_non_strict_still_refuses_bad_shapes_without_copying():
    ours, _ = _pair()
    state = _fresh_state(ours)
    del state["0.bias"]
    state["3.weight"] = np.zeros((3, 3), np.float32)
    before = _snapshot(ours)
    with pytest.raises(RuntimeError, match=r"size mismatch for 3\.weight.*\(3, 3\)"):
        ours.load_state_dict(state, strict=False)
    assert _snapshot(ours) == before


# (param dtype, value) pairs: each is loaded into a fresh tensor by torch and by axon
_CASTS = [
    ("float32", np.array([1.0, 1e-50, 1e40, -1e40, 0.1], np.float64)),  # rounding, under/overflow
    ("float32", np.array([1, -7, 2**31 - 1, 2**40, 2**53 + 1], np.int64)),
    ("float32", np.array([True, False, True, False, True])),
    ("float32", np.array([0, 255, 128, 1, 2], np.uint8)),
    ("float64", np.array([0.1, -2.5, 3e38, 1e-45, 7.0], np.float32)),
    ("float16", np.array([1.0, 70000.0, 1e-9, 0.1, -3.0], np.float64)),
    ("int64", np.array([2.7, -3.9, 0.5, -0.5, 1e15], np.float64)),  # truncated toward zero
    ("int64", np.array([1, 0, 1, 1, 0], np.bool_)),
    ("int32", np.array([3, -4, 5, 6, 7], np.int64)),
    ("uint8", np.array([1.9, 254.5, 0.0, 3.0, 100.2], np.float32)),
]


@pytest.mark.parametrize(("dtype", "value"), _CASTS)
def test_casts_like_torch_copy(dtype, value):
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("t", ax.zeros(5, dtype=getattr(ax, dtype)))

    class TorchHolder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("t", torch.zeros(5, dtype=getattr(torch, dtype)))

    ours, theirs = Holder(), TorchHolder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's and torch's overflow notes
        ours.load_state_dict({"t": value})
        theirs.load_state_dict({"t": torch.from_numpy(value)})
    got, want = ours.t.array, theirs.t.numpy()
    assert got.dtype == want.dtype
    assert got.tobytes() == want.tobytes(), (got, want)  # bit for bit, inf included


def test_complex_into_real_drops_the_imaginary_part_with_torchs_warning():
    ours, theirs = nn.Linear(2, 1), torch.nn.Linear(2, 1)
    w = np.array([[1 + 2j, -3 - 1j]], np.complex64)
    b = np.array([0.5], np.float32)
    with pytest.warns(UserWarning, match="Casting complex values to real discards the imaginary"):
        ours.load_state_dict({"weight": w, "bias": b})
    with pytest.warns(UserWarning, match="Casting complex values to real discards the imaginary"):
        theirs.load_state_dict({"weight": torch.from_numpy(w), "bias": torch.from_numpy(b)})
    assert_equal(ours.weight, theirs.weight.detach())


def test_values_of_every_kind_torch_takes_and_a_one_element_vector_into_a_scalar():
    bn, tbn = nn.BatchNorm1d(2), torch.nn.BatchNorm1d(2)
    state = {k: v.array.copy() for k, v in bn.state_dict().items()}
    state["num_batches_tracked"] = np.array([5])  # 1-d of one element into a 0-d buffer
    state["running_mean"] = ax.tensor([1.5, -2.0], dtype=ax.float64)  # an axon Tensor
    state["weight"] = torch.tensor([3.0, 4.0])  # a torch tensor (array-like)
    bn.load_state_dict(state)
    tbn.load_state_dict(
        {
            k: v
            if isinstance(v, torch.Tensor)
            else torch.as_tensor(v.array if isinstance(v, ax.Tensor) else v)
            for k, v in state.items()
        }
    )
    for key, value in tbn.state_dict().items():
        got = bn.state_dict()[key].array
        assert got.dtype == value.numpy().dtype, key
        assert got.tobytes() == value.numpy().tobytes(), key


def test_loaded_values_are_copies():
    model = nn.Linear(2, 2)
    source = {k: v.array.copy() + 1 for k, v in model.state_dict().items()}
    model.load_state_dict(source)
    source["weight"][...] = 100.0
    assert not (model.weight.array == 100.0).any()
    assert model.weight.array.dtype == np.float32


def test_a_failed_load_leaves_lazy_layers_lazy():
    model = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.Linear(3, 2))
    before = model[2].weight.array.copy()
    state = {
        "0.weight": np.ones((3, 4), np.float32),
        "0.bias": np.ones(3, np.float32),
        "2.weight": "oops",
        "2.bias": np.ones(2, np.float32),
    }
    with pytest.raises(RuntimeError, match='parameter named "2.weight"'):
        model.load_state_dict(state)
    assert type(model[0]).__name__ == "LazyLinear"
    assert model[0].has_uninitialized_params()
    assert_equal(model[2].weight, before)
    state["2.weight"] = np.full((2, 3), 2.0, np.float32)
    model.load_state_dict(state)
    assert type(model[0]).__name__ == "Linear"
    assert_equal(model[0].weight, np.ones((3, 4)))
    assert_equal(model[2].weight, np.full((2, 3), 2.0))


def test_refuses_what_is_not_a_mapping():
    with pytest.raises(TypeError, match="dict-like"):
        nn.Linear(2, 2).load_state_dict([("weight", np.zeros((2, 2)))])


def test_optimizer_load_state_dict_is_all_or_nothing():
    model = nn.Linear(3, 2)
    opt = ax.optim.Adam(model.parameters(), lr=0.01)
    model(ax.ones(4, 3)).sum().backward()
    opt.step()
    saved = opt.state_dict()
    before = {
        i: {
            k: np.array(v.array if isinstance(v, ax.Tensor) else v, copy=True) for k, v in s.items()
        }
        for i, s in opt.state_dict()["state"].items()
    }
    bad = opt.state_dict()
    bad["param_groups"][0]["lr"] = 123.0
    bad["state"][1]["exp_avg"] = np.zeros(5, np.float32)  # the bias is (2,): refused
    with pytest.raises(ValueError, match="'exp_avg' of shape \\(5,\\) for parameter 1"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["lr"] == 0.01  # the options were not half-applied
    after = opt.state_dict()["state"]
    for i, entries in before.items():
        for k, v in entries.items():
            got = after[i][k]
            got = np.asarray(got.array if isinstance(got, ax.Tensor) else got)
            assert got.tobytes() == v.tobytes(), (i, k)
    opt.load_state_dict(saved)  # and a good one loads
    assert opt.param_groups[0]["lr"] == 0.01


def test_a_state_dict_loads_into_a_module_on_another_device():
    """CPU values (and a strict module's own) load into a module moved to the strict test
    backend: each lands on its parameter's device, the objects kept."""
    from tests.backend.strict import StrictArray

    ax.manual_seed(0)
    src = nn.Linear(3, 2)
    ax.manual_seed(1)
    dst = nn.Linear(3, 2).to("strict")
    w = dst.weight
    dst.load_state_dict(src.state_dict())
    assert dst.weight is w and isinstance(w.array, StrictArray)
    np.testing.assert_array_equal(w.cpu().detach().numpy(), src.weight.detach().numpy())
    src.load_state_dict(dst.state_dict())  # and back from the device
    assert src.weight.device == "cpu"
    dst.weight.grad = ax.ones(2, 3, device="strict")
    dst.zero_grad(set_to_none=False)
    assert isinstance(dst.weight.grad.array, StrictArray)
    assert not dst.weight.grad.cpu().numpy().any()
