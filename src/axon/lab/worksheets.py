"""The course's two worksheets on a 2-2-1 network, computed by the engine.

The network, with w_ij the weight from input i to hidden unit j::

    z1 = w11 x1 + w21 x2 + b1      h1 = sigmoid(z1)
    z2 = w12 x1 + w22 x2 + b2      h2 = sigmoid(z2)
    z3 = v1 h1 + v2 h2 + b3        y_hat = sigmoid(z3)  (xor)   or   y_hat = z3  (multiply)

* ``xor``: binary cross-entropy L = -[y ln y_hat + (1 - y) ln(1 - y_hat)] on the sample
  (1, 0) -> 1.
* ``multiply``: the network learns x1 * x2 with a linear output and L = (y - y_hat)^2 / 2;
  the worked step is on the first training sample (0.2, 0.5) -> 0.1.

In both, dL/dz3 = y_hat - y (for the sigmoid with cross-entropy, the ln and the sigmoid's
derivative cancel; for the linear output with the halved square it is immediate), so the
nine gradients have the same chain-rule products. The engine (axon autograd) computes the
forward pass and the gradients; the closed-form products are computed again in plain
float math and the two are checked to agree.

Choices the course leaves open (documented here and printed): the multiply worksheet uses
the XOR worksheet's initial weights and learning rate 0.1; its training is per-sample
gradient descent (the worked step, repeated over the four samples in order), 5000 epochs
(300 in quick mode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import axon as ax
from axon import nn, optim

from .. import plot
from .registry import register
from .shared.base import Config, Result, heading, table
from .shared.graph import draw, trace

INITIAL = {
    "w11": 0.5,
    "w12": -0.4,
    "w21": -0.3,
    "w22": 0.2,
    "b1": 0.1,
    "b2": -0.1,
    "v1": 0.3,
    "v2": -0.2,
    "b3": 0.05,
}
"""The course's initial weights."""

BACKWARD_ORDER = ["v1", "v2", "b3", "w11", "w21", "b1", "w12", "w22", "b2"]
"""The parameters in the order back-propagation reaches them."""

LR = 0.1


@dataclass(frozen=True)
class Task:
    """What differs between the two worksheets."""

    output: str  # "sigmoid" or "linear"
    loss_formula: str
    dz3_reason: str


XOR_TASK = Task(
    output="sigmoid",
    loss_formula="L  = -[y ln ŷ + (1 - y) ln(1 - ŷ)]",
    dz3_reason="dL/dz3 = dL/dŷ · dŷ/dz3 = [-y/ŷ + (1 - y)/(1 - ŷ)] · ŷ(1 - ŷ) = ŷ - y",
)
MULTIPLY_TASK = Task(
    output="linear",
    loss_formula="L  = (y - ŷ)² / 2",
    dz3_reason="dL/dz3 = dL/dŷ · dŷ/dz3 = (ŷ - y) · 1 = ŷ - y",
)


# ---------------------------------------------------------------- the engine's computation
def engine_forward(
    p: dict[str, ax.Tensor], x1: ax.Tensor, x2: ax.Tensor, y: ax.Tensor, task: Task
) -> dict[str, ax.Tensor]:
    """The forward pass with axon tensors; returns every named quantity."""
    z1 = p["w11"] * x1 + p["w21"] * x2 + p["b1"]
    h1 = z1.sigmoid()
    z2 = p["w12"] * x1 + p["w22"] * x2 + p["b2"]
    h2 = z2.sigmoid()
    z3 = p["v1"] * h1 + p["v2"] * h2 + p["b3"]
    if task.output == "sigmoid":
        y_hat = z3.sigmoid()
        loss = -(y * y_hat.log() + (1 - y) * (1 - y_hat).log())
    else:
        y_hat = z3
        loss = (y - y_hat) ** 2 / 2
    return {"z1": z1, "h1": h1, "z2": z2, "h2": h2, "z3": z3, "ŷ": y_hat, "L": loss}


