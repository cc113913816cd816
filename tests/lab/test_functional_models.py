"""``axon run functional`` in quick mode, and the data it makes (flats, digit pairs)."""

import numpy as np

from axon.lab import Config, get
from axon.lab import functional_models as lab

PNG = b"\x89PNG\r\n\x1a\n"


def test_quick_run_holds_its_claims_and_writes_its_figures(tmp_path, capsys):
    result = lab.run(Config(out=tmp_path, quick=True, epochs=3))
    assert result.passed, result.claims
    assert len(result.claims) == 5
    m = result.metrics
    assert m["price_test_r2"] > 0.5 and m["price_test_mse"] < m["price_baseline_test_mse"]
    assert m["price_val_r2"] > 0.5
    assert m["energy_test_accuracy"] > m["energy_baseline_test_accuracy"]
    assert m["siamese_test_accuracy"] > m["siamese_baseline_test_accuracy"]
    assert m["siamese_val_accuracy"] > m["siamese_baseline_test_accuracy"]
    assert m["siamese_parameters"] == m["encoder_parameters"] + 64 * 32 + 32 + 33
    for path in result.figures:
        assert path.read_bytes()[:8] == PNG
    out = capsys.readouterr().out
    assert "Connected to" in out and "encoder[0][0], encoder[1][0]" in out
    assert "val_energy_accuracy" in out  # the per-output History keys are shown
    assert "975 for training, 225 for validation, 300 for testing" in out  # 1,500 flats
    assert "1,295 training, 143 validation (carved from the training data) and 359 test" in out
    assert get("functional").run is lab.run


def test_flats_split_without_leaks_into_balanced_energy_classes():
    flats = lab.make_flats(800, 0)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = lab.split_flats(flats, 0)
    assert x_train["numbers"].shape == (520, 4) and x_test["district"].shape == (160,)
    assert x_val["numbers"].shape == (120, 4) and y_val["price"].shape == (120, 1)
    assert x_train["numbers"].dtype == np.float32 and x_train["district"].dtype == np.int64
    np.testing.assert_allclose(x_train["numbers"].mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(y_train["price"].std(), 1.0, rtol=1e-5)
    assert y_train["price"].shape == (520, 1)
    counts = np.bincount(y_train["energy"], minlength=3)
    assert counts.min() >= 172 and counts.max() <= 175  # cut at the training tertiles
    # every flat in exactly one split: the districts' counts add up
    together = np.concatenate([x["district"] for x in (x_train, x_val, x_test)])
    np.testing.assert_array_equal(np.bincount(together), np.bincount(flats["district"]))
    # the district carries what the numbers do not: its hidden levels differ
    flats = lab.make_flats(4000, 1)
    older = flats["features"][flats["district"] == 0, 2].mean()
    assert older > flats["features"][flats["district"] != 0, 2].mean() + 20


def test_pairs_are_half_same_digit_and_never_an_image_with_itself():
    labels = np.repeat(np.arange(10), 5)
    i, j, same = lab.make_pairs(labels, 400, np.random.default_rng(0))
    assert same.shape == (400, 1) and same.dtype == np.float32
    assert np.all(i != j)
    np.testing.assert_array_equal(labels[i] == labels[j], same[:, 0] == 1.0)
    assert 0.4 < same.mean() < 0.6
