"""A Naive Bayes spam filter: the course's four e-mails by hand, then real SMS messages.

1. A toy of four e-mails (two spam, two ham; the course gives no exact table, so this
   one is ours, chosen so the fractions stay small): the word-count table, the Laplace-
   smoothed likelihoods P(w | c) = (N_cw + 1) / (N_c + V), the priors, and for each
   message P(spam | words) worked out step by step as exact fractions,

       P(spam | x) = P(spam) Π P(w | spam)^x_w / Σ_c P(c) Π P(w | c)^x_w

   then checked against :class:`axon.models.MultinomialNB`, which computes the same in
   log space.
2. The SMS Spam Collection (5,574 messages, 13.4% spam), shuffled and split 75/25: a
   bag-of-words :class:`axon.models.CountVectorizer` and a multinomial Naive Bayes; the
   test accuracy, precision and recall of "spam", and the confusion matrix; the words
   that are the strongest evidence of spam. Why log space: for a long message the product
   of the word probabilities underflows to 0.0 in float64 for both classes, while the
   sum of their logs is an ordinary number.

The model equals scikit-learn's ``MultinomialNB`` (tested in
``tests/models/test_naive_bayes.py``). The data and the confusion counts come from
:mod:`axon.lab.shared.sms`, shared with the ``spam-poisoning`` experiment.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from axon.models.naive_bayes import CountVectorizer, MultinomialNB

from .. import plot
from .registry import register
from .shared.base import Config, Result, heading, table
from .shared.sms import confusion, load_sms

TOY = [  # (label, e-mail): the four-e-mail table
    ("spam", "Win money now, free money!"),
    ("spam", "Free lunch? Win now!"),
    ("ham", "Meeting tomorrow, lunch now?"),
    ("ham", "Lunch money tomorrow, meeting tomorrow"),
]
TOY_NEW = ["Free money now!!", "Lunch meeting tomorrow?", "Win a free lunch, no cash needed"]

TEST_FRACTION = 0.25
QUICK_SIZE = 1_000  # messages used in quick mode
GOALS = dict(accuracy=0.97, precision=0.90, recall=0.85)  # full run, test split


# ----------------------------------------------------------------------------- shared helpers
def print_confusion(m: dict[str, float]) -> None:
    """The confusion matrix, true class by row."""
    table(
        ["true \\ predicted", "ham", "spam"],
        [["ham", m["tn"], m["fp"]], ["spam", m["fn"], m["tp"]]],
        align="lrr",
    )


# ----------------------------------------------------------------------------- 1. the toy
def toy_worksheet(result: Result) -> None:
    """The four e-mails computed by hand (exact fractions) and by MultinomialNB."""
    heading("1. Four e-mails, by hand")
    table(
        ["#", "label", "e-mail"],
        [[i, lab, text] for i, (lab, text) in enumerate(TOY, start=1)],
        align="rll",
    )
    labels = np.array([lab == "spam" for lab, _ in TOY], dtype=np.int64)
    vec = CountVectorizer()
    X = vec.fit_transform([text for _, text in TOY])  # (4, V) word counts
    words = list(vec.get_feature_names_out())
    V = len(words)
    counts = {c: X[labels == c].sum(axis=0) for c in (0, 1)}  # N_cw
    totals = {c: int(counts[c].sum()) for c in (0, 1)}  # N_c
    print(f"\n  Tokens: lowercased runs of 2+ letters or digits; the vocabulary has V = {V} words.")
    print("  Laplace smoothing: P(w | c) = (N_cw + 1) / (N_c + V).\n")
    like = {c: [Fraction(int(n) + 1, totals[c] + V) for n in counts[c]] for c in (0, 1)}
    rows = [
        [
            w,
            int(counts[1][j]),
            int(counts[0][j]),
            f"({counts[1][j]}+1)/({totals[1]}+{V}) = {like[1][j]}",
            f"({counts[0][j]}+1)/({totals[0]}+{V}) = {like[0][j]}",
        ]
        for j, w in enumerate(words)
    ]
    rows.append(["total", totals[1], totals[0], "", ""])
    table(["word", "N(w,spam)", "N(w,ham)", "P(w | spam)", "P(w | ham)"], rows, align="lrrll")
    prior = {c: Fraction(int((labels == c).sum()), len(labels)) for c in (0, 1)}
    print(f"\n  Priors: P(spam) = {prior[1]}, P(ham) = {prior[0]}")

    nb = MultinomialNB(alpha=1.0).fit(X, labels)
    messages = [text for _, text in TOY] + TOY_NEW
    model_p = nb.predict_proba(vec.transform(messages))[:, 1]
    heading("P(spam | words), step by step")
    worst = 0.0
    for text, p_model in zip(messages, model_p, strict=True):
        tokens = [w for w in vec.tokenize(text) if w in vec.vocabulary_]
        ignored = [w for w in vec.tokenize(text) if w not in vec.vocabulary_]
        joint = {}
        print(
            f'\n  "{text}"  ->  {tokens}'
            + (f"  (not in the vocabulary: {ignored})" if ignored else "")
        )
        for c, name in ((1, "spam"), (0, "ham")):
            factors = [like[c][vec.vocabulary_[w]] for w in tokens]
            joint[c] = prior[c] * math.prod(factors, start=Fraction(1))
            print(
                f"    P({name}) Π P(w|{name}) = {prior[c]} · "
                + " · ".join(str(f) for f in factors)
                + f" = {float(joint[c]):.3e}"
            )
        exact = joint[1] / (joint[1] + joint[0])
        print(
            f"    P(spam | words) = {float(joint[1]):.3e} / ({float(joint[1]):.3e} + "
            f"{float(joint[0]):.3e}) = {exact} = {float(exact):.4f}"
            f"   (MultinomialNB: {p_model:.4f})"
        )
        worst = max(worst, abs(float(exact) - p_model))
    meeting = Fraction(int(counts[1][vec.vocabulary_["meeting"]]), totals[1])
    print(
        f"\n  Without smoothing P(meeting | spam) = {meeting}: any message with 'meeting' "
        "would be ham with certainty, whatever else it says."
    )
    result.metrics["toy_max_error"] = worst
    result.check(
        f"MultinomialNB's P(spam | words) equals the hand-worked fractions on the "
        f"{len(messages)} toy messages (max difference {worst:.1e})",
        worst < 1e-12,
    )


# ----------------------------------------------------------------------------- 2. SMS
@register(
    "spam",
    "Naive Bayes spam filter: four e-mails by hand, then the SMS Spam "
    "Collection (accuracy, precision, recall)",
)
def run(config: Config) -> Result:
    result = Result("spam")
    toy_worksheet(result)

    heading("2. The SMS Spam Collection")
    texts, y = load_sms(config, QUICK_SIZE if config.quick else None)
    n_test = int(round(TEST_FRACTION * len(texts)))
    n_train = len(texts) - n_test
    vec = CountVectorizer()
    X_train = vec.fit_transform(texts[:n_train])
    X_test = vec.transform(texts[n_train:])
    y_train, y_test = y[:n_train], y[n_train:]
    print(
        f"  {len(texts):,} messages ({y.mean():.1%} spam), shuffled: {n_train:,} to train, "
        f"{n_test:,} to test; {len(vec.vocabulary_):,} words in the training messages"
    )
    nb = MultinomialNB(alpha=1.0).fit(X_train, y_train)
    m = confusion(y_test, nb.predict(X_test))
    majority = float((y_test == 0).mean())
    print()
    table(
        ["", "test"],
        [
            ["accuracy", f"{m['accuracy']:.2%}"],
            ["precision (spam)", f"{m['precision']:.2%}"],
            ["recall (spam)", f"{m['recall']:.2%}"],
            ["always 'ham'", f"{majority:.2%}"],
        ],
    )
    print()
    print_confusion(m)
    with plot.style():
        fig, (panel,) = plot.figure(size=(4.4, 3.4))
        plot.confusion_matrix(
            panel,
            np.array([[m["tn"], m["fp"]], [m["fn"], m["tp"]]]),
            labels=["ham", "spam"],
            title="Naive Bayes, SMS test split",
            colorbar_label="fraction of the true class",
        )
        result.figures.append(plot.save(fig, config.out / "spam_confusion.png"))

    heading("The strongest evidence of spam: log P(w | spam) - log P(w | ham)")
    ratio = nb.feature_log_prob_[1] - nb.feature_log_prob_[0]
    names = vec.get_feature_names_out()
    top = np.argsort(-ratio, kind="stable")[:10]
    table(
        ["word", "log-ratio", "in spam", "in ham"],
        [
            [
                names[j],
                f"{ratio[j]:.2f}",
                int(nb.feature_count_[1, j]),
                int(nb.feature_count_[0, j]),
            ]
            for j in top
        ],
    )

    heading("Why log space")
    spam_rows = X_test[y_test == 1]
    long_message = spam_rows.sum(axis=0)[None] if len(spam_rows) else X_test.sum(0)[None]
    n_words = int(long_message.sum())
    probs = np.exp(nb.feature_log_prob_)
    prods = [float(np.prod(probs[c] ** long_message[0])) for c in (1, 0)]
    jll = nb.joint_log_likelihood(long_message)[0]
    p_spam = float(nb.predict_proba(long_message)[0, 1])
    print(f"  One long message: the {len(spam_rows)} test spams joined ({n_words:,} words).")
    print(
        f"    Π P(w | spam) = {prods[0]:.3g},  Π P(w | ham) = {prods[1]:.3g}  (float64 underflows)"
    )
    print(
        f"    log P(spam) + Σ log P(w | spam) = {jll[1]:,.1f},  for ham {jll[0]:,.1f}  ->  "
        f"P(spam | words) = {p_spam:.4f}"
    )

    result.metrics.update({k: float(v) for k, v in m.items()})
    result.metrics["majority"] = majority
    result.check(
        f"test accuracy {m['accuracy']:.2%} beats always answering 'ham' ({majority:.2%})",
        m["accuracy"] > majority,
    )
    if not config.quick:
        for key, goal in GOALS.items():
            result.check(f"test {key} {m[key]:.2%} >= {goal:.0%}", m[key] >= goal)
        result.check(
            "the products of word probabilities underflow to 0 while the log-space "
            f"posterior is finite ({p_spam:.3f})",
            prods[0] == 0.0 and prods[1] == 0.0 and np.isfinite(p_spam),
        )
    return result
