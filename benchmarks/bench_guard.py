"""NaN-guard benchmark: a training step with and without :class:`axon.train.guard.FiniteGuard`.

For three models of the other benchmarks, the same training step (forward, backward,
``loss.item()``, Adam) runs three ways, alternating in blocks (bench_engine's method,
medians over many repeats):
  - plain: no check at all;
  - legacy: fit's former check, the sum of every gradient and the loss;
  - guard: ``remember()`` before the forward, ``check()`` before the step,
    ``check_params()`` after it and ``watch_loss()``, as the loops call them.
It also times the guard's own calls alone on the live model (no step around them), which
is steadier than a difference of two step times on a busy machine.

Models: the MLP 784-256-256-10 of bench_engine (batch 128), LeNet-5 of bench_vision
(batch 64 of 1x28x28) and the LSTM language model of bench_rnn (vocab 65, embedding 64,
hidden 256, 64 steps, batch 32). Ratios are guard / plain: 1.02 means the guard costs 2%.

    python benchmarks/bench_guard.py [--threads 2] [--repeats 200] [--clock wall|cpu] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_engine import set_threads  # noqa: E402


# ----------------------------------------------------------------------------- models
def mlp_problem():
    import numpy as np

    import axon as ax
    from axon import nn

    ax.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )
    rng = np.random.default_rng(0)
    x = ax.from_numpy(rng.standard_normal((128, 784), dtype=np.float32))
    y = ax.from_numpy(rng.integers(0, 10, 128))
    loss_fn = nn.CrossEntropyLoss()
    return model, lambda: loss_fn(model(x), y)


def lenet_problem():
    import numpy as np

    import axon as ax
    from axon import models, nn

    ax.manual_seed(0)
    model = models.lenet5()
    rng = np.random.default_rng(0)
    x = ax.from_numpy(rng.standard_normal((64, 1, 28, 28), dtype=np.float32))
    y = ax.from_numpy(rng.integers(0, 10, 64))
    loss_fn = nn.CrossEntropyLoss()
    return model, lambda: loss_fn(model(x), y)


def lstm_problem():
    import numpy as np

    import axon as ax
    from axon import nn

    vocab, embed, hidden, seq, batch = 65, 64, 256, 64, 32

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, embed)
            self.rnn = nn.LSTM(embed, hidden)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, x):
            out, _ = self.rnn(self.emb(x))  # (L, N, H)
            return self.head(out.reshape(seq * batch, hidden))

    ax.manual_seed(0)
    model = LM()
    rng = np.random.default_rng(0)
    x = ax.from_numpy(rng.integers(0, vocab, (seq, batch)))
    y = ax.from_numpy(rng.integers(0, vocab, seq * batch))
    loss_fn = nn.CrossEntropyLoss()
    return model, lambda: loss_fn(model(x), y)


PROBLEMS = {"mlp": mlp_problem, "lenet": lenet_problem, "lstm": lstm_problem}


# ----------------------------------------------------------------------------- steps
def steps(make):
    """The plain, legacy and guarded step closures (each on its own copy of the model,
    same weights), and a closure timing the guard's calls alone."""
    import math

    from axon import optim
    from axon.train.guard import FiniteGuard

    def legacy_check(lv: float, named) -> bool:
        """fit's former fast path: the loss and the sum of every gradient are finite."""
        total = 0.0
        for _, p in named:
            if p.grad is not None:
                total += float(p.grad.array.sum())
        return math.isfinite(lv) and math.isfinite(total)

    def plain_step():
        model, forward = make()
        opt = optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad()
            loss = forward()
            loss.backward()
            float(loss.item())
            opt.step()

        return step

    def legacy_step():
        model, forward = make()
        opt = optim.Adam(model.parameters(), lr=1e-3)
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]

        def step():
            opt.zero_grad()
            loss = forward()
            loss.backward()
            lv = float(loss.item())
            assert legacy_check(lv, named)
            opt.step()

        return step

    def guard_step():
        model, forward = make()
        opt = optim.Adam(model.parameters(), lr=1e-3)
        guard = FiniteGuard(model)
        state = {"i": 0}

        def step():
            i = state["i"]
            guard.remember()
            opt.zero_grad()
            loss = forward()
            loss.backward()
            lv = float(loss.item())
            assert guard.check(lv, 0, i) is None
            opt.step()
            assert guard.check_params(0, i) is None
            guard.watch_loss(lv, 0, i)
            state["i"] = i + 1

        return step, model, guard

    gstep, model, guard = guard_step()

    def guard_alone():
        guard.remember()
        guard.check(1.0, 0, 0)
        guard.check_params(0, 0)
        guard.watch_loss(1.0, 0, 0)

    return plain_step(), legacy_step(), gstep, guard_alone


def medians(
    fns, repeats: int, block: int = 10, settle: int = 2, clock=time.perf_counter
) -> list[float]:
    """Median seconds per call of each function; they alternate in blocks of ``block``
    calls, the first ``settle`` of each block not counted (bench_engine's method)."""
    times: list[list[float]] = [[] for _ in fns]
    while len(times[0]) < repeats:
        for f, out in zip(fns, times, strict=True):
            for i in range(block):
                t0 = clock()
                f()
                if i >= settle:
                    out.append(clock() - t0)
    return [sorted(t)[len(t) // 2] for t in times]


def low_percentile(f, n: int, q: float = 0.1) -> float:
    """The ``q`` quantile of ``n`` timed calls of ``f`` in CPU seconds of this process
    (``time.process_time``): on a machine shared with other work, the low quantile of
    CPU time is the steadiest estimate of what a call costs."""
    times = []
    for _ in range(n):
        t0 = time.process_time()
        f()
        times.append(time.process_time() - t0)
    times.sort()
    return times[int(q * n)]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--models", default="mlp,lenet,lstm")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: this process's CPU time (time.process_time), steadier "
        "on a machine shared with other work; best with --threads 1",
    )
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    clock = time.perf_counter if args.clock == "wall" else time.process_time

    results = {}
    print(f"threads {args.threads}, {args.clock} clock, medians over {args.repeats} steps")
    print(
        f"{'model':8s} {'plain ms':>9s} {'legacy ms':>10s} {'guard ms':>9s} "
        f"{'guard/plain':>12s} {'legacy/plain':>13s} {'guard calls us':>15s}"
    )
    for name in args.models.split(","):
        plain, legacy, guarded, alone = steps(PROBLEMS[name])
        for f in (plain, legacy, guarded):  # warm-up: scratch buffers, first copies
            for _ in range(5):
                f()
        # the slow LSTM step needs fewer repeats for the same steadiness
        repeats = args.repeats if name != "lstm" else max(args.repeats // 4, 20)
        tp, tl, tg = medians([plain, legacy, guarded], repeats, clock=clock)
        (ta,) = medians([alone], 2000, block=100, settle=5, clock=clock)
        ta_low = low_percentile(alone, 2000)
        results[name] = {
            "plain_ms": tp * 1e3,
            "legacy_ms": tl * 1e3,
            "guard_ms": tg * 1e3,
            "guard_over_plain": tg / tp,
            "legacy_over_plain": tl / tp,
            "guard_calls_us": ta * 1e6,
            "guard_calls_share": ta / tp,
            "guard_calls_p10_us": ta_low * 1e6,
        }
        print(
            f"{name:8s} {tp * 1e3:9.3f} {tl * 1e3:10.3f} {tg * 1e3:9.3f} {tg / tp:12.3f} "
            f"{tl / tp:13.3f} {ta * 1e6:9.1f} ({ta / tp:.1%}) p10 {ta_low * 1e6:.1f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
