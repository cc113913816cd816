"""The functional API (``nn.Input``, ``nn.Model``): graphs against the same computation
written by hand in torch, shared layers, names, calling conventions, and the errors."""

import copy

import numpy as np
import pytest
import torch

import axon as ax
from axon import nn
from axon.nn.functional_api import Node, SymbolicTensor, topological_order
from tests.helpers import assert_close, assert_differs


def _mixed_model():
    """Numbers (N, 6) and a category (N,) -> embedding -> joined -> hidden -> two heads."""
    num = nn.Input((6,), name="num")
    district = nn.Input((), dtype=ax.int64, name="district")
    h = nn.Concatenate()(num, nn.Embedding(8, 4)(district))  # (None, 10)
    h = nn.ReLU()(nn.Linear(10, 16)(h))
    price = nn.Linear(16, 1)(h, name="price")
    energy = nn.Linear(16, 3)(h, name="energy")
    return nn.Model([num, district], {"price": price, "energy": energy}, name="houses")


class _TorchMixed(torch.nn.Module):
    """The same computation written by hand, with the same state-dict keys."""

    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(8, 4)
        self.linear = torch.nn.Linear(10, 16)
        self.price = torch.nn.Linear(16, 1)
        self.energy = torch.nn.Linear(16, 3)

    def forward(self, num, district):
        h = torch.relu(self.linear(torch.cat([num, self.embedding(district)], dim=-1)))
        return self.price(h), self.energy(h)


def _batch(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(n, 6)).astype(np.float32),
        rng.integers(0, 8, n),
        rng.normal(size=(n, 1)).astype(np.float32),
        rng.integers(0, 3, n),
    )


def test_multi_input_multi_output_equals_the_hand_written_computation():
    model, ref = _mixed_model(), _TorchMixed()
    assert list(model.state_dict()) == list(ref.state_dict())
    model.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    num, district, y_price, y_energy = _batch()

    x = ax.tensor(num, requires_grad=True)
    out = model(x, ax.tensor(district))
    loss = nn.MSELoss()(out["price"], ax.tensor(y_price)) + 0.5 * nn.CrossEntropyLoss()(
        out["energy"], ax.tensor(y_energy)
    )
    loss.backward()

    xt = torch.tensor(num, requires_grad=True)
    price, energy = ref(xt, torch.tensor(district))
    ref_loss = torch.nn.functional.mse_loss(
        price, torch.tensor(y_price)
    ) + 0.5 * torch.nn.functional.cross_entropy(energy, torch.tensor(y_energy))
    ref_loss.backward()

    assert_close(out["price"], price, msg="price")
    assert_close(out["energy"], energy, msg="energy")
    assert_close(loss, ref_loss, msg="loss")
    assert_close(x.grad, xt.grad, msg="input gradient")
    grads = dict(ref.named_parameters())
    for name, p in model.named_parameters():
        assert_close(p.grad, grads[name].grad, msg=name)


def test_shared_layer_is_one_set_of_weights_with_the_summed_gradient():
    ax.manual_seed(0)
    left, right = nn.Input((5,), name="left"), nn.Input((5,), name="right")
    encoder = nn.Sequential(nn.Linear(5, 4), nn.Tanh())
    head = nn.Linear(8, 1)
    out = head(nn.Concatenate()(encoder(left, name="encoder"), encoder(right)))
    model = nn.Model([left, right], out)
    assert model.layers.count(encoder) == 1
    assert [k for k in model.state_dict() if k.startswith("encoder")] == [
        "encoder.0.weight",
        "encoder.0.bias",
    ]
    assert model.num_parameters() == (5 * 4 + 4) + (8 + 1)

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    w = ax.tensor(rng.uniform(0.5, 1.5, (3, 1)).astype(np.float32))
    (model(ax.tensor(a, dtype=ax.float32), ax.tensor(b, dtype=ax.float32)) * w).sum().backward()

    # by hand: two separate copies of the encoder, one per branch
    enc_a, enc_b = copy.deepcopy(encoder), copy.deepcopy(encoder)
    head_copy = copy.deepcopy(head)
    for m in (enc_a, enc_b, head_copy):
        m.zero_grad()
    joined = ax.cat(
        [enc_a(ax.tensor(a, dtype=ax.float32)), enc_b(ax.tensor(b, dtype=ax.float32))], dim=-1
    )
    (head_copy(joined) * w).sum().backward()
    for (name, p), pa, pb in zip(
        encoder.named_parameters(), enc_a.parameters(), enc_b.parameters(), strict=True
    ):
        assert np.abs(pa.grad.numpy()).sum() > 0 and np.abs(pb.grad.numpy()).sum() > 0
        assert_close(p.grad, pa.grad.numpy() + pb.grad.numpy(), msg=name)


