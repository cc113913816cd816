"""Connectionist temporal classification (CTC): the forward-backward algorithm in log
space, vectorised over the batch with NumPy (one loop over time).

For a target l of length S, the extended label sequence l' = (blank, l_1, blank, ...,
l_S, blank) has L = 2S + 1 states. ``alpha[t, s]`` is the log-probability of all
alignments of the first t + 1 frames that end in state s, ``beta[t, s]`` that of the
frames t.. to the end starting from state s (both include frame t's own
log-probability). A state is reached from itself, from the state before, and from two
before when it is a label that differs from the label two states earlier (a blank
between two equal labels cannot be skipped).
"""

from __future__ import annotations

import math

from ... import backend as B
from ..function import Op

_NEG_INF = -math.inf


def _logsumexp(*terms):
    """log(sum exp) of equally shaped arrays, elementwise; -inf where all are -inf."""
    xp = B.namespace(terms[0])
    m = terms[0]
    for x in terms[1:]:
        m = xp.maximum(m, x)
    safe = xp.where(xp.isfinite(m), m, 0.0)
    total = sum(xp.exp(x - safe) for x in terms)
    with xp.errstate(divide="ignore"):
        return xp.where(xp.isfinite(m), safe + xp.log(total), m)


def _shift(a, k):
    """``a`` moved k places to the right along the last axis (-inf comes in)."""
    xp = B.namespace(a)
    out = xp.full_like(a, _NEG_INF)
    out[..., k:] = a[..., : a.shape[-1] - k]
    return out


def _unshift(a, k):
    """``a`` moved k places to the left along the last axis (-inf comes in)."""
    xp = B.namespace(a)
    out = xp.full_like(a, _NEG_INF)
    out[..., : a.shape[-1] - k] = a[..., k:]
    return out


def extended_labels(targets, target_lengths, blank: int):
    """l' per sample, (N, 2 S_max + 1) with S_max the longest target, and the mask of the
    states where a skip from two states before is allowed."""
    xp = B.namespace(targets)
    n, s_max = targets.shape
    ext = xp.full((n, 2 * s_max + 1), blank, dtype=xp.int64)
    ext[:, 1::2] = targets
    inside = xp.arange(2 * s_max + 1)[None, :] < (2 * target_lengths[:, None] + 1)
    ext = xp.where(inside, ext, blank)  # padding of the targets: never a real state
    skip = xp.zeros(ext.shape, dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, skip


class CTC(Op):
    """Per-sample negative log-likelihood -log p(target | input) of the (T, N, C)
    log-probabilities; the backward is PyTorch's: exp(lp) - posterior occupancy of each
    class at each frame (the gradient through a ``log_softmax`` that produced lp), 0 past
    each input's length; for an infinite loss, 0 under ``zero_infinity``, else NaN."""

    def forward(self, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        xp = self.xp
        lp = log_probs.astype(xp.float64)
        T, N, _ = lp.shape
        ext, skip = extended_labels(targets, target_lengths, blank)
        L = ext.shape[1]
        lp_ext = xp.take_along_axis(lp, xp.broadcast_to(ext[None], (T, N, L)), axis=2)
        alpha = xp.full((T, N, L), _NEG_INF)
        alpha[0, :, 0] = lp_ext[0, :, 0]
        has_label = target_lengths > 0
        alpha[0, has_label, 1] = lp_ext[0, has_label, 1]
        for t in range(1, T):
            prev = alpha[t - 1]
            two = xp.where(skip, _shift(prev, 2), _NEG_INF)
            alpha[t] = lp_ext[t] + _logsumexp(prev, _shift(prev, 1), two)
        rows = xp.arange(N)
        last_t = input_lengths - 1
        end = 2 * target_lengths  # the final blank's state
        final = alpha[last_t, rows, end]
        before = xp.where(has_label, alpha[last_t, rows, xp.maximum(end - 1, 0)], _NEG_INF)
        nll = -_logsumexp(final, before)
        self.saved = (
            lp,
            ext,
            skip,
            lp_ext,
            alpha,
            nll,
            input_lengths,
            target_lengths,
            zero_infinity,
            log_probs.dtype,
        )
        if zero_infinity:
            nll = xp.where(xp.isinf(nll), 0.0, nll)
        return nll.astype(log_probs.dtype)

    def _beta(self):
        xp = self.xp
        lp, ext, skip, lp_ext, _, _, input_lengths, target_lengths, _, _ = self.saved
        T, N, L = lp_ext.shape
        s = xp.arange(L)[None, :]
        end = 2 * target_lengths[:, None]
        start_mask = (s == end) | ((s == end - 1) & (target_lengths[:, None] > 0))
        skip_from = _unshift(skip, 2)  # state s may jump to s + 2
        beta = xp.full((T, N, L), _NEG_INF)
        nxt = xp.full((N, L), _NEG_INF)
        for t in range(T - 1, -1, -1):
            two = xp.where(skip_from, _unshift(nxt, 2), _NEG_INF)
            rec = lp_ext[t] + _logsumexp(nxt, _unshift(nxt, 1), two)
            last = (t == input_lengths - 1)[:, None]
            after = (t >= input_lengths)[:, None]
            cur = xp.where(
                last, xp.where(start_mask, lp_ext[t], _NEG_INF), xp.where(after, _NEG_INF, rec)
            )
            beta[t] = cur
            nxt = cur
        return beta

    def backward(self, g):
        xp = self.xp
        lp, ext, _, lp_ext, alpha, nll, input_lengths, _, zero_infinity, dtype = self.saved
        T, N, C = lp.shape
        beta = self._beta()
        with xp.errstate(invalid="ignore", over="ignore"):
            occ = xp.exp(alpha + beta - lp_ext + nll[None, :, None])  # (T, N, L)
        posterior = xp.zeros((T, N, C))
        t_idx = xp.arange(T)[:, None, None]
        n_idx = xp.arange(N)[None, :, None]
        self.backend.scatter_add(posterior, (t_idx, n_idx, ext[None]), occ)
        grad = (xp.exp(lp) - posterior) * g.astype(xp.float64)[None, :, None]
        # an impossible alignment (infinite loss): 0 under zero_infinity, else NaN (torch)
        grad[:, xp.isinf(nll)] = 0.0 if zero_infinity else xp.nan
        grad[xp.arange(T)[:, None] >= input_lengths[None, :]] = 0.0
        return grad.astype(dtype), None, None, None, None, None
