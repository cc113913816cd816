"""``fit`` / ``evaluate`` / ``predict`` with several outputs: per-output losses and loss
weights, per-output metrics in the History, the batch forms, and the errors."""

import math

import numpy as np
import pytest

import axon as ax
from axon import nn, optim
from axon.data import DataLoader, Dataset
from axon.train import evaluate, fit, predict
from tests.helpers import assert_close, assert_differs


def _model(seed=0):
    """Numbers (N, 3) and a category (N,) in; "size" (N, 1) and "kind" (N, 3) out."""
    ax.manual_seed(seed)
    num = nn.Input((3,), name="num")
    cat = nn.Input((), dtype=ax.int64, name="cat")
    h = nn.Tanh()(nn.Linear(5, 8)(nn.Concatenate()(num, nn.Embedding(4, 2)(cat))))
    return nn.Model(
        [num, cat],
        {"size": nn.Linear(8, 1)(h, name="size"), "kind": nn.Linear(8, 3)(h, name="kind")},
    )


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(n, 3)).astype(np.float32)
    cat = rng.integers(0, 4, n)
    size = (num[:, :1] + 0.5 * cat[:, None]).astype(np.float32)
    kind = ((num[:, 1] > 0).astype(np.int64) + (cat > 1)).astype(np.int64)
    return {"num": num, "cat": cat}, {"size": size, "kind": kind}


