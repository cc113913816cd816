"""PyTorch programs run on axon with only their import lines changed, and track torch.

Each program in ``programs/`` runs twice: on axon (imports rewritten by ``runner.as_axon``)
and on torch from axon's initial weights, so the two runs see the same numbers and their
losses must agree to float precision.
"""

import numpy as np
import pytest

from tests.compat import runner
from tests.helpers import assert_close, assert_differs


def both(name, **kwargs):
    ours = runner.load(name, "axon").run(**kwargs)
    theirs = runner.load(name, "torch").run(initial=ours["initial"], **kwargs)
    return ours, theirs


def test_only_import_lines_differ():
    for path in sorted(runner.PROGRAMS.glob("*.py")):
        before, after = runner.source(path.stem), runner.as_axon(runner.source(path.stem))
        changed = [
            b for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
        ]
        assert changed and all("axon" in line for line in changed), path.name


def test_manual_sgd_through_data():
    ours, theirs = both("manual_sgd")
    assert_close(ours["losses"], theirs["losses"], rtol=1e-5, atol=1e-6)
    assert ours["losses"][-1] < ours["losses"][0] and ours["moved"] > 0
    assert ours["summary"] == theirs["summary"]


def test_softmax_regression_from_scratch():
    ours, theirs = both("softmax_scratch")
    assert_close(ours["losses"], theirs["losses"], rtol=1e-5, atol=1e-6)
    assert abs(ours["accuracy"] - theirs["accuracy"]) < 1e-6


def test_checkpoint_dict_resumes_bit_for_bit(tmp_path):
    ours, theirs = both("checkpoint")
    assert_close(ours["losses"], theirs["losses"], rtol=1e-4, atol=1e-5)
    assert ours["resumed"] == ours["losses"]  # the resumed run is the straight run, exactly
    for key, value in ours["final"].items():
        assert_close(ours["final_resumed"][key], value, rtol=0, atol=0, msg=key)
    assert ours["lr"] == pytest.approx(theirs["lr"], rel=1e-12)


def test_dataloader_workers_give_the_serial_batches():
    program = runner.load("loader_workers", "axon")
    out = program.run()
    serial, workers = out["serial"], out["workers"]
    assert len(serial) == len(workers) == 7
    for (xs, ys, ws), (xw, yw, ww) in zip(serial, workers, strict=True):
        assert_close(xw, xs, rtol=0, atol=0)
        assert np.array_equal(ys, yw)
        assert (ws == -1).all() and set(ww.tolist()) <= {0, 1}
    assert {int(w[0]) for _, _, w in workers} == {0, 1}  # both workers did work
    # the per-worker seeds come from the loader's generator: same seed, same noise
    for a, b in zip(out["noisy"], out["noisy_again"], strict=True):
        assert_close(a[0], b[0], rtol=0, atol=0)
    assert_differs(
        np.concatenate([a[0] for a in out["noisy"]]),
        np.concatenate([b[0] for b in out["noisy_other"]]),
    )


def test_lbfgs_fit_of_a_sine_wave_lstm():
    ours, theirs = both("lbfgs_sine", steps=2)
    assert_close(ours["losses"], theirs["losses"], rtol=1e-8, atol=1e-10)
    assert ours["calls"] == theirs["calls"]
    assert_close(ours["prediction"], theirs["prediction"], rtol=1e-7, atol=1e-9)


def test_char_transformer_trains_and_samples():
    ours, theirs = both("char_transformer")
    assert ours["n_params"] == theirs["n_params"]
    assert_close(ours["losses"], theirs["losses"], rtol=1e-4, atol=1e-5)
    assert np.array_equal(ours["greedy"], theirs["greedy"])
    sampled = ours["sampled"]
    assert sampled.shape == ours["greedy"].shape and sampled.dtype == np.int64
    assert ((0 <= sampled) & (sampled < ours["vocab_size"])).all()
    assert np.array_equal(sampled, ours["sampled_again"])  # seeded: the same names again


def test_everyday_loop_with_device_and_one_cycle():
    ours, theirs = both("device_loop")
    assert_close(ours["lrs"], theirs["lrs"], rtol=1e-10, atol=0)
    assert ours["log"][0] == theirs["log"][0]
    losses = [[float(line.split()[-1]) for line in r["log"]] for r in (ours, theirs)]
    assert_close(losses[0], losses[1], rtol=0, atol=2e-4)
    assert abs(ours["accuracy"] - theirs["accuracy"]) < 1e-9
