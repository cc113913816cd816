"""``Module`` and the containers against PyTorch: traversal, shared parameters, modes,
buffers, ``state_dict`` keys, loading a PyTorch state dict, strict loading, reprs."""

import numpy as np
import pytest
import torch

import axon as ax
from axon import nn
from tests.helpers import assert_close


def build(lib):
    """The same nested model in axon (``lib=ax``) or PyTorch (``lib=torch``)."""
    lnn = lib.nn

    class Block(lnn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lnn.Linear(4, 4)
            self.act = lnn.ReLU()
            self.register_buffer("running", lib.zeros(4))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            return self.act(self.fc(x)) + self.running

    class Net(lnn.Module):
        def __init__(self):
            super().__init__()
            self.stem = lnn.Sequential(lnn.Linear(3, 4), lnn.Tanh(), lnn.Dropout(0.1))
            self.blocks = lnn.ModuleList([Block(), Block()])
            self.heads = lnn.ModuleDict({"a": lnn.Linear(4, 2), "b": lnn.Linear(4, 2, bias=False)})
            self.extra = lnn.ParameterList([lnn.Parameter(lib.ones(2))])
            self.scale = lnn.Parameter(lib.ones(1))

        def forward(self, x):
            x = self.stem(x)
            for block in self.blocks:
                x = block(x)
            return self.heads["a"](x) * self.scale + self.heads["b"](x) + self.extra[0]

    return Net()


def torch_state_as_numpy(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# ------------------------------------------------------------------ traversal


def test_named_parameters_buffers_and_modules_match_torch():
    ours, theirs = build(ax), build(torch)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [type(m).__name__ for m in ours.modules()] == [
        type(m).__name__ for m in theirs.modules()
    ]
    assert [type(m).__name__ for m in ours.children()] == [
        type(m).__name__ for m in theirs.children()
    ]
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters())


def test_shared_parameters_and_modules_come_once():
    for lib in (ax, torch):
        a, b = lib.nn.Linear(3, 3), lib.nn.Linear(3, 3)
        b.weight = a.weight  # tied weights
        tied = lib.nn.Sequential(a, b)
        assert [n for n, _ in tied.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
        twice = lib.nn.Sequential(a, a)  # one layer used twice
        assert [n for n, _ in twice.named_parameters()] == ["0.weight", "0.bias"]
        assert len(list(twice.modules())) == 2 and len(list(twice.children())) == 1
        # state_dict keeps every path, as PyTorch's does
        assert list(twice.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
        assert list(tied.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_shared_layer_gets_the_summed_gradient():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, layer)
    model(ax.ones(1, 2)).sum().backward()
    assert len(list(model.parameters())) == 2
    assert layer.weight.grad is not None


def test_train_and_eval_reach_every_submodule():
    model = build(ax)
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.blocks.train(False)
    assert model.training and not model.blocks[1].fc.training


def test_zero_grad():
    model = build(ax)
    model(ax.randn(5, 3)).sum().backward()
    params = list(model.parameters())
    assert all(p.grad is not None for p in params)
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.array.any() for p in params)
    model.zero_grad()
    assert all(p.grad is None for p in params)


def test_apply_visits_children_first_like_torch():
    seen = {"ax": [], "torch": []}
    build(ax).apply(lambda m: seen["ax"].append(type(m).__name__))
    build(torch).apply(lambda m: seen["torch"].append(type(m).__name__))
    assert seen["ax"] == seen["torch"]
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    model.apply(lambda m: nn.init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert not model[0].weight.array.any() and not model[2].weight.array.any()


def test_register_buffer_persistent_and_not():
    m = nn.Module()
    m.register_buffer("kept", ax.ones(2))
    m.register_buffer("temp", ax.zeros(3), persistent=False)
    m.register_buffer("empty", None)
    assert [n for n, _ in m.named_buffers()] == ["kept", "temp"]
    assert list(m.state_dict()) == ["kept"]
    assert list(m.parameters()) == []
    assert isinstance(m.temp, ax.Tensor) and m.empty is None
    m.kept = ax.full((2,), 5.0)  # re-assigning keeps it a buffer
    assert m.state_dict()["kept"].tolist() == [5.0, 5.0]
    with pytest.raises(TypeError):
        m.kept = "not a tensor"
    with pytest.raises(KeyError):
        m.register_buffer("a.b", ax.ones(1))


# ------------------------------------------------------------------ state dict


def test_state_dict_keys_and_shapes_match_torch():
    ours, theirs = build(ax), build(torch)
    a, t = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(t)
    assert all(a[k].shape == tuple(t[k].shape) for k in a)
    assert "blocks.0.scratch" not in a
    assert all(not v.requires_grad for v in a.values())


def test_load_torch_state_dict_gives_torchs_outputs():
    ours, theirs = build(ax), build(torch)
    with torch.no_grad():
        theirs.blocks[0].running.uniform_(-1, 1)
        theirs.scale.fill_(1.5)
    result = ours.load_state_dict(torch_state_as_numpy(theirs))
    assert result.missing_keys == [] and result.unexpected_keys == []
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    assert_close(ours(ax.tensor(x)), theirs(torch.tensor(x)), rtol=1e-5, atol=1e-6)
    # the values were copied, not aliased
    state = torch_state_as_numpy(theirs)
    ours.load_state_dict(state)
    state["scale"][...] = 100.0
    assert ours.scale.item() == 1.5


def test_load_state_dict_round_trip_and_axon_tensors():
    a, b = build(ax), build(ax)
    b.load_state_dict(a.state_dict())
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert na == nb
        np.testing.assert_array_equal(pa.array, pb.array)


def test_strict_load_reports_every_problem_at_once():
    model = build(ax)
    state = torch_state_as_numpy(build(torch))
    del state["stem.0.bias"], state["heads.b.weight"]
    state["blocks.0.fc.weight"] = np.zeros((5, 4), dtype=np.float32)
    state["nonsense.weight"] = np.zeros(3, dtype=np.float32)
    before = model.scale.array.copy()
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    msg = str(info.value)
    for part in [
        '"stem.0.bias"',
        '"heads.b.weight"',
        '"nonsense.weight"',
        "size mismatch for blocks.0.fc.weight",
        "(5, 4)",
        "(4, 4)",
        "Missing",
        "Unexpected",
    ]:
        assert part in msg, f"{part!r} not in {msg!r}"
    np.testing.assert_array_equal(model.scale.array, before)  # nothing was loaded


def test_non_strict_load_returns_missing_and_unexpected():
    model = build(ax)
    state = torch_state_as_numpy(build(torch))
    del state["scale"]
    state["extra.7"] = np.ones(2, dtype=np.float32)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["scale"]
    assert result.unexpected_keys == ["extra.7"]
    np.testing.assert_array_equal(model.heads.a.weight.array, state["heads.a.weight"])
    state["heads.a.bias"] = np.zeros(3, dtype=np.float32)
    with pytest.raises(RuntimeError, match="size mismatch for heads.a.bias"):
        model.load_state_dict(state, strict=False)  # shapes are checked even then


# ------------------------------------------------------------------ repr


def test_repr_matches_torch():
    def seq(lib):
        lnn = lib.nn
        return lnn.Sequential(
            lnn.Linear(784, 256),
            lnn.ReLU(),
            lnn.Dropout(0.2),
            lnn.Linear(256, 10, bias=False),
            lnn.Sequential(lnn.LeakyReLU(0.1), lnn.Flatten(), lnn.Identity()),
            lnn.LogSoftmax(dim=1),
        )

    assert repr(seq(ax)) == repr(seq(torch))
    assert repr(build(ax)) == repr(build(torch)).replace("torch.float", "axon.float")
    pl = [nn.Parameter(ax.ones(2, 3)), nn.Parameter(ax.ones(2, dtype=ax.float64))]
    tpl = [torch.nn.Parameter(torch.ones(2, 3)), torch.nn.Parameter(torch.ones(2).double())]
    expected = repr(torch.nn.ParameterList(tpl)).replace("torch.", "axon.")
    assert repr(nn.ParameterList(pl)) == expected
    for lib in (ax, torch):  # repeated layers are folded, as in torch
        lib.m = lib.nn.ModuleList([lib.nn.Linear(2, 2)] * 3 + [lib.nn.ReLU(), lib.nn.ReLU()])
    assert repr(ax.m) == repr(torch.m)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())
    assert repr(nn.Sequential()) == repr(torch.nn.Sequential())
    del ax.m, torch.m


def test_replacing_a_layer_or_parameter_keeps_its_place():
    for lib in (ax, torch):
        seq = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU())
        seq[0] = lib.nn.Linear(2, 3)
        assert [type(m).__name__ for m in seq] == ["Linear", "ReLU"]
        layer = lib.nn.Linear(2, 2)
        layer.weight = lib.nn.Parameter(lib.zeros(2, 2))
        assert list(layer.state_dict()) == ["weight", "bias"]
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq[0] = nn.Linear(2, 3)
    out = seq(ax.tensor([[-1.0, 2.0]]))
    assert (out.array >= 0).all()  # ReLU still runs last
