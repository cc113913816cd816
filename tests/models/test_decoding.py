"""Decoding: greedy search, beam search and sampling on hand-made and random Markov chains,
checked against brute-force enumeration, re-scoring and independently computed sets."""

import itertools
from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axon
from axon import nn
from axon.models.decoding import (
    BeamTrace,
    beam_search,
    filter_log_probs,
    gather_state,
    greedy_search,
    print_trace,
    sample,
    score_sequence,
)

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)
EOS = 0


# ----------------------------------------------------------------------------- toy models
def chain_step(table):
    """A first-order Markov chain: row ``prev`` of ``table`` (log-probs) scores the next token."""
    with np.errstate(divide="ignore"):  # impossible transitions: log 0 = -inf
        log_table = np.log(np.asarray(table, dtype=np.float64))

    def step(tokens, state):
        return log_table[tokens], state

    return step


def random_chains(seed, batch, vocab, conc=1.0):
    """One random second-order chain per batch item: log P[item, prev2, prev1, next].
    Token ``vocab`` is bos; token 0 is eos."""
    rng = np.random.default_rng(seed)
    with np.errstate(divide="ignore"):
        return np.log(rng.dirichlet(np.full(vocab, conc), size=(batch, vocab + 1, vocab + 1)))


def chains_step(log_p):
    """The state carries each row's batch item and previous token, so it must be reordered
    along with the beams for the scores to come out right."""

    def step(tokens, state):
        return log_p[state["item"], state["prev"], tokens], {"item": state["item"], "prev": tokens}

    return step


def chains_state(batch, bos):
    return {"item": np.arange(batch), "prev": np.full(batch, bos)}


def brute_force(log_p, item, vocab, max_len, alpha):
    """Every hypothesis beam search can return, scored: eos-terminated sequences up to
    ``max_len`` tokens and the unfinished ones of exactly ``max_len``; best first."""
    bos, out = vocab, []
    for n in range(max_len + 1):
        for body in itertools.product(range(1, vocab), repeat=n):
            for finished in (True, False):
                if (finished and n == max_len) or (not finished and n < max_len):
                    continue
                seq = [*body, EOS] if finished else list(body)
                p2 = p1 = bos
                lp = 0.0
                for tok in seq:
                    lp += log_p[item, p2, p1, tok]
                    p2, p1 = p1, tok
                out.append((lp / len(seq) ** alpha, list(body), finished, lp))
    return sorted(out, key=lambda h: -h[0])


# A chain where greedy's first choice (a: 0.6) leads to a worse sequence than b then eos.
#        eos    a     b     c     d
HAND = [
    [0.2, 0.2, 0.2, 0.2, 0.2],  # after eos (unused)
    [0.30, 0.0, 0.0, 0.36, 0.34],  # after a
    [0.90, 0.0, 0.0, 0.05, 0.05],  # after b
    [1.0, 0.0, 0.0, 0.0, 0.0],  # after c
    [1.0, 0.0, 0.0, 0.0, 0.0],  # after d
    [0.0, 0.6, 0.4, 0.0, 0.0],  # after bos (token 5)
]
A, B, C, D, BOS = 1, 2, 3, 4, 5


# ----------------------------------------------------------------------------- greedy / beam
def test_wide_beam_finds_the_sequence_greedy_misses():
    step = chain_step(HAND)
    (g,) = greedy_search(step, BOS, EOS, max_len=5)
    assert g.tokens == [A, C] and g.finished
    assert g.log_prob == pytest.approx(np.log(0.6 * 0.36))
    (best,) = beam_search(step, BOS, EOS, max_len=5, beam_width=2, length_penalty=0.0)[0]
    assert best.tokens == [B] and best.finished
    assert best.log_prob == pytest.approx(np.log(0.4 * 0.9))
    assert best.score > g.log_prob