# ---------------------------------------------------------------- the same, by hand
def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def closed_form(
    p: dict[str, float], x1: float, x2: float, y: float, task: Task
) -> tuple[dict[str, float], dict[str, list[tuple[str, float]]]]:
    """The forward values and, for every parameter, the chain-rule factors of dL/dθ
    (their product is the gradient), in plain float math."""
    z1 = p["w11"] * x1 + p["w21"] * x2 + p["b1"]
    h1 = sigmoid(z1)
    z2 = p["w12"] * x1 + p["w22"] * x2 + p["b2"]
    h2 = sigmoid(z2)
    z3 = p["v1"] * h1 + p["v2"] * h2 + p["b3"]
    if task.output == "sigmoid":
        y_hat = sigmoid(z3)
        loss = -(y * math.log(y_hat) + (1 - y) * math.log(1 - y_hat))
    else:
        y_hat = z3
        loss = (y - y_hat) ** 2 / 2
    forward = {"z1": z1, "h1": h1, "z2": z2, "h2": h2, "z3": z3, "ŷ": y_hat, "L": loss}
    d3 = ("(ŷ - y)", y_hat - y)
    s1 = ("h1(1 - h1)", h1 * (1 - h1))
    s2 = ("h2(1 - h2)", h2 * (1 - h2))
    v1, v2 = ("v1", p["v1"]), ("v2", p["v2"])
    factors = {
        "v1": [d3, ("h1", h1)],
        "v2": [d3, ("h2", h2)],
        "b3": [d3],
        "w11": [d3, v1, s1, ("x1", x1)],
        "w21": [d3, v1, s1, ("x2", x2)],
        "b1": [d3, v1, s1],
        "w12": [d3, v2, s2, ("x1", x1)],
        "w22": [d3, v2, s2, ("x2", x2)],
        "b2": [d3, v2, s2],
    }
    return forward, factors


# ---------------------------------------------------------------- the printed worksheet
def _n(v: float) -> str:
    """A number as the lecture writes it inside a formula: short, negatives in brackets."""
    s = f"{v:.6g}"
    return f"({s})" if v < 0 else s


def _forward_lines(
    p: dict[str, float], x1: float, x2: float, y: float, v: dict[str, float], task: Task
) -> list[tuple[str, str, float]]:
    rows = [
        (
            "z1 = w11 x1 + w21 x2 + b1",
            f"{_n(p['w11'])}·{_n(x1)} + {_n(p['w21'])}·{_n(x2)} + {_n(p['b1'])}",
            v["z1"],
        ),
        ("h1 = σ(z1)", f"σ({v['z1']:.6g})", v["h1"]),
        (
            "z2 = w12 x1 + w22 x2 + b2",
            f"{_n(p['w12'])}·{_n(x1)} + {_n(p['w22'])}·{_n(x2)} + {_n(p['b2'])}",
            v["z2"],
        ),
        ("h2 = σ(z2)", f"σ({v['z2']:.6g})", v["h2"]),
        (
            "z3 = v1 h1 + v2 h2 + b3",
            f"{_n(p['v1'])}·{_n(v['h1'])} + {_n(p['v2'])}·{_n(v['h2'])} + {_n(p['b3'])}",
            v["z3"],
        ),
    ]
    if task.output == "sigmoid":
        rows.append(("ŷ  = σ(z3)", f"σ({v['z3']:.6g})", v["ŷ"]))
        rows.append(
            (
                task.loss_formula,
                f"-ln({_n(v['ŷ'])})" if y == 1 else f"-ln(1 - {_n(v['ŷ'])})" if y == 0 else "",
                v["L"],
            )
        )
    else:
        rows.append(("ŷ  = z3", "", v["ŷ"]))
        rows.append((task.loss_formula, f"({_n(y)} - {_n(v['ŷ'])})² / 2", v["L"]))
    return rows


def _print_equations(rows: list[tuple[str, str, float]]) -> None:
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for formula, numbers, value in rows:
        middle = f" = {numbers.ljust(w1)}" if w1 else ""
        if not numbers:
            middle = " " * len(middle)
        print(f"  {formula.ljust(w0)}{middle} = {value: .6f}")


