"""BLEU against sacrebleu (the oracle): the 13a tokenizer, corpus and sentence scores with
every option, on hand-picked hard cases and on random text."""

import math

import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from axon.train.bleu import bleu_from_stats, corpus_bleu, sentence_bleu, tokenize_13a

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)

HYPS = [
    "The cat sat on the mat.",
    "Il était une fois, à Paris, un garçon très âgé qui mangeait 3.14 crêpes.",
    "",  # an empty hypothesis
    'Hello &amp; goodbye &lt;b&gt; in 1990-2000 "quoted" (yes)!',
    "short",  # far shorter than its references: brevity penalty
    "L'été dernier, nous sommes allés à la mer; c'était génial...",
    "Prices rose 1,000% -- e.g., in the U.S. -- since 2001-02.",
    "THE CAT SAT ON THE MAT",
]
REFS_A = [
    "The cat is on the mat.",
    "Il était une fois à Paris un garçon très âgé qui mangeait 3,14 crêpes.",
    "Nothing was said.",
    'Hello & goodbye <b> in 1990 - 2000 "quoted" ( yes ) !',
    "this is a much longer reference sentence",
    "L'été dernier nous sommes allés à la mer, c'était génial.",
    "Prices rose 1,000 % -- e.g. in the U.S. -- since 2001-02.",
    "the cat sat on the mat",
]
REFS_B = [
    "A cat sat on a mat!",
    None,  # this sentence has one reference only
    "",
    "hello and goodbye",
    "short one",
    "L'été passé, on est allé à la mer ; c'était génial...",
    "Since 2001-02, prices have risen 1000% in the U.S., e.g.",
    "The cat sat on the mat.",
]


def assert_same(ours, theirs):
    assert ours.score == pytest.approx(theirs.score, rel=1e-12, abs=1e-12)
    assert ours.precisions == pytest.approx(theirs.precisions, rel=1e-12, abs=1e-12)
    assert ours.counts == theirs.counts and ours.totals == theirs.totals
    assert ours.bp == pytest.approx(theirs.bp, rel=1e-12)
    assert (ours.sys_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    assert str(ours) == str(theirs)
    assert not math.isnan(ours.score)


# ---------------------------------------------------------------------------- tokenizer
TRICKY = [
    *HYPS,
    *[r for r in REFS_A + REFS_B if r],
    "a..b",
    "x,.y",
    "1.2.3",
    "e.g., U.S.A.",
    "1-2-3 a-b -5 5-",
    "it's",
    "3,",
    ",3",
    ".5",
    "<skipped>foo-\nbar\nbaz",
    "&amp;lt; &quot;&gt;",
    "&amp;quot;",
    "&amp;amp;gt;",
    "[brackets]{braces}~^_`|\\",
    "tab\tand  spaces ",
    "«guillemets» — tiret – ok",
    "12:30, 4/5 @home #tag $5 %",
]


@pytest.mark.parametrize("line", TRICKY)
def test_tokenize_13a_matches_sacrebleu(line):
    assert tokenize_13a(line) == Tokenizer13a()(line)


PIECES = [
    *"ab Z9 0.,-'\"&;:!?()/[]{}<>@#$%^_`~|\\\n\téàçÉ«»—",
    "&amp;",
    "&quot;",
    "&lt;",
    "&gt;",
    "<skipped>",
    "quot;",
    "amp;",
    "lt;",
    "-\n",
    "3.14",
    "1,000",
]
TEXT = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


@SETTINGS
@given(TEXT)
def test_tokenize_13a_matches_sacrebleu_on_random_text(line):
    assert tokenize_13a(line) == Tokenizer13a()(line)


# ------------------------------------------------------------------------------ corpus
OPTIONS = [
    {},
    {"lowercase": True},
    {"smooth_method": "floor"},
    {"smooth_method": "floor", "smooth_value": 0.5},
    {"smooth_method": "add-k"},
    {"smooth_method": "none"},
    {"use_effective_order": True},
    {"tokenize": "none"},
]


@pytest.mark.parametrize(
    "options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default"
)
@pytest.mark.parametrize("streams", ["one", "two"])
def test_corpus_bleu_matches_sacrebleu(options, streams):
    refs = [REFS_A] if streams == "one" else [REFS_A, REFS_B]
    assert_same(corpus_bleu(HYPS, refs, **options), sacrebleu.corpus_bleu(HYPS, refs, **options))


@pytest.mark.parametrize("i", range(len(HYPS)))
@pytest.mark.parametrize(
    "options", [{}, {"lowercase": True}, {"use_effective_order": False}, {"smooth_method": "floor"}]
)
def test_sentence_bleu_matches_sacrebleu(i, options):
    refs = [r for r in (REFS_A[i], REFS_B[i]) if r is not None]
    assert_same(
        sentence_bleu(HYPS[i], refs, **options), sacrebleu.sentence_bleu(HYPS[i], refs, **options)
    )


def test_brevity_penalty_and_perfect_match():
    short = corpus_bleu(["the cat"], [["the cat sat on the mat"]])
    assert short.bp == pytest.approx(math.exp(1 - 6 / 2)) and short.ratio == pytest.approx(1 / 3)
    perfect = corpus_bleu(REFS_A, [REFS_A])
    assert perfect.score == pytest.approx(100.0) and perfect.bp == 1.0
    empty = corpus_bleu([""], [["a reference"]])
    assert empty.score == 0.0 and empty.bp == 0.0 and empty.sys_len == 0


def test_counts_clip_at_the_most_frequent_reference():
    """'the' counts at most twice (its count in the second reference), not 1 + 2."""
    hyps, refs = ["the the the the"], [["the cat"], ["the the dog"]]
    ours = corpus_bleu(hyps, refs)
    assert ours.counts[0] == 2 and ours.totals[0] == 4
    assert_same(ours, sacrebleu.corpus_bleu(hyps, refs))


def test_trailing_whitespace_is_stripped_before_tokenizing():
    """'end-\\n' loses its newline first, so the hyphen stays (no hyphenated line break)."""
    hyps, refs = ["the very end-\n", "a b c-\n d-"], [["the very end -", "a b cd -"]]
    ours = corpus_bleu(hyps, refs)
    assert ours.sys_len == 3 + 4  # 'end-' stays one token; 'c-\n d-' becomes 'c d-'
    assert ours.counts[0] == 2 + 2  # so 'end-' matches nothing in the reference
    assert_same(ours, sacrebleu.corpus_bleu(hyps, refs))


def test_hand_computed_score():
    """p1 = 3/4, p2 = 2/3, p3 = 1/2, no 4-gram match: exp smoothing gives p4 = 1 / (2 * 1)."""
    got = corpus_bleu(["a b c d"], [["a b c e"]])
    expected = 100 * math.exp(
        (math.log(3 / 4) + math.log(2 / 3) + math.log(1 / 2) + math.log(1 / 2)) / 4
    )
    assert got.score == pytest.approx(expected, rel=1e-12)
    assert got.counts == [3, 2, 1, 0] and got.totals == [4, 3, 2, 1]
    again = bleu_from_stats(got.counts, got.totals, got.sys_len, got.ref_len)
    assert again.score == got.score


WORDS = [
    "the",
    "The",
    "cat",
    "chat",
    "été",
    "L'été",
    "à",
    "mat",
    ".",
    ",",
    "!",
    "?",
    "(",
    ")",
    "3.14",
    "1,000",
    "U.S.",
    "e.g.,",
    "1990-2000",
    "a-b",
    "&amp;",
    '"',
    "sat",
]
SENT = st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join)


