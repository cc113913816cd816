"""``axon.utils.tensorboard.SummaryWriter``: what it writes, read back by TensorBoard's own
reader (scalars, histograms, images, figures, text, hyperparameters), its refusals, and
its clear error without tensorboardX."""

import subprocess
import sys

import numpy as np
import pytest

import axon
from axon import nn
from axon.utils.tensorboard import SummaryWriter

from .events import png_pixels, read_run, scalars


def test_scalars_from_tensors_parameters_and_numbers_in_float32(tmp_path):
    weight = nn.Parameter(axon.tensor([2.718281828]))  # requires grad
    values = [axon.tensor(0.1), weight, 3, np.float64(1e-7), float("nan")]
    with SummaryWriter(tmp_path) as writer:
        for step, value in enumerate(values):
            writer.add_scalar("train/loss", value, 10 * step)
        writer.add_scalar("other", 5.0, axon.tensor(7))
    reader = read_run(tmp_path)
    assert sorted(reader.Tags()["scalars"]) == ["other", "train/loss"]
    steps, got = scalars(reader, "train/loss")
    assert steps == [0, 10, 20, 30, 40]
    want = np.array([0.1, 2.718281828, 3.0, 1e-7], dtype=np.float32)
    np.testing.assert_array_equal(np.array(got[:4], dtype=np.float32), want)
    assert np.isnan(got[4])  # a NaN is written as NaN, not dropped or zeroed
    assert scalars(reader, "other") == ([7], [5.0])


def test_scalar_of_several_values_is_refused(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ValueError, match=r"'loss'.*shape \(2,\)"):
            writer.add_scalar("loss", axon.tensor([1.0, 2.0]), 0)


def test_histograms_match_numpy_of_the_values(tmp_path):
    axon.manual_seed(0)
    layer = nn.Linear(20, 30)  # its weight requires grad
    values = {"weight": layer.weight, "ints": np.arange(-5, 12)}
    with SummaryWriter(tmp_path) as writer:
        for step, (tag, value) in enumerate(values.items()):
            writer.add_histogram(tag, value, step)
    reader = read_run(tmp_path)
    for step, (tag, value) in enumerate(values.items()):
        (event,) = reader.Histograms(tag)
        array = np.asarray(value.detach().numpy() if tag == "weight" else value, np.float64)
        h = event.histogram_value
        assert event.step == step
        assert h.num == array.size
        assert h.min == array.min() and h.max == array.max()
        np.testing.assert_allclose(h.sum, array.sum(), rtol=1e-12)
        np.testing.assert_allclose(h.sum_squares, (array**2).sum(), rtol=1e-12)
        assert sum(h.bucket) == array.size  # every value lands in a bucket


def test_histogram_of_non_finite_values_is_refused(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ValueError, match=r"'w'.*1 of the 3 values are NaN or infinite"):
            writer.add_histogram("w", axon.tensor([1.0, float("nan"), 2.0]), 0)
        with pytest.raises(ValueError, match=r"'v'.*1 of the 2 values"):
            writer.add_histogram("v", np.array([np.inf, 0.0]), 0)
    assert (
        "histograms" not in read_run(tmp_path).Tags() or not read_run(tmp_path).Tags()["histograms"]
    )


def test_images_decode_to_the_pixels_written(tmp_path):
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    batch = rng.integers(0, 256, size=(2, 3, 4, 6), dtype=np.uint8)  # NCHW
    ones = np.zeros((1, 3, 4), dtype=np.float32)
    ones[0, 1] = 1.0  # floats are [0, 1]: 1.0 is 255
    with SummaryWriter(tmp_path) as writer:
        writer.add_image("hwc", axon.tensor(hwc), 3, dataformats="HWC")
        writer.add_image("chw_float", axon.tensor(ones), 4)
        writer.add_images("batch", batch, 5)
    reader = read_run(tmp_path)
    (event,) = reader.Images("hwc")
    assert (event.step, event.width, event.height) == (3, 7, 5)
    np.testing.assert_array_equal(png_pixels(event), hwc)
    gray = png_pixels(reader.Images("chw_float")[0])
    want = np.zeros((3, 4, 3), dtype=np.uint8)
    want[1] = 255
    np.testing.assert_array_equal(gray, want)
    tiled = png_pixels(reader.Images("batch")[0])  # two images side by side
    assert tiled.shape == (4, 12, 3)
    np.testing.assert_array_equal(tiled[:, :6], batch[0].transpose(1, 2, 0))
    np.testing.assert_array_equal(tiled[:, 6:], batch[1].transpose(1, 2, 0))


def test_figure_is_an_image_of_its_pixel_size_without_pyplot(tmp_path):
    from matplotlib.figure import Figure

    had_pyplot = "matplotlib.pyplot" in sys.modules
    figure = Figure(figsize=(3, 2), dpi=50, facecolor=(1.0, 0.0, 0.0))  # 150 x 100 px
    with SummaryWriter(tmp_path) as writer:
        writer.add_figure("fig", figure, 2)
    (event,) = read_run(tmp_path).Images("fig")
    assert (event.step, event.width, event.height) == (2, 150, 100)
    pixels = png_pixels(event)
    assert pixels.shape == (100, 150, 3)
    assert (pixels == [255, 0, 0]).all()  # the face colour, every pixel
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot


def test_text_and_hparams(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_text("notes", "lr **0.1**", 1)
        writer.add_hparams(
            {"lr": 0.1, "optimizer": "sgd", "layers": axon.tensor(3)},
            {"hparam/accuracy": axon.tensor(0.75)},
            run_name="trial",
        )
    (text,) = read_run(tmp_path).Tensors("notes/text_summary")
    assert text.step == 1
    assert text.tensor_proto.string_val == [b"lr **0.1**"]
    trial = read_run(tmp_path / "trial")
    assert scalars(trial, "hparam/accuracy") == ([0], [0.75])
    assert "_hparams_/session_start_info" in trial.summary_metadata


def test_two_writers_on_one_folder_keep_both_files(tmp_path):
    """Named as torch names them (pid and a counter): no writer overwrites another's."""
    first, second = SummaryWriter(tmp_path), SummaryWriter(tmp_path)
    first.add_scalar("a", 1.0, 0)
    second.add_scalar("b", 2.0, 0)
    first.close()
    second.close()
    assert first.event_file != second.event_file
    assert sorted(read_run(tmp_path).Tags()["scalars"]) == ["a", "b"]


def test_without_tensorboardx_the_writer_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import tensorboardX now fails
    with pytest.raises(ImportError, match=r'pip install "axon\[tensorboard\]"'):
        SummaryWriter(tmp_path)
    with pytest.raises(ImportError, match=r'pip install "axon\[tensorboard\]"'):
        axon.callbacks.TensorBoard(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_import_axon_does_not_import_tensorboardx():
    code = (
        "import sys, axon, axon.utils.tensorboard\n"
        "assert axon.callbacks.TensorBoard\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('tensorboard')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
