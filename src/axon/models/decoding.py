"""Decoding a sequence model: greedy search, beam search and sampling, through one protocol.

Every model decodes through a ``step`` function that scores the next token::

    log_probs, state = step(tokens, state)

- ``tokens``: ``(N,)`` int64 array, the last token of each of the N hypotheses being
  extended (``bos`` at the first step);
- ``log_probs``: ``(N, V)`` log-probabilities of the next token (a NumPy array or a Tensor,
  e.g. ``F.log_softmax(logits, dim=-1)``);
- ``state``: whatever the model carries from step to step (an RNN's hidden state, the
  encoder's output, ...), with the N hypotheses along a batch dimension.

The searches run under ``no_grad()`` and call ``step`` once per time step for all batch
items and all beams together. When hypotheses are dropped, kept or duplicated (beams that
branch, sequences that end), the state's rows are gathered with ``reorder(state, index)``:
the new row ``r`` is the old row ``index[r]``. The default, :func:`gather_state`, gathers
every NumPy array and Tensor along ``batch_dim`` (0 unless told), walking into tuples
(named tuples too), lists and dicts, and leaves anything else (numbers, strings, None) as
it is. A state whose parts have the batch on different axes (an LSTM's ``(h, c)`` with
batch on axis 1 beside an encoder output with batch on axis 0) needs its own ``reorder``.

Every search returns :class:`Hypothesis` objects: the generated ids (without ``bos`` and
without the final ``eos``), the sum of their log-probabilities, a score, and whether the
hypothesis ended with ``eos`` (``max_len`` cuts the others off).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor, _wrap

Step = Callable[[np.ndarray, Any], tuple[Any, Any]]
Reorder = Callable[[Any, np.ndarray], Any]


@dataclass
class Hypothesis:
    """One decoded sequence.

    Attributes:
        tokens: the generated token ids, without ``bos`` and without the final ``eos``.
        log_prob: the sum of the model's log-probabilities of the generated tokens,
            ``eos`` included when the hypothesis finished.
        score: the value the search ranks by: ``log_prob / length ** length_penalty`` for
            beam search, ``log_prob`` for greedy search and sampling.
        finished: True when the sequence ended with ``eos``; False when ``max_len`` cut it.
    """

    tokens: list[int]
    log_prob: float
    score: float
    finished: bool

    @property
    def length(self) -> int:
        """Number of generated tokens, ``eos`` included: the length the penalty divides by."""
        return len(self.tokens) + int(self.finished)


# ---------------------------------------------------------------------------- the state
def gather_state(state: Any, index: np.ndarray, batch_dim: int = 0) -> Any:
    """Gather the rows ``index`` of every array and Tensor in ``state`` along ``batch_dim``.

    Walks into tuples (named tuples keep their type), lists and dicts; returns other
    leaves (numbers, strings, None) unchanged. Row ``r`` of the result is row ``index[r]``
    of the input, so ``index`` may drop, keep or repeat rows.
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        arr = state.array
        if arr.__class__ is not np.ndarray:  # a GPU's state: gathered there
            backend = B.of(arr)
            index = backend.from_host(np.asarray(index), backend.device_of(arr))
            return _wrap(_take(arr, index, batch_dim))
        return _wrap(_take(arr, index, batch_dim))
    if isinstance(state, np.ndarray):
        return _take(state, index, batch_dim)
    if isinstance(state, tuple):
        items = [gather_state(s, index, batch_dim) for s in state]
        return type(state)(*items) if hasattr(state, "_fields") else tuple(items)
    if isinstance(state, list):
        return [gather_state(s, index, batch_dim) for s in state]
    if isinstance(state, dict):
        return {k: gather_state(v, index, batch_dim) for k, v in state.items()}
    return state


def _take(array: np.ndarray, index: np.ndarray, batch_dim: int) -> np.ndarray:
    if array.ndim <= batch_dim or (index.size and index.max() >= array.shape[batch_dim]):
        raise ValueError(
            f"gather_state: a state array of shape {array.shape} has no batch dimension "
            f"{batch_dim} holding rows up to {int(index.max()) if index.size else 0}; "
            "pass batch_dim=, or reorder= for a state whose parts differ"
        )
    return B.namespace(array).take(array, index, axis=batch_dim)


