"""Multinomial Naive Bayes on word counts, and the bag-of-words counts it reads.

A message is a bag of words: ``x_j`` is how often word j of the vocabulary occurs in it.
Naive Bayes assumes the words are drawn independently given the class, so

    P(c | x) ∝ P(c) · Π_j P(w_j | c)^{x_j}

Training only counts. With N_cj the number of times word j occurs in the training
messages of class c, N_c = Σ_j N_cj, V words and Laplace (add-alpha) smoothing,

    P(w_j | c) = (N_cj + alpha) / (N_c + alpha V),     P(c) = n_c / n

(n_c messages of class c out of n). Smoothing keeps a word never seen in class c from
making P(c | x) exactly zero. The products of many small numbers underflow, so
everything is computed in log space: the joint log-likelihood

    jll_c(x) = log P(c) + Σ_j x_j log P(w_j | c)         (one matrix product: X @ log θ.T)

and the posterior is its log-softmax over the classes (``jll - logsumexp(jll)``).

:class:`MultinomialNB` has scikit-learn's constructor arguments, methods and fitted
attribute names (``classes_``, ``class_count_``, ``feature_count_``,
``feature_log_prob_``, ``class_log_prior_``), and gives the same numbers.
:class:`CountVectorizer` turns texts into the count matrix X, like scikit-learn's (same
default token pattern, lowercasing, alphabetical vocabulary), but returns a dense NumPy
array.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["CountVectorizer", "MultinomialNB"]

_CHUNK = 4096  # rows per block when count matrices are multiplied in float64


def _as_array(x) -> np.ndarray:
    """An axon Tensor, a NumPy array or nested lists, as a NumPy array."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # an axon (or torch) tensor
        x = x.detach().numpy()
    return np.asarray(x)


def _as_labels(y, name: str = "y") -> np.ndarray:
    """Labels as a 1-D array (a column vector is flattened)."""
    y = _as_array(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,), got shape {y.shape}")
    return y


def _check_counts(X, name: str = "X") -> np.ndarray:
    """X as a 2-D array of non-negative numbers (counts, or any non-negative weights)."""
    X = _as_array(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"{name} must hold numbers, got dtype {X.dtype}")
    if X.size and np.issubdtype(X.dtype, np.floating) and not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinity")
    if X.size and X.min() < 0:
        raise ValueError(
            f"Negative values in data passed to MultinomialNB ({name}): counts must be >= 0"
        )
    return X


def _dot_rows(X: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``X @ B`` in float64, X converted a block of rows at a time (X may be a large integer
    count matrix; a full float64 copy of it is never made)."""
    out = np.empty((X.shape[0], B.shape[1]), dtype=np.float64)
    for s in range(0, X.shape[0], _CHUNK):
        out[s : s + _CHUNK] = X[s : s + _CHUNK].astype(np.float64) @ B
    return out


def _weighted_sum_rows(W: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``W.T @ X`` in float64 for W (n, k): the per-column weighted sums of X's rows."""
    out = np.zeros((W.shape[1], X.shape[1]), dtype=np.float64)
    for s in range(0, X.shape[0], _CHUNK):
        out += W[s : s + _CHUNK].T @ X[s : s + _CHUNK].astype(np.float64)
    return out


def _logsumexp(a: np.ndarray) -> np.ndarray:
    """log Σ_c exp(a_c) along the last axis, kept as a column; stable for large |a|."""
    m = a.max(axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - m).sum(axis=1, keepdims=True)) + m