def _arrays(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_one_step_minimises_the_weighted_sum_of_the_output_losses():
    x, y = _data(16)
    weights = {"size": 2.0, "kind": 0.25}
    model = _model()
    hist = fit(
        model,
        (x, y),
        loss={"size": "mse", "kind": "cross_entropy"},
        loss_weights=weights,
        optimizer=optim.SGD(model.parameters(), lr=0.1),
        batch_size=16,
        shuffle=False,
        verbose=0,
    )

    manual = _model()
    out = manual(ax.tensor(x["num"]), ax.tensor(x["cat"]))
    size_loss = nn.MSELoss()(out["size"], ax.tensor(y["size"]))
    kind_loss = nn.CrossEntropyLoss()(out["kind"], ax.tensor(y["kind"]))
    total = 2.0 * size_loss + 0.25 * kind_loss
    total.backward()
    optim.SGD(manual.parameters(), lr=0.1).step()

    assert_close(hist.history["loss"][0], total.item())
    assert_close(hist.history["size_loss"][0], size_loss.item())
    assert_close(hist.history["kind_loss"][0], kind_loss.item())
    for k, v in _arrays(manual).items():
        assert_close(_arrays(model)[k], v, msg=k)
    # the weights matter: with other weights the step differs
    other = _model()
    fit(
        other,
        (x, y),
        loss={"size": "mse", "kind": "cross_entropy"},
        loss_weights=[1.0, 1.0],
        optimizer=optim.SGD(other.parameters(), lr=0.1),
        batch_size=16,
        shuffle=False,
        verbose=0,
    )
    assert_differs(_arrays(other)["linear.weight"], _arrays(model)["linear.weight"])


def test_per_output_metrics_appear_in_the_history_with_keras_keys():
    x, y = _data(40)
    model = _model()
    hist = fit(
        model,
        (x, y),
        loss={"size": "mse", "kind": "cross_entropy"},
        metrics={"size": ["mae"], "kind": "accuracy"},
        optimizer=optim.SGD(model.parameters(), lr=0.0),
        epochs=2,
        batch_size=16,
        validation=(x, y),
        verbose=0,
    )
    assert list(hist.history) == [
        "loss",
        "size_loss",
        "kind_loss",
        "size_mae",
        "kind_accuracy",
        "val_loss",
        "val_size_loss",
        "val_kind_loss",
        "val_size_mae",
        "val_kind_accuracy",
    ]
    # lr 0: the model never changes, so every value is that of the untrained model
    model.eval()
    with ax.no_grad():
        out = model(x)
    size, kind = out["size"].array, out["kind"].array
    assert_close(hist.history["size_mae"][1], np.abs(size - y["size"]).mean())
    assert_close(hist.history["kind_accuracy"][0], (kind.argmax(1) == y["kind"]).mean())
    assert_close(hist.history["val_size_loss"][0], ((size - y["size"]) ** 2).mean())
    res = evaluate(
        model, (x, y), loss={"size": "mse", "kind": "cross_entropy"}, metrics={"kind": ["accuracy"]}
    )
    assert list(res) == ["loss", "size_loss", "kind_loss", "kind_accuracy"]
    assert_close(res["loss"], hist.history["val_loss"][-1])


class _Houses(Dataset):
    """Samples ``(inputs_dict, targets_dict)``, collated by the DataLoader into dicts."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x["cat"])

    def __getitem__(self, i):
        return ({k: v[i] for k, v in self.x.items()}, {k: v[i] for k, v in self.y.items()})


def test_batches_of_dicts_tuples_and_a_loader_of_dict_samples_train_alike():
    x, y = _data(24)
    losses = {"size": "mse", "kind": "cross_entropy"}

    def run(data, loss=losses):
        model = _model()
        h = fit(
            model,
            data,
            loss=loss,
            optimizer=optim.SGD(model.parameters(), lr=0.1),
            epochs=2,
            batch_size=8,
            shuffle=False,
            verbose=0,
        )
        return h.history["loss"], _arrays(model)

    ref_loss, ref_state = run((x, y))
    samples = DataLoader(_Houses(x, y), batch_size=8)
    as_tuples = ((x["num"], x["cat"]), (y["size"], y["kind"]))
    for data, loss in [
        (samples, losses),
        (as_tuples, losses),
        (as_tuples, ["mse", "cross_entropy"]),
    ]:
        hist_loss, state = run(data, loss)
        assert_close(hist_loss, ref_loss)
        for k, v in ref_state.items():
            assert_close(state[k], v, msg=k)


def test_predict_returns_a_dict_and_an_output_without_loss_is_not_trained():
    x, y = _data(20)
    model = _model()
    out = predict(model, x, batch_size=8)
    assert set(out) == {"size", "kind"} and out["size"].shape == (20, 1)
    before = _arrays(model)
    fit(
        model,
        (x, {"size": y["size"]}),
        loss={"size": "mse"},
        optimizer=optim.SGD(model.parameters(), lr=0.1),
        verbose=0,
    )
    after = _arrays(model)
    np.testing.assert_array_equal(after["kind.weight"], before["kind.weight"])
    assert_differs(after["size.weight"], before["size.weight"])


def test_one_loss_serves_every_output_of_a_model_returning_a_tuple():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 1), nn.Linear(2, 1)

        def forward(self, x):
            return self.a(x), self.b(x)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 2)).astype(np.float32)
    y1, y2 = x[:, :1] * 2, x[:, 1:] - 1
    model = TwoHeads()
    hist = fit(
        model,
        (x, (y1, y2)),
        loss="mse",
        loss_weights=[1.0, 0.5],
        metrics=["mae"],
        optimizer=optim.Adam(model.parameters(), 0.05),
        epochs=30,
        verbose=0,
    )
    assert list(hist.history) == [
        "loss",
        "output_1_loss",
        "output_2_loss",
        "output_1_mae",
        "output_2_mae",
    ]
    assert hist.history["output_1_loss"][-1] < 0.1 * hist.history["output_1_loss"][0]
    assert math.isfinite(hist.history["output_2_mae"][-1])


def test_errors_name_the_outputs_at_fault():
    x, y = _data(8)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    def go(data=(x, y), **kw):
        kw.setdefault("loss", {"size": "mse", "kind": "cross_entropy"})
        fit(model, data, optimizer=opt, verbose=0, **kw)

    with pytest.raises(
        ValueError,
        match=r"loss given for unknown output\(s\) \['price'\]; "
        r"the model's outputs are \['size', 'kind'\]",
    ):
        go(loss={"price": "mse"})
    with pytest.raises(ValueError, match=r"loss_weights given for unknown output\(s\) \['k'\]"):
        go(loss_weights={"k": 2.0})
    with pytest.raises(ValueError, match=r"metrics given for unknown output\(s\) \['sz'\]"):
        go(metrics={"sz": "mae"})
    with pytest.raises(ValueError, match=r"loss: 3 given for the 2 outputs"):
        go(loss=["mse", "mse", "mse"])
    with pytest.raises(ValueError, match=r"no target for output\(s\) \['kind'\]"):
        go(data=(x, {"size": y["size"]}))
    with pytest.raises(ValueError, match=r"targets given for unknown output\(s\) \['extra'\]"):
        go(data=(x, {**y, "extra": y["size"]}))
    with pytest.raises(ValueError, match=r"the target must be a dict by output name"):
        go(data=(x, y["size"]))
    with pytest.raises(
        ValueError,
        match=r"the loss of output 'kind' failed \(output of shape "
        r"\(8, 3\), target of shape \(8, 2\)\)",
    ):
        go(data=(x, {"size": y["size"], "kind": np.zeros((8, 2), np.int64)}))
