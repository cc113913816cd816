"""Classic machine learning written with axon and NumPy: logistic regression, a linear
SVM, k-nearest neighbours and k-means, with scikit-learn's method and attribute names.

Linear classifiers. Both score each class with one affine map, s = W x + b (W of shape
(K, D) like ``nn.Linear``), and predict argmax_c s_c. They differ in the loss minimised
over the n training pairs, each with the same L2 penalty on W (b is not penalised):

    logistic regression   mean_i CE(s_i, y_i)                               + |W|^2 / (2 C n)
    linear SVM            mean_i sum_{j != y_i} max(0, 1 - s_iy + s_ij) / K  + |W|^2 / (2 C n)

CE is the softmax cross-entropy, -log softmax(s)_y; the SVM's is the multi-class hinge
loss of Weston and Watkins (``nn.MultiMarginLoss``): every wrong class must score at
least 1 below the right one. Dividing scikit-learn's objectives, |W|^2 / 2 + C sum_i
loss_i, by C n gives these, so C means what it means there (smaller C: more
regularisation). Both are convex; they are trained with axon's autograd and an optimizer
(Adam by default), full-batch or in mini-batches, for ``max_iter`` epochs, starting from
W = 0, b = 0.

k-nearest neighbours predicts the majority label of the k training points closest in
euclidean distance, ||q - x||^2 = ||q||^2 - 2 q.x + ||x||^2 for all pairs at once (one
matrix product, in float64). k-means (Lloyd's algorithm) alternates assigning each point
to its nearest centre and moving each centre to the mean of its points.
"""

from __future__ import annotations

import time

import numpy as np

from .. import nn, optim
from ..autograd.creation import from_numpy
from ..nn import functional as F

__all__ = ["KMeans", "KNeighborsClassifier", "LinearSVM", "LogisticRegression"]

_CHUNK = 2048  # query rows per block of the distance matrix


