"""Metrics against scikit-learn / NumPy references, and their running means."""

import numpy as np
import pytest

import axon
from axon.train import metrics as M
from tests.helpers import assert_close

skm = pytest.importorskip("sklearn.metrics")


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    out = rng.normal(size=(97, 7)).astype(np.float32)
    y = rng.integers(0, 7, 97)
    return out, y


def _in_batches(metric, out, y, size=10):
    metric.reset()
    for i in range(0, len(out), size):
        metric.update(out[i : i + size], y[i : i + size])
    return metric.result()


def test_accuracy_on_class_scores_matches_sklearn(scores):
    out, y = scores
    ref = skm.accuracy_score(y, out.argmax(1))
    acc = M.get("accuracy")
    assert_close(acc(out, y), ref)
    assert_close(_in_batches(acc, out, y), ref)  # exact over uneven batches
    assert acc.count == 97
    assert_close(
        acc.update(axon.tensor(out[:10]), axon.tensor(y[:10])),
        skm.accuracy_score(y[:10], out[:10].argmax(1)),
    )


def test_accuracy_with_one_hot_targets_and_sequences(scores):
    out, y = scores
    assert_close(M.Accuracy()(out, np.eye(7)[y]), skm.accuracy_score(y, out.argmax(1)))
    # torch layout (N, C, T) and Keras layout (N, T, C) against targets (N, T)
    rng = np.random.default_rng(1)
    seq = rng.normal(size=(4, 5, 6))
    t = rng.integers(0, 5, (4, 6))
    assert_close(M.Accuracy()(seq, t), np.mean(seq.argmax(1) == t))
    t2 = rng.integers(0, 6, (4, 5))
    assert_close(M.Accuracy()(seq, t2), np.mean(seq.argmax(2) == t2))


def test_accuracy_ignore_index_counts_only_real_targets():
    out = np.eye(3)[[0, 1, 2, 0]]
    y = np.array([0, 2, -100, -100])
    acc = M.Accuracy(ignore_index=-100)
    assert acc.update(out, y) == 0.5
    assert acc.count == 2


@pytest.mark.parametrize("shape", [(50,), (50, 1)])
def test_single_output_accuracy_thresholds_at_one_half(shape):
    rng = np.random.default_rng(2)
    p = rng.uniform(size=50)
    y = rng.integers(0, 2, 50)
    ref = skm.accuracy_score(y, p > 0.5)
    assert_close(M.get("accuracy")(p.reshape(shape), y), ref)
    assert_close(M.get("binary_accuracy")(p.reshape(shape), y.astype(np.float32)), ref)
    logits = np.log(p / (1 - p))
    assert_close(M.BinaryAccuracy(threshold=0.0)(logits, y), ref)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_top_k_accuracy_matches_sklearn(scores, k):
    out, y = scores
    ref = skm.top_k_accuracy_score(y, out, k=k, labels=np.arange(7))
    metric = M.get(f"top_{k}_accuracy")
    assert metric.name == f"top_{k}_accuracy" and metric.k == k
    assert_close(metric(out, y), ref)
    assert_close(_in_batches(M.TopKAccuracy(k), out, y, size=13), ref)
    assert M.get("top_k_accuracy").k == 5


def test_mae_and_mse_match_sklearn():
    rng = np.random.default_rng(3)
    pred = rng.normal(size=(61, 3))
    true = rng.normal(size=(61, 3))
    assert_close(_in_batches(M.get("mae"), pred, true, 8), skm.mean_absolute_error(true, pred))
    assert_close(_in_batches(M.get("mse"), pred, true, 8), skm.mean_squared_error(true, pred))
    # (N, 1) against (N,) compares row by row, not every pair
    col, flat = pred[:, :1], true[:, 0]
    assert_close(M.MeanAbsoluteError()(col, flat), skm.mean_absolute_error(flat, col[:, 0]))


def test_functions_become_batch_weighted_metrics():
    def max_error(out, target):
        return float(np.abs(out - target).max())

    m = M.get(max_error)
    assert m.name == "max_error"
    m.update(np.zeros(3), np.ones(3))  # 1.0 over 3 items
    m.update(np.zeros(1), np.full(1, 5.0))  # 5.0 over 1 item
    assert_close(m.result(), (3 * 1.0 + 5.0) / 4)


def test_get_resolves_names_and_rejects_unknown_ones():
    assert isinstance(M.get("acc"), M.Accuracy) and M.get("acc").name == "acc"
    assert isinstance(M.get(M.MeanSquaredError), M.MeanSquaredError)
    inst = M.Accuracy()
    assert M.get(inst) is inst
    assert M.get_all([inst], fresh=True)[0] is not inst
    assert np.isnan(M.Accuracy().result())
    with pytest.raises(ValueError, match="unknown metric 'accuracy2'"):
        M.get("accuracy2")
    with pytest.raises(ValueError, match="share the name"):
        M.get_all(["mae", M.MeanAbsoluteError()])
    with pytest.raises(ValueError, match="does not match integer targets"):
        M.Accuracy()(np.zeros((4, 3)), np.zeros(5, dtype=np.int64))
