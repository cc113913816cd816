"""BLEU (Papineni et al., 2002) as sacrebleu computes it, on detokenised text.

    BLEU = BP * exp(sum_n log p_n / N),   BP = exp(1 - r / c) if c < r else 1

``p_n`` is the clipped n-gram precision for n = 1..N (N = 4): the hypothesis n-grams that
also occur in a reference, each counted at most as often as in the reference where it is
most frequent, over all hypothesis n-grams, summed over the corpus. ``c`` is the total
hypothesis length and ``r`` the total of, per sentence, the reference length closest to
the hypothesis length (the shorter on ties). Scores are in percent, like sacrebleu.

Text is first tokenised like WMT's ``mteval-v13a.pl`` (:func:`tokenize_13a`), so the
numbers match ``sacrebleu.corpus_bleu`` / ``sentence_bleu`` with the same options.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# --------------------------------------------------------------------------- tokenizer
# The mteval-v13a rules, in order. 1: every ASCII punctuation mark except the apostrophe,
# comma, hyphen and period becomes a token of its own.
_SPLIT_ALWAYS = "".join(c for c in string.punctuation if c not in "',-.")
_RULES = [
    (re.compile("([" + re.escape(_SPLIT_ALWAYS) + "])"), r" \1 "),
    # 2: a period or comma after anything but a digit is split off...
    (re.compile(r"([^0-9])([.,])"), r"\1 \2 "),
    # 3: ...and so is one followed by anything but a digit (3.14 and 1,000 stay whole)
    (re.compile(r"([.,])([^0-9])"), r" \1 \2"),
    # 4: a hyphen after a digit is split off (dates and ranges: 1990-2000)
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]
_ENTITIES = (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))


def tokenize_13a(line: str) -> str:
    """Tokenise one detokenised sentence like ``mteval-v13a.pl`` (sacrebleu's default).

    Removes ``<skipped>`` markers and hyphenated line breaks, turns newlines into spaces,
    unescapes the four HTML entities ``&quot; &amp; &lt; &gt;`` (in that order), then
    applies the rules above to the line padded with spaces and collapses whitespace.
    Returns the tokens joined by single spaces.
    """
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        for entity, char in _ENTITIES:
            line = line.replace(entity, char)
    line = f" {line} "
    for pattern, repl in _RULES:
        line = pattern.sub(repl, line)
    return " ".join(line.split())


_TOKENIZERS: dict[str, Callable[[str], str]] = {"13a": tokenize_13a, "none": lambda s: s}


# ------------------------------------------------------------------------------ score
@dataclass
class BLEUScore:
    """A BLEU score and the statistics it comes from (sacrebleu's ``BLEUScore`` fields).

    Attributes:
        score: BLEU in percent (0-100).
        counts: matched (clipped) n-gram counts for n = 1..N.
        totals: hypothesis n-gram counts for n = 1..N.
        precisions: the n-gram precisions in percent, after smoothing.
        bp: the brevity penalty.
        sys_len: total hypothesis length in tokens. ref_len: total effective reference length.
    """

    score: float
    counts: list
    totals: list
    precisions: list[float]
    bp: float
    sys_len: int
    ref_len: int

    @property
    def ratio(self) -> float:
        """Hypothesis length over reference length (0 without reference tokens)."""
        return self.sys_len / self.ref_len if self.ref_len else 0.0

    def format(self, width: int = 2) -> str:
        """sacrebleu's one-line summary, e.g.
        ``BLEU = 41.07 75.0/50.0/33.3/25.0 (BP = 1.000 ratio = 1.000 hyp_len = 8 ref_len = 8)``."""
        prec = "/".join(f"{p:.1f}" for p in self.precisions)
        return (
            f"BLEU = {self.score:.{width}f} {prec} (BP = {self.bp:.3f} ratio = {self.ratio:.3f} "
            f"hyp_len = {self.sys_len:d} ref_len = {self.ref_len:d})"
        )

    def __str__(self) -> str:
        return self.format()


_SMOOTH_DEFAULTS = {"none": None, "floor": 0.1, "add-k": 1, "exp": None}


def _ngrams(tokens: list[str], max_order: int) -> Counter:
    """Counts of every n-gram (as a tuple of tokens) for n = 1..max_order."""
    return Counter(
        tuple(tokens[i : i + n])
        for n in range(1, max_order + 1)
        for i in range(len(tokens) - n + 1)
    )


def _closest(hyp_len: int, ref_lens: list[int]) -> int:
    """The reference length nearest ``hyp_len``; the shorter of two equally near."""
    return min(ref_lens, key=lambda r: (abs(r - hyp_len), r))


def bleu_from_stats(
    counts: Sequence,
    totals: Sequence,
    sys_len: int,
    ref_len: int,
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    use_effective_order: bool = False,
) -> BLEUScore:
    """BLEU from corpus statistics (matched and total n-gram counts, lengths).

    Brevity penalty: ``exp(1 - ref_len / sys_len)`` when the hypotheses are shorter (0 for
    an empty output), else 1. No matched n-gram at all gives 0. Otherwise the precisions
    are smoothed for orders without a match (Chen & Cherry, 2014):

    - ``"exp"`` (default, NIST's mteval): the i-th order without a match gets
      ``100 / (2**i * total)``;
    - ``"floor"``: ``100 * smooth_value / total`` (default value 0.1);
    - ``"add-k"``: adds ``smooth_value`` (default 1) to matched and total counts from
      bigrams on;
    - ``"none"``: a zero precision makes BLEU 0.

    The geometric mean stops at the first order without any hypothesis n-gram; with
    ``use_effective_order`` it averages only the orders up to there (for sentence BLEU),
    otherwise the missing orders count as zero precision.
    """
    if smooth_method not in _SMOOTH_DEFAULTS:
        raise ValueError(
            f"unknown smooth_method {smooth_method!r}; choose one of {list(_SMOOTH_DEFAULTS)}"
        )
    if smooth_value is None:
        smooth_value = _SMOOTH_DEFAULTS[smooth_method]
    counts, totals = list(counts), list(totals)
    order = len(counts)
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    precisions = [0.0] * order
    if not any(counts):
        return BLEUScore(0.0, counts, totals, precisions, bp, sys_len, ref_len)

    used, halvings = order, 0
    for n in range(order):
        if smooth_method == "add-k" and n > 0:
            counts[n] += smooth_value
            totals[n] += smooth_value
        if totals[n] == 0:
            break
        if use_effective_order:
            used = n + 1
        if counts[n] > 0:
            precisions[n] = 100.0 * counts[n] / totals[n]
        elif smooth_method == "exp":
            halvings += 1
            precisions[n] = 100.0 / (2.0**halvings * totals[n])
        elif smooth_method == "floor":
            precisions[n] = 100.0 * smooth_value / totals[n]

    if any(p == 0.0 for p in precisions[:used]):
        score = 0.0  # log 0: the geometric mean vanishes
    else:
        score = bp * math.exp(sum(math.log(p) for p in precisions[:used]) / used)
    return BLEUScore(score, counts, totals, precisions, bp, sys_len, ref_len)


def corpus_bleu(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str | None]],
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    lowercase: bool = False,
    tokenize: str | Callable[[str], str] = "13a",
    use_effective_order: bool = False,
    max_ngram_order: int = 4,
) -> BLEUScore:
    """Corpus BLEU of ``hypotheses`` against one or more reference streams.

    ``references`` is a list of streams, each holding one reference per hypothesis:
    ``corpus_bleu(hyps, [refs])`` for one reference, ``[refs_a, refs_b]`` for two. A
    ``None`` reference is skipped (a varying number of references per sentence).
    Sentences are lowercased if asked, stripped of trailing whitespace and tokenised by
    ``tokenize`` (``"13a"``, ``"none"`` or a function ``str -> str``); statistics are
    summed over the corpus before :func:`bleu_from_stats`.
    """
    if isinstance(hypotheses, str) or not isinstance(hypotheses, Sequence):
        raise TypeError("corpus_bleu: hypotheses must be a list of strings")
    if isinstance(references, str) or not references or isinstance(references[0], str):
        raise TypeError(
            "corpus_bleu: references must be a list of reference streams, each a list with "
            "one string per hypothesis (e.g. [refs] for a single reference)"
        )
    for s, stream in enumerate(references):
        if len(stream) != len(hypotheses):
            raise ValueError(
                f"corpus_bleu: reference stream {s} has {len(stream)} sentences but there "
                f"are {len(hypotheses)} hypotheses"
            )
    tok = _TOKENIZERS.get(tokenize) if isinstance(tokenize, str) else tokenize
    if tok is None:
        raise ValueError(
            f"corpus_bleu: unknown tokenize {tokenize!r}; use '13a', 'none' or a function"
        )

    def words(sentence: str) -> list[str]:
        if lowercase:
            sentence = sentence.lower()
        return tok(sentence.rstrip()).split()

    order = max_ngram_order
    counts, totals = [0] * order, [0] * order
    sys_len = ref_len = 0
    for i, hyp in enumerate(hypotheses):
        if not isinstance(hyp, str):
            raise TypeError(f"corpus_bleu: hypothesis {i} is {type(hyp).__name__}, not a string")
        refs = [words(stream[i]) for stream in references if stream[i] is not None]
        if not refs:
            raise ValueError(f"corpus_bleu: sentence {i} has no reference (all None)")
        ref_counts: Counter = Counter()
        for ref in refs:  # the most times each n-gram occurs in one reference
            ref_counts |= _ngrams(ref, order)
        hyp_words = words(hyp)
        sys_len += len(hyp_words)
        ref_len += _closest(len(hyp_words), [len(r) for r in refs])
        for gram, c in _ngrams(hyp_words, order).items():
            totals[len(gram) - 1] += c
            counts[len(gram) - 1] += min(c, ref_counts[gram])
    return bleu_from_stats(
        counts, totals, sys_len, ref_len, smooth_method, smooth_value, use_effective_order
    )


def sentence_bleu(
    hypothesis: str,
    references: Sequence[str | None],
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    lowercase: bool = False,
    tokenize: str | Callable[[str], str] = "13a",
    use_effective_order: bool = True,
) -> BLEUScore:
    """BLEU of one ``hypothesis`` against its ``references`` (a list of strings), with the
    effective n-gram order on by default, as sacrebleu's ``sentence_bleu``."""
    if isinstance(references, str):
        raise TypeError("sentence_bleu: references must be a list of strings, e.g. [ref]")
    return corpus_bleu(
        [hypothesis],
        [[r] for r in references],
        smooth_method,
        smooth_value,
        lowercase,
        tokenize,
        use_effective_order,
    )


__all__ = ["BLEUScore", "bleu_from_stats", "corpus_bleu", "sentence_bleu", "tokenize_13a"]