@SETTINGS
@given(
    st.integers(1, 5).flatmap(
        lambda n: st.tuples(
            st.lists(SENT, min_size=n, max_size=n),
            st.lists(
                st.lists(st.one_of(SENT, st.none()), min_size=n, max_size=n), min_size=1, max_size=3
            ),
        )
    ),
    st.booleans(),
    st.sampled_from(["exp", "floor", "add-k", "none"]),
)
def test_random_corpora_match_sacrebleu(corpus, lowercase, smooth):
    hyps, refs = corpus
    refs[0] = [r if r is not None else "x" for r in refs[0]]  # at least one reference each
    ours = corpus_bleu(hyps, refs, smooth_method=smooth, lowercase=lowercase)
    assert_same(ours, sacrebleu.corpus_bleu(hyps, refs, smooth_method=smooth, lowercase=lowercase))
    ref0 = [refs[s][0] for s in range(len(refs)) if refs[s][0] is not None]
    assert_same(
        sentence_bleu(hyps[0], ref0, lowercase=lowercase),
        sacrebleu.sentence_bleu(hyps[0], ref0, lowercase=lowercase),
    )


# ------------------------------------------------------------------------------- errors
def test_bad_inputs_raise_clear_errors():
    with pytest.raises(TypeError, match="reference streams"):
        corpus_bleu(["a b"], ["a b"])
    with pytest.raises(ValueError, match="stream 1 has 1 sentences but there are 2"):
        corpus_bleu(["a", "b"], [["a", "b"], ["a"]])
    with pytest.raises(ValueError, match="no reference"):
        corpus_bleu(["a"], [[None]])
    with pytest.raises(ValueError, match="smooth_method"):
        corpus_bleu(["a"], [["a"]], smooth_method="nope")
    with pytest.raises(ValueError, match="tokenize"):
        corpus_bleu(["a"], [["a"]], tokenize="intl")
    with pytest.raises(TypeError, match="hypothesis 0"):
        corpus_bleu([None], [["a"]])
    with pytest.raises(TypeError, match="list of strings"):
        sentence_bleu("a", "a")
