"""axon run boolean: the course's AND weights and the perceptron rule on AND, OR, NOT."""

import axon as ax
from axon.lab import Config
from axon.lab.boolean import COURSE_AND, FUNCTIONS, learn, perceptron, run, truth_table


def test_quick_run_holds_its_claims(tmp_path, capsys):
    result = run(Config(out=tmp_path, quick=True))
    assert result.passed, result.claims
    assert len(result.claims) == 4
    (png,) = result.figures
    assert png == tmp_path / "boolean_perceptrons.png" and png.read_bytes()[:4] == b"\x89PNG"


def test_course_and_weights():
    x, t = truth_table(*FUNCTIONS["AND"])
    assert t.tolist() == [-1, -1, -1, 1]
    assert perceptron(ax.tensor(COURSE_AND), x).tolist() == t.tolist()


def test_rule_converges_to_weights_that_compute_each_function():
    for n, fn in FUNCTIONS.values():
        x, t = truth_table(n, fn)
        w, epochs, converged = learn(x, t)
        assert converged and perceptron(w, x).tolist() == t.tolist()
        assert not any(o != ti for _, ti, _, o, _ in epochs[-1])  # the last epoch: no mistake
