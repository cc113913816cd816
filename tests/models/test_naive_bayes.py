"""MultinomialNB and CountVectorizer against scikit-learn's (the oracle): the fitted
counts and log-probabilities, predict_log_proba / predict_proba / predict, on random count
matrices and on a tiny generated SMS file, with alpha, prior and weight variants; online
learning (partial_fit); and the errors on bad input."""

import warnings

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer as SkCountVectorizer
from sklearn.naive_bayes import MultinomialNB as SkMultinomialNB

import axon as ax
from axon.data.text import sms_spam
from axon.models import CountVectorizer, MultinomialNB

ATTRS = ("class_count_", "feature_count_", "feature_log_prob_", "class_log_prior_")


def assert_same(ours: MultinomialNB, theirs: SkMultinomialNB, X_test) -> None:
    """Equal fitted attributes and predictions (float64 round-off allowed)."""
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.n_features_in_ == theirs.n_features_in_
    for name in ATTRS:
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=name)
    lp = ours.predict_log_proba(X_test)
    assert np.isfinite(lp).all()
    np.testing.assert_allclose(lp, theirs.predict_log_proba(X_test), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        ours.predict_proba(X_test), theirs.predict_proba(X_test), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_array_equal(ours.predict(X_test), theirs.predict(X_test))


def counts(rng, n, v, rate=1.0):
    return rng.poisson(rate, (n, v))


# ----------------------------------------------------------------------------- random counts
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"alpha": 0.5},
        {"alpha": 0.01},
        {"alpha": 3.0},
        {"fit_prior": False},
        {"alpha": 0.2, "class_prior": [0.2, 0.5, 0.3]},
    ],
)
def test_equals_sklearn_on_random_counts(kwargs):
    rng = np.random.default_rng(0)
    X, y = counts(rng, 60, 25, 0.7), rng.integers(0, 3, 60)
    X_test = counts(rng, 15, 25, 2.0)
    assert_same(MultinomialNB(**kwargs).fit(X, y), SkMultinomialNB(**kwargs).fit(X, y), X_test)


def test_alpha_per_feature_and_sample_weight():
    rng = np.random.default_rng(1)
    X, y = counts(rng, 40, 12), rng.integers(0, 2, 40)
    alpha = rng.random(12) + 0.05
    w = rng.random(40) * 3
    ours = MultinomialNB(alpha=alpha).fit(X, y, sample_weight=w)
    theirs = SkMultinomialNB(alpha=alpha).fit(X, y, sample_weight=w)
    assert_same(ours, theirs, counts(rng, 10, 12))


def test_string_labels_float_counts_and_a_tensor_input():
    rng = np.random.default_rng(2)
    X = rng.random((30, 8)) * 4  # tf-like non-integer weights are allowed too
    y = np.array(["spam", "ham", "eggs"])[rng.integers(0, 3, 30)]
    ours = MultinomialNB(alpha=0.7).fit(ax.tensor(X, dtype=ax.float64), list(y))
    assert_same(ours, SkMultinomialNB(alpha=0.7).fit(X, y), X[:9])
    assert ours.score(X, y) == pytest.approx(np.mean(ours.predict(X) == y))


