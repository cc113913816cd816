"""LBFGS benchmark: axon against PyTorch (CPU) on pytorch/examples' sine-wave LSTM.

The "time sequence prediction" example: LSTMCell(1, 51) -> LSTMCell(51, 51) ->
Linear(51, 1) run over each time step of sine waves, trained to predict the next value
with ``LBFGS(lr=0.8)`` (20 iterations, so up to 25 closure calls, per ``step``), float64.
Both frameworks start from the same weights and take the same steps; each step is timed
alone, axon's and torch's alternating, and the losses are printed side by side (they
should agree to many digits). The ratio is axon / torch of the median step (goal: <= 2).
The example uses 97 sequences of length 1000; the default here is length 100 so a run
takes seconds on an idle machine.

    python benchmarks/bench_lbfgs.py [--threads 1] [--steps 3] [--length 100]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_engine import set_threads  # noqa: E402

HIDDEN = 51


def sine_waves(n: int, length: int, seed: int = 2):
    """pytorch/examples' data: sin(x / 20) over ``length`` points, each wave shifted by a
    random offset in [-4T, 4T) with T = 20."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = np.arange(length) + rng.integers(-4 * 20, 4 * 20, (n, 1))
    return np.sin(x / 20.0)


def make_sequence(lib, hidden: int = HIDDEN):
    """The example's model, written once for either library (``lib`` is axon or torch)."""

    class Sequence(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm1 = lib.nn.LSTMCell(1, hidden)
            self.lstm2 = lib.nn.LSTMCell(hidden, hidden)
            self.linear = lib.nn.Linear(hidden, 1)

        def forward(self, input):
            h_t, c_t, h_t2, c_t2 = (
                lib.zeros(input.size(0), hidden, dtype=lib.double) for _ in range(4)
            )
            outputs = []
            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                outputs += [self.linear(h_t2)]
            return lib.cat(outputs, dim=1)

    return Sequence().double()


def trainer(lib, model, waves):
    """A function that takes one LBFGS step and returns its loss (the example's loop)."""
    inp, target = lib.tensor(waves[:, :-1]), lib.tensor(waves[:, 1:])
    criterion = lib.nn.MSELoss()
    optimizer = lib.optim.LBFGS(model.parameters(), lr=0.8)

    def closure():
        optimizer.zero_grad()
        loss = criterion(model(inp), target)
        loss.backward()
        return loss

    def step():
        return float(optimizer.step(closure).detach())

    return step, optimizer


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--sequences", type=int, default=97)
    args = parser.parse_args(argv)
    set_threads(args.threads)

    import torch

    import axon as ax

    torch.set_num_threads(args.threads)
    ax.set_num_threads(args.threads)
    waves = sine_waves(args.sequences, args.length)
    torch.manual_seed(0)
    model_t = make_sequence(torch)
    model_a = make_sequence(ax)
    model_a.load_state_dict(
        {k: ax.tensor(v.detach().numpy().copy()) for k, v in model_t.state_dict().items()}
    )
    step_a, opt_a = trainer(ax, model_a, waves)
    step_t, opt_t = trainer(torch, model_t, waves)

    print(
        f"{args.sequences} sine waves of length {args.length}, LSTMCell x2 ({HIDDEN}) "
        f"+ Linear, LBFGS(lr=0.8), {args.threads} thread(s)"
    )
    print(f"{'step':>4} {'axon loss':>22} {'torch loss':>22} {'axon s':>8} {'torch s':>8}")
    rows = []
    for i in range(args.steps):
        t0 = time.perf_counter()
        loss_a = step_a()
        t1 = time.perf_counter()
        loss_t = step_t()
        t2 = time.perf_counter()
        rows.append(dict(loss_axon=loss_a, loss_torch=loss_t, axon_s=t1 - t0, torch_s=t2 - t1))
        print(f"{i:>4} {loss_a:>22.15g} {loss_t:>22.15g} {t1 - t0:>8.3f} {t2 - t1:>8.3f}")
    evals_a = opt_a.state[opt_a.param_groups[0]["params"][0]]["func_evals"]
    evals_t = opt_t.state[opt_t.param_groups[0]["params"][0]]["func_evals"]
    median_a = sorted(r["axon_s"] for r in rows)[len(rows) // 2]
    median_t = sorted(r["torch_s"] for r in rows)[len(rows) // 2]
    result = dict(
        median_step_axon_s=median_a,
        median_step_torch_s=median_t,
        ratio=median_a / median_t,
        closure_calls_axon=evals_a,
        closure_calls_torch=evals_t,
    )
    print(
        f"closure calls: axon {evals_a}, torch {evals_t}; median step: axon "
        f"{median_a:.3f} s, torch {median_t:.3f} s, ratio axon/torch {median_a / median_t:.2f}"
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
