"""``summary``: parameter counts, output shapes, depth, inputs, and side effects."""

import numpy as np

import axon
from axon import nn
from axon.nn import module as module_mod
from axon.train import summary


def _mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def test_mlp_counts_and_shapes():
    lines = []
    s = summary(_mlp(), input_shape=(1, 784), print_fn=lines.append)
    assert [r.label for r in s.rows] == ["0 (Linear)", "1 (ReLU)", "2 (Linear)"]
    assert [r.output_shape for r in s.rows] == [(1, 256), (1, 256), (1, 10)]
    assert [r.params for r in s.rows] == [200_960, 0, 2_570]
    assert s.total_params == 203_530 == s.trainable_params
    assert s.non_trainable_params == 0
    assert s.param_bytes == 203_530 * 4
    text = lines[0]
    assert text == str(s)
    for piece in (
        "Layer (type)",
        "Output Shape",
        "Param #",
        "0 (Linear)",
        "(1, 256)",
        "200,960",
        "Total params: 203,530",
        "Trainable params: 203,530",
        "Non-trainable params: 0",
        "Params size (MB): 0.78",
    ):
        assert piece in text


def test_default_print_is_a_rich_table(capsys):
    summary(_mlp(), (1, 784))
    out = capsys.readouterr().out
    assert "Layer (type)" in out and "2 (Linear)" in out and "Total params: 203,530" in out


def test_frozen_parameters_are_non_trainable():
    model = _mlp()
    model[0].requires_grad_(False)
    s = summary(model, (2, 784), print_fn=None)
    assert (s.total_params, s.trainable_params, s.non_trainable_params) == (203_530, 2_570, 200_960)
    assert s.rows[0].trainable_params == 0 and s.rows[2].trainable_params == 2_570


def _nested():
    return nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), nn.Linear(8, 2))


def test_depth_groups_submodules_and_rows_add_up():
    s = summary(_nested(), (3, 4), print_fn=None)
    assert [(r.label, r.output_shape, r.params) for r in s.rows] == [
        ("0.0 (Linear)", (3, 8), 40),
        ("0.1 (ReLU)", (3, 8), 0),
        ("1 (Linear)", (3, 2), 18),
    ]
    s1 = summary(_nested(), (3, 4), depth=1, print_fn=None)
    assert [(r.label, r.output_shape, r.params) for r in s1.rows] == [
        ("0 (Sequential)", (3, 8), 40),
        ("1 (Linear)", (3, 2), 18),
    ]
    s2 = summary(_nested(), (3, 4), depth=2, print_fn=None)
    assert [(r.label, r.params, r.depth) for r in s2.rows] == [
        ("0 (Sequential)", 0, 1),
        ("0.0 (Linear)", 40, 2),
        ("0.1 (ReLU)", 0, 2),
        ("1 (Linear)", 18, 1),
    ]
    for res in (s, s1, s2):
        assert sum(r.params for r in res.rows) == res.total_params == 58


class _TwoInputs(nn.Module):
    """Own parameter plus children, two inputs, a tuple output."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(5, 4)
        self.scale = nn.Parameter(axon.ones(4))

    def forward(self, x1, x2):
        h = (self.a(x1) + self.b(x2)) * self.scale
        return h, h.sum(1)


def test_multiple_inputs_own_parameters_and_tuple_outputs():
    s = summary(_TwoInputs(), [(2, 3), (2, 5)], print_fn=None)
    assert [(r.label, r.output_shape, r.params) for r in s.rows] == [
        ("_TwoInputs", [(2, 4), (2,)], 4),
        ("a (Linear)", (2, 4), 16),
        ("b (Linear)", (2, 4), 24),
    ]
    assert "[(2, 4), (2,)]" in str(s)
    s2 = summary(
        _TwoInputs(), input_data=(np.zeros((7, 3), np.float32), axon.zeros(7, 5)), print_fn=None
    )
    assert s2.rows[1].output_shape == (7, 4)


def test_integer_inputs_via_dtypes():
    class Lookup(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Parameter(axon.randn(10, 3))

        def forward(self, idx):
            assert idx.dtype == np.int64
            return self.table[idx]

    s = summary(Lookup(), (2, 5), dtypes=axon.int64, print_fn=None)
    assert s.rows[0].output_shape == (2, 5, 3) and s.total_params == 30


def test_without_input_only_parameters_are_listed():
    s = summary(_mlp(), print_fn=None)
    assert [r.output_shape for r in s.rows] == [None, None, None]
    assert s.total_params == 203_530 and "--" in str(s)


def test_summary_restores_modes_and_leaves_no_hooks_or_graph():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    model[1].eval()
    seen = []
    model[1].register_forward_hook(
        lambda m, args, out: seen.append((m.training, out.requires_grad))
    )
    summary(model, (1, 4), print_fn=None)
    assert seen == [(False, False)]
    assert model.training and model[0].training and not model[1].training
    assert not module_mod._global_forward_hooks
    assert all(not m._forward_pre_hooks for m in model.modules())
    assert axon.is_grad_enabled()


def test_a_functional_model_lists_inputs_layers_and_what_each_is_connected_to():
    left, right = nn.Input((6,), name="left"), nn.Input((6,), name="right")
    encoder = nn.Sequential(nn.Linear(6, 4), nn.ReLU())
    joined = nn.Concatenate()(encoder(left, name="encoder"), encoder(right))
    seq = nn.Input((None, 4), name="seq")
    _, (h, _) = nn.LSTM(4, 3, batch_first=True)(seq)
    h = nn.Flatten(0, 1)(h)  # (1, None, 3) -> (None, 3)
    out = nn.Linear(8 + 3, 1)(nn.Concatenate()(joined, h), name="same")
    model = nn.Model([left, right, seq], out, name="pairs")
    lines = []
    s = summary(model, print_fn=lines.append)
    assert s.model_name == "pairs"
    assert [r.label for r in s.rows] == [
        "left (Input)",
        "right (Input)",
        "seq (Input)",
        "encoder (Sequential)",
        "concatenate (Concatenate)",
        "lstm (LSTM)",
        "flatten (Flatten)",
        "concatenate_1 (Concatenate)",
        "same (Linear)",
    ]
    rows = {r.name: r for r in s.rows}
    assert rows["encoder"].connected_to == ["left", "right"]  # one line per call
    assert rows["concatenate"].connected_to == ["encoder[0][0], encoder[1][0]"]
    assert rows["flatten"].connected_to == ["lstm[0][1]"]  # the LSTM's second output, h
    assert rows["concatenate_1"].connected_to == ["concatenate, flatten"]
    assert rows["left"].connected_to == [] and rows["left"].output_shape == (None, 6)
    assert rows["encoder"].output_shape == (None, 4)
    assert rows["lstm"].output_shape == [(None, None, 3), (1, None, 3), (1, None, 3)]
    assert rows["encoder"].params == 28 and rows["lstm"].params == 4 * 3 * (4 + 3 + 2)
    assert sum(r.params for r in s.rows) == s.total_params == model.num_parameters()
    text = lines[0]
    for piece in (
        "Connected to",
        "encoder (Sequential)",
        "(None, 4)",
        "lstm[0][1]",
        "Total params: 148",
    ):
        assert piece in text
    # the shared encoder's second call is on the line below its first
    enc = text.splitlines().index(next(x for x in text.splitlines() if "encoder (" in x))
    assert text.splitlines()[enc].rstrip().endswith("left")
    assert text.splitlines()[enc + 1].strip() == "right"
