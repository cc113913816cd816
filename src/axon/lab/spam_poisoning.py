"""Poisoning a spam filter that learns from its user's feedback, and a defence (RONI).

A filter that retrains on the mail its user marks as spam can be attacked through that
feedback (Nelson et al. 2008, "Exploiting machine learning to subvert your spam filter").
The attacker sends spam padded with ordinary words: a real spam message followed by
``PAD`` words drawn from a dictionary of the ``DICTIONARY`` most frequent words of
ordinary (ham) messages, each in proportion to how often it occurs there. The user
rightly marks these as spam, and the filter learns that ordinary words are spam words:
in the multinomial model, P(w | spam) of every dictionary word w grows, so ordinary
mail scores higher on spam and legitimate messages start being filtered.

The data (the SMS Spam Collection, shuffled) is split four ways: the attacker's own
sample of messages (10%, the source of the dictionary and of the spam it pads), the
filter's training mail (50%), new mail the user labels as feedback (15%), and held-out
test mail (25%). The poison is counted as a fraction of the training set. For each
amount the filter is retrained on training + feedback + poison, and the false-positive
rate (ham classified as spam) on the held-out ham is measured.

The defence, RONI ("reject on negative impact"; Nelson et al. 2009): before the filter
learns from a feedback message, measure what learning it would do to mail the user
already trusts. ``MODELS`` calibration filters are each trained on a random sample of
the trusted training mail; the impact of a message (x, c) is the mean over them of the
change, when x is added to class c, in the spam log-odds of a quiz set of trusted ham,

    impact(x, c) = mean_q [jll_spam(q) - jll_ham(q)]  after  -  before

(for the multinomial model this is mean(q) · (log θ_spam - log θ_ham) + the log prior
ratio, so it is exact and cheap). A message is rejected when its impact exceeds the
99th percentile of the impacts of held-aside trusted messages of the same class. Each
padded spam drags hundreds of ordinary words into the spam class at once, so its impact
is far above any real message's; an attacker who spread the same words thinly over many
short messages would be harder to catch, which is RONI's known limit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from axon.models.naive_bayes import CountVectorizer, MultinomialNB

from .. import plot
from .registry import register
from .shared.base import Config, Result, heading, table
from .shared.sms import confusion, load_sms

SPLITS = dict(attacker=0.10, train=0.50, feedback=0.15)  # the test set is the rest (25%)
DICTIONARY = 500  # the attacker's dictionary: the most frequent words of ordinary messages
PAD = 200  # dictionary words added to each attack message
POISON = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.10)  # attack messages / training messages
MODELS, SAMPLE, QUIZ, HOLD_OUT = 5, 500, 200, 600  # RONI's calibration
QUANTILE = 0.99  # RONI rejects impacts above this quantile of trusted messages' impacts
QUICK_SIZE = 2_000


# ----------------------------------------------------------------------------- the attack
def attack_dictionary(
    texts: list[str], vec: CountVectorizer, size: int
) -> tuple[list[str], np.ndarray]:
    """The ``size`` most frequent words of ``texts`` (ties by the word) and their relative
    frequencies (summing to 1)."""
    counts = Counter(w for t in texts for w in vec.tokenize(t))
    common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]
    if not common:
        raise ValueError("the attacker's sample holds no words to build a dictionary from")
    words, freq = zip(*common, strict=True)
    freq = np.array(freq, dtype=np.float64)
    return list(words), freq / freq.sum()


def attack_messages(
    spams: list[str], words: list[str], freq: np.ndarray, n: int, pad: int, rng: np.random.Generator
) -> list[str]:
    """``n`` attack messages: each a random spam of the attacker's followed by ``pad``
    dictionary words drawn in proportion to ``freq``."""
    if not spams:
        raise ValueError("the attacker's sample holds no spam to pad")
    picks = rng.integers(len(spams), size=n)
    return [spams[i] + " " + " ".join(rng.choice(words, size=pad, p=freq)) for i in picks]


# ----------------------------------------------------------------------------- the defence
class RONI:
    """Reject On Negative Impact, for a multinomial Naive Bayes filter (see the module text).

    Args:
        X, y: the trusted training mail (counts (n, V), labels 1 spam / 0 ham).
        models: how many calibration filters.
        sample: trusted messages each calibration filter is trained on.
        quiz: trusted ham messages each filter's impact is measured on.
        hold_out: trusted messages kept out of the calibration, whose impacts set the
            per-class thresholds.
        quantile: the thresholds' quantile.
        alpha: the filter's smoothing.
        seed: the random samples' seed.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        models: int = MODELS,
        sample: int = SAMPLE,
        quiz: int = QUIZ,
        hold_out: int = HOLD_OUT,
        quantile: float = QUANTILE,
        alpha: float = 1.0,
        seed: int = 0,
    ) -> None:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(y))
        hold_out = min(hold_out, len(y) // 4)
        held, pool = order[:hold_out], order[hold_out:]
        sample = min(sample, len(pool) // 2)
        self.alpha = alpha
        self.models = []  # per calibration filter: (counts (2, V), class counts, quiz mean)
        for _ in range(models):
            p = rng.permutation(pool)
            s, rest = p[:sample], p[sample:]
            q = rest[y[rest] == 0][:quiz]
            if len(q) == 0 or len(np.unique(y[s])) < 2:
                raise ValueError(
                    f"RONI needs both classes in each sample of {sample} and "
                    "trusted ham to quiz; the trusted set is too small"
                )
            counts = np.stack([X[s][y[s] == c].sum(axis=0) for c in (0, 1)]).astype(np.float64)
            classes = np.array([(y[s] == c).sum() for c in (0, 1)], dtype=np.float64)
            self.models.append((counts, classes, X[q].mean(axis=0, dtype=np.float64)))
        impacts = self.impact(X[held], y[held])
        self.thresholds = np.array(
            [
                np.quantile(impacts[y[held] == c], quantile) if (y[held] == c).any() else np.inf
                for c in (0, 1)
            ]
        )

    def _log_odds(self, counts: np.ndarray, classes: np.ndarray, quiz: np.ndarray) -> np.ndarray:
        """The quiz ham's mean spam log-odds for a batch of filters: ``counts`` (m, 2, V),
        ``classes`` (m, 2) -> (m,)."""
        smoothed = counts + self.alpha
        log_theta = np.log(smoothed) - np.log(smoothed.sum(axis=2, keepdims=True))
        log_prior = np.log(classes) - np.log(classes.sum(axis=1, keepdims=True))
        return (log_theta[:, 1] - log_theta[:, 0]) @ quiz + log_prior[:, 1] - log_prior[:, 0]

    def impact(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """How much learning each message (X[i], y[i]) raises the spam log-odds of trusted
        ham, averaged over the calibration filters: shape (n,)."""
        X, y = np.asarray(X), np.asarray(y)
        onehot = np.stack([y == 0, y == 1], axis=1).astype(np.float64)  # (n, 2)
        out = np.zeros(len(y))
        for counts, classes, quiz in self.models:
            before = self._log_odds(counts[None], classes[None], quiz)[0]
            for s in range(0, len(y), 256):  # (m, 2, V) at a time
                with_x = counts[None] + onehot[s : s + 256, :, None] * X[s : s + 256, None, :]
                after = self._log_odds(with_x, classes[None] + onehot[s : s + 256], quiz)
                out[s : s + 256] += (after - before) / len(self.models)
        return out

    def accept(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """True for the messages whose impact is at most their class's threshold."""
        return self.impact(X, y) <= self.thresholds[np.asarray(y)]


# ----------------------------------------------------------------------------- the run
def retrain(parts: list[tuple[np.ndarray, np.ndarray]]) -> MultinomialNB:
    """A filter trained on the (X, y) parts in turn (``partial_fit``: counts add up)."""
    nb = MultinomialNB(alpha=1.0)
    for X, y in parts:
        if len(y):
            nb.partial_fit(X, y, classes=[0, 1])
    return nb


@register(
    "spam-poisoning",
    "Poisoning a Naive Bayes spam filter through user feedback "
    "(padded spam) and the RONI defence: false-positive rate against poison",
)
def run(config: Config) -> Result:
    result = Result("spam-poisoning")
    rng = np.random.default_rng(config.seed)

    mail = _load_mail(config)
    poison = _attack(mail, rng)
    everything, filters = _poisoned_filters(mail, poison)
    _show_flipped(mail, filters)
    defended, ok_fb, ok_p = _defend(mail, poison, everything, config.seed)
    result.figures.append(_figure(everything, defended, config.out))
    _check(mail, everything, defended, ok_fb, ok_p, config.quick, result)
    return result


@dataclass
class Mail:
    """The messages split four ways (:data:`SPLITS`), counted over the training words."""

    vec: CountVectorizer
    att: list[str]  # the attacker's sample
    y_att: np.ndarray
    X_tr: np.ndarray  # training
    y_tr: np.ndarray
    X_fb: np.ndarray  # user feedback
    y_fb: np.ndarray
    te: list[str]  # test
    X_te: np.ndarray
    y_te: np.ndarray


@dataclass
class Poison:
    """The attack messages (as many as the largest amount of poison) and the amounts."""

    texts: list[str]
    X: np.ndarray
    y: np.ndarray
    sizes: list[int]  # attack messages per amount of :data:`POISON`


def _load_mail(config: Config) -> Mail:
    """Step 1: the SMS messages, split into the attacker's sample, training, feedback and
    test, and counted over the training messages' vocabulary."""
    heading("1. The mail")
    texts, y = load_sms(config, QUICK_SIZE if config.quick else None)
    n = len(texts)
    cut = np.cumsum([int(round(f * n)) for f in SPLITS.values()])
    parts = np.split(np.arange(n), cut)  # attacker, train, feedback, test
    att, tr, fb, te = ([texts[i] for i in p] for p in parts)
    y_att, y_tr, y_fb, y_te = (y[p] for p in parts)
    vec = CountVectorizer()
    X_tr = vec.fit_transform(tr)
    X_fb, X_te = vec.transform(fb), vec.transform(te)
    table(
        ["part", "messages", "spam"],
        [
            [name, len(p), f"{y[p].mean():.1%}"]
            for name, p in zip(
                ["attacker's sample", "training", "user feedback", "test"], parts, strict=True
            )
        ],
    )
    print(f"  vocabulary: the {len(vec.vocabulary_):,} words of the training messages")
    return Mail(vec, att, y_att, X_tr, y_tr, X_fb, y_fb, te, X_te, y_te)


def _attack(mail: Mail, rng: np.random.Generator) -> Poison:
    """Step 2: the attacker's dictionary (the most frequent words of its ham) and its
    messages, each one spam padded with :data:`PAD` dictionary words."""
    heading("2. The attack: spam padded with ordinary words")
    att, y_att = mail.att, mail.y_att
    words, freq = attack_dictionary(
        [t for t, c in zip(att, y_att, strict=True) if c == 0], mail.vec, DICTIONARY
    )
    n_poison = [int(round(f * len(mail.y_tr))) for f in POISON]
    poison_texts = attack_messages(
        [t for t, c in zip(att, y_att, strict=True) if c == 1], words, freq, max(n_poison), PAD, rng
    )
    X_p = mail.vec.transform(poison_texts)
    y_p = np.ones(len(poison_texts), dtype=np.int64)
    print(
        f"  dictionary: the {len(words)} most frequent words of the attacker's ham, e.g. "
        f"{', '.join(words[:12])}"
    )
    print(
        f"  each attack message: one spam + {PAD} dictionary words, e.g.\n    "
        f"{poison_texts[0][:150]!r}..."
    )
    return Poison(poison_texts, X_p, y_p, n_poison)


def _curve(
    mail: Mail, poison: Poison, accept_feedback: np.ndarray, accept_poison: np.ndarray
) -> tuple[list[dict[str, float]], list[MultinomialNB]]:
    """The filter retrained on training + accepted feedback + accepted poison, for
    each amount of poison: its test metrics, and the filters."""
    rows, filters = [], []
    for k in poison.sizes:
        keep = accept_poison[:k]
        nb = retrain(
            [
                (mail.X_tr, mail.y_tr),
                (mail.X_fb[accept_feedback], mail.y_fb[accept_feedback]),
                (poison.X[:k][keep], poison.y[:k][keep]),
            ]
        )
        rows.append(confusion(mail.y_te, nb.predict(mail.X_te)))
        filters.append(nb)
    return rows, filters


def _poisoned_filters(
    mail: Mail, poison: Poison
) -> tuple[list[dict[str, float]], list[MultinomialNB]]:
    """Step 2, the effect: the filter retrained on all feedback and all poison, per amount
    of poison, tabled (false-positive rate, spam recall)."""
    everything, filters = _curve(
        mail, poison, np.ones(len(mail.y_fb), dtype=bool), np.ones(len(poison.y), dtype=bool)
    )
    print()
    table(
        ["poison", "attack msgs", "FPR (ham filtered)", "spam recall"],
        [
            [f"{f:.1%}", k, f"{r['fpr']:.2%}", f"{r['recall']:.2%}"]
            for f, k, r in zip(POISON, poison.sizes, everything, strict=True)
        ],
    )
    return everything, filters


def _show_flipped(mail: Mail, filters: list[MultinomialNB]) -> None:
    """Up to four held-out ham messages the most poisoned filter catches and the clean one
    did not, with P(spam) before and after."""
    ham_te = mail.X_te[mail.y_te == 0]
    clean, poisoned = filters[0], filters[-1]
    p_before = clean.predict_proba(ham_te)[:, 1]
    p_after = poisoned.predict_proba(ham_te)[:, 1]
    flipped = np.flatnonzero((p_before < 0.5) & (p_after >= 0.5))
    hams = [t for t, c in zip(mail.te, mail.y_te, strict=True) if c == 0]
    if len(flipped):
        print(f"\n  legitimate messages filtered after {POISON[-1]:.0%} poison, not before:")
        table(
            ["message", "P(spam) before", "after"],
            [[hams[i][:60], f"{p_before[i]:.3f}", f"{p_after[i]:.3f}"] for i in flipped[:4]],
            align="lrr",
        )


def _defend(
    mail: Mail, poison: Poison, everything: list[dict[str, float]], seed: int
) -> tuple[list[dict[str, float]], np.ndarray, np.ndarray]:
    """Step 3: RONI's impact on feedback and attack messages, and the filter retrained on
    what it accepts, per amount of poison, beside the undefended one (``everything``);
    returns the defended metrics and the accepted feedback and attack messages."""
    heading("3. The defence: reject on negative impact (RONI)")
    X_fb, y_fb = mail.X_fb, mail.y_fb
    roni = RONI(mail.X_tr, mail.y_tr, seed=seed)
    imp_fb, imp_p = roni.impact(X_fb, y_fb), roni.impact(poison.X, poison.y)
    ok_fb, ok_p = imp_fb <= roni.thresholds[y_fb], imp_p <= roni.thresholds[poison.y]
    print(
        f"  {len(roni.models)} calibration filters; impact = the change in the mean spam "
        "log-odds of trusted ham"
    )
    table(
        ["messages", "median impact", "threshold", "rejected"],
        [
            [
                "feedback ham",
                f"{np.median(imp_fb[y_fb == 0]):+.3f}",
                f"{roni.thresholds[0]:+.3f}",
                f"{(~ok_fb[y_fb == 0]).sum()} / {(y_fb == 0).sum()}",
            ],
            [
                "feedback spam",
                f"{np.median(imp_fb[y_fb == 1]):+.3f}",
                f"{roni.thresholds[1]:+.3f}",
                f"{(~ok_fb[y_fb == 1]).sum()} / {(y_fb == 1).sum()}",
            ],
            [
                "attack messages",
                f"{np.median(imp_p):+.3f}",
                f"{roni.thresholds[1]:+.3f}",
                f"{(~ok_p).sum()} / {len(ok_p)}",
            ],
        ],
        align="lrrr",
    )
    defended, _ = _curve(mail, poison, ok_fb, ok_p)
    print()
    table(
        ["poison", "FPR, no defence", "FPR, RONI", "recall, no defence", "recall, RONI"],
        [
            [
                f"{f:.1%}",
                f"{a['fpr']:.2%}",
                f"{b['fpr']:.2%}",
                f"{a['recall']:.2%}",
                f"{b['recall']:.2%}",
            ]
            for f, a, b in zip(POISON, everything, defended, strict=True)
        ],
    )
    return defended, ok_fb, ok_p


@plot.style()
def _figure(
    everything: list[dict[str, float]], defended: list[dict[str, float]], out: Path
) -> Path:
    """False-positive rate and spam recall against the amount of poison, with and without
    RONI."""
    fig, (ax_fpr, ax_rec) = plot.figure(
        ncols=2, size=(5.0, 3.8), title="Poisoning a Naive Bayes spam filter"
    )
    x = 100 * np.array(POISON)
    for rows, label, style in ((everything, "no defence", "o-"), (defended, "RONI", "s-")):
        ax_fpr.plot(x, [100 * r["fpr"] for r in rows], style, label=label)
        ax_rec.plot(x, [100 * r["recall"] for r in rows], style, label=label)
    ax_fpr.set(
        xlabel="poison (% of the training mail)",
        ylabel="ham filtered (FPR, %)",
        title="false-positive rate on held-out ham",
    )
    ax_rec.set(
        xlabel="poison (% of the training mail)",
        ylabel="spam caught (recall, %)",
        title="spam recall",
    )
    ax_fpr.set_ylim(bottom=0)
    for a in (ax_fpr, ax_rec):
        a.grid(alpha=0.3)
        a.legend()
    return plot.save(fig, out / "spam_poisoning.png")


def _check(
    mail: Mail,
    everything: list[dict[str, float]],
    defended: list[dict[str, float]],
    ok_fb: np.ndarray,
    ok_p: np.ndarray,
    quick: bool,
    result: Result,
) -> None:
    """The metrics and claims: poison raises the false-positive rate; RONI rejects the
    attack, keeps the feedback and brings the rate back near the clean filter's."""
    ham_te, spam_te = mail.X_te[mail.y_te == 0], mail.X_te[mail.y_te == 1]
    fpr = [r["fpr"] for r in everything]
    fpr_roni = [r["fpr"] for r in defended]
    result.metrics.update(
        {
            "fpr_clean": fpr[0],
            "fpr_poisoned": fpr[-1],
            "fpr_roni": fpr_roni[-1],
            "recall_clean": everything[0]["recall"],
            "poison_rejected": float((~ok_p).mean()),
            "feedback_rejected": float((~ok_fb).mean()),
        }
    )
    result.check(
        f"the poisoned filter's false-positive rate rises: {fpr[0]:.2%} without "
        f"poison, {fpr[-1]:.2%} at {POISON[-1]:.0%} poison",
        fpr[-1] > fpr[0],
    )
    if not quick:
        result.check(
            f"at {POISON[-1]:.0%} poison at least 5 times as much ham is filtered as without",
            fpr[-1] >= 5 * max(fpr[0], 1 / len(ham_te)),
        )
    result.check(
        f"RONI rejects {(~ok_p).mean():.0%} of the attack messages (>= 90%) and "
        f"{(~ok_fb).mean():.1%} of the legitimate feedback (<= 3%)",
        (~ok_p).mean() >= 0.9 and (~ok_fb).mean() <= 0.03,
    )
    result.check(
        f"with RONI the false-positive rate at {POISON[-1]:.0%} poison is "
        f"{fpr_roni[-1]:.2%}, below the undefended {fpr[-1]:.2%} and within 1 "
        f"point of the clean {fpr[0]:.2%}",
        fpr_roni[-1] < fpr[-1] and fpr_roni[-1] <= fpr[0] + 0.01,
    )
    print(f"\n  ({len(spam_te)} held-out spam, {len(ham_te)} held-out ham)")
