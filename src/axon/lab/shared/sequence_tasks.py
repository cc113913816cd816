"""Synthetic sequence tasks for the recurrent-network experiments, all seeded NumPy:

- running parity: a bit stream x_1..x_T and its running XOR y_t = x_1 ^ ... ^ x_t;
- copy and reverse: a sequence of symbols, to be output as it is or back to front;
- the adding problem (Hochreiter and Schmidhuber): random values, two of them marked;
  the target is the sum of the two marked values.

Every generator returns time-first-agnostic NumPy arrays, batch first: inputs (N, T, ...)
and targets; the models read them with ``batch_first=True``.
"""

from __future__ import annotations

import numpy as np


def parity_bits(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random bit streams of ``length`` bits and their running parity.

    Returns x (n, length, 1) float32 bits and y (n, length) int64 with
    y[:, t] = x[:, 0] ^ x[:, 1] ^ ... ^ x[:, t]; the parity of a whole stream is y[:, -1].
    """
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n, length))  # (n, T)
    y = np.bitwise_xor.accumulate(bits, axis=1).astype(np.int64)  # (n, T) running XOR
    return bits[:, :, None].astype(np.float32), y  # (n, T, 1), (n, T)


def copy_sequence(n: int, length: int, vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences of ``length`` symbols in [0, vocab); the target is the input itself.
    Returns x and y, both (n, length) int64."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, vocab, size=(n, length)).astype(np.int64)  # (n, T)
    return x, x.copy()


def reverse_sequence(n: int, length: int, vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences of ``length`` symbols in [0, vocab); the target at step t is the
    input at step T-1-t (the sequence back to front). Output t needs input T-1-t, which
    lies in the future for the first half of the steps: a left-to-right model must guess
    there, a bidirectional one can see it. Returns x and y, both (n, length) int64."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, vocab, size=(n, length)).astype(np.int64)  # (n, T)
    return x, x[:, ::-1].copy()


def adding_problem(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem: each step carries (value in [0, 1), marker in {0, 1}); exactly
    two steps are marked, one in each half of the sequence; the target is the sum of the
    two marked values (the answer is read at the last step).

    Returns x (n, length, 2) float32 and y (n,) float32. Predicting 1 always gives a
    mean squared error of about 1/6 (the variance of the sum of two uniforms).
    """
    if length < 2:
        raise ValueError(f"the adding problem needs length >= 2, got {length}")
    rng = np.random.default_rng(seed)
    values = rng.random((n, length))  # (n, T)
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    marks = np.zeros((n, length))
    rows = np.arange(n)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    x = np.stack([values, marks], axis=2).astype(np.float32)  # (n, T, 2)
    y = (values[rows, first] + values[rows, second]).astype(np.float32)  # (n,)
    return x, y
