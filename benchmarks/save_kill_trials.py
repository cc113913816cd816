"""SIGKILL during ``axon.save``: the target must always load, and killed saves' temp
files must not pile up.

    python benchmarks/save_kill_trials.py                 # 150 trials, 50 MB state dict
    python benchmarks/save_kill_trials.py --trials 30 --mb 10

Each trial forks a child (axon is imported once, in the parent) that saves a large state
dict over the same target in a loop, each save a new version; the parent SIGKILLs it at
a random moment within a few saves' time, then loads the target. The target must hold
a whole version (its ``version`` entry and its payload agree, and the checksum holds):
never missing, never corrupt.

Killed saves leave their hidden temp file (``.NAME.<hex>.tmp``) beside the target. The
script counts them after the trials, then saves once more (a fresh temp file is kept: it
may be a save running in another process), then ages the leftovers by two minutes, as
if the next save came later, and saves again: a save removes its own target's temp
files once they are a minute old, so none should be left.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time

import numpy as np

import axon


def _state(version: int, big: list[np.ndarray]) -> dict:
    """Version ``version``: a payload of ``big[version % 2]`` (values 1 or 2) and a tail
    full of the version number, so a mix of two versions cannot pass the check."""
    return {
        "version": np.array(version, dtype=np.int64),
        "w": big[version % 2],
        "tail": np.full(1024, version, dtype=np.int64),
    }


def _check(path: str) -> str:
    """``"ok"``, ``"missing"`` or ``"corrupt: why"`` for the target after a kill."""
    try:
        loaded = axon.load(path)
    except FileNotFoundError:
        return "missing"
    except ValueError as e:
        return f"corrupt: {e}"
    v = int(loaded["version"])
    w, tail = loaded["w"], loaded["tail"]
    if not (np.all(w == v % 2 + 1) and np.all(tail == v)):
        return f"corrupt: version {v} with another version's values"
    return "ok"


def _temps(directory: str, base: str) -> list[str]:
    return sorted(
        n for n in os.listdir(directory) if n.startswith(f".{base}.") and n.endswith(".tmp")
    )


def _size(directory: str, names: list[str]) -> int:
    return sum(os.path.getsize(os.path.join(directory, n)) for n in names)


def _child(path: str, big: list[np.ndarray], first: int) -> None:
    """Save new versions over ``path`` until killed (never returns)."""
    version = first
    while True:
        version += 1
        axon.save(_state(version, big), path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=150)
    parser.add_argument("--mb", type=float, default=50.0, help="state dict size in MB")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", default=None, help="where to save (default: a temp dir)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    n = int(args.mb * 1e6 / 4)
    big = [np.full(n, 1.0, np.float32), np.full(n, 2.0, np.float32)]
    directory = tempfile.mkdtemp(prefix="axon-kill-", dir=args.dir)
    path = os.path.join(directory, "ckpt.safetensors")
    base = os.path.basename(path)
    try:
        t = time.perf_counter()
        axon.save(_state(0, big), path)
        one_save = time.perf_counter() - t
        print(
            f"state dict {args.mb:.0f} MB, one save {one_save * 1e3:.0f} ms; "
            f"{args.trials} trials, each killed within {3 * one_save * 1e3:.0f} ms"
        )
        outcomes: dict[str, int] = {}
        versions = set()
        next_version = 0
        for _ in range(args.trials):
            pid = os.fork()
            if pid == 0:  # the child: saves until killed
                try:
                    _child(path, big, next_version)
                finally:
                    os._exit(1)
            time.sleep(rng.uniform(0.0, 3.0 * one_save))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            outcome = _check(path)
            key = outcome.split(":")[0]
            outcomes[key] = outcomes.get(key, 0) + 1
            if key != "ok":
                print("  ", outcome)
            else:
                versions.add(int(axon.load(path)["version"]))
            next_version += 1000  # each child's versions apart from the others'
        left = _temps(directory, base)
        print(
            f"after {args.trials} SIGKILLs: target "
            + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
            + f" ({len(versions)} distinct versions seen); "
            f"{len(left)} temp files left, {_size(directory, left) / 1e6:.0f} MB"
        )
        axon.save(_state(1, big), path)
        kept = _temps(directory, base)
        print(
            f"one more save right away: {len(kept)} temp files left "
            f"(younger than {axon.serialization.STALE_TEMP_SECONDS:.0f} s: kept)"
        )
        old = time.time() - 120
        for name in kept:
            os.utime(os.path.join(directory, name), (old, old))
        axon.save(_state(2, big), path)
        final = _temps(directory, base)
        print(
            f"one more save two minutes later: {len(final)} temp files left; target {_check(path)}"
        )
        return 0 if outcomes.get("ok", 0) == args.trials and not final else 1
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