def test_beam_can_score_below_greedy_when_it_prunes_greedys_path():
    """The classic caveat: a narrow beam is no bound on greedy. Here greedy's a then eos
    (0.55 * 0.34) ranks third at step 2, behind b's two children (0.45 * 0.5), so a
    width-2 beam drops it, and b's continuations turn out poor. So 'beam >= greedy' holds
    for wide (exact) beams only, which test_wide_beam_equals_brute_force checks."""
    #        eos   a     b     x     y
    table = [
        [0.2, 0.2, 0.2, 0.2, 0.2],  # after eos (unused)
        [0.34, 0.0, 0.0, 0.33, 0.33],  # after a: greedy ends here
        [0.0, 0.0, 0.0, 0.5, 0.5],  # after b
        [0.05, 0.0, 0.0, 0.475, 0.475],  # after x: poor ending
        [0.05, 0.0, 0.0, 0.475, 0.475],  # after y: poor ending
        [0.0, 0.55, 0.45, 0.0, 0.0],  # after bos
    ]
    step = chain_step(table)
    (g,) = greedy_search(step, 5, EOS, max_len=3)
    assert g.tokens == [1] and g.log_prob == pytest.approx(np.log(0.55 * 0.34))
    (b2,) = beam_search(step, 5, EOS, max_len=3, beam_width=2, length_penalty=0.0)[0]
    assert b2.score < g.log_prob
    (b3,) = beam_search(step, 5, EOS, max_len=3, beam_width=3, length_penalty=0.0)[0]
    assert b3.tokens == g.tokens and b3.score == pytest.approx(g.log_prob)


@SETTINGS
@given(st.integers(0, 10_000), st.integers(2, 5), st.integers(1, 5), st.integers(1, 3))
def test_beam_width_one_is_greedy(seed, vocab, max_len, batch):
    log_p = random_chains(seed, batch, vocab, conc=0.5)
    step = chains_step(log_p)
    greedy = greedy_search(step, vocab, EOS, max_len, state=chains_state(batch, vocab))
    beams = beam_search(
        step,
        vocab,
        EOS,
        max_len,
        beam_width=1,
        length_penalty=0.0,
        state=chains_state(batch, vocab),
    )
    for g, (b,) in zip(greedy, beams, strict=True):
        assert b.tokens == g.tokens and b.finished == g.finished
        assert b.log_prob == pytest.approx(g.log_prob, abs=1e-12)


@SETTINGS
@given(
    st.integers(0, 10_000),
    st.integers(2, 4),
    st.integers(1, 4),
    st.integers(1, 3),
    st.sampled_from([0.0, 0.5, 1.0, 2.0]),
)
def test_wide_beam_equals_brute_force(seed, vocab, max_len, batch, alpha):
    """A beam wider than every candidate set is exact: its n-best list is the brute-force
    top n, and its best never scores below greedy."""
    log_p = random_chains(seed, batch, vocab)
    step = chains_step(log_p)
    width = vocab * (vocab - 1) ** (max_len - 1)  # every candidate ranks within the beam
    n_best = min(3, width)
    result = beam_search(
        step,
        vocab,
        EOS,
        max_len,
        beam_width=width,
        length_penalty=alpha,
        n_best=n_best,
        state=chains_state(batch, vocab),
    )
    greedy = greedy_search(step, vocab, EOS, max_len, state=chains_state(batch, vocab))
    for item in range(batch):
        truth = brute_force(log_p, item, vocab, max_len, alpha)[:n_best]
        got = result[item]
        assert len(got) == len(truth)
        for h, (score, body, finished, lp) in zip(got, truth, strict=True):
            assert h.tokens == body and h.finished == finished
            assert h.score == pytest.approx(score, abs=1e-9)
            assert h.log_prob == pytest.approx(lp, abs=1e-9)
        g = greedy[item]
        assert got[0].score >= g.log_prob / g.length**alpha - 1e-9