def test_no_smoothing_gives_minus_infinity_for_unseen_words():
    X = np.array([[2, 0, 1], [0, 3, 1]])
    y = np.array([0, 1])
    ours = MultinomialNB(alpha=0.0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkMultinomialNB(alpha=0.0, force_alpha=True).fit(X, y)
    np.testing.assert_array_equal(ours.feature_log_prob_, theirs.feature_log_prob_)
    assert ours.feature_log_prob_[0, 1] == -np.inf and ours.feature_log_prob_[1, 0] == -np.inf
    # θ^0 = 1: a word a message lacks does not count, so only "unseen and present" rules a
    # class out (scikit-learn gives NaN here, from 0 * -inf in its matrix product)
    np.testing.assert_allclose(
        ours.predict_proba([[1, 0, 1], [0, 0, 2]]), [[1.0, 0.0], [16 / 25, 9 / 25]]
    )  # (1/3)^2 vs (1/4)^2
    assert ours.predict([[0, 4, 0]])[0] == 1


def test_log_space_does_not_underflow_on_a_long_message():
    rng = np.random.default_rng(3)
    X, y = counts(rng, 30, 40), rng.integers(0, 2, 30)
    long = counts(rng, 2, 40, 300.0)  # ~12,000 words: each likelihood product is 0.0
    ours, theirs = MultinomialNB().fit(X, y), SkMultinomialNB().fit(X, y)
    assert np.prod(np.exp(ours.feature_log_prob_[0]) ** long[0]) == 0.0
    assert_same(ours, theirs, long)


def test_partial_fit_in_parts_equals_fit_on_the_whole():
    rng = np.random.default_rng(4)
    X, y = counts(rng, 50, 10), rng.integers(0, 2, 50)
    ours = MultinomialNB(alpha=0.5)
    ours.partial_fit(X[:20], y[:20], classes=[0, 1])
    ours.partial_fit(X[20:35], y[20:35])
    ours.partial_fit(X[35:], y[35:])
    theirs = SkMultinomialNB(alpha=0.5).fit(X, y)
    assert_same(ours, theirs, X[:7])
    sk_online = SkMultinomialNB(alpha=0.5).partial_fit(X[:20], y[:20], classes=[0, 1])
    sk_online.partial_fit(X[20:], y[20:])
    assert_same(ours, sk_online, X[:7])


def test_a_class_seen_only_later_in_partial_fit():
    X = np.array([[1, 2], [0, 3], [4, 0]])
    ours = MultinomialNB().partial_fit(X[:2], [0, 0], classes=[0, 1])
    theirs = SkMultinomialNB().partial_fit(X[:2], [0, 0], classes=[0, 1])
    for name in ATTRS:  # the unseen class has prior log 0 = -inf in both
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), err_msg=name)
    assert ours.class_log_prior_[1] == -np.inf
    ours.partial_fit(X[2:], [1])
    theirs.partial_fit(X[2:], [1])
    assert_same(ours, theirs, X)


# ----------------------------------------------------------------------------- a tiny SMS file
SMS = """ham\tGo until jurong point, crazy.. Available only in bugis n great world la e buffet
spam\tFree entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005. Text FA to 87121
ham\tOk lar... Joking wif u oni...
spam\tWINNER!! As a valued network customer you have been selected to receive a £900 prize
ham\tU dun say so early hor... U c already then say...
ham\tI'm gonna be home soon and i don't want to talk about this stuff anymore tonight
spam\tURGENT! You have won a 1 week FREE membership in our £100,000 Prize Jackpot! Txt CLAIM
ham\tSorry, I'll call later in the meeting
spam\tSIX chances to win CASH! From 100 to 20,000 pounds txt> CSH11 and send to 87575
ham\tI've been searching for the right words to thank you for this breather
ham\tÉclair at the café? Naïve question, ok lar
spam\tCongrats! 1 year special cinema pass for 2 is yours. call 09061209465 now! C Suprman V
"""


@pytest.fixture
def sms(tmp_path, monkeypatch):
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "sms-spam").mkdir()
    (tmp_path / "sms-spam" / "SMSSpamCollection").write_text(SMS, encoding="utf-8")
    return sms_spam(tmp_path, download=False, verify=False)


@pytest.mark.parametrize("alpha", [1.0, 0.1, 2.5])
def test_equals_sklearn_on_a_tiny_sms_file(sms, alpha):
    texts, labels = [t for _, t in sms], [lab for lab, _ in sms]
    train, test = slice(0, 8), slice(8, None)
    ours_vec, sk_vec = CountVectorizer(), SkCountVectorizer()
    X = ours_vec.fit_transform(texts[train])
    X_sk = sk_vec.fit_transform(texts[train])
    assert ours_vec.vocabulary_ == sk_vec.vocabulary_
    np.testing.assert_array_equal(X, X_sk.toarray())
    X_test = ours_vec.transform(texts[test])
    np.testing.assert_array_equal(X_test, sk_vec.transform(texts[test]).toarray())
    ours = MultinomialNB(alpha=alpha).fit(X, labels[train])
    assert_same(ours, SkMultinomialNB(alpha=alpha).fit(X_sk, labels[train]), X_test)


