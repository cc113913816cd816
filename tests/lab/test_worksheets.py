"""The worksheets: their printed numbers against a closed form written out here, and their
gradients against torch autograd on the same network."""

import math
import re

import pytest

from axon.lab import Config
from axon.lab.worksheets import INITIAL, multiply_worksheet, xor_worksheet

torch = pytest.importorskip("torch")

PARAMS = ["w11", "w12", "w21", "w22", "b1", "b2", "v1", "v2", "b3"]


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def by_hand(x1: float, x2: float, y: float, output: str) -> tuple[dict, dict]:
    """The lecture's numbers, recomputed from scratch: forward values and gradients."""
    w11, w12, w21, w22, b1, b2, v1, v2, b3 = 0.5, -0.4, -0.3, 0.2, 0.1, -0.1, 0.3, -0.2, 0.05
    z1 = w11 * x1 + w21 * x2 + b1
    h1 = sig(z1)
    z2 = w12 * x1 + w22 * x2 + b2
    h2 = sig(z2)
    z3 = v1 * h1 + v2 * h2 + b3
    if output == "sigmoid":
        yh = sig(z3)
        loss = -(y * math.log(yh) + (1 - y) * math.log(1 - yh))
    else:
        yh = z3
        loss = 0.5 * (y - yh) ** 2
    d3 = yh - y  # dL/dz3 in both worksheets
    d1 = d3 * v1 * h1 * (1 - h1)  # dL/dz1
    d2 = d3 * v2 * h2 * (1 - h2)  # dL/dz2
    grads = {
        "v1": d3 * h1,
        "v2": d3 * h2,
        "b3": d3,
        "w11": d1 * x1,
        "w21": d1 * x2,
        "b1": d1,
        "w12": d2 * x1,
        "w22": d2 * x2,
        "b2": d2,
    }
    return {"z1": z1, "h1": h1, "z2": z2, "h2": h2, "z3": z3, "ŷ": yh, "L": loss}, grads


def by_torch(x1: float, x2: float, y: float, output: str) -> tuple[float, dict]:
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in INITIAL.items()}
    h1 = torch.sigmoid(p["w11"] * x1 + p["w21"] * x2 + p["b1"])
    h2 = torch.sigmoid(p["w12"] * x1 + p["w22"] * x2 + p["b2"])
    z3 = p["v1"] * h1 + p["v2"] * h2 + p["b3"]
    target = torch.tensor(y, dtype=torch.float64)
    if output == "sigmoid":
        loss = torch.nn.functional.binary_cross_entropy(torch.sigmoid(z3), target)
    else:
        loss = torch.nn.functional.mse_loss(z3, target) / 2
    loss.backward()
    return loss.item(), {k: t.grad.item() for k, t in p.items()}


def floats(line: str) -> list[float]:
    return [float(s) for s in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", line)]


def line_starting(text: str, prefix: str) -> str:
    (line,) = [ln for ln in text.splitlines() if ln.startswith(prefix)]
    return line


def test_xor_worksheet_prints_the_closed_form_numbers(tmp_path, capsys):
    result = xor_worksheet(Config(out=tmp_path))
    text = capsys.readouterr().out
    assert result.passed, result.claims
    fwd, grads = by_hand(1.0, 0.0, 1.0, "sigmoid")
    assert fwd["h1"] == pytest.approx(sig(0.6)) and fwd["z3"] == pytest.approx(0.168189, abs=1e-6)
    for name in ["z1", "h1", "z2", "h2", "z3", "ŷ", "L"]:
        printed = floats(line_starting(text, f"  {name} "))[-1]
        assert printed == pytest.approx(fwd[name], abs=5e-7), name
    for k in PARAMS:
        engine, closed = floats(line_starting(text, f"  dL/d{k} "))[-2:]
        assert engine == pytest.approx(grads[k], abs=5e-9), k
        assert closed == pytest.approx(grads[k], abs=5e-9), k
        old, g, new = floats(line_starting(text, f"  {k} "))[-3:]
        assert (old, g) == (pytest.approx(INITIAL[k]), pytest.approx(grads[k], abs=5e-7))
        assert new == pytest.approx(INITIAL[k] - 0.1 * grads[k], abs=5e-7), k
    assert "OK" in line_starting(text, "  Check: engine gradients")


@pytest.mark.parametrize(
    "worksheet, sample, output",
    [
        (xor_worksheet, (1.0, 0.0, 1.0), "sigmoid"),
        (multiply_worksheet, (0.2, 0.5, 0.1), "linear"),
    ],
)
def test_worksheet_gradients_equal_torch_autograd(worksheet, sample, output, tmp_path, capsys):
    result = worksheet(Config(out=tmp_path, quick=True))
    loss, grads = by_torch(*sample, output)
    assert result.metrics["loss"] == pytest.approx(loss, rel=1e-12, abs=1e-15)
    for k in PARAMS:
        assert result.metrics[f"dL/d{k}"] == pytest.approx(grads[k], rel=1e-12, abs=1e-15), k
        assert result.metrics[f"{k}'"] == pytest.approx(INITIAL[k] - 0.1 * grads[k], abs=1e-15)


def test_multiply_worksheet_step_lowers_the_loss_and_training_runs(tmp_path, capsys):
    result = multiply_worksheet(Config(out=tmp_path, quick=True))
    text = capsys.readouterr().out
    assert result.passed, result.claims
    assert result.metrics["loss_after"] < result.metrics["loss"]
    fwd, _ = by_hand(0.2, 0.5, 0.1, "linear")
    assert result.metrics["loss"] == pytest.approx(fwd["L"], rel=1e-12)
    assert result.metrics["train_loss_last"] < result.metrics["train_loss_first"]
    (png,) = result.figures
    assert png == tmp_path / "multiply_loss.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "L' =" in text and "x1·x2" in text
