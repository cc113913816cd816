"""Activation functions and their derivatives: where each one saturates.

Seven activations, each evaluated on a grid of x in [-6, 6] (x = 0 on the grid), and its
derivative f'(x) computed by axon's autograd in float64 (y = f(x), y.sum().backward(),
so x.grad holds f'(x) at every point), checked against the closed form:

    sigmoid     s(x) = 1 / (1 + e^-x)              s'   = s (1 - s)        (at most 1/4)
    tanh        tanh(x)                             tanh' = 1 - tanh^2      (at most 1)
    ReLU        max(x, 0)                           1 for x > 0, else 0
    leaky ReLU  x for x > 0, else 0.01 x            1 for x > 0, else 0.01
    ELU         x for x > 0, else e^x - 1           1 for x > 0, else e^x
    softplus    log(1 + e^x)                        s(x)
    GELU        x Phi(x)                            Phi(x) + x phi(x)

(Phi, phi: the standard normal CDF and density.) At the kinks PyTorch's convention holds:
ReLU'(0) = 0, leaky ReLU'(0) = 0.01, ELU'(0) = 1.

A unit is saturated where f' is nearly 0: a gradient passing through it is multiplied by
f', so almost nothing flows back. Sigmoid and tanh saturate on both sides; the ReLU family
never does for x > 0 (f' = 1), and ReLU is exactly flat for x < 0 (a "dead" unit).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import axon as ax
from axon.nn import functional as F

from .. import plot
from .registry import register
from .shared.base import Config, Result, heading, table

FLAT = 0.01  # |f'| below this counts as saturated
LEAKY_SLOPE = 0.01  # PyTorch's default negative_slope

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _phi(x: np.ndarray) -> np.ndarray:
    """The standard normal density."""
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _cdf(x: np.ndarray) -> np.ndarray:
    """The standard normal CDF, Phi(x) = (1 + erf(x / sqrt 2)) / 2 (math.erf, elementwise)."""
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))


@dataclass(frozen=True)
class Activation:
    """One activation: axon's function, and the closed forms of its value and slope.

    Attributes:
        name: how it is printed.
        fn: axon's function, Tensor -> Tensor (differentiated by autograd).
        value: the closed form f(x) on a NumPy array.
        slope: the closed form f'(x) on a NumPy array.
        formula: f'(x) in words, for the table.
    """

    name: str
    fn: Callable[[ax.Tensor], ax.Tensor]
    value: Callable[[np.ndarray], np.ndarray]
    slope: Callable[[np.ndarray], np.ndarray]
    formula: str


ACTIVATIONS = [
    Activation(
        "sigmoid", F.sigmoid, _sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x)), "s (1 - s)"
    ),
    Activation("tanh", F.tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2, "1 - tanh^2"),
    Activation(
        "ReLU",
        F.relu,
        lambda x: np.maximum(x, 0.0),
        lambda x: (x > 0).astype(np.float64),
        "1 if x > 0 else 0",
    ),
    Activation(
        "leaky ReLU",
        lambda t: F.leaky_relu(t, LEAKY_SLOPE),
        lambda x: np.where(x > 0, x, LEAKY_SLOPE * x),
        lambda x: np.where(x > 0, 1.0, LEAKY_SLOPE),
        "1 if x > 0 else 0.01",
    ),
    Activation(
        "ELU",
        F.elu,
        lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
        lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0))),
        "1 if x > 0 else e^x",
    ),
    Activation("softplus", F.softplus, lambda x: np.logaddexp(0.0, x), _sigmoid, "s(x)"),
    Activation(
        "GELU", F.gelu, lambda x: x * _cdf(x), lambda x: _cdf(x) + x * _phi(x), "Phi(x) + x phi(x)"
    ),
]


def grid(points_per_unit: int, limit: float = 6.0) -> np.ndarray:
    """x from -limit to limit in steps of 1 / points_per_unit, with x = 0 exactly on it."""
    n = int(round(limit * points_per_unit))
    return np.arange(-n, n + 1, dtype=np.float64) / points_per_unit


def autograd_derivative(
    fn: Callable[[ax.Tensor], ax.Tensor], x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(f(x), f'(x)) with f' from autograd: the points are independent, so the gradient
    of sum_i f(x_i) with respect to x_i is f'(x_i). Computed in float64."""
    t = ax.tensor(x, dtype=ax.float64, requires_grad=True)
    y = fn(t)
    y.sum().backward()
    return y.detach().numpy(), t.grad.numpy()


