"""Perceptrons for AND, OR and NOT, with inputs and outputs in {-1, +1}.

A perceptron outputs o = sign(w0 + w1 x1 + w2 x2), w0 being the bias. The course's AND
weights (w0, w1, w2) = (-3, 2, 2) compute AND. The perceptron learning rule, from zero
weights, learns AND, OR and NOT: for each sample in turn, if o differs from the target t,

    w <- w + t (1, x1, x2)        (Δw = η (t - o) x̃ with η = 1/2, for o = -t)

and sign(0) = 0 counts as wrong, so a point on the boundary is corrected too. Since the
three functions are linearly separable, the rule stops after finitely many updates
(Rosenblatt's convergence theorem).
"""

from __future__ import annotations

import itertools

import numpy as np

import axon as ax

from .. import plot
from .registry import register
from .shared.base import Config, Result, heading, table

COURSE_AND = [-3.0, 2.0, 2.0]

FUNCTIONS = {
    "AND": (2, lambda x: 1.0 if all(v > 0 for v in x) else -1.0),
    "OR": (2, lambda x: 1.0 if any(v > 0 for v in x) else -1.0),
    "NOT": (1, lambda x: -x[0]),
}


def truth_table(n_inputs: int, fn) -> tuple[ax.Tensor, ax.Tensor]:
    """All inputs in {-1, +1}^n (as rows) and the targets fn gives them."""
    rows = [list(r) for r in itertools.product([-1.0, 1.0], repeat=n_inputs)]
    return ax.tensor(rows), ax.tensor([fn(r) for r in rows])


def perceptron(w: ax.Tensor, x: ax.Tensor) -> ax.Tensor:
    """sign(w0 + w1 x1 + ... ) for every row of x."""
    return (x @ w[1:] + w[0]).sign()


def learn(
    x: ax.Tensor, t: ax.Tensor, max_epochs: int = 20
) -> tuple[ax.Tensor, list[list[tuple]], bool]:
    """The perceptron rule from zero weights until an epoch makes no update.

    Returns the weights, each epoch's steps as (x, t, s, o, w after the step), and whether
    it converged within ``max_epochs``.
    """
    w = ax.zeros(x.shape[1] + 1)
    epochs = []
    for _ in range(max_epochs):
        steps = []
        for xi, ti in zip(x, t, strict=True):
            s = (xi @ w[1:] + w[0]).item()
            o = float(np.sign(s))
            if o != ti.item():
                w = w + ti * ax.cat([ax.ones(1), xi])
            steps.append((xi.tolist(), ti.item(), s, o, w.tolist()))
        epochs.append(steps)
        if all(o == ti for _, ti, _, o, _ in steps):
            return w, epochs, True
    return w, epochs, False


def _vec(v: list[float]) -> str:
    """(-1,  1,  1): a sign column for every number, so rows line up."""
    return f"{v[0]: g}" if len(v) == 1 else "(" + ", ".join(f"{a: g}" for a in v) + ")"


@register(
    "boolean", "perceptrons for AND, OR, NOT on {-1, +1}: the course's weights, the learning rule"
)
def run(config: Config) -> Result:
    result = Result("boolean")

    heading("The course's AND perceptron: (w0, w1, w2) = (-3, 2, 2)")
    x, t = truth_table(*FUNCTIONS["AND"])
    w_and = ax.tensor(COURSE_AND)
    s = x @ w_and[1:] + w_and[0]
    table(
        ["x1", "x2", "s = -3 + 2 x1 + 2 x2", "sign(s)", "x1 AND x2"],
        [
            [f"{a:g}", f"{b:g}", f"{si:g}", f"{o:g}", f"{ti:g}"]
            for (a, b), si, o, ti in zip(
                x.tolist(), s.tolist(), s.sign().tolist(), t.tolist(), strict=True
            )
        ],
    )
    result.check(
        "the course's weights (-3, 2, 2) compute AND", perceptron(w_and, x).tolist() == t.tolist()
    )

    learned = {}
    for name, (n, fn) in FUNCTIONS.items():
        heading(f"The perceptron rule learns {name} from zero weights")
        x, t = truth_table(n, fn)
        w, epochs, converged = learn(x, t)
        rows = []
        for e, steps in enumerate(epochs, start=1):
            for xi, ti, si, o, wi in steps:
                update = "" if o == ti else "mistake: w += t (1, x)"
                rows.append([e, _vec(xi), f"{ti: g}", f"{si: g}", f"{o: g}", update, _vec(wi)])
        updates = sum(o != ti for steps in epochs for _, ti, _, o, _ in steps)
        xs = "x1" if n == 1 else "(x1, x2)"
        print("  s = w0 + w1 x1" + (" + w2 x2" if n == 2 else "") + ", o = sign(s)")
        table(["epoch", xs, "t", "s", "o", "update", "w after"], rows, align="rlrrrll")
        ok = converged and perceptron(w, x).tolist() == t.tolist()
        print(
            f"  {'converged' if converged else 'did NOT converge'}: {updates} update(s), "
            f"then epoch {len(epochs)} made no mistake; w = {_vec(w.tolist())}"
        )
        result.check(f"the perceptron rule learns {name} and then computes it", ok)
        result.metrics[f"{name}_updates"] = updates
        learned[name] = w

    result.figures.append(_figure(learned, config))
    return result


@plot.style()
def _figure(learned: dict[str, ax.Tensor], config: Config):
    """Each function's points and the learned boundary w0 + w1 x1 (+ w2 x2) = 0."""
    fig, panels = plot.figure(ncols=3, size=(4, 4), title="Perceptrons on {-1, +1}")
    line = np.linspace(-2, 2, 2)
    for axes, (name, w) in zip(panels, learned.items(), strict=True):
        n, fn = FUNCTIONS[name]
        x, t = truth_table(n, fn)
        w0, *ws = w.tolist()
        if n == 2:
            plot.scatter(axes, x.numpy(), t.numpy() > 0, names=("+1", "-1"))
            for (c0, c1, c2), style, label in [
                (w.tolist(), "k-", "learned"),
                (COURSE_AND, "g--", "course (-3, 2, 2)"),
            ]:
                if name != "AND" and label != "learned":
                    continue
                if c2 != 0:
                    axes.plot(line, -(c0 + c1 * line) / c2, style, label=label)
                else:
                    axes.axvline(-c0 / c1, color=style[0], ls=style[1:], label=label)
            axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=4)
        else:
            pts = np.stack([x.numpy()[:, 0], np.zeros(len(x))], axis=1)
            plot.scatter(axes, pts, t.numpy() > 0, names=("+1", "-1"))
            axes.axvline(-w0 / ws[0], color="k", label="learned")
            axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3)
            axes.set_ylabel("")
            axes.set_yticks([])
        axes.set_xlim(-2, 2)
        axes.set_ylim(-2, 2)
        axes.set_aspect("equal")
        axes.set_title(f"{name}: w = {_vec(w.tolist())}")
    return plot.save(fig, config.out / "boolean_perceptrons.png")