class MultinomialNB:
    """Multinomial Naive Bayes (scikit-learn's ``MultinomialNB``): see the module text.

    Args:
        alpha: the additive (Laplace for 1, Lidstone below 1) smoothing count added to
            every word of every class; a number, or one per feature. 0 means none: a word
            unseen in a class then has probability 0 and log-probability -inf, and a
            message holding it gets P(c | x) = 0 for that class (where scikit-learn gives
            NaN for every message, from 0 · -inf in the matrix product; a message that
            every class rules out this way is 0 / 0, NaN, here too).
        fit_prior: learn the class priors n_c / n; if False, use a uniform prior.
        class_prior: fixed priors, one per class in ``classes_`` order (overrides
            ``fit_prior``).

    Fitted attributes (after :meth:`fit` or :meth:`partial_fit`):
        classes_: the sorted class labels, shape (C,).
        class_count_: the (weighted) number of training messages per class, shape (C,).
        feature_count_: N_cj, the (weighted) word counts per class, shape (C, V).
        feature_log_prob_: log P(w_j | c), shape (C, V).
        class_log_prior_: log P(c), shape (C,).
        n_features_in_: V.
    """

    def __init__(
        self,
        alpha: float | Sequence[float] | np.ndarray = 1.0,
        fit_prior: bool = True,
        class_prior: Sequence[float] | None = None,
    ) -> None:
        self.alpha = alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior

    def __repr__(self) -> str:
        return (
            f"MultinomialNB(alpha={self.alpha!r}, fit_prior={self.fit_prior}, "
            f"class_prior={self.class_prior!r})"
        )

    # ------------------------------------------------------------------ training
    def fit(self, X, y, sample_weight=None) -> MultinomialNB:
        """Count: ``class_count_`` and ``feature_count_`` from the messages X (n, V) and
        their labels y (n,), each message weighted by ``sample_weight`` (default 1);
        then the smoothed log-probabilities. Returns self."""
        X = _check_counts(X)
        y = _as_labels(y)
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        self.class_count_ = np.zeros(len(self.classes_))
        self.feature_count_ = np.zeros((len(self.classes_), X.shape[1]))
        return self._add(X, y, sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None) -> MultinomialNB:
        """Add more training messages to the counts (online learning: a user's feedback).

        The first call needs ``classes`` (every label there will ever be); later calls add
        their counts to those already made, so ``partial_fit`` on parts gives the same
        model as ``fit`` on the whole. Returns self.
        """
        X = _check_counts(X)
        y = _as_labels(y)
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError("classes must be given on the first call to partial_fit")
            self.classes_ = np.unique(_as_labels(classes, "classes"))
            self.n_features_in_ = X.shape[1]
            self.class_count_ = np.zeros(len(self.classes_))
            self.feature_count_ = np.zeros((len(self.classes_), X.shape[1]))
        elif classes is not None and not np.array_equal(
            np.unique(_as_labels(classes, "classes")), self.classes_
        ):
            raise ValueError(
                f"classes {list(classes)} differ from those of the first call {list(self.classes_)}"
            )
        return self._add(X, y, sample_weight)

    def _add(self, X: np.ndarray, y: np.ndarray, sample_weight) -> MultinomialNB:
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]} labels")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but MultinomialNB is expecting {self.n_features_in_}"
            )
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"labels {unknown.tolist()} are not among the classes {self.classes_.tolist()}"
            )
        Y = (y[:, None] == self.classes_[None, :]).astype(np.float64)  # (n, C) one-hot
        if sample_weight is not None:
            w = _as_labels(sample_weight, "sample_weight").astype(np.float64)
            if w.shape != (X.shape[0],):
                raise ValueError(f"sample_weight has shape {w.shape}, expected ({X.shape[0]},)")
            Y *= w[:, None]
        self.class_count_ += Y.sum(axis=0)
        self.feature_count_ += _weighted_sum_rows(Y, X)  # N_cj = Σ_i Y_ic X_ij
        self._update()
        return self

    def _update(self) -> None:
        """The smoothed log-probabilities from the counts."""
        alpha = self._alpha()
        smoothed = self.feature_count_ + alpha  # N_cj + alpha
        with np.errstate(divide="ignore"):
            self.feature_log_prob_ = np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))
            n_classes = len(self.classes_)
            if self.class_prior is not None:
                prior = np.asarray(self.class_prior, dtype=np.float64)
                if prior.shape != (n_classes,):
                    raise ValueError(
                        f"class_prior has {prior.size} values, but there are {n_classes} classes"
                    )
                self.class_log_prior_ = np.log(prior)
            elif self.fit_prior:
                self.class_log_prior_ = np.log(self.class_count_) - np.log(self.class_count_.sum())
            else:
                self.class_log_prior_ = np.full(n_classes, -np.log(n_classes))

    def _alpha(self) -> np.ndarray | float:
        alpha = np.asarray(self.alpha, dtype=np.float64)
        if alpha.ndim > 1 or (alpha.ndim == 1 and alpha.shape[0] != self.n_features_in_):
            raise ValueError(
                f"alpha should be a scalar or an array with shape "
                f"({self.n_features_in_},), got shape {alpha.shape}"
            )
        if (alpha < 0).any():
            raise ValueError(f"alpha must be >= 0, got min {alpha.min()}")
        return alpha

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self, X) -> np.ndarray:
        if not hasattr(self, "feature_log_prob_"):
            raise RuntimeError("this MultinomialNB is not fitted yet: call fit first")
        X = _check_counts(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but MultinomialNB is expecting {self.n_features_in_}"
            )
        return X

    def joint_log_likelihood(self, X) -> np.ndarray:
        """jll (n, C): log P(c) + Σ_j x_j log P(w_j | c) for each message and class."""
        X = self._check_fitted(X)
        log_theta = self.feature_log_prob_
        unseen = np.isneginf(log_theta)  # only without smoothing (alpha = 0)
        if not unseen.any():
            return _dot_rows(X, log_theta.T) + self.class_log_prior_
        # x_j log θ_cj with x_j = 0 is 0 (θ^0 = 1), not 0 · -inf = NaN: add the finite
        # part, then -inf where the message holds a word class c never saw
        jll = _dot_rows(X, np.where(unseen, 0.0, log_theta).T)
        jll[_dot_rows(X, unseen.T.astype(np.float64)) > 0] = -np.inf
        return jll + self.class_log_prior_

    def predict_log_proba(self, X) -> np.ndarray:
        """log P(c | x) (n, C): the joint log-likelihood normalised over the classes."""
        jll = self.joint_log_likelihood(X)
        return jll - _logsumexp(jll)

    def predict_proba(self, X) -> np.ndarray:
        """P(c | x) (n, C), columns in ``classes_`` order; each row sums to 1."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each message (n,)."""
        jll = self.joint_log_likelihood(X)
        return self.classes_[np.argmax(jll, axis=1)]

    def score(self, X, y) -> float:
        """The accuracy of :meth:`predict` on (X, y)."""
        return float(np.mean(self.predict(X) == _as_labels(y)))


