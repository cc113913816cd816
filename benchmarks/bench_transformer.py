"""Transformer benchmark: axon against PyTorch (CPU), side by side in one run.

A causal Transformer-encoder language-model training step (forward, backward, Adam,
lr 1e-3): token embedding (65 -> 128) plus a learned positional embedding, a
``TransformerEncoder`` of 2 ``TransformerEncoderLayer`` (d_model 128, 4 heads, feed-forward
512, ReLU, post-norm, dropout 0, batch first) under the causal mask, a Linear head
(128 -> 65) and cross-entropy over every position; sequences of 64 tokens, batch 32.
Both frameworks use the same thread count and the same initial weights (torch's, copied
into axon through ``load_state_dict``); the first losses are checked to agree. Timings
alternate between the frameworks in blocks and report medians (``bench_engine.median_pair``).
The ratio is axon / torch; the goal is <= 2.0 (PERFORMANCE.md: hand-written NumPy 1.97x).

    python benchmarks/bench_transformer.py [--threads 2] [--repeats 60] [--profile 0]

``--profile K`` also runs K axon steps under cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_engine import median_pair, set_threads  # noqa: E402

VOCAB, D_MODEL, HEADS, LAYERS, FF, SEQ, BATCH = 65, 128, 4, 2, 512, 64, 32
GOAL = 2.0


def _tokens():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (BATCH, SEQ))  # (N, L) inputs
    y = rng.integers(0, VOCAB, (BATCH, SEQ))  # (N, L) next-token targets
    return x, y


def make_lm(nn):
    """The language model, written once for ``torch.nn`` and ``axon.nn`` (same module
    names, so the same state-dict keys)."""

    class TransformerLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, D_MODEL)
            self.pos = nn.Embedding(SEQ, D_MODEL)
            layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, LAYERS)
            self.head = nn.Linear(D_MODEL, VOCAB)

        def forward(self, x, mask):
            h = self.embed(x) + self.pos.weight  # (N, L, D) + (L, D)
            h = self.encoder(h, mask=mask)  # the causal mask: detected, is_causal=True
            return self.head(h.reshape(BATCH * SEQ, D_MODEL))  # (N*L, V)

    return TransformerLM()


def pair():
    """Training-step closures for the same model in axon and torch, and the first loss
    of each (a parity check)."""
    import torch

    import axon as ax
    from axon import nn, optim

    torch.manual_seed(0)
    tmodel = make_lm(torch.nn)
    amodel = make_lm(nn)
    amodel.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})
    x, y = _tokens()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y.reshape(-1))
    ax_x, ax_y = ax.from_numpy(x), ax.from_numpy(y.reshape(-1))
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(SEQ)
    amask = nn.Transformer.generate_square_subsequent_mask(SEQ)
    topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
    aopt = optim.Adam(amodel.parameters(), lr=1e-3)
    tloss, aloss = torch.nn.CrossEntropyLoss(), nn.CrossEntropyLoss()
    with torch.no_grad(), ax.no_grad():
        first = (
            float(aloss(amodel(ax_x, amask), ax_y).item()),
            float(tloss(tmodel(tx, tmask), ty).item()),
        )

    def axon_step():
        aopt.zero_grad()
        loss = aloss(amodel(ax_x, amask), ax_y)
        loss.backward()
        aopt.step()
        return loss

    def torch_step():
        topt.zero_grad()
        loss = tloss(tmodel(tx, tmask), ty)
        loss.backward()
        topt.step()
        return loss

    return axon_step, torch_step, first


def profile(step, steps: int, top: int = 25) -> None:
    """Run ``steps`` axon steps under cProfile; print the functions by own time."""
    import cProfile
    import pstats

    for _ in range(3):
        step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    print(f"\ncProfile of {steps} axon steps, by own time (tottime):")
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="K",
        help="also profile K axon steps with cProfile",
    )
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    import torch

    torch.set_num_threads(args.threads)

    a_step, t_step, (la, lt) = pair()
    if abs(la - lt) > 1e-4 * max(1.0, abs(lt)):
        raise SystemExit(
            f"the first losses differ (axon {la}, torch {lt}): the two models are not the same"
        )
    a, t = median_pair(a_step, t_step, args.repeats, block=10, settle=2)
    va, vt = a * 1e3, t * 1e3
    ratio = va / vt

    print(f"threads: {args.threads}   (ratio = axon / torch; < 1 means axon is faster)")
    print(f"{'workload':<60}{'axon':>9}{'torch':>9}{'ratio':>8}")
    label = (
        f"Transformer LM step: d {D_MODEL}, {HEADS} heads, {LAYERS} layers, ff {FF}, "
        f"L {SEQ}, N {BATCH} (ms)"
    )
    print(f"{label:<60}{va:>9.2f}{vt:>9.2f}{ratio:>8.2f}")
    print(f"  first loss: axon {la:.6f}, torch {lt:.6f}")
    print(f"  goal: <= {GOAL}x torch: {'met' if ratio <= GOAL else 'NOT met'} ({ratio:.2f}x)")
    if args.profile:
        profile(a_step, args.profile)
    results = {"transformer_lm_step": {"axon": va, "torch": vt, "ratio": ratio}}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
