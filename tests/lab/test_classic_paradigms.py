"""The classic-vs-nn, paradigms and layerwise-pretraining experiments in quick mode, and
their helpers against oracles: Q-learning's greedy policy against breadth-first search,
value iteration against the closed form, layer-wise pretraining's reconstruction error."""

import math
import sys

import numpy as np
import pytest

from axon.lab import Config, names
from axon.lab import classic_vs_nn as cvn_lab
from axon.lab import layerwise as layerwise_lab
from axon.lab import paradigms as paradigms_lab
from axon.lab.paradigms import (
    GridWorld,
    greedy_path,
    policy_grid,
    q_learning,
    shortest_distances,
    value_iteration,
)
from tests.helpers import assert_differs

PNG = b"\x89PNG\r\n\x1a\n"

pytest.importorskip("sklearn")


def assert_figures(result, tmp_path, names):
    assert {p.name for p in result.figures} == {f"{n}.png" for n in names}
    for p in result.figures:
        assert p.parent == tmp_path and p.read_bytes()[:8] == PNG


# ----------------------------------------------------------------------------- classic-vs-nn
def test_classic_vs_nn_quick_table_and_oracles(tmp_path, capsys):
    result = cvn_lab.run(Config(out=tmp_path, quick=True, epochs=1))
    assert result.passed, result.claims
    out = capsys.readouterr().out
    side = out[out.index("Side by side") :]
    for name in (
        "logistic regression",
        "linear SVM (hinge)",
        "3-nearest neighbours",
        "decision tree",
        "random forest",
        "MLP 64-64-10",
        "CNN",
    ):
        assert name in side
    assert result.metrics["knn_equal_to_sklearn"] == 1.0
    assert any("KNeighborsClassifier" in claim for claim, _ in result.claims)
    assert result.metrics["3_nearest_neighbours_test_accuracy"] > 0.95
    # the networks' curves are on the validation split carved from the training part
    assert "1,295 training, 143 validation (carved from the training data) and 359 test" in out
    assert_figures(
        result, tmp_path, ["classic_vs_nn_summary", "classic_vs_nn_weights", "classic_vs_nn_curves"]
    )


def test_classic_vs_nn_without_sklearn_says_so_and_skips_the_references(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn raises ImportError
    result = cvn_lab.run(Config(out=tmp_path, quick=True, epochs=1))
    out = capsys.readouterr().out
    assert "scikit-learn is not installed" in out and "pip install" in out
    assert "decision tree" not in out.split("Side by side")[1]
    assert result.passed, result.claims
    assert "knn_equal_to_sklearn" not in result.metrics


# ----------------------------------------------------------------------------- paradigms
def test_the_three_experiments_are_registered():
    listed = names()
    assert {"classic-vs-nn", "paradigms", "layerwise-pretraining"} <= set(listed)


def test_paradigms_quick_all_three(tmp_path, capsys):
    result = paradigms_lab.run(Config(out=tmp_path, quick=True))
    assert result.passed, result.claims
    out = capsys.readouterr().out
    for section in (
        "1. Supervised",
        "2a. Unsupervised: k-means",
        "2b. Unsupervised: an autoencoder",
        "3. Reinforcement",
        "the learned Q-table",
        "the greedy policy",
        "labels identical",
        "Three signals",
    ):
        assert section in out
    m = result.metrics
    assert m["autoencoder_mse"] < m["autoencoder_mse_before"]
    assert m["q_optimal_states"] == m["q_states"] == GridWorld().n_states
    assert_figures(
        result,
        tmp_path,
        ["paradigms_kmeans_centres", "paradigms_autoencoder", "paradigms_gridworld"],
    )


def test_bfs_and_value_iteration_agree_in_closed_form():
    world = GridWorld()
    dist = shortest_distances(world)
    assert dist[world.goal] == 0 and (dist > 0).sum() == world.n_states - 1
    assert dist[world.start] == 12  # counted by hand on MAZE
    gamma = 0.9
    v = value_iteration(world, gamma)
    # d moves at -1 each: V* = -(1 + gamma + ... + gamma^(d-1)) = -(1 - gamma^d) / (1 - gamma)
    np.testing.assert_allclose(v, -(1 - gamma**dist) / (1 - gamma), atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_q_learning_greedy_policy_takes_shortest_paths(seed):
    world = GridWorld(
        (
            "S..#",
            ".#..",
            "...G",
        )
    )
    dist = shortest_distances(world)
    run = q_learning(world, 300, seed=seed)
    for s in range(world.n_states):
        path = greedy_path(world, run.q, s)
        assert path[-1] == world.goal and len(path) - 1 == dist[s], (s, path)
    np.testing.assert_allclose(run.q.max(axis=1), value_iteration(world, 0.95), atol=0.05)
    assert len(run.lengths) == 300
    assert policy_grid(world, run.q)[2].endswith("G")


def test_untrained_greedy_policy_loops_and_is_caught():
    world = GridWorld()
    q = np.zeros((world.n_states, 4))  # always "up": the start cell bumps into the border
    assert greedy_path(world, q, world.start) == [world.start]


def test_gridworld_bad_mazes_are_named():
    with pytest.raises(ValueError, match="same length"):
        GridWorld(("S.", "..G"))
    with pytest.raises(ValueError, match="exactly one S and one G"):
        GridWorld(("S..", "..."))


# ----------------------------------------------------------------------------- layerwise
def test_layerwise_quick(tmp_path, capsys):
    result = layerwise_lab.run(Config(out=tmp_path, quick=True))
    assert result.passed, result.claims
    out = capsys.readouterr().out
    assert "pretraining MSE per layer" in out and "For perspective" in out
    assert result.metrics["sigmoid_pretrained_accuracy"] > layerwise_lab.QUICK_FLOOR
    assert_figures(result, tmp_path, ["layerwise_pretraining", "layerwise_finetuning"])


def test_pretraining_reduces_every_layers_reconstruction_error():
    import axon as ax

    rng = np.random.default_rng(0)
    x = (
        rng.normal(size=(128, 64)).astype(np.float32)
        @ rng.normal(size=(64, 64)).astype(np.float32)
        / 8
    )  # correlated inputs
    ax.manual_seed(0)
    net = layerwise_lab.DeepNet("sigmoid", depth=2, width=16)
    before = net.layers[1][0].weight.detach().numpy().copy()
    curves = layerwise_lab.pretrain(net, x, epochs=4, seed=0)
    assert len(curves) == 2 and all(len(c) == 4 for c in curves)
    assert all(c[-1] < c[0] for c in curves)
    assert_differs(before, net.layers[1][0].weight.detach().numpy())
    assert net(ax.from_numpy(x[:3])).shape == (3, 10)
    assert all(math.isfinite(v) for c in curves for v in c)


def test_labelled_subset_takes_per_class_of_each():
    y = np.repeat(np.arange(4), 5)
    idx = layerwise_lab.labelled_subset(y, 2, seed=0)
    assert np.bincount(y[idx]).tolist() == [2, 2, 2, 2]
    assert np.all(np.diff(idx) > 0)
    with pytest.raises(ValueError, match="class 3 has 1 images"):
        layerwise_lab.labelled_subset(np.array([0, 0, 1, 1, 2, 2, 3]), 2, seed=0)