def worked_step(
    title: str,
    task: Task,
    x: tuple[float, float],
    y: float,
    config: Config,
    lr: float = LR,
    note: str = "",
) -> Result:
    """One step of gradient descent on one sample, printed like the lecture's worked
    example, with the engine's gradients checked against the closed form."""
    result = Result(title)
    x1v, x2v = x
    print(title)
    print("=" * len(title))
    print(f"  sample (x1, x2) = ({x1v:g}, {x2v:g}), target y = {y:g}, learning rate η = {lr:g}")
    if note:
        print(f"  {note}")

    heading("Initial parameters")
    p = INITIAL
    for unit, (a, b, c) in [
        ("hidden unit 1", ("w11", "w21", "b1")),
        ("hidden unit 2", ("w12", "w22", "b2")),
        ("output unit", ("v1", "v2", "b3")),
    ]:
        print(f"  {unit + ':':15} {a:3} = {p[a]: .2f}   {b:3} = {p[b]: .2f}   {c:3} = {p[c]: .2f}")

    # The engine: every parameter its own leaf, a one-element float64 tensor (float64 so
    # the check against plain float math can be tight).
    def leaf(v: float, requires_grad: bool = True) -> ax.Tensor:
        return ax.tensor([v], dtype=ax.float64, requires_grad=requires_grad)

    params = {k: leaf(v) for k, v in INITIAL.items()}
    x1, x2 = leaf(x1v), leaf(x2v)  # requiring grad only so the graph shows them
    target = leaf(y, requires_grad=False)
    values = engine_forward(params, x1, x2, target, task)
    loss = values["L"]
    for t in values.values():
        t.retain_grad()  # so the graph can show dL/dz1, dL/dh1, ...
    names = {**params, "x1": x1, "x2": x2, **values}
    if task.output == "linear":  # ŷ is z3 itself: one node, one label
        names.pop("z3")
        names["ŷ = z3"] = names.pop("ŷ")
    graph = trace(loss, names) if config.graph else None
    loss.backward()

    heading("Forward pass (the engine's values)")
    engine_vals = {k: t.item() for k, t in values.items()}
    _print_equations(_forward_lines(INITIAL, x1v, x2v, y, engine_vals, task))

    heading("Backward pass: dL/dθ by the chain rule")
    print(f"  {task.dz3_reason}")
    print()
    hand_fwd, factors = closed_form(INITIAL, x1v, x2v, y, task)
    rows = []
    worst = 0.0
    for k in BACKWARD_ORDER:
        labels = " · ".join(f for f, _ in factors[k])
        numbers = " · ".join(_n(v) for _, v in factors[k])
        by_hand = math.prod(v for _, v in factors[k])
        by_engine = params[k].grad.item()
        worst = max(worst, abs(by_engine - by_hand))
        rows.append(
            [
                f"dL/d{k}",
                f"= {labels}",
                f"= {numbers}",
                f"{by_engine + 0.0: .8f}",
                f"{by_hand + 0.0: .8f}",
            ]
        )  # + 0.0 turns -0.0 into 0.0
    table(["gradient", "chain rule", "factors", "engine", "closed form"], rows)
    worst_fwd = max(abs(engine_vals[k] - hand_fwd[k]) for k in hand_fwd)
    print()
    ok = result.check(
        f"the engine's gradients equal the closed-form chain rule (max |difference| {worst:.1e})",
        worst < 1e-12,
    )
    ok_fwd = result.check(
        "the engine's forward pass equals the plain float computation "
        f"(max |difference| {worst_fwd:.1e})",
        worst_fwd < 1e-12,
    )
    print(
        f"  Check: engine gradients = closed-form chain rule, max |difference| = "
        f"{worst:.1e}   {'OK' if ok else 'MISMATCH'}"
    )
    print(
        f"  Check: engine forward  = plain float math,       max |difference| = "
        f"{worst_fwd:.1e}   {'OK' if ok_fwd else 'MISMATCH'}"
    )

    if config.graph:
        path = draw(graph, config.graph, title=f"{title}: values and gradients")
        result.figures.append(path)
        print(f"\n  Computation graph written to {path}")

    heading(f"Update θ ← θ - η dL/dθ  (η = {lr:g})")
    rows = []
    with ax.no_grad():
        for k in BACKWARD_ORDER:
            t = params[k]
            old, g = t.item(), t.grad.item()
            t -= lr * t.grad
            rows.append([k, f"{old: .6f}", f"{g + 0.0: .6f}", f"{t.item(): .6f}"])
    table(["", "θ", "dL/dθ", "θ' = θ - η dL/dθ"], rows)

    with ax.no_grad():
        new = engine_forward(params, x1, x2, target, task)
    new_loss, old_loss = new["L"].item(), loss.item()
    heading("After the step, on the same sample")
    print(f"  ŷ' = {new['ŷ'].item(): .6f}   (was {values['ŷ'].item(): .6f}, target {y:g})")
    print(f"  L' = {new_loss: .6f}   (was {old_loss: .6f})")
    result.check(
        f"one step lowers the loss on the sample: L' = {new_loss:.6f} < L = {old_loss:.6f}",
        new_loss < old_loss,
    )
    result.metrics.update(
        {
            "loss": old_loss,
            "loss_after": new_loss,
            "max_grad_diff": worst,
            **engine_vals,
            **{f"dL/d{k}": params[k].grad.item() for k in BACKWARD_ORDER},
            **{f"{k}'": params[k].item() for k in BACKWARD_ORDER},
        }
    )
    return result