@SETTINGS
@given(
    st.integers(0, 10_000),
    st.integers(2, 5),
    st.integers(1, 6),
    st.integers(1, 4),
    st.sampled_from([0.0, 0.7, 1.0]),
)
def test_beam_never_loses_greedys_hypothesis_once_found(seed, vocab, max_len, width, alpha):
    """Whenever greedy's hypothesis is among those beam search kept (trace), the returned
    best scores at least as well; the n-best list is sorted and consistent."""
    log_p = random_chains(seed, 1, vocab, conc=0.5)
    step = chains_step(log_p)
    trace = BeamTrace()
    n_best = min(2, width)
    hyps = beam_search(
        step,
        vocab,
        EOS,
        max_len,
        beam_width=width,
        length_penalty=alpha,
        n_best=n_best,
        state=chains_state(1, vocab),
        trace=trace,
    )[0]
    scores = [h.score for h in hyps]
    assert scores == sorted(scores, reverse=True)
    assert len({(tuple(h.tokens), h.finished) for h in hyps}) == len(hyps)
    for h in hyps:
        assert h.score == pytest.approx(h.log_prob / h.length**alpha, abs=1e-12)
    (g,) = greedy_search(step, vocab, EOS, max_len, state=chains_state(1, vocab))
    kept = [(h.tokens, h.finished) for s in trace.steps for h in s.finished]
    kept += [(ids, False) for ids, _ in trace.steps[-1].beams if len(ids) == max_len]
    if (g.tokens, g.finished) in kept:
        assert hyps[0].score >= g.log_prob / g.length**alpha - 1e-12


def test_n_best_sorted_rescored_and_distinct():
    log_p = random_chains(3, 2, 5)
    step = chains_step(log_p)
    result = beam_search(
        step, 5, EOS, 6, beam_width=4, length_penalty=0.7, n_best=4, state=chains_state(2, 5)
    )
    for item, hyps in enumerate(result):
        assert len(hyps) == 4
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        assert len({tuple(h.tokens) for h in hyps}) == 4
        one = {"item": np.array([item]), "prev": np.array([5])}
        for h in hyps:
            lp = score_sequence(step, 5, h.tokens, state=dict(one), eos=EOS if h.finished else None)
            assert h.log_prob == pytest.approx(lp, abs=1e-12)
            assert h.score == pytest.approx(lp / h.length**0.7, abs=1e-12)


def test_batch_matches_items_decoded_alone():
    """Items that finish early leave the batch; the others must be unaffected."""
    log_p = random_chains(11, 4, 4, conc=0.4)
    step = chains_step(log_p)
    together = beam_search(step, 4, EOS, 7, beam_width=3, n_best=2, state=chains_state(4, 4))
    greedy = greedy_search(step, 4, EOS, 7, state=chains_state(4, 4))
    for item in range(4):
        alone = {"item": np.array([item]), "prev": np.array([4])}
        assert (
            beam_search(step, 4, EOS, 7, beam_width=3, n_best=2, state=dict(alone))[0]
            == together[item]
        )
        assert greedy_search(step, 4, EOS, 7, state=dict(alone))[0] == greedy[item]


# ------------------------------------------------------------------------------- eos
def test_eos_first_gives_an_empty_finished_hypothesis():
    table = [[1.0, 0.0, 0.0]] * 3
    step = chain_step(table)
    (g,) = greedy_search(step, 2, EOS, 5)
    assert g.tokens == [] and g.finished and g.log_prob == 0.0 and g.length == 1
    (b,) = beam_search(step, 2, EOS, 5, beam_width=3)[0]
    assert b.tokens == [] and b.finished and b.log_prob == 0.0


def test_max_len_cuts_unfinished_hypotheses_and_eos_none_runs_to_the_end():
    table = [[0.1, 0.9, 0.0], [0.1, 0.9, 0.0], [0.0, 1.0, 0.0]]  # 1 is likelier than eos
    step = chain_step(table)
    (g,) = greedy_search(step, 2, EOS, 4)
    assert g.tokens == [1, 1, 1, 1] and not g.finished
    assert g.log_prob == pytest.approx(3 * np.log(0.9))
    (g,) = greedy_search(step, 2, None, 3)
    assert g.tokens == [1, 1, 1] and not g.finished
    hyps = beam_search(step, 2, EOS, 3, beam_width=2, n_best=2, length_penalty=0.0)[0]
    assert hyps[0].tokens == [1, 1, 1] and not hyps[0].finished
    assert hyps[1].tokens == [1] and hyps[1].finished  # 0.9 * 0.1 beats 0.81 * 0.1 and 0.729
    (b,) = beam_search(step, 2, None, 3, beam_width=2)[0]
    assert b.tokens == [1, 1, 1] and not b.finished and b.length == 3