def _batch_size(state: Any, batch_dim: int) -> int | None:
    """The size of the batch dimension of the first array or Tensor found in ``state``."""
    if isinstance(state, Tensor | np.ndarray):
        return state.shape[batch_dim] if state.ndim > batch_dim else None
    items: Sequence = ()
    if isinstance(state, tuple | list):
        items = state
    elif isinstance(state, dict):
        items = list(state.values())
    for s in items:
        n = _batch_size(s, batch_dim)
        if n is not None:
            return n
    return None


def _resolve_batch(state: Any, batch_size: int | None, batch_dim: int, name: str) -> int:
    found = _batch_size(state, batch_dim) if state is not None else None
    if batch_size is None:
        return found if found is not None else 1
    if batch_size < 1:
        raise ValueError(f"{name}: batch_size must be at least 1, got {batch_size}")
    if found is not None and found != batch_size:
        raise ValueError(
            f"{name}: batch_size={batch_size} but the state's batch dimension {batch_dim} "
            f"has size {found}"
        )
    return batch_size


def _log_probs(out: Any, rows: int, name: str) -> np.ndarray:
    """``step``'s scores as a float64 ``(rows, V)`` array, checked to be log-probabilities."""
    lp = out.detach().cpu().array if isinstance(out, Tensor) else np.asarray(out)
    if lp.ndim != 2 or lp.shape[0] != rows:
        raise ValueError(
            f"{name}: step returned log-probabilities of shape {lp.shape}; expected "
            f"({rows}, vocab_size), one row per hypothesis"
        )
    lp = lp.astype(np.float64, copy=False)
    top = lp.max(initial=-np.inf)  # one pass: NaN anywhere makes the max NaN
    if np.isnan(top):
        raise ValueError(f"{name}: step returned NaN log-probabilities")
    if top > 1e-4:
        raise ValueError(
            f"{name}: step returned values up to {top:.4g}; it must return "
            "log-probabilities (<= 0), e.g. log_softmax of the logits"
        )
    return lp


def _check_args(name: str, bos: int, eos: int | None, max_len: int) -> None:
    if max_len < 1:
        raise ValueError(f"{name}: max_len must be at least 1, got {max_len}")
    if int(bos) < 0 or (eos is not None and int(eos) < 0):
        raise ValueError(f"{name}: bos={bos} and eos={eos} must be token ids (>= 0)")


# -------------------------------------------------------------- greedy search and sampling
def _decode_one_path(
    name: str,
    choose: Callable[[np.ndarray], np.ndarray],
    step: Step,
    bos: int,
    eos: int | None,
    max_len: int,
    state: Any,
    batch_size: int | None,
    reorder: Reorder | None,
    batch_dim: int,
) -> list[Hypothesis]:
    """Extend one hypothesis per batch item with ``choose(log_probs) -> tokens`` until each
    has produced ``eos`` or ``max_len`` tokens; finished items leave the batch."""
    _check_args(name, bos, eos, max_len)
    n = _resolve_batch(state, batch_size, batch_dim, name)
    gather = reorder or (lambda s, idx: gather_state(s, idx, batch_dim))
    items = np.arange(n)  # the batch item of each row still decoding
    tokens = np.full(n, int(bos), dtype=np.int64)
    history = np.zeros((n, 0), dtype=np.int64)
    total = np.zeros(n)
    out: list[Hypothesis | None] = [None] * n
    with no_grad():
        for t in range(1, max_len + 1):
            out_lp, state = step(tokens, state)
            lp = _log_probs(out_lp, len(items), name)
            nxt = choose(lp).astype(np.int64)
            total = total + lp[np.arange(len(items)), nxt]
            history = np.concatenate([history, nxt[:, None]], axis=1)
            ended = nxt == eos if eos is not None else np.zeros(len(items), bool)
            stop = np.ones_like(ended) if t == max_len else ended
            for r in np.flatnonzero(stop):
                ids = history[r, :-1] if ended[r] else history[r]
                lp_r = float(total[r])
                out[items[r]] = Hypothesis(ids.tolist(), lp_r, lp_r, bool(ended[r]))
            keep = np.flatnonzero(~stop)
            if keep.size == 0:
                break
            if keep.size < len(items):
                state = gather(state, keep) if state is not None else None
                items, history, total, nxt = items[keep], history[keep], total[keep], nxt[keep]
            tokens = nxt
    return out  # type: ignore[return-value]