# ----------------------------------------------------------------------------- checks
def _as_array(x) -> np.ndarray:
    """An axon (or torch) Tensor, a NumPy array or nested lists, as a NumPy array."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        x = x.detach().numpy()
    return np.asarray(x)


def _check_X(X, name: str = "X", n_features: int | None = None, who: str = "") -> np.ndarray:
    """X as a finite 2-D float64 array (n_samples, n_features)."""
    X = _as_array(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"{name} must hold numbers, got dtype {X.dtype}")
    X = X.astype(np.float64, copy=False)
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinity")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but {who} was fitted with "
            f"{n_features} (shape {X.shape})"
        )
    return X


def _check_Xy(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = _check_X(X)
    y = _as_array(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,), got shape {y.shape}")
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows (shape {X.shape}) but y has {len(y)} labels")
    if len(X) == 0:
        raise ValueError("cannot fit on 0 samples")
    return X, y


def _not_fitted(model, attribute: str) -> None:
    if not hasattr(model, attribute):
        raise RuntimeError(f"this {type(model).__name__} is not fitted yet: call fit first")


def squared_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """||a_i - b_j||^2 for all rows of A (n, D) and B (m, D), as (n, m) float64:
    ||a||^2 - 2 a.b + ||b||^2 (one matrix product), clipped at 0 against round-off.
    Exact for integer-valued inputs (every term is an integer below 2^53)."""
    A = A.astype(np.float64, copy=False)
    B = B.astype(np.float64, copy=False)
    d = np.einsum("ij,ij->i", A, A)[:, None] - 2.0 * (A @ B.T)  # (n, m)
    d += np.einsum("ij,ij->i", B, B)[None, :]
    np.maximum(d, 0.0, out=d)
    return d


# ----------------------------------------------------------------------------- linear
class _LinearClassifier:
    """Scores s = X W^T + b trained by gradient descent on ``_loss`` + |W|^2 / (2 C n)."""

    def __init__(
        self,
        C: float = 1.0,
        *,
        max_iter: int = 300,
        lr: float = 0.05,
        batch_size: int | None = None,
        optimizer: str = "adam",
        random_state: int | None = 0,
    ) -> None:
        self.C = C
        self.max_iter = max_iter
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.random_state = random_state

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(C={self.C!r}, max_iter={self.max_iter}, "
            f"lr={self.lr!r}, batch_size={self.batch_size!r}, "
            f"optimizer={self.optimizer!r})"
        )

    def _loss(self, scores, target):
        raise NotImplementedError

    def _check_settings(self) -> None:
        if not self.C > 0:
            raise ValueError(f"C must be > 0, got {self.C}")
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        if self.batch_size is not None and int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1 or None, got {self.batch_size}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")

    def fit(self, X, y) -> _LinearClassifier:
        """Learn ``coef_`` (K, D) and ``intercept_`` (K,) from X (n, D) and labels y (n,):
        ``max_iter`` epochs over the data, each one optimizer step per batch (one step per
        epoch when ``batch_size`` is None). ``loss_curve_`` holds each epoch's mean
        objective (penalty included). Returns self."""
        self._check_settings()
        X, y = _check_Xy(X, y)
        self.classes_, target = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"need at least 2 classes to fit, got {self.classes_.tolist()}")
        n, d = X.shape
        self.n_features_in_ = d
        linear = nn.Linear(d, len(self.classes_))
        nn.init.zeros_(linear.weight)
        nn.init.zeros_(linear.bias)
        params = list(linear.parameters())
        opt = (
            optim.Adam(params, lr=self.lr)
            if self.optimizer == "adam"
            else optim.SGD(params, lr=self.lr)
        )
        xs = X.astype(np.float32)
        ts = target.astype(np.int64)
        penalty = 0.5 / (self.C * n)
        batch = n if self.batch_size is None else min(int(self.batch_size), n)
        rng = np.random.default_rng(self.random_state)
        self.loss_curve_ = []
        start = time.perf_counter()
        for _ in range(int(self.max_iter)):
            order = np.arange(n) if batch == n else rng.permutation(n)
            total = 0.0
            for s in range(0, n, batch):
                idx = order[s : s + batch]
                opt.zero_grad()
                scores = linear(from_numpy(xs[idx]))  # (b, K)
                loss = (
                    self._loss(scores, from_numpy(ts[idx]))
                    + penalty * (linear.weight * linear.weight).sum()
                )
                loss.backward()
                opt.step()
                total += float(loss.item()) * len(idx)
            self.loss_curve_.append(total / n)
        self.fit_seconds_ = time.perf_counter() - start
        self.n_iter_ = int(self.max_iter)
        self.coef_ = linear.weight.detach().numpy().astype(np.float64)  # (K, D)
        self.intercept_ = linear.bias.detach().numpy().astype(np.float64)  # (K,)
        return self

    def decision_function(self, X) -> np.ndarray:
        """The class scores s = X W^T + b, (n, K), columns in ``classes_`` order."""
        _not_fitted(self, "coef_")
        X = _check_X(X, n_features=self.n_features_in_, who=type(self).__name__)
        return X @ self.coef_.T + self.intercept_

    def predict(self, X) -> np.ndarray:
        """The best-scoring class of each row (n,); ties go to the first in ``classes_``."""
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]

    def score(self, X, y) -> float:
        """The accuracy of :meth:`predict` on (X, y)."""
        return float(np.mean(self.predict(X) == _as_array(y).ravel()))


class LogisticRegression(_LinearClassifier):
    """Multinomial (softmax) logistic regression: P(c | x) = softmax(W x + b)_c, fitted by
    minimising mean cross-entropy + |W|^2 / (2 C n) (scikit-learn's objective divided by
    C n) with axon's autograd and Adam (or SGD).

    Args:
        C: inverse regularisation strength, as in scikit-learn (default 1).
        max_iter: epochs (full-batch: optimizer steps).
        lr: the optimizer's learning rate.
        batch_size: rows per step; None for the whole training set (default).
        optimizer: ``"adam"`` or ``"sgd"``.
        random_state: seeds the shuffling of mini-batches.

    Fitted attributes: ``classes_`` (K,), ``coef_`` (K, D), ``intercept_`` (K,),
    ``n_features_in_``, ``n_iter_``, ``loss_curve_`` (the objective per epoch),
    ``fit_seconds_``. Unlike scikit-learn, two classes also get two rows of ``coef_``.
    """

    def _loss(self, scores, target):
        return F.cross_entropy(scores, target)

    def predict_proba(self, X) -> np.ndarray:
        """softmax(X W^T + b), (n, K); each row sums to 1."""
        s = self.decision_function(X)
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X) -> np.ndarray:
        """log softmax(X W^T + b), (n, K)."""
        s = self.decision_function(X)
        m = s.max(axis=1, keepdims=True)
        return s - m - np.log(np.exp(s - m).sum(axis=1, keepdims=True))


class LinearSVM(_LinearClassifier):
    """A linear multi-class SVM: minimises the mean multi-class hinge loss
    sum_{j != y} max(0, 1 - s_y + s_j) / K (``nn.MultiMarginLoss``, Weston-Watkins) +
    |W|^2 / (2 C n) with axon's autograd and Adam (or SGD). Same arguments and fitted
    attributes as :class:`LogisticRegression` (no probabilities: the scores are margins).

    scikit-learn's ``LinearSVC`` differs in its multi-class scheme and loss (one-vs-rest,
    K binary SVMs on the squared hinge, solved exactly by liblinear), so the two agree in
    accuracy, not weight for weight.
    """

    def _loss(self, scores, target):
        return F.multi_margin_loss(scores, target)


# ----------------------------------------------------------------------------- kNN
class KNeighborsClassifier:
    """k-nearest neighbours with euclidean distance and a uniform vote (scikit-learn's
    ``KNeighborsClassifier(n_neighbors)`` with its defaults).

    Prediction: the class with the most votes among the k training points nearest to the
    query; a tie between classes goes to the first in ``classes_`` (sorted labels), as in
    scikit-learn. Ties in distance at the k-th place: the training points with the lower
    index are kept (a stable order). scikit-learn keeps whichever its search structure
    (heap or tree) happens to keep, so where such ties occur the two may choose different
    neighbours; otherwise their neighbours and predictions are the same.

    Fitted attributes: ``classes_``, ``n_features_in_``, ``n_samples_fit_``.
    """

    def __init__(self, n_neighbors: int = 5) -> None:
        self.n_neighbors = n_neighbors

    def __repr__(self) -> str:
        return f"KNeighborsClassifier(n_neighbors={self.n_neighbors})"

    def fit(self, X, y) -> KNeighborsClassifier:
        """Remember the training points (float64) and their labels. Returns self."""
        X, y = _check_Xy(X, y)
        if int(self.n_neighbors) < 1:
            raise ValueError(f"n_neighbors must be >= 1, got {self.n_neighbors}")
        self.classes_, self._y = np.unique(y, return_inverse=True)
        self._X = X
        self.n_features_in_ = X.shape[1]
        self.n_samples_fit_ = X.shape[0]
        return self

    def kneighbors(self, X, n_neighbors: int | None = None, return_distance: bool = True):
        """The k nearest training points of each query row: (distances (n, k), indices
        (n, k)), nearest first (equal distances by index). Queries are processed in
        blocks of rows, so the distance matrix held at once is (block, n_train)."""
        _not_fitted(self, "_X")
        Q = _check_X(X, n_features=self.n_features_in_, who="KNeighborsClassifier")
        k = int(self.n_neighbors if n_neighbors is None else n_neighbors)
        if not 1 <= k <= self.n_samples_fit_:
            raise ValueError(
                f"n_neighbors must be in [1, {self.n_samples_fit_}] (the training points), got {k}"
            )
        dist = np.empty((len(Q), k))
        ind = np.empty((len(Q), k), dtype=np.int64)
        for s in range(0, len(Q), _CHUNK):
            d = squared_distances(Q[s : s + _CHUNK], self._X)  # (b, n_train)
            dist[s : s + _CHUNK], ind[s : s + _CHUNK] = _k_smallest(d, k)
        np.sqrt(dist, out=dist)
        return (dist, ind) if return_distance else ind

    def predict_proba(self, X) -> np.ndarray:
        """The fraction of the k neighbours in each class, (n, K)."""
        ind = self.kneighbors(X, return_distance=False)  # (n, k)
        labels = self._y[ind]
        K = len(self.classes_)
        votes = np.zeros((len(ind), K))
        rows = np.repeat(np.arange(len(ind)), ind.shape[1])
        np.add.at(votes, (rows, labels.ravel()), 1.0)
        return votes / ind.shape[1]

    def predict(self, X) -> np.ndarray:
        """The majority class of each row's k neighbours (n,); ties to the first class."""
        votes = self.predict_proba(X)  # (n, K)
        return self.classes_[np.argmax(votes, axis=1)]

    def score(self, X, y) -> float:
        """The accuracy of :meth:`predict` on (X, y)."""
        return float(np.mean(self.predict(X) == _as_array(y).ravel()))


