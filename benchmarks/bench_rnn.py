"""Recurrent-layer benchmark: axon against PyTorch (CPU), side by side in one run.

A character language-model training step (forward, backward, Adam):
Embedding(65 -> 64), one recurrent layer of hidden size 256 (LSTM, then GRU),
Linear(256 -> 65), cross-entropy over every position; sequences of 64 steps, batch 32,
time-first layout (L, N). Both frameworks use the same thread count. Timings alternate
between the frameworks in blocks and report medians (``bench_engine.median_pair``).
Ratios are axon / torch (PERFORMANCE.md targets: LSTM <= 2.5, GRU <= 1.6). It also
prints the wall time of one Tiny Shakespeare epoch at this shape, extrapolated from the
median step.

    python benchmarks/bench_rnn.py [--threads 2] [--repeats 60]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_engine import median_pair, set_threads  # noqa: E402

VOCAB, EMBED, HIDDEN, SEQ, BATCH = 65, 64, 256, 64, 32


def _tokens():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (SEQ, BATCH))
    y = rng.integers(0, VOCAB, (SEQ, BATCH))
    return x, y


def lm_axon(cell: str):
    import axon as ax
    from axon import nn, optim

    ax.manual_seed(0)
    emb = nn.Embedding(VOCAB, EMBED)
    rnn = getattr(nn, cell)(EMBED, HIDDEN)
    head = nn.Linear(HIDDEN, VOCAB)
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = optim.Adam(params, lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x, y = _tokens()
    x, y = ax.from_numpy(x), ax.from_numpy(y.reshape(-1))

    def step():
        opt.zero_grad()
        out, _ = rnn(emb(x))  # (L, N, H)
        loss = loss_fn(head(out.reshape(SEQ * BATCH, HIDDEN)), y)
        loss.backward()
        opt.step()
        return loss

    return step


def lm_torch(cell: str):
    import torch

    torch.manual_seed(0)
    emb = torch.nn.Embedding(VOCAB, EMBED)
    rnn = getattr(torch.nn, cell)(EMBED, HIDDEN)
    head = torch.nn.Linear(HIDDEN, VOCAB)
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = _tokens()
    x, y = torch.from_numpy(x), torch.from_numpy(y.reshape(-1))

    def step():
        opt.zero_grad()
        out, _ = rnn(emb(x))  # (L, N, H)
        loss = loss_fn(head(out.reshape(SEQ * BATCH, HIDDEN)), y)
        loss.backward()
        opt.step()
        return loss

    return step


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    import torch

    torch.set_num_threads(args.threads)

    results = {}
    for cell in ("LSTM", "GRU"):
        a, t = median_pair(lm_axon(cell), lm_torch(cell), args.repeats, block=10, settle=2)
        results[cell] = (a * 1e3, t * 1e3)

    print(f"threads: {args.threads}   (ratio = axon / torch; < 1 means axon is faster)")
    print(f"{'workload':<52}{'axon':>9}{'torch':>9}{'ratio':>8}")
    for cell, (va, vt) in results.items():
        label = f"{cell} LM step: vocab 65, emb 64, hidden 256, L 64, N 32 (ms)"
        print(f"{label:<52}{va:>9.2f}{vt:>9.2f}{va / vt:>8.2f}")
    # One epoch of Tiny Shakespeare's 90% training split (1,003,854 characters) in windows
    # of L 64 over N 32 streams, extrapolated from the median step (data loading excluded).
    steps = 1_003_854 // (32 * 64)
    for cell, (va, vt) in results.items():
        label = f"{cell} Tiny Shakespeare epoch, {steps} steps (s, extrapolated)"
        print(f"{label:<52}{va * steps / 1e3:>9.1f}{vt * steps / 1e3:>9.1f}{va / vt:>8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    k: {"axon": v[0], "torch": v[1], "ratio": v[0] / v[1]}
                    for k, v in results.items()
                },
                f,
                indent=2,
            )
    return results


if __name__ == "__main__":
    main()
