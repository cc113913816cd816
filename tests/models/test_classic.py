"""axon.models.classic against scikit-learn (k-NN, k-means, the linear models' accuracy
and objective) and PyTorch (the linear models' first gradient steps)."""

import math

import numpy as np
import pytest
import torch

from axon.lab.shared.digits import split_digits
from axon.models import KMeans, KNeighborsClassifier, LinearSVM, LogisticRegression
from axon.models.classic import squared_distances

sk_neighbors = pytest.importorskip("sklearn.neighbors")
sk_cluster = pytest.importorskip("sklearn.cluster")
sk_linear = pytest.importorskip("sklearn.linear_model")
sk_svm = pytest.importorskip("sklearn.svm")
threadpoolctl = pytest.importorskip("threadpoolctl")  # a dependency of scikit-learn


@pytest.fixture(scope="module")
def digits():
    """The digits split of the experiments, as float64 rows: X (n, 64), y, Xt, yt."""
    train, test = split_digits(0)
    return (train.flat().astype(np.float64), train.y, test.flat().astype(np.float64), test.y)


def blobs(n=240, d=5, k=4, seed=0, spread=4.0):
    """Gaussian clusters (unit variance) around k centres drawn from N(0, spread^2),
    float64 (n, d), and their labels (n,)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, spread, (k, d))
    y = rng.integers(0, k, n)
    return centres[y] + rng.normal(0, 1, (n, d)), y


def objective(W, b, X, y, C, loss):
    """mean loss + |W|^2 / (2 C n) in float64, for W (K, D) and b (K,)."""
    s = X @ W.T + b
    rows = np.arange(len(y))
    if loss == "ce":
        m = s.max(axis=1, keepdims=True)
        logp = s - m - np.log(np.exp(s - m).sum(axis=1, keepdims=True))
        data = -logp[rows, y].mean()
    else:
        margins = np.maximum(0.0, 1.0 - s[rows, y][:, None] + s)
        margins[rows, y] = 0.0
        data = margins.sum(axis=1).mean() / W.shape[0]
    return data + (W**2).sum() / (2 * C * len(y))


# ----------------------------------------------------------------------------- kNN
def no_tie_at_k(X, Q, k):
    """True when every query's k-th and (k+1)-th nearest distances differ, so the set of
    k neighbours is unique and any correct search must find it."""
    d = np.sort(((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1), axis=1)
    return bool((d[:, k - 1] < d[:, k]).all())


@pytest.mark.parametrize("k", [1, 3, 5])
def test_knn_equals_sklearn_on_digits(digits, k):
    X, y, Xt, yt = digits
    assert no_tie_at_k(X, Xt, k)
    ours = KNeighborsClassifier(k).fit(X, y)
    theirs = sk_neighbors.KNeighborsClassifier(k).fit(X, y)
    np.testing.assert_array_equal(ours.predict(Xt), theirs.predict(Xt))
    np.testing.assert_allclose(ours.predict_proba(Xt), theirs.predict_proba(Xt))
    dist, ind = ours.kneighbors(Xt)
    sk_dist, sk_ind = theirs.kneighbors(Xt)
    np.testing.assert_array_equal(ind, sk_ind)
    np.testing.assert_allclose(dist, sk_dist, rtol=1e-9, atol=1e-9)
    assert ours.score(Xt, yt) > 0.97


def test_knn_equals_sklearn_with_string_labels_and_float32():
    X, y = blobs(seed=1)
    Q, _ = blobs(n=50, seed=2)
    labels = np.array(["ant", "bee", "cat", "dog"])[y]
    assert no_tie_at_k(X, Q, 5)
    ours = KNeighborsClassifier(5).fit(X.astype(np.float32), labels)
    theirs = sk_neighbors.KNeighborsClassifier(5).fit(X.astype(np.float32), labels)
    np.testing.assert_array_equal(
        ours.predict(Q.astype(np.float32)), theirs.predict(Q.astype(np.float32))
    )


def test_knn_ties_lower_index_and_smallest_class_win():
    # the query 0 is at distance 1 from the points at -1 and +1 (indices 0, 1) and 2 from 2
    X = np.array([[-1.0], [1.0], [2.0], [-2.0]])
    y = np.array([5, 3, 3, 5])
    knn = KNeighborsClassifier(1).fit(X, y)
    dist, ind = knn.kneighbors([[0.0]])
    assert ind.tolist() == [[0]] and dist.tolist() == [[1.0]]  # distance tie: index 0
    assert knn.predict([[0.0]]).tolist() == [5]
    knn = KNeighborsClassifier(2).fit(X, y)  # one vote each for 5 and 3: the smaller class
    assert knn.predict([[0.0]]).tolist() == [3]
    np.testing.assert_allclose(knn.predict_proba([[0.0]]), [[0.5, 0.5]])
    # a tie at the k-th place among many equal distances (integer data): lowest indices
    X = np.zeros((6, 2))
    X[:, 0] = [3, 1, 1, 1, 1, 0]
    dist, ind = KNeighborsClassifier(3).fit(X, np.arange(6)).kneighbors([[0.0, 0.0]])
    assert ind.tolist() == [[5, 1, 2]] and dist.tolist() == [[0.0, 1.0, 1.0]]


def test_squared_distances_are_exact_for_integers():
    rng = np.random.default_rng(0)
    A, B = rng.integers(0, 17, (7, 64)), rng.integers(0, 17, (9, 64))
    exact = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
    np.testing.assert_array_equal(squared_distances(A, B), exact)


def test_knn_bad_input_is_named():
    knn = KNeighborsClassifier(3)
    with pytest.raises(RuntimeError, match="not fitted"):
        knn.predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="X has 3 rows .* y has 2 labels"):
        knn.fit(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match=r"must be 2-D .* shape \(3,\)"):
        knn.fit(np.zeros(3), [0, 1, 2])
    knn.fit(np.zeros((4, 2)), [0, 1, 0, 1])
    with pytest.raises(
        ValueError,
        match=r"has 5 features, but KNeighborsClassifier was "
        r"fitted with 2 \(shape \(1, 5\)\)",
    ):
        knn.predict(np.zeros((1, 5)))
    with pytest.raises(ValueError, match=r"n_neighbors must be in \[1, 4\]"):
        KNeighborsClassifier(5).fit(np.zeros((4, 2)), [0, 1, 0, 1]).predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="NaN"):
        knn.predict(np.array([[np.nan, 0.0]]))


# ----------------------------------------------------------------------------- k-means
def test_kmeans_equals_sklearn_from_the_same_centres_on_digits(digits):
    X = digits[0]
    init = X[np.random.default_rng(3).choice(len(X), 10, replace=False)]
    ours = KMeans(10, init=init).fit(X)
    theirs = sk_cluster.KMeans(10, init=init, n_init=1).fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, atol=1e-10)
    np.testing.assert_array_equal(ours.predict(X), ours.labels_)
    assert ours.score(X) == pytest.approx(-ours.inertia_)
    assert ours.inertia_curve_[0] > ours.inertia_


@pytest.mark.parametrize("tol", [0.0, 1e-4, 0.5])
def test_kmeans_equals_sklearn_on_blobs_whatever_the_tolerance(tol):
    X, _ = blobs(d=3, k=5, seed=4)
    init = X[:6] + 0.1
    ours = KMeans(6, init=init, tol=tol, max_iter=50).fit(X)
    theirs = sk_cluster.KMeans(6, init=init, n_init=1, tol=tol, max_iter=50).fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)


def test_kmeans_moves_an_empty_cluster_like_sklearn():
    X, _ = blobs(n=60, d=2, k=3, seed=5)
    init = np.vstack([X[:3], [[100.0, 100.0]]])  # the last centre will win no point
    ours = KMeans(4, init=init).fit(X)
    theirs = sk_cluster.KMeans(4, init=init, n_init=1).fit(X)
    assert len(np.unique(ours.labels_)) == 4
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)


def test_kmeans_plus_plus_is_seeded_and_best_of_n_init():
    X, y = blobs(seed=6, spread=20.0)
    a = KMeans(4, random_state=0, n_init=3).fit(X)
    b = KMeans(4, random_state=0, n_init=3).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    # the first of three runs starts where a single run with the same seed does
    single = KMeans(4, init="random", random_state=0).fit(X).inertia_
    assert KMeans(4, init="random", random_state=0, n_init=3).fit(X).inertia_ <= single
    # well-separated blobs: k-means++ puts every blob in a cluster of its own
    assert all(len(np.unique(y[a.labels_ == c])) == 1 for c in range(4))
    assert a.transform(X[:5]).shape == (5, 4)


def test_kmeans_bad_input_is_named():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"init must have shape .* \(3, 2\), got \(2, 2\)"):
        KMeans(3, init=np.zeros((2, 2))).fit(X)
    with pytest.raises(ValueError, match=r"n_clusters must be in \[1, 5\]"):
        KMeans(6).fit(X)
    with pytest.raises(ValueError, match="init must be 'k-means\\+\\+', 'random'"):
        KMeans(2, init="kmeans").fit(X)
    with pytest.raises(RuntimeError, match="not fitted"):
        KMeans(2).predict(X)


# ----------------------------------------------------------------------------- linear
@pytest.mark.parametrize(
    "cls, loss, torch_loss",
    [
        (LogisticRegression, "ce", torch.nn.CrossEntropyLoss()),
        (LinearSVM, "hinge", torch.nn.MultiMarginLoss()),
    ],
)
def test_linear_models_take_torchs_gradient_steps(cls, loss, torch_loss):
    # two full-batch SGD steps from W = 0, b = 0: the penalty acts on the second
    X, y = blobs(n=40, d=3, k=3, seed=7)
    C, lr = 0.5, 0.3
    model = cls(C=C, max_iter=2, lr=lr, optimizer="sgd").fit(X, y)
    linear = torch.nn.Linear(3, 3).double()
    torch.nn.init.zeros_(linear.weight)
    torch.nn.init.zeros_(linear.bias)
    opt = torch.optim.SGD(linear.parameters(), lr=lr)
    x, t = torch.tensor(X), torch.tensor(y)
    losses = []
    for _ in range(2):
        opt.zero_grad()
        value = torch_loss(linear(x), t) + (linear.weight**2).sum() / (2 * C * len(y))
        value.backward()
        opt.step()
        losses.append(value.item())
    np.testing.assert_allclose(model.coef_, linear.weight.detach().numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, linear.bias.detach().numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.loss_curve_, losses, rtol=1e-5)
    # at W = 0 every class scores 0: cross-entropy ln K, hinge (K - 1) / K
    assert losses[0] == pytest.approx(math.log(3) if loss == "ce" else 2 / 3)


def test_logistic_regression_matches_sklearn(digits):
    X, y, Xt, yt = digits
    ours = LogisticRegression(C=1.0, max_iter=300, lr=0.05).fit(X, y)
    # the oracle's hundreds of small products on a one-thread BLAS: a two-thread one
    # hands work over between its threads each time, 30-100x slower on a busy 2-core box
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        theirs = sk_linear.LogisticRegression(C=1.0, max_iter=5000, tol=1e-10).fit(X, y)
    assert abs(ours.score(Xt, yt) - theirs.score(Xt, yt)) <= 0.02
    # the same objective: ours ends within 0.005 of scikit-learn's optimum
    best = objective(theirs.coef_, theirs.intercept_, X, y, 1.0, "ce")
    reached = objective(ours.coef_, ours.intercept_, X, y, 1.0, "ce")
    assert best <= reached <= best + 0.005
    proba = ours.predict_proba(Xt)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.log(proba), ours.predict_log_proba(Xt), atol=1e-10)
    assert np.abs(proba - theirs.predict_proba(Xt)).max() < 0.1
    assert ours.loss_curve_[-1] < ours.loss_curve_[0]


def test_linear_svm_reaches_linear_svcs_accuracy_and_a_lower_hinge_objective(digits):
    X, y, Xt, yt = digits
    ours = LinearSVM(C=1.0, max_iter=200, lr=0.05).fit(X, y)
    theirs = sk_svm.LinearSVC(C=1.0, max_iter=10000).fit(X, y)
    assert ours.score(Xt, yt) >= theirs.score(Xt, yt) - 0.02
    # LinearSVC solves another problem (one-vs-rest, squared hinge); scored by our
    # objective its solution is just a point, so ours, which minimises it, is lower
    assert objective(ours.coef_, ours.intercept_, X, y, 1.0, "hinge") < objective(
        theirs.coef_, theirs.intercept_, X, y, 1.0, "hinge"
    )
    assert ours.decision_function(Xt).shape == (len(yt), 10)


def test_linear_models_mini_batches_and_labels():
    X, y = blobs(n=120, d=4, k=3, seed=8)
    labels = np.array(["a", "b", "c"])[y]
    model = LogisticRegression(max_iter=30, lr=0.05, batch_size=16, random_state=0)
    model.fit(X, labels)
    assert model.classes_.tolist() == ["a", "b", "c"]
    assert model.coef_.shape == (3, 4) and model.intercept_.shape == (3,)
    assert model.score(X, labels) > 0.95
    again = LogisticRegression(max_iter=30, lr=0.05, batch_size=16, random_state=0)
    np.testing.assert_array_equal(again.fit(X, labels).coef_, model.coef_)


def test_linear_models_bad_input_is_named():
    with pytest.raises(ValueError, match="C must be > 0"):
        LinearSVM(C=0).fit(np.zeros((2, 2)), [0, 1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegression().fit(np.zeros((2, 2)), [1, 1])
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd'"):
        LogisticRegression(optimizer="lbfgs").fit(np.zeros((2, 2)), [0, 1])
    model = LogisticRegression(max_iter=1).fit(np.zeros((2, 2)), [0, 1])
    with pytest.raises(
        ValueError, match="has 3 features, but LogisticRegression was fitted with 2"
    ):
        model.predict(np.zeros((1, 3)))
    with pytest.raises(RuntimeError, match="not fitted"):
        LinearSVM().decision_function(np.zeros((1, 2)))