def test_search_stops_once_no_open_beam_can_win():
    """After b then eos (0.36) no open beam can catch up: one more step call, not max_len."""
    calls = []
    step = chain_step(HAND)

    def counting(tokens, state):
        calls.append(len(tokens))
        return step(tokens, state)

    beam_search(counting, BOS, EOS, max_len=50, beam_width=2, length_penalty=0.0)
    assert calls == [2, 2]  # one call per step for all beams; stopped after step 2


def test_search_goes_on_while_a_longer_ending_could_still_win():
    """With a length penalty an open beam's best hope is its longest ending: eos at once
    scores log 0.6 = -0.51; the open beam's log 0.4 / 2**0.5 = -0.65 looks worse, but the
    certain chain 1 -> 2 -> ... -> 7 -> eos ends at length 8 with log 0.4 / 8**0.5 = -0.32."""
    table = np.zeros((9, 8))
    table[0, 0] = 1.0  # after eos (unused)
    for tok in range(1, 7):
        table[tok, tok + 1] = 1.0
    table[7, EOS] = 1.0
    table[8, [EOS, 1]] = [0.6, 0.4]  # after bos (8)
    (best,) = beam_search(chain_step(table), 8, EOS, 8, beam_width=2, length_penalty=0.5)[0]
    assert best.tokens == list(range(1, 8)) and best.finished
    assert best.score == pytest.approx(np.log(0.4) / np.sqrt(8))


def test_length_penalty_switches_the_choice_where_the_formula_says():
    #        eos    a     b
    table = [
        [1.0, 0.0, 0.0],
        [0.05, 0.0, 0.95],  # after a
        [0.95, 0.0, 0.05],  # after b
        [0.5, 0.5, 0.0],  # after bos
    ]
    step = chain_step(table)
    short, long = np.log(0.5), np.log(0.5 * 0.95 * 0.95)  # [] (length 1), [a, b] (length 3)
    switch = np.log(long / short) / np.log(3)  # short / 1**alpha == long / 3**alpha

    def best(alpha):
        return beam_search(step, 3, EOS, 6, beam_width=3, length_penalty=alpha)[0][0]

    assert best(0.0).tokens == [] and best(0.0).score == pytest.approx(short)
    assert best(switch - 0.01).tokens == []
    assert best(switch + 0.01).tokens == [1, 2]
    assert best(1.0).tokens == [1, 2] and best(1.0).score == pytest.approx(long / 3)


# ----------------------------------------------------------------------------- sampling
def _allowed(probs, top_k=None, top_p=None, temperature=1.0):
    """The tokens a filtered sampler may draw, computed one row at a time in plain Python."""
    out = []
    for row in probs:
        p = row ** (1 / temperature)
        p = p / p.sum()
        keep = set(range(len(p)))
        if top_k is not None:
            kth = sorted(p, reverse=True)[top_k - 1]
            keep = {i for i in keep if p[i] >= kth}
        if top_p is not None:
            q = {i: p[i] for i in keep}
            total = sum(q.values())
            mass, nucleus = 0.0, set()
            for i in sorted(q, key=lambda i: (-q[i], i)):
                if mass >= top_p * total:
                    break
                nucleus.add(i)
                mass += q[i]
            keep = {i for i in keep if q[i] >= min(q[j] for j in nucleus)}  # with ties
        out.append(keep)
    return out


@pytest.mark.parametrize(
    "top_k, top_p, temperature", [(2, None, 1.0), (None, 0.6, 1.0), (3, 0.5, 0.7), (None, 0.3, 2.0)]
)
def test_top_k_top_p_only_sample_allowed_tokens(top_k, top_p, temperature):
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.ones(6), size=7)  # 6 outputs, rows for tokens 0..5 and bos 6
    allowed = _allowed(probs, top_k, top_p, temperature)
    step = chain_step(probs)
    hyps = sample(
        step, 6, EOS, 8, temperature=temperature, top_k=top_k, top_p=top_p, batch_size=300, rng=1
    )
    seen = 0
    for h in hyps:
        seq = [*h.tokens, *([EOS] if h.finished else [])]
        prev = 6
        for tok in seq:
            assert tok in allowed[prev]
            prev, seen = tok, seen + 1
    assert seen > 600
    assert any(len(a) > 1 for a in allowed)