@register(
    "xor",
    "one backprop step on the 2-2-1 sigmoid network, sample (1, 0) -> 1, BCE",
    kind="worksheet",
)
def xor_worksheet(config: Config) -> Result:
    return worked_step(
        "XOR worksheet: one step of backpropagation", XOR_TASK, (1.0, 0.0), 1.0, config
    )


# ---------------------------------------------------------------- the multiply worksheet
MULTIPLY_DATA = [((0.2, 0.5), 0.10), ((0.8, 0.4), 0.32), ((0.6, 0.9), 0.54), ((0.3, 0.7), 0.21)]


def worksheet_network() -> nn.Sequential:
    """The 2-2-1 regression network as layers (float64), from the worksheet's weights."""
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1)).double()
    p = INITIAL
    model.load_state_dict(
        {  # Linear's weight is (out, in): row j holds w_1j, w_2j
            "0.weight": [[p["w11"], p["w21"]], [p["w12"], p["w22"]]],
            "0.bias": [p["b1"], p["b2"]],
            "2.weight": [[p["v1"], p["v2"]]],
            "2.bias": [p["b3"]],
        }
    )
    return model


@register(
    "multiply", "2-2-1 network learns x1 * x2: a worked step, then training", kind="worksheet"
)
def multiply_worksheet(config: Config) -> Result:
    (x, y), *_ = MULTIPLY_DATA
    result = worked_step(
        "Multiply worksheet: a 2-2-1 network learns x1 * x2",
        MULTIPLY_TASK,
        x,
        y,
        config,
        note="(the course gives no initial weights or learning rate here: "
        "the XOR worksheet's are used)",
    )

    epochs = 300 if config.quick else 5000
    heading(
        f"Training on the four samples: per-sample gradient descent, η = {LR:g}, {epochs} epochs"
    )
    print("  (the worksheet's initial weights; one update per sample, samples in order)")
    model = worksheet_network()
    opt = optim.SGD(model.parameters(), lr=LR)
    inputs = ax.tensor([s for s, _ in MULTIPLY_DATA], dtype=ax.float64)
    targets = ax.tensor([[t] for _, t in MULTIPLY_DATA], dtype=ax.float64)

    def mean_loss() -> float:
        with ax.no_grad():
            return (((targets - model(inputs)) ** 2) / 2).mean().item()

    curve = [mean_loss()]
    for _ in range(epochs):
        for i in range(len(MULTIPLY_DATA)):
            opt.zero_grad()
            loss = ((targets[i] - model(inputs[i])) ** 2 / 2).sum()
            loss.backward()
            opt.step()
        curve.append(mean_loss())

    with ax.no_grad():
        predictions = model(inputs)[:, 0].tolist()
    table(
        ["x1", "x2", "target x1·x2", "network", "error"],
        [
            [f"{a:.1f}", f"{b:.1f}", f"{t:.4f}", f"{p:.4f}", f"{p - t: .4f}"]
            for ((a, b), t), p in zip(MULTIPLY_DATA, predictions, strict=True)
        ],
    )
    print(f"\n  mean loss: {curve[0]:.6f} before training, {curve[-1]:.6f} after")

    with plot.style():
        fig, (axes,) = plot.figure(size=(6, 4), title="Multiply worksheet: training loss")
        plot.curves(
            axes,
            {"mean loss": curve},
            ylabel="mean of (y - ŷ)² / 2 over the samples",
            log=True,
            start=0,
        )
        result.figures.append(plot.save(fig, config.out / "multiply_loss.png"))
    result.check(
        f"training lowers the mean loss over the four samples ({curve[0]:.6f} -> {curve[-1]:.6f})",
        curve[-1] < curve[0],
    )
    if not config.quick:
        result.check(f"{epochs} epochs lower it more than tenfold", curve[-1] < curve[0] / 10)
    result.metrics.update({"train_loss_first": curve[0], "train_loss_last": curve[-1]})
    return result