# ----------------------------------------------------------------------------- CountVectorizer
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"min_df": 2},
        {"max_df": 0.5},
        {"min_df": 0.2},
        {"binary": True},
        {"lowercase": False},
        {"token_pattern": r"(?u)\b\w+\b"},
        {"token_pattern": r"(\w+)!"},
        {"max_features": 4},
    ],
)
def test_count_vectorizer_equals_sklearn(sms, kwargs):
    texts = [t for _, t in sms] + ["win win win cash now", "call call me now"]
    ours = CountVectorizer(**kwargs)
    theirs = SkCountVectorizer(**kwargs)
    X = ours.fit_transform(texts)
    assert ours.vocabulary_ == theirs.fit(texts).vocabulary_
    np.testing.assert_array_equal(X, theirs.transform(texts).toarray())
    np.testing.assert_array_equal(ours.get_feature_names_out(), theirs.get_feature_names_out())


def test_count_vectorizer_ignores_unknown_words_and_counts_repeats():
    vec = CountVectorizer().fit(["free money", "lunch money"])
    assert list(vec.get_feature_names_out()) == ["free", "lunch", "money"]
    np.testing.assert_array_equal(
        vec.transform(["Money, MONEY! free cash", ""]), [[1, 0, 2], [0, 0, 0]]
    )


# ----------------------------------------------------------------------------- errors
def test_bad_input_is_refused_with_the_shapes_at_fault():
    X, y = np.array([[1, 0], [0, 2], [3, 1]]), np.array([0, 1, 1])
    with pytest.raises(ValueError, match="Negative values"):
        MultinomialNB().fit(-X, y)
    with pytest.raises(ValueError, match="X has 3 rows but y has 2"):
        MultinomialNB().fit(X, y[:2])
    with pytest.raises(ValueError, match=r"must be 2-D .* got shape \(3,\)"):
        MultinomialNB().fit(X[:, 0], y)
    nb = MultinomialNB().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MultinomialNB is expecting 2"):
        nb.predict(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"labels \[2\] are not among the classes \[0, 1\]"):
        nb.partial_fit(X, [0, 1, 2])
    with pytest.raises(
        ValueError,
        match=r"alpha should be a scalar or an array with shape "
        r"\(2,\), got shape \(3,\)",
    ):
        MultinomialNB(alpha=[1.0, 1.0, 1.0]).fit(X, y)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        MultinomialNB(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="class_prior has 3 values, but there are 2 classes"):
        MultinomialNB(class_prior=[0.2, 0.3, 0.5]).fit(X, y)
    with pytest.raises(ValueError, match=r"sample_weight has shape \(2,\), expected \(3,\)"):
        MultinomialNB().fit(X, y, sample_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="classes must be given"):
        MultinomialNB().partial_fit(X, y)
    with pytest.raises(RuntimeError, match="not fitted"):
        MultinomialNB().predict(X)


def test_count_vectorizer_errors():
    with pytest.raises(TypeError, match="a single string"):
        CountVectorizer().fit("free money")
    with pytest.raises(ValueError, match="empty vocabulary"):
        CountVectorizer().fit(["a b c", "!"])
    with pytest.raises(ValueError, match="2 capture groups"):
        CountVectorizer(token_pattern=r"(\w)(\w)")
    with pytest.raises(ValueError, match="max_df .* fewer texts than min_df"):
        CountVectorizer(min_df=3, max_df=1).fit(["aa bb", "aa", "bb"])
    with pytest.raises(RuntimeError, match="not fitted"):
        CountVectorizer().transform(["aa"])