class CountVectorizer:
    """Texts -> a bag-of-words count matrix (scikit-learn's ``CountVectorizer``, dense).

    A text is lowercased (``lowercase``) and split into the tokens that ``token_pattern``
    finds (default: runs of two or more word characters, so ``"a"`` and ``"!"`` are
    dropped). :meth:`fit` keeps the words found in at least ``min_df`` texts (a count, or a
    fraction of the texts if a float) and at most ``max_df``; ``max_features`` keeps the
    most frequent of those (by total count, ties by the word). The vocabulary is numbered
    alphabetically. :meth:`transform` gives X (n_texts, V) with X[i, j] the number of times
    word j occurs in text i (1 or 0 with ``binary``); unknown words are ignored.

    Attributes (after fit):
        vocabulary_: word -> column.
    """

    def __init__(
        self,
        *,
        lowercase: bool = True,
        token_pattern: str = r"(?u)\b\w\w+\b",
        min_df: int | float = 1,
        max_df: int | float = 1.0,
        max_features: int | None = None,
        binary: bool = False,
        dtype: type = np.int32,
    ) -> None:
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.binary = binary
        self.dtype = dtype
        pattern = re.compile(token_pattern)
        if pattern.groups > 1:
            raise ValueError(
                f"token_pattern {token_pattern!r} has {pattern.groups} capture "
                "groups; at most one is allowed"
            )
        self._pattern = pattern

    def tokenize(self, text: str) -> list[str]:
        """The tokens of one text, in order (lowercased first if ``lowercase``)."""
        if not isinstance(text, str):
            raise TypeError(f"CountVectorizer reads strings, got {type(text).__name__}")
        return self._pattern.findall(text.lower() if self.lowercase else text)

    def fit(self, texts: Iterable[str]) -> CountVectorizer:
        """Build the vocabulary from ``texts``. Returns self."""
        docs = [self.tokenize(t) for t in _texts(texts)]
        n = len(docs)
        df = Counter(w for doc in docs for w in set(doc))
        tf = Counter(w for doc in docs for w in doc)
        lo, hi = _doc_count(self.min_df, n, "min_df"), _doc_count(self.max_df, n, "max_df")
        if hi < lo:
            raise ValueError(
                f"max_df ({self.max_df}) corresponds to fewer texts than min_df ({self.min_df})"
            )
        words = [w for w, d in df.items() if lo <= d <= hi]
        if self.max_features is not None:
            words = sorted(words, key=lambda w: (-tf[w], w))[: self.max_features]
        if not words:
            raise ValueError(
                "empty vocabulary: no word passes min_df / max_df (or the "
                "texts hold only stop characters)"
            )
        self.vocabulary_ = {w: i for i, w in enumerate(sorted(words))}
        return self

    def transform(self, texts: Iterable[str]) -> np.ndarray:
        """The count matrix (n_texts, V) of ``texts`` over the fitted vocabulary."""
        if not hasattr(self, "vocabulary_"):
            raise RuntimeError("this CountVectorizer is not fitted yet: call fit first")
        rows, cols = [], []
        texts = _texts(texts)
        for i, text in enumerate(texts):
            ids = [self.vocabulary_[w] for w in self.tokenize(text) if w in self.vocabulary_]
            rows += [i] * len(ids)
            cols += ids
        X = np.zeros((len(texts), len(self.vocabulary_)), dtype=self.dtype)
        np.add.at(X, (np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)), 1)
        if self.binary:
            np.minimum(X, 1, out=X)
        return X

    def fit_transform(self, texts: Iterable[str]) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same texts."""
        texts = _texts(texts)
        return self.fit(texts).transform(texts)

    def get_feature_names_out(self) -> np.ndarray:
        """The vocabulary in column order, as an array of strings."""
        if not hasattr(self, "vocabulary_"):
            raise RuntimeError("this CountVectorizer is not fitted yet: call fit first")
        return np.array(sorted(self.vocabulary_, key=self.vocabulary_.get), dtype=object)


def _doc_count(value: int | float, n: int, name: str) -> float:
    """A document-frequency bound: an int is a number of texts, a float a fraction."""
    if isinstance(value, int | np.integer):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
        return value
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"a float {name} must be in [0, 1], got {value}")
    return value * n


def _texts(texts: Iterable[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("CountVectorizer expects a list of texts, got a single string")
    return list(texts)