def test_sample_frequencies_follow_the_tempered_filtered_distribution():
    p = np.array([0.05, 0.4, 0.3, 0.15, 0.1])
    step = chain_step(np.tile(p, (6, 1)))
    n = 20_000
    for kwargs, target in [
        ({}, p),
        ({"temperature": 0.5}, p**2 / (p**2).sum()),
        ({"top_k": 2}, np.array([0, 0.4, 0.3, 0, 0]) / 0.7),
        ({"top_p": 0.8}, np.array([0, 0.4, 0.3, 0.15, 0]) / 0.85),
    ]:
        hyps = sample(step, 5, None, 1, batch_size=n, rng=0, **kwargs)
        freq = np.bincount([h.tokens[0] for h in hyps], minlength=5) / n
        assert np.all(np.abs(freq - target) < 4 * np.sqrt(target * (1 - target) / n) + 1e-12)
        for h in hyps[:50]:  # log_prob is the model's, before temperature and filtering
            assert h.log_prob == pytest.approx(np.log(p[h.tokens[0]]))


def test_seeds_reproduce():
    step = chain_step(np.random.default_rng(2).dirichlet(np.ones(5), size=6))

    def draw(rng):
        return [h.tokens for h in sample(step, 5, EOS, 10, batch_size=20, rng=rng)]

    assert draw(3) == draw(3)
    assert draw(3) != draw(4)
    assert draw(np.random.default_rng(3)) == draw(3)
    axon.manual_seed(7)
    first = draw(None)
    axon.manual_seed(7)
    assert draw(None) == first


def test_filter_log_probs_keeps_ties_and_the_top_token():
    """Both filters keep tokens tied with the last one kept."""
    lp = np.log(np.array([[0.4, 0.2, 0.2, 0.1, 0.1]]))
    kept = np.isfinite(filter_log_probs(lp, top_k=2))
    assert kept.tolist() == [[True, True, True, False, False]]  # the tie at the 2nd place stays
    assert np.isfinite(filter_log_probs(lp, top_p=0.01)).tolist() == [[1, 0, 0, 0, 0]]
    assert np.isfinite(filter_log_probs(lp, top_p=0.5)).tolist() == [[1, 1, 1, 0, 0]]  # tie
    assert np.isfinite(filter_log_probs(lp, top_p=0.7)).tolist() == [[1, 1, 1, 0, 0]]
    assert np.isfinite(filter_log_probs(lp, top_p=0.9)).tolist() == [[1, 1, 1, 1, 1]]
    assert np.isfinite(filter_log_probs(lp, top_p=1.0)).all()
    with pytest.raises(ValueError, match="top_k"):
        filter_log_probs(lp, top_k=0)
    with pytest.raises(ValueError, match="top_p"):
        filter_log_probs(lp, top_p=1.5)
    with pytest.raises(ValueError, match="temperature"):
        sample(chain_step([[1.0]]), 0, None, 2, temperature=0.0)


# ------------------------------------------------------------------------------- trace
def test_trace_records_every_beam_and_prints_a_table(capsys):
    trace = BeamTrace()
    beam_search(
        chain_step(HAND), BOS, EOS, max_len=5, beam_width=2, length_penalty=0.0, trace=trace
    )
    first, second = trace.steps
    assert [ids for ids, _ in first.beams] == [[A], [B]]
    assert [lp for _, lp in first.beams] == pytest.approx([np.log(0.6), np.log(0.4)])
    assert first.finished == [] and not first.done
    assert [ids for ids, _ in second.beams] == [[A, C], [A, D]]
    assert [h.tokens for h in second.finished] == [[B]] and second.done

    words = ["<eos>", "a", "b", "c", "d", "<bos>"]
    table = trace.table(itos=words)
    assert "a c" in table and "b <eos>" in table and f"{np.log(0.4 * 0.9):.4f}" in table
    assert "search stopped after step 2" in table
    assert "a|d" in trace.table(decode=lambda ids: "|".join(words[i] for i in ids))
    print_trace(trace, itos=words)
    assert capsys.readouterr().out.strip() == table


