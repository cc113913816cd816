"""axon run xor: the perceptron fails, the hand-set and trained networks succeed."""

import axon as ax
from axon.lab import Config
from axon.lab.xor import INPUTS, XOR, grid_search, hand_set_relu, run, train_perceptron


def test_quick_run_holds_its_claims(tmp_path, capsys):
    result = run(Config(out=tmp_path, quick=True))
    assert result.passed, result.claims
    assert len(result.claims) == 4
    assert result.metrics["perceptron_best"] <= 3
    assert result.metrics["grid_best"] == 3 and result.metrics["labelings"] == 14
    assert result.metrics["loss_last"] < 0.1
    assert [p.name for p in result.figures] == ["xor_decision_regions.png", "xor_loss.png"]
    for p in result.figures:
        assert p.parent == tmp_path and p.read_bytes()[:4] == b"\x89PNG"
    text = capsys.readouterr().out
    assert "2 w0 + w1 + w2 > 0" in text and "2 w0 + w1 + w2 <= 0" in text


def test_hand_set_relu_network_computes_xor():
    h, y = hand_set_relu(ax.tensor(INPUTS))
    assert h.tolist() == [[0, 0], [1, 0], [1, 0], [2, 1]]
    assert y.tolist() == XOR


def test_no_threshold_unit_computes_xor():
    x, t = ax.tensor(INPUTS), ax.tensor(XOR)
    best, labelings, has_xor = grid_search(x, t, steps=9)
    assert best == 3 and not has_xor and labelings == 14
    _, steps = train_perceptron(x, t, epochs=5)
    assert max(s[-1] for s in steps) < 4