def greedy_search(
    step: Step,
    bos: int,
    eos: int | None,
    max_len: int,
    state: Any = None,
    batch_size: int | None = None,
    *,
    reorder: Reorder | None = None,
    batch_dim: int = 0,
) -> list[Hypothesis]:
    """Pick the most probable next token at every step (the first one on ties).

    Args:
        step: ``step(tokens (N,), state) -> (log_probs (N, V), state)``.
        bos: the token fed at the first step. eos: the token that ends a sequence (None:
            always run ``max_len`` steps).
        max_len: the most tokens generated per sequence, ``eos`` included.
        state: the model's initial state, batch along ``batch_dim``.
        batch_size: number of sequences; by default the size of the state's batch
            dimension, or 1 without a state.
        reorder: ``reorder(state, index)`` gathering rows; default :func:`gather_state`.

    Returns one :class:`Hypothesis` per batch item (score = log_prob).
    """
    return _decode_one_path(
        "greedy_search",
        lambda lp: lp.argmax(axis=1),
        step,
        bos,
        eos,
        max_len,
        state,
        batch_size,
        reorder,
        batch_dim,
    )


def filter_log_probs(
    scores: np.ndarray, top_k: int | None = None, top_p: float | None = None
) -> np.ndarray:
    """Set to -inf every token outside the top-k / nucleus (top-p) set of each row.

    ``scores`` are (N, V) log-probabilities, possibly divided by a temperature.
    top-k keeps the tokens scoring at least the k-th highest score. top-p then keeps, in
    decreasing probability order, each token whose predecessors hold less than ``top_p``
    of the (renormalised) probability: the smallest set of most probable tokens whose
    mass reaches ``top_p``; the most probable token always stays. In both, tokens tied
    with the last one kept stay too, so the result never depends on token order.
    """
    scores = np.array(scores, dtype=np.float64)
    if top_k is not None:
        if int(top_k) < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        k = min(int(top_k), scores.shape[1])
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]  # (N, 1) k-th largest
        scores[scores < kth] = -np.inf
    if top_p is not None:
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        if top_p < 1.0:
            p = np.exp(scores - scores.max(axis=1, keepdims=True))  # unnormalised
            ranked = np.sort(p, axis=1)[:, ::-1]  # most probable first
            before = np.cumsum(ranked, axis=1) - ranked  # mass ranked above each token
            n_keep = (before < top_p * ranked.sum(axis=1, keepdims=True)).sum(axis=1)
            least = ranked[np.arange(len(p)), n_keep - 1]  # the least probable kept
            scores[p < least[:, None]] = -np.inf
    return scores