def _k_smallest(d: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest entries of each row of d (b, m) and their columns, sorted by
    (value, column). ``argpartition`` finds them in O(m); a row with a tie at the k-th
    value is redone with a stable sort, so the lower columns win."""
    if k == d.shape[1]:
        ind = np.argsort(d, axis=1, kind="stable")
        return np.take_along_axis(d, ind, axis=1), ind
    ind = np.argpartition(d, k - 1, axis=1)[:, :k]  # (b, k), unordered
    vals = np.take_along_axis(d, ind, axis=1)
    kth = vals.max(axis=1, keepdims=True)
    tied = (d <= kth).sum(axis=1) > k  # more than k candidates: a tie at the boundary
    for r in np.flatnonzero(tied):
        ind[r] = np.argsort(d[r], kind="stable")[:k]
        vals[r] = d[r, ind[r]]
    order = np.lexsort((ind, vals), axis=1)  # by value, then by column
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(ind, order, axis=1)


# ----------------------------------------------------------------------------- k-means
class KMeans:
    """k-means clustering by Lloyd's algorithm (scikit-learn's ``KMeans`` with
    ``algorithm="lloyd"``; the same stopping rule, so from the same initial centres it
    finds the same clusters).

    One iteration: assign each point to its nearest centre (the first on a tie), then
    move each centre to the mean of its points. A centre left with no points is moved
    onto the point farthest from its own centre (the farthest first when several are
    empty), which leaves that point's old cluster. It stops when an assignment repeats
    one from the iteration before, or when the centres moved by sum_k ||c_k' - c_k||^2
    <= tol * (the mean over features of X's variance), or after ``max_iter`` iterations;
    unless an assignment repeated, the points are then assigned once more to the final
    centres. The inertia is sum_i ||x_i - c_{label_i}||^2. The data are centred (their
    mean subtracted) while clustering, which changes no distance but keeps the
    ||x||^2 - 2 x.c + ||c||^2 expansion accurate.

    Args:
        n_clusters: k.
        init: ``"k-means++"`` (each next centre drawn with probability proportional to
            the squared distance to the nearest centre so far), ``"random"`` (k distinct
            points) or an array of initial centres (k, D).
        n_init: runs from different initial centres; the one with the least inertia is
            kept (1 for an array ``init``).
        max_iter, tol: the stopping rule above.
        random_state: seeds the initialisation.

    Fitted attributes: ``cluster_centers_`` (k, D), ``labels_`` (n,), ``inertia_``,
    ``n_iter_``, ``n_features_in_``, ``inertia_curve_`` (the inertia of each iteration's
    assignment, of the run kept).
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init="k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __repr__(self) -> str:
        init = self.init if isinstance(self.init, str) else "array"
        return (
            f"KMeans(n_clusters={self.n_clusters}, init={init!r}, n_init={self.n_init}, "
            f"max_iter={self.max_iter}, tol={self.tol})"
        )

    def fit(self, X, y=None) -> KMeans:
        """Cluster the rows of X (n, D). ``y`` is ignored. Returns self."""
        X = _check_X(X)
        k = int(self.n_clusters)
        if not 1 <= k <= len(X):
            raise ValueError(f"n_clusters must be in [1, {len(X)}] (the samples), got {k}")
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        mean = X.mean(axis=0)
        Xc = X - mean
        tol = float(np.var(X, axis=0).mean()) * self.tol if self.tol else 0.0
        rng = np.random.default_rng(self.random_state)
        if isinstance(self.init, str):
            if self.init not in ("k-means++", "random"):
                raise ValueError(
                    f"init must be 'k-means++', 'random' or an array of centres, got {self.init!r}"
                )
            runs = int(self.n_init)
        else:
            runs = 1
        best = None
        for _ in range(runs):
            centres = self._initial_centres(Xc, mean, rng)
            run = _lloyd(Xc, centres, int(self.max_iter), tol)
            if best is None or run[2] < best[2]:
                best = run
        labels, centres, inertia, n_iter, curve = best
        self.cluster_centers_ = centres + mean
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self.inertia_curve_ = curve
        self.n_features_in_ = X.shape[1]
        return self

    def _initial_centres(
        self, Xc: np.ndarray, mean: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """The starting centres (k, D), in the centred coordinates."""
        k = int(self.n_clusters)
        if not isinstance(self.init, str):
            c = _check_X(self.init, "init")
            if c.shape != (k, Xc.shape[1]):
                raise ValueError(
                    f"init must have shape (n_clusters, n_features) = "
                    f"({k}, {Xc.shape[1]}), got {c.shape}"
                )
            return c - mean
        if self.init == "random":
            return Xc[rng.choice(len(Xc), size=k, replace=False)].copy()
        centres = [Xc[rng.integers(len(Xc))]]
        closest = squared_distances(Xc, centres[0][None])[:, 0]  # (n,)
        for _ in range(1, k):
            total = closest.sum()
            i = rng.choice(len(Xc), p=closest / total) if total > 0 else rng.integers(len(Xc))
            centres.append(Xc[i])
            closest = np.minimum(closest, squared_distances(Xc, Xc[i][None])[:, 0])
        return np.array(centres)

    def _check_fitted(self, X) -> np.ndarray:
        _not_fitted(self, "cluster_centers_")
        return _check_X(X, n_features=self.n_features_in_, who="KMeans")

    def transform(self, X) -> np.ndarray:
        """The euclidean distance of each row to each centre, (n, k)."""
        return np.sqrt(squared_distances(self._check_fitted(X), self.cluster_centers_))

    def predict(self, X) -> np.ndarray:
        """The nearest centre of each row (n,)."""
        return np.argmin(squared_distances(self._check_fitted(X), self.cluster_centers_), axis=1)

    def fit_predict(self, X, y=None) -> np.ndarray:
        """:meth:`fit`, then the training points' clusters ``labels_``."""
        return self.fit(X).labels_

    def score(self, X, y=None) -> float:
        """Minus the inertia of X under the fitted centres (higher is better)."""
        d = squared_distances(self._check_fitted(X), self.cluster_centers_)
        return -float(d.min(axis=1).sum())


def _assign(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each point's nearest centre (first on a tie) and its squared distance."""
    d = squared_distances(X, centres)  # (n, k)
    labels = np.argmin(d, axis=1)
    return labels, d[np.arange(len(X)), labels]


def _update(X: np.ndarray, labels: np.ndarray, closest: np.ndarray, k: int) -> np.ndarray:
    """The mean of each cluster's points (k, D); an empty cluster takes the point farthest
    from its centre, which is taken out of its old cluster's mean."""
    sums = np.zeros((k, X.shape[1]))
    np.add.at(sums, labels, X)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        far = np.argsort(-closest, kind="stable")[: len(empty)]
        for cluster, i in zip(empty, far, strict=True):
            old = labels[i]
            sums[old] -= X[i]
            counts[old] -= 1
            sums[cluster] = X[i]
            counts[cluster] = 1
    return sums / np.maximum(counts, 1)[:, None]


def _lloyd(X: np.ndarray, centres: np.ndarray, max_iter: int, tol: float):
    """Lloyd iterations from ``centres``: (labels, centres, inertia, iterations, the
    inertia of each assignment)."""
    k = len(centres)
    labels_old = None
    curve = []
    converged = False
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        labels, closest = _assign(X, centres)
        curve.append(float(closest.sum()))
        new = _update(X, labels, closest, k)
        shift = float(((new - centres) ** 2).sum())
        centres = new
        if labels_old is not None and np.array_equal(labels, labels_old):
            converged = True
            break
        if shift <= tol:
            break
        labels_old = labels
    if not converged:
        labels, _ = _assign(X, centres)
    inertia = float(((X - centres[labels]) ** 2).sum())  # with the final centres
    return labels, centres, inertia, n_iter, curve