def test_names_state_dict_and_a_rebuilt_graph_loads_the_same_weights(tmp_path):
    def build():
        x = nn.Input((3,))
        h = nn.Linear(3, 4)(x)
        h = nn.Dropout(0.5)(nn.ReLU()(h))
        return nn.Model(x, nn.Linear(4, 2)(h))

    ax.manual_seed(0)
    model = build()
    assert model.input_names == ["input"] and model.output_names == ["linear_1"]
    assert list(model.state_dict()) == [
        "linear.weight",
        "linear.bias",
        "linear_1.weight",
        "linear_1.bias",
    ]
    assert [type(m).__name__ for m in model.layers] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert model.get_layer("dropout") is model.layers[2]
    with pytest.raises(KeyError, match="no layer 'fc'.*linear, relu, dropout, linear_1"):
        model.get_layer("fc")

    model.eval()
    assert not any(m.training for m in model.modules())
    x = ax.tensor(np.random.default_rng(0).normal(size=(4, 3)), dtype=ax.float32)
    with ax.no_grad():
        first = model(x).numpy()
    ax.save(model.state_dict(), tmp_path / "m.safetensors")
    ax.manual_seed(1)
    other = build().eval()
    with ax.no_grad():
        assert_differs(other(x), first)
        other.load_state_dict(ax.load(tmp_path / "m.safetensors"))
        np.testing.assert_array_equal(other(x).numpy(), first)
    model.train()
    assert all(m.training for m in model.modules())


def test_a_deep_copy_is_an_independent_model_with_the_same_graph():
    model = _mixed_model()
    twin = copy.deepcopy(model)
    num, district, _, _ = _batch(3)
    with ax.no_grad():
        ref, out = model(num, district), twin(num, district)
        for k in ref:
            assert_close(out[k], ref[k], rtol=0, atol=0)
        twin.get_layer("price").bias.array += 1.0
        assert_close(twin(num, district)["price"], ref["price"].array + 1.0)
        assert_close(model(num, district)["price"], ref["price"])  # the original unchanged
    assert twin.get_layer("price") is not model.get_layer("price")
    assert twin.output_names == model.output_names


def test_calling_conventions_and_output_kinds():
    model = _mixed_model()
    num, district, _, _ = _batch(4)
    n, d = ax.tensor(num), ax.tensor(district)
    ref = model(n, d)
    assert set(ref) == {"price", "energy"} and ref["price"].shape == (4, 1)
    for out in (
        model([n, d]),
        model({"num": n, "district": d}),
        model(num=n, district=d),
        model(num, district),
    ):
        for k in ref:
            assert_close(out[k], ref[k], rtol=0, atol=0)

    x = nn.Input((2,), name="x")
    a, b = nn.Linear(2, 3)(x), nn.Linear(2, 1)(x, name="b")
    as_list = nn.Model(x, [a, b])
    assert as_list.output_names == ["linear", "b"]
    out = as_list(ax.ones(5, 2))
    assert isinstance(out, tuple) and [o.shape for o in out] == [(5, 3), (5, 1)]
    as_dict = nn.Model({"features": x}, a)  # dict keys name the inputs
    assert as_dict.input_names == ["features"]
    assert as_dict({"features": ax.ones(1, 2)}).shape == (1, 3)


def test_bad_calls_name_the_inputs():
    model = _mixed_model()
    num, district, _, _ = _batch(3)
    with pytest.raises(KeyError, match=r"missing \['district'\]"):
        model({"num": num})
    with pytest.raises(KeyError, match=r"unknown \['zip'\]"):
        model(num=num, district=district, zip=district)
    with pytest.raises(TypeError, match="takes 2 input"):
        model(num)
    with pytest.raises(
        ValueError,
        match=r"input 'num' of model 'houses' expects shape "
        r"\(None, 6\).*got \(3, 5\)",
    ):
        model(num[:, :5], district)