def sample(
    step: Step,
    bos: int,
    eos: int | None,
    max_len: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    state: Any = None,
    batch_size: int | None = None,
    rng: np.random.Generator | int | None = None,
    *,
    reorder: Reorder | None = None,
    batch_dim: int = 0,
) -> list[Hypothesis]:
    """Draw each next token from softmax(log_probs / temperature), optionally restricted
    to the top-k tokens and then to the nucleus of mass ``top_p`` (:func:`filter_log_probs`).

    Temperature below 1 sharpens the distribution, above 1 flattens it. ``rng`` is a
    NumPy Generator or a seed; None draws from axon's generator (``axon.manual_seed``).
    The hypotheses' ``log_prob`` (and score) is under the model's own distribution, before
    temperature and filtering. Other arguments as in :func:`greedy_search`.
    """
    if temperature <= 0:
        raise ValueError(
            f"sample: temperature must be > 0 (for argmax use greedy_search), got {temperature}"
        )
    gen = (
        rng
        if isinstance(rng, np.random.Generator)
        else (B.rng() if rng is None else np.random.default_rng(rng))
    )

    def choose(lp: np.ndarray) -> np.ndarray:
        scores = filter_log_probs(lp / temperature, top_k, top_p)
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        cdf = np.cumsum(p, axis=1)
        u = gen.random(len(lp)) * cdf[:, -1]
        # the first token whose cumulative mass passes u: a zero-probability token never is
        return (cdf > u[:, None]).argmax(axis=1)

    return _decode_one_path(
        "sample", choose, step, bos, eos, max_len, state, batch_size, reorder, batch_dim
    )


# --------------------------------------------------------------------------- beam search
@dataclass
class TraceStep:
    """What beam search held for one batch item after one step.

    ``beams``: the open hypotheses as (tokens, cumulative log-prob), best first;
    ``finished``: the hypotheses that ended with ``eos`` at this step;
    ``done``: whether the search for this item stopped after this step.
    """

    step: int
    item: int
    beams: list[tuple[list[int], float]]
    finished: list[Hypothesis]
    done: bool


@dataclass
class BeamTrace:
    """A step-by-step record of a beam search: pass ``trace=BeamTrace()`` to
    :func:`beam_search`, then ``print(trace.table(itos=vocab.itos))``."""

    steps: list[TraceStep] = field(default_factory=list)

    def item(self, index: int) -> list[TraceStep]:
        """The steps recorded for batch item ``index``."""
        return [s for s in self.steps if s.item == index]

    def table(
        self,
        itos: Sequence[str] | Any = None,
        decode: Callable[[list[int]], str] | None = None,
        items: Sequence[int] | None = None,
    ) -> str:
        """The trace as a text table: per item and step, each open beam with its
        cumulative log-prob, then the hypotheses finished at that step with their score.

        Tokens print through ``decode(ids) -> str`` if given, else as ``itos[id]`` joined
        by spaces (``itos`` may be a list or a ``Vocab``), else as ids.
        """
        words = getattr(itos, "itos", itos)

        def show(ids: list[int]) -> str:
            if decode is not None:
                return decode(ids)
            if words is not None:
                return " ".join(str(words[i]) for i in ids)
            return " ".join(str(i) for i in ids)

        wanted = sorted({s.item for s in self.steps}) if items is None else list(items)
        lines: list[str] = []
        header = f"{'step':>4}  {'beam':>4}  {'log p':>9}  {'score':>9}  hypothesis"
        for b in wanted:
            lines += [f"item {b}", header, "-" * len(header)]
            for s in self.item(b):
                for j, (ids, lp) in enumerate(s.beams):
                    lines.append(f"{s.step:>4}  {j:>4}  {lp:>9.4f}  {'':>9}  {show(ids)}")
                for h in s.finished:
                    lines.append(
                        f"{s.step:>4}  {'eos':>4}  {h.log_prob:>9.4f}  "
                        f"{h.score:>9.4f}  {show(h.tokens)} <eos>"
                    )
                if s.done:
                    lines.append(f"{'':>4}  search stopped after step {s.step}")
            lines.append("")
        return "\n".join(lines).rstrip("\n")

    def __str__(self) -> str:
        return self.table()


def print_trace(
    trace: BeamTrace,
    itos: Sequence[str] | Any = None,
    decode: Callable[[list[int]], str] | None = None,
    items: Sequence[int] | None = None,
) -> None:
    """Print :meth:`BeamTrace.table`."""
    print(trace.table(itos=itos, decode=decode, items=items))


def _penalised(log_prob: np.ndarray | float, length: int, alpha: float):
    return log_prob / float(length) ** alpha