# ----------------------------------------------------------------- a real model, Tensors
class TinyLM(nn.Module):
    def __init__(self, vocab=6, hidden=8):
        super().__init__()
        self.embed = nn.Embedding(vocab + 1, hidden)
        self.lstm = nn.LSTM(hidden, hidden)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, tokens, state=None):  # tokens (T, N) -> log-probs (T, N, V)
        h, state = self.lstm(self.embed(axon.tensor(tokens)), state)
        return nn.functional.log_softmax(self.out(h), dim=-1), state


def test_lstm_language_model_with_tensor_state():
    axon.manual_seed(0)
    model = TinyLM()
    model.eval()
    bos, grad_seen = 6, []

    def step(tokens, state):
        grad_seen.append(axon.is_grad_enabled())
        lp, state = model(tokens[None, :], state)
        return lp[0], state  # Tensors: (N, V) and (h, c) with the batch on axis 1

    h0 = (axon.zeros(1, 3, 8), axon.zeros(1, 3, 8))
    result = beam_search(
        step, bos, EOS, 6, beam_width=3, n_best=2, length_penalty=1.0, state=h0, batch_dim=1
    )
    assert not any(grad_seen)
    assert len(result) == 3  # the batch size comes from the state's axis 1
    for hyps in result:
        for h in hyps:  # re-score the whole sequence in one forward pass
            seq = [bos, *h.tokens, *([EOS] if h.finished else [])]
            lp, _ = model(np.array(seq)[:, None])
            expected = lp.detach().numpy()[np.arange(len(seq) - 1), 0, seq[1:]].sum()
            assert h.log_prob == pytest.approx(float(expected), abs=1e-5)
    greedy = greedy_search(step, bos, EOS, 6, state=h0, batch_dim=1)
    one = beam_search(step, bos, EOS, 6, beam_width=1, length_penalty=0.0, state=h0, batch_dim=1)
    assert [g.tokens for g in greedy] == [b[0].tokens for b in one]


# ------------------------------------------------------------------------------- errors
def test_gather_state_walks_containers():
    Pair = namedtuple("Pair", "h c")
    state = {
        "rnn": Pair(axon.tensor(np.arange(6.0).reshape(3, 2)), np.arange(3)),
        "pos": 4,
        "mem": [np.arange(12).reshape(3, 4)],
        "none": None,
    }
    idx = np.array([2, 2, 0])
    out = gather_state(state, idx)
    assert isinstance(out["rnn"], Pair) and out["pos"] == 4 and out["none"] is None
    assert isinstance(out["rnn"].h, axon.Tensor)
    assert out["rnn"].h.numpy()[:, 0].tolist() == [4.0, 4.0, 0.0]
    assert out["rnn"].c.tolist() == [2, 2, 0]
    assert out["mem"][0][:, 0].tolist() == [8, 8, 0]
    h = gather_state(axon.tensor(np.arange(6.0).reshape(1, 3, 2)), idx, batch_dim=1)
    assert h.numpy()[0, :, 0].tolist() == [4.0, 4.0, 0.0]
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        gather_state(np.arange(3), idx, batch_dim=1)


def test_bad_inputs_raise_clear_errors():
    step = chain_step(HAND)
    with pytest.raises(ValueError, match=r"shape \(1, 5\).*expected \(2, vocab_size\)"):
        greedy_search(lambda t, s: (np.log(np.full((1, 5), 0.2)), s), BOS, EOS, 3, batch_size=2)
    with pytest.raises(ValueError, match="log-probabilities"):
        greedy_search(lambda t, s: (np.ones((1, 5)), s), BOS, EOS, 3)
    with pytest.raises(ValueError, match="NaN"):
        beam_search(lambda t, s: (np.full((len(t), 5), np.nan), s), BOS, EOS, 3)
    with pytest.raises(ValueError, match="n_best"):
        beam_search(step, BOS, EOS, 3, beam_width=2, n_best=3)
    with pytest.raises(ValueError, match="max_len"):
        beam_search(step, BOS, EOS, 0)
    with pytest.raises(ValueError, match="batch_size=2 but the state"):
        greedy_search(step, BOS, EOS, 3, state=np.zeros((3, 1)), batch_size=2)