def test_shapes_are_inferred_with_unknown_batch_and_sequence_length():
    seq = nn.Input((None, 3), name="seq")
    out, (h, c) = nn.LSTM(3, 4, batch_first=True)(seq)
    assert out.shape == (None, None, 4) and h.shape == (1, None, 4)
    flat = nn.Flatten()(nn.Input((2, 5)))
    assert flat.shape == (None, 10) and flat.dtype == np.float32
    ids = nn.Input((7,), dtype=ax.int64)
    assert nn.Embedding(10, 3)(ids).shape == (None, 7, 3)
    model = nn.Model(seq, [out, h])
    y, hn = model(ax.ones(2, 9, 3))
    assert y.shape == (2, 9, 4) and hn.shape == (1, 2, 4)


def test_recording_a_call_changes_no_state_and_no_mode():
    bn, drop = nn.BatchNorm1d(3), nn.Dropout(0.5)
    before = {k: v.numpy().copy() for k, v in bn.state_dict().items()}
    ax.manual_seed(0)
    expected_draw = ax.randn(3).numpy()
    ax.manual_seed(0)
    drop(bn(nn.Input((3,))))
    np.testing.assert_array_equal(ax.randn(3).numpy(), expected_draw)  # no random draw
    for k, v in bn.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)
    assert bn.training and drop.training


def test_a_layer_that_cannot_take_its_input_is_named_at_construction():
    x = nn.Input((4,), name="x")
    with pytest.raises(
        ValueError,
        match=r"layer 'hidden' \(Linear\(in_features=5.*"
        r"inputs of shape \(None, 4\)",
    ):
        nn.Linear(5, 3)(x, name="hidden")
    with pytest.raises(ValueError, match=r"Concatenate.*\(None, 4\), \(None, 2, 2\)"):
        nn.Concatenate()(x, nn.Input((2, 2)))


def test_disconnected_and_unused_inputs_name_the_layer_and_input():
    a, b = nn.Input((2,), name="a"), nn.Input((2,), name="b")
    joined = nn.Add()(a, b, name="join")
    with pytest.raises(
        ValueError,
        match=r"disconnected: layer 'join' \(Add\(\)\) needs the "
        r"input b, which is not among the model's inputs "
        r"\['a'\]",
    ):
        nn.Model([a], joined)
    with pytest.raises(ValueError, match="input 'b' is not connected to any output"):
        nn.Model([a, b], nn.Linear(2, 2)(a))
    with pytest.raises(TypeError, match="must be made by nn.Input"):
        nn.Model([joined], joined)
    with pytest.raises(ValueError, match="input 'a' is given twice"):
        nn.Model([a, a], nn.Add()(a, a))


def test_a_cycle_names_the_layers_on_it():
    x = nn.Input((2,))
    first = nn.Linear(2, 2)
    h = first(x, name="first")
    y = nn.Linear(2, 2)(h, name="second")
    # a graph recorded by calls has no cycle; rewire the first node to read the second's
    # output, as only an edit by hand could
    node_first, node_second = h.node, y.node
    node_first.inputs = [y]
    with pytest.raises(ValueError, match=r"cycle through layer 'first' .*layer 'second'"):
        topological_order([node_first, node_second])
    assert isinstance(node_first, Node) and isinstance(y, SymbolicTensor)


def test_layer_name_conflicts_are_errors():
    x = nn.Input((2,), name="x")
    layer = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="one layer is named both 'p' and 'q'"):
        nn.Model(x, layer(layer(x, name="p"), name="q"))
    with pytest.raises(ValueError, match="the name 'x' is given to two"):
        nn.Model(x, nn.Linear(2, 2)(x, name="x"))
    with pytest.raises(ValueError, match="without '.'"):
        nn.Linear(2, 2)(x, name="a.b")


def test_a_model_is_a_layer_of_another_model():
    x = nn.Input((3,))
    inner = nn.Model(x, nn.Linear(3, 2)(x), name="inner")
    a, b = nn.Input((3,), name="a"), nn.Input((3,), name="b")
    outer = nn.Model([a, b], nn.Add()(inner(a), inner(b)))
    assert list(outer.state_dict()) == ["inner.linear.weight", "inner.linear.bias"]
    xa, xb = ax.randn(4, 3), ax.randn(4, 3)
    assert_close(outer(xa, xb), inner(xa) + inner(xb))


def test_a_symbolic_tensor_has_no_value():
    x = nn.Input((2,))
    with pytest.raises(TypeError, match="no value"):
        bool(x)
    assert "shape=(None, 2)" in repr(x)