def beam_search(
    step: Step,
    bos: int,
    eos: int | None,
    max_len: int,
    beam_width: int = 5,
    length_penalty: float = 1.0,
    n_best: int = 1,
    state: Any = None,
    batch_size: int | None = None,
    *,
    reorder: Reorder | None = None,
    batch_dim: int = 0,
    trace: BeamTrace | None = None,
) -> list[list[Hypothesis]]:
    """Keep the ``beam_width`` most probable partial sequences of each batch item.

    At each step every open beam is extended by every token, and the candidates of an
    item are ranked by cumulative log-probability. Walking down that ranking, a candidate
    ending in ``eos`` among the first ``beam_width`` is set aside as finished; the first
    ``beam_width`` candidates not ending in ``eos`` become the next beams. (So with
    ``beam_width=1`` and ``length_penalty=0`` this is greedy search.)

    Finished hypotheses are ranked by the length-normalised score (GNMT/Hugging Face style)

        score = log_prob / length ** length_penalty

    where ``length`` counts the generated tokens, ``eos`` included and ``bos`` not:
    ``length_penalty=0`` ranks by log-probability (favouring short outputs), 1 by the mean
    log-probability per token, larger values favour longer outputs still.

    An item stops when it has ``n_best`` finished hypotheses and no open beam can still
    beat the ``n_best``-th: log-probabilities only fall, so an open beam with cumulative
    log-prob ``c`` after ``t`` tokens can at best score ``c / max(L ** length_penalty)``
    over the lengths ``L`` in ``[t + 1, max_len]`` it could end with. After ``max_len``
    steps the open beams join the finished ones as unfinished hypotheses.

    Args:
        step, bos, eos, max_len, state, batch_size, reorder, batch_dim: as in
            :func:`greedy_search`; ``state`` has one row per batch item and is repeated
            to ``batch_size * beam_width`` rows (item-major: row ``b * beam_width + j``).
        beam_width: number of open hypotheses per item.
        length_penalty: the exponent ``alpha`` above.
        n_best: number of hypotheses returned per item (at most ``beam_width``).
        trace: a :class:`BeamTrace` to fill with every step's beams.

    Returns, per batch item, up to ``n_best`` :class:`Hypothesis`, best score first.
    """
    name = "beam_search"
    _check_args(name, bos, eos, max_len)
    k = int(beam_width)
    if k < 1:
        raise ValueError(f"{name}: beam_width must be at least 1, got {beam_width}")
    if not 1 <= n_best <= k:
        raise ValueError(f"{name}: n_best must be in [1, beam_width={k}], got {n_best}")
    n = _resolve_batch(state, batch_size, batch_dim, name)
    gather = reorder or (lambda s, idx: gather_state(s, idx, batch_dim))
    alpha = float(length_penalty)

    if state is not None:
        state = gather(state, np.repeat(np.arange(n), k))
    items = np.arange(n)  # the batch item of each active group of k rows
    cum = np.full((n, k), -np.inf)
    cum[:, 0] = 0.0  # the k beams start identical: only the first is alive
    tokens = np.full(n * k, int(bos), dtype=np.int64)
    history = np.zeros((n * k, 0), dtype=np.int64)
    finished: list[list[Hypothesis]] = [[] for _ in range(n)]
    slots = np.arange(k)

    with no_grad():
        for t in range(1, max_len + 1):
            na = len(items)
            out_lp, state = step(tokens, state)
            lp = _log_probs(out_lp, na * k, name)
            v = lp.shape[1]
            cand = (cum[:, :, None] + lp.reshape(na, k, v)).reshape(na, k * v)  # (na, k*V)

            # the best m candidates of each item, best first (lowest index on ties)
            m = min(2 * k, k * v)
            top = (
                np.argpartition(cand, k * v - m, axis=1)[:, k * v - m :]
                if m < k * v
                else np.broadcast_to(np.arange(k * v), (na, k * v))
            )
            top_val = np.take_along_axis(cand, top, axis=1)
            order = np.lexsort((top, -top_val), axis=1)
            top = np.take_along_axis(top, order, axis=1)
            top_val = np.take_along_axis(top_val, order, axis=1)
            beam, tok = top // v, top % v
            alive = np.isfinite(top_val)
            is_eos = (tok == eos) if eos is not None else np.zeros_like(alive)

            # eos among the first k candidates: finished; first k others: the new beams
            ends = is_eos & alive & (np.arange(m) < k)
            for i, r in zip(*np.nonzero(ends), strict=True):
                parent = i * k + beam[i, r]
                lp_r = float(top_val[i, r])
                finished[items[i]].append(
                    Hypothesis(
                        history[parent].tolist(), lp_r, float(_penalised(lp_r, t, alpha)), True
                    )
                )
            go_on = ~is_eos & alive
            pick = np.argsort(~go_on, axis=1, kind="stable")[:, :k]  # (na, k) open first
            valid = np.take_along_axis(go_on, pick, axis=1)
            new_cum = np.where(valid, np.take_along_axis(top_val, pick, axis=1), -np.inf)
            new_tok = np.where(valid, np.take_along_axis(tok, pick, axis=1), int(bos))
            parents = np.arange(na)[:, None] * k + np.take_along_axis(beam, pick, axis=1)

            done = np.full(na, t == max_len)
            if t < max_len:
                best_len = max(float(t + 1) ** alpha, float(max_len) ** alpha)
                bound = new_cum.max(axis=1) / best_len  # the best any open beam can score
                for i in range(na):
                    fin = finished[items[i]]
                    if not np.isfinite(bound[i]):  # no open beam left
                        done[i] = True
                    elif len(fin) >= n_best:
                        nth = sorted((h.score for h in fin), reverse=True)[n_best - 1]
                        done[i] = bound[i] <= nth

            history = np.concatenate([history[parents.ravel()], new_tok.reshape(-1, 1)], 1)
            if t == max_len:
                for i in range(na):
                    for j in np.flatnonzero(valid[i]):
                        lp_r = float(new_cum[i, j])
                        finished[items[i]].append(
                            Hypothesis(
                                history[i * k + j].tolist(),
                                lp_r,
                                float(_penalised(lp_r, t, alpha)),
                                False,
                            )
                        )
            if trace is not None:
                _record(trace, t, items, history, new_cum, valid, finished, done, k)

            keep = np.flatnonzero(~done)
            if keep.size == 0:
                break
            rows = (keep[:, None] * k + slots).ravel()  # rows of the items still searching
            state = gather(state, parents.ravel()[rows]) if state is not None else None
            items, cum = items[keep], new_cum[keep]
            history, tokens = history[rows], new_tok.ravel()[rows]

    return [sorted(f, key=lambda h: -h.score)[:n_best] for f in finished]