def flat_share(slope: np.ndarray) -> float:
    """The share of the grid where |f'| < FLAT."""
    return float((np.abs(slope) < FLAT).mean())


def _at(x: np.ndarray, values: np.ndarray, where: float) -> float:
    return float(values[np.argmin(np.abs(x - where))])


@register(
    "activations",
    "Sigmoid, tanh, ReLU, leaky ReLU, ELU, softplus, GELU: derivatives "
    "by autograd (checked against closed forms) and where each saturates",
)
def run(config: Config) -> Result:
    result = Result("activations")
    x = grid(20 if config.quick else 200)

    heading("1. Derivatives by autograd against the closed forms")
    values, slopes = _derivatives(x, result)
    heading(f"2. Saturation: where |f'(x)| < {FLAT}")
    _saturation(x, slopes, result)
    _check_saturation(x, slopes, result)

    result.figures.append(_curves_figure(x, values, slopes, config.out))
    result.figures.append(_saturation_figure(x, values, slopes, config.out))
    return result


def _derivatives(
    x: np.ndarray, result: Result
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Step 1: every activation and its derivative by autograd on the grid, against the
    closed forms; returns the values and slopes by name, and checks they agree."""
    print(
        f"  {len(x)} points in [-6, 6] (x = 0 among them), float64; "
        "f' = x.grad after f(x).sum().backward()."
    )
    values, slopes, rows = {}, {}, []
    worst = 0.0
    for act in ACTIVATIONS:
        y, dy = autograd_derivative(act.fn, x)
        err_f = float(np.abs(y - act.value(x)).max())
        err_d = float(np.abs(dy - act.slope(x)).max())
        worst = max(worst, err_f, err_d)
        values[act.name], slopes[act.name] = y, dy
        rows.append(
            [act.name, act.formula, f"{err_f:.1e}", f"{err_d:.1e}", f"{_at(x, dy, 0.0):.4f}"]
        )
        result.metrics[f"max_error_{act.name}"] = err_d
    table(
        ["activation", "closed-form f'(x)", "max |f - closed|", "max |f' - closed|", "f'(0)"],
        rows,
        align="llrrr",
    )
    result.check(
        "for all seven activations autograd's f' equals the closed form to 1e-12 "
        "on the grid, kinks at 0 included (ReLU'(0) = 0, leaky'(0) = 0.01)",
        worst < 1e-12,
    )
    return values, slopes


def _saturation(x: np.ndarray, slopes: dict[str, np.ndarray], result: Result) -> None:
    """Step 2: each slope at a few points, its peak and the share of the grid where it is
    flat, and what that means for a gradient passing through."""
    rows = []
    for act in ACTIVATIONS:
        d = slopes[act.name]
        rows.append(
            [
                act.name,
                f"{_at(x, d, -5.0):.2e}",
                f"{_at(x, d, -2.0):.3f}",
                f"{_at(x, d, 0.0):.3f}",
                f"{_at(x, d, 2.0):.3f}",
                f"{_at(x, d, 5.0):.2e}",
                f"{d.max():.3f}",
                f"{flat_share(d):.0%}",
            ]
        )
        result.metrics[f"flat_share_{act.name}"] = flat_share(d)
    table(
        [
            "activation",
            "f'(-5)",
            "f'(-2)",
            "f'(0)",
            "f'(2)",
            "f'(5)",
            "max f'",
            "flat share of [-6, 6]",
        ],
        rows,
    )
    s, th = slopes["sigmoid"], slopes["tanh"]
    sig_edge = float(x[(np.abs(s) >= FLAT)].max())
    tanh_edge = float(x[(np.abs(th) >= FLAT)].max())
    print(f"  sigmoid' is below {FLAT} for |x| > {sig_edge:.2f} and never above {s.max():.4f}:")
    print(
        "  every sigmoid a gradient passes through scales it by at most 1/4, so ten of "
        f"them by at most {0.25**10:.1e}."
    )
    print(
        f"  tanh' reaches 1 at x = 0 but is below {FLAT} for |x| > {tanh_edge:.2f}: a "
        "saturated tanh unit"
    )
    print(
        "  passes no gradient either. ReLU, leaky ReLU, ELU, softplus and GELU have f' "
        "near 1 for large x:"
    )
    print(
        "  no saturation on the positive side. ReLU is exactly flat for x < 0 (a unit "
        "negative on every"
    )
    print(
        "  input never learns again); leaky ReLU keeps a slope of 0.01 there; ELU, "
        "softplus and GELU fade"
    )
    print("  to 0 smoothly (GELU' even dips below 0 near x = -1.4).")
    result.metrics.update(
        {
            "sigmoid_max_slope": float(s.max()),
            "tanh_max_slope": float(th.max()),
            "sigmoid_flat_beyond": sig_edge,
            "tanh_flat_beyond": tanh_edge,
        }
    )


def _check_saturation(x: np.ndarray, slopes: dict[str, np.ndarray], result: Result) -> None:
    """Step 2's checks: where sigmoid' and tanh' peak, that both saturate, that the
    others do not for x > 0, and ReLU's and leaky ReLU's exact slopes for x < 0."""
    s, th = slopes["sigmoid"], slopes["tanh"]
    result.check(
        "sigmoid' peaks at 1/4 and tanh' at 1, both at x = 0",
        abs(s.max() - 0.25) < 1e-12
        and abs(th.max() - 1.0) < 1e-12
        and _at(x, s, 0.0) == s.max()
        and _at(x, th, 0.0) == th.max(),
    )
    result.check(
        f"sigmoid and tanh saturate on both sides: |f'(±5)| < {FLAT}",
        all(abs(_at(x, slopes[n], v)) < FLAT for n in ("sigmoid", "tanh") for v in (-5.0, 5.0)),
    )
    positive = ["ReLU", "leaky ReLU", "ELU", "softplus", "GELU"]
    result.check(
        "ReLU, leaky ReLU, ELU, softplus and GELU do not saturate for x > 0: f'(5) > 0.99",
        all(_at(x, slopes[n], 5.0) > 0.99 for n in positive),
    )
    neg = x < 0
    result.check(
        "ReLU' is exactly 0 for every x <= 0, leaky ReLU' exactly 0.01",
        bool(
            (slopes["ReLU"][x <= 0] == 0).all() and (slopes["leaky ReLU"][neg] == LEAKY_SLOPE).all()
        ),
    )


@plot.style()
def _curves_figure(
    x: np.ndarray, values: dict[str, np.ndarray], slopes: dict[str, np.ndarray], out: Path
) -> Path:
    """All activations in one panel, all their derivatives in another."""
    fig, (f_ax, d_ax) = plot.figure(ncols=2, size=(6, 4.5), title="Activations")
    for act in ACTIVATIONS:
        f_ax.plot(x, values[act.name], label=act.name)
        d_ax.plot(x, slopes[act.name], label=act.name)
    f_ax.set_ylim(-1.5, 4)
    f_ax.set_title("f(x)")
    d_ax.axhline(FLAT, color="k", lw=0.8, ls=":")
    d_ax.set_title(f"f'(x) by autograd (dotted: {FLAT})")
    for panel in (f_ax, d_ax):
        panel.set_xlabel("x")
        panel.grid(alpha=0.3)
        panel.legend()
    return plot.save(fig, out / "activations.png")


@plot.style()
def _saturation_figure(
    x: np.ndarray, values: dict[str, np.ndarray], slopes: dict[str, np.ndarray], out: Path
) -> Path:
    """One panel per activation with its flat region shaded, and a last one with the
    best case of a gradient through n sigmoid or tanh units."""
    fig, panels = plot.figure(
        ncols=4,
        nrows=2,
        size=(3.6, 3),
        title=f"f (solid), f' (dashed); shaded: |f'| < {FLAT}, where the unit is saturated",
    )
    for panel, act in zip(panels, ACTIVATIONS, strict=False):
        d = slopes[act.name]
        panel.plot(x, values[act.name], color="tab:blue")
        panel.plot(x, d, color="tab:red", ls="--")
        panel.fill_between(
            x, -1.2, 2.0, where=np.abs(d) < FLAT, color="0.8", alpha=0.6, step="mid", lw=0
        )
        panel.set_ylim(-1.2, 2.0)
        panel.set_title(act.name)
        panel.grid(alpha=0.3)
    last = panels[-1]
    depth = np.arange(1, 21)
    for name, label in (("sigmoid", "sigmoid"), ("tanh", "tanh, ReLU")):
        last.plot(depth, float(slopes[name].max()) ** depth, marker=".", label=label)
    last.set_yscale("log")
    last.set_xlabel("units passed")
    last.set_title(
        "at best, a gradient through n units\nis scaled by (max f')^n", fontsize=plot.SMALL
    )
    last.legend()
    last.grid(alpha=0.3)
    return plot.save(fig, out / "activation_saturation.png")