def _record(
    trace: BeamTrace,
    t: int,
    items: np.ndarray,
    history: np.ndarray,
    cum: np.ndarray,
    valid: np.ndarray,
    finished: list[list[Hypothesis]],
    done: np.ndarray,
    k: int,
) -> None:
    for i, b in enumerate(items):
        beams = [(history[i * k + j].tolist(), float(cum[i, j])) for j in np.flatnonzero(valid[i])]
        new = [h for h in finished[b] if h.finished and h.length == t]
        trace.steps.append(TraceStep(t, int(b), beams, new, bool(done[i])))


def score_sequence(
    step: Step, bos: int, tokens: Sequence[int], state: Any = None, eos: int | None = None
) -> float:
    """The model's log-probability of ``tokens`` (then ``eos`` if given) after ``bos``:
    teacher forcing through ``step`` with a batch of one."""
    seq = [*map(int, tokens), *([int(eos)] if eos is not None else [])]
    prev, total = int(bos), 0.0
    with no_grad():
        for tok in seq:
            out_lp, state = step(np.array([prev], dtype=np.int64), state)
            total += float(_log_probs(out_lp, 1, "score_sequence")[0, tok])
            prev = tok
    return total


__all__ = [
    "BeamTrace",
    "Hypothesis",
    "TraceStep",
    "beam_search",
    "filter_log_probs",
    "gather_state",
    "greedy_search",
    "print_trace",
    "sample",
    "score_sequence",
]
