"""Classic machine learning against neural networks on the 8x8 digits, one split for all.

The splits and scaling are those of the ``digits`` experiment (80% for training, 20% for
testing, a seeded 10% of each class of the training part carved off for validation,
pixels standardised with the training split's mean and std). Each model is fitted on the
training split and scored once on the test images; the networks' curves are drawn on the
validation split:

- logistic regression and a linear SVM (:mod:`axon.models.classic`): one affine map
  s = W x + b scores the ten classes; trained with axon's autograd and Adam on the
  softmax cross-entropy and on the multi-class hinge loss (``nn.MultiMarginLoss``), each
  with scikit-learn's L2 penalty (C = 1);
- k-nearest neighbours (k = 3): no training at all, the training images are the model;
  a query takes the majority label of its three nearest images (euclidean distance, all
  pairs in one matrix product);
- a decision tree and a random forest from scikit-learn, as references (the course does
  not build them in axon);
- the MLP (64 -> 64 -> ReLU -> 10) and the small CNN of the ``digits`` experiment.

The table puts accuracy beside the fitting and prediction time. Times are wall-clock on
this machine and not like for like: scikit-learn's models run compiled code, axon's
NumPy, and the networks' time includes scoring the validation images after every epoch.
As oracles, scikit-learn's own logistic regression, LinearSVC and k-nearest neighbours
are fitted on the same split: the k-NN predictions must be identical, the linear models'
accuracies close. With ``--device`` the two networks train there; the classic models
(estimators that fit on the CPU) stay on the CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import axon as ax
from axon import models, optim
from axon.models.classic import KNeighborsClassifier, LinearSVM, LogisticRegression

from .. import plot
from .registry import register
from .shared.base import Config, Result, heading, table
from .shared.digits import digits_cnn, split_digits
from .shared.vision_common import CHANCE, QUICK_MARGIN, Splits, carve_validation, train

FULL_CLAIM = 0.93  # every axon model's test accuracy in a full run
ORACLE_MARGIN = 0.02  # the linear models' accuracy against scikit-learn's
K_NEIGHBOURS = 3
SKLEARN_MISSING = (
    "scikit-learn is not installed, so its references (decision tree, "
    "random forest) and oracles are skipped: pip install scikit-learn "
    "(it comes with axon's test extra, pip install -e '.[test]')"
)


@dataclass
class Row:
    """One model's line of the table."""

    name: str
    written: str  # "axon" or "scikit-learn"
    size: str  # what the model keeps after fitting
    accuracy: float
    fit_seconds: float
    predict_seconds: float
    predictions: np.ndarray


def sklearn_or_none():
    """The ``sklearn`` package, or None (with the message printed) when it is missing."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("  " + SKLEARN_MISSING)
        return None
    return sklearn


def timed_fit(
    name: str,
    written: str,
    model,
    size: Callable[[object], str],
    X: np.ndarray,
    y: np.ndarray,
    Xt: np.ndarray,
    yt: np.ndarray,
) -> Row:
    """Fit ``model`` (scikit-learn's API) and score it on (Xt, yt), timing both."""
    start = time.perf_counter()
    model.fit(X, y)
    fitted = time.perf_counter() - start
    start = time.perf_counter()
    pred = np.asarray(model.predict(Xt))
    predicted = time.perf_counter() - start
    return Row(name, written, size(model), float((pred == yt).mean()), fitted, predicted, pred)


def network_row(
    name: str,
    make,
    flatten: bool,
    splits: Splits,
    epochs: int,
    seed: int,
    config: Config | None = None,
) -> tuple[Row, ax.History]:
    """Train one of the ``digits`` networks (Adam 3e-3, cosine decay, batch 32), backed
    up (for ``--resume``) and on ``config.device`` when ``config`` is given."""
    ax.manual_seed(seed)
    model = make().to(config.device if config is not None else "cpu")
    opt = optim.Adam(model.parameters(), lr=3e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    run = train(
        model,
        splits,
        optimizer=opt,
        epochs=epochs,
        batch_size=32,
        scheduler=sched,
        flatten=flatten,
        verbose=0,
        config=config,
        tag="classic-vs-nn-" + ("mlp" if flatten else "cnn"),
    )
    start = time.perf_counter()
    # the predictions back in host memory, where the classic models leave theirs
    ax.predict(model, splits.test.flat() if flatten else splits.test.x, batch_size=1000).cpu()
    predicted = time.perf_counter() - start
    row = Row(
        name,
        "axon",
        f"{model.num_parameters():,} weights",
        run.test_accuracy,
        run.seconds,
        predicted,
        run.predictions,
    )
    return row, run.history


def _weights(m) -> str:
    return f"{m.coef_.size + m.intercept_.size:,} weights"


@register(
    "classic-vs-nn",
    "8x8 digits: logistic regression, linear SVM, k-NN (axon), "
    "tree and forest (scikit-learn) against an MLP and a CNN: accuracy and time",
)
def run(config: Config) -> Result:
    result = Result("classic-vs-nn")
    heading("Classic machine learning against neural networks: the 8x8 digits")
    splits = carve_validation(*split_digits(config.seed), config.seed)
    result.splits = splits.sizes()
    X, y = splits.train.flat(), splits.train.y  # (n, 64), standardised
    Xt, yt = splits.test.flat(), splits.test.y
    print(f"  {splits.describe()}, 8x8 as 64 features (seed {config.seed})")
    epochs = config.epochs or (3 if config.quick else 40)
    iters = 100 if config.quick else 300
    trees = 20 if config.quick else 200

    heading(
        f"Fitting (linear models: Adam lr 0.05, full batch, {iters} epochs; networks: "
        f"{epochs} epochs)"
    )
    rows, logreg, svm = _fit_linear_and_knn(iters, X, y, Xt, yt)
    sk = sklearn_or_none()
    if sk is not None:
        rows += _fit_trees(config, trees, X, y, Xt, yt)
    network_rows, histories = _fit_networks(config, epochs, splits)
    rows += network_rows
    heading("Side by side, on the test images")
    _show_table(rows, len(yt), result)
    _check(config, rows, logreg, svm, result)
    if sk is not None:
        oracles(result, rows, X, y, Xt, yt, config.quick)
    save_figures(result, rows, logreg, svm, histories, config.out)
    return result


def _fit_linear_and_knn(
    iters: int, X, y, Xt, yt
) -> tuple[list[Row], LogisticRegression, LinearSVM]:
    """axon's logistic regression, linear SVM and k-NN, each fitted and scored; returns
    their rows and the two linear models."""
    logreg = LogisticRegression(C=1.0, max_iter=iters, lr=0.05)
    svm = LinearSVM(C=1.0, max_iter=iters, lr=0.05)
    knn = KNeighborsClassifier(K_NEIGHBOURS)
    rows = [
        timed_fit("logistic regression", "axon", logreg, _weights, X, y, Xt, yt),
        timed_fit("linear SVM (hinge)", "axon", svm, _weights, X, y, Xt, yt),
        timed_fit(
            f"{K_NEIGHBOURS}-nearest neighbours",
            "axon",
            knn,
            lambda m: f"{m.n_samples_fit_:,} images",
            X,
            y,
            Xt,
            yt,
        ),
    ]
    return rows, logreg, svm


def _fit_trees(config: Config, trees: int, X, y, Xt, yt) -> list[Row]:
    """scikit-learn's decision tree and random forest (the references), fitted and scored."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    return [
        timed_fit(
            "decision tree",
            "scikit-learn",
            DecisionTreeClassifier(random_state=config.seed),
            lambda m: f"{m.tree_.node_count:,} nodes",
            X,
            y,
            Xt,
            yt,
        ),
        timed_fit(
            f"random forest ({trees} trees)",
            "scikit-learn",
            RandomForestClassifier(trees, random_state=config.seed),
            lambda m: f"{sum(t.tree_.node_count for t in m.estimators_):,} nodes",
            X,
            y,
            Xt,
            yt,
        ),
    ]


def _fit_networks(
    config: Config, epochs: int, splits: Splits
) -> tuple[list[Row], dict[str, ax.History]]:
    """The MLP and the CNN of the ``digits`` experiment, trained; their rows and histories."""
    rows, histories = [], {}
    for name, make, flatten in [
        ("MLP 64-64-10", lambda: models.mlp([64, 64, 10]), True),
        ("CNN", digits_cnn, False),
    ]:
        row, histories[name] = network_row(name, make, flatten, splits, epochs, config.seed, config)
        rows.append(row)
    return rows, histories


def _show_table(rows: list[Row], n_test: int, result: Result) -> None:
    """Every model's accuracy, size and times side by side; accuracy and fit time kept as
    metrics."""
    table(
        ["model", "written in", "keeps", "test accuracy", "fit s", "predict s"],
        [
            [
                r.name,
                r.written,
                r.size,
                f"{r.accuracy:.2%}",
                f"{r.fit_seconds:.2f}",
                f"{r.predict_seconds:.3f}",
            ]
            for r in rows
        ],
        align="lllrrr",
    )
    print(
        f"  one image is {1 / n_test:.2%} of the {n_test}; chance is {CHANCE:.0%}. "
        "Times are wall-clock and not like for like"
    )
    print(
        "  (scikit-learn runs compiled code; the networks' fit time includes scoring "
        "the validation images each epoch)."
    )
    for r in rows:
        key = r.name.split(" (")[0].replace(" ", "_").replace("-", "_").lower()
        result.metrics[f"{key}_test_accuracy"] = r.accuracy
        result.metrics[f"{key}_fit_seconds"] = r.fit_seconds


def _check(
    config: Config, rows: list[Row], logreg: LogisticRegression, svm: LinearSVM, result: Result
) -> None:
    """The claims: every axon model beats chance (quick) or reaches the full run's bar,
    and the linear models' objectives fell."""
    ours = [r for r in rows if r.written == "axon"]
    if config.quick:
        floor = CHANCE + QUICK_MARGIN
        result.check(
            f"every axon model beats chance ({CHANCE:.0%}) by at least "
            f"{QUICK_MARGIN:.0%} (lowest {min(r.accuracy for r in ours):.2%})",
            all(r.accuracy >= floor for r in ours),
        )
    else:
        result.check(
            f"every axon model reaches {FULL_CLAIM:.0%} test accuracy (lowest "
            f"{min(r.accuracy for r in ours):.2%})",
            all(r.accuracy >= FULL_CLAIM for r in ours),
        )
    result.check(
        f"the linear models' objectives fell ({logreg.loss_curve_[0]:.3f} -> "
        f"{logreg.loss_curve_[-1]:.3f} cross-entropy, {svm.loss_curve_[0]:.3f} -> "
        f"{svm.loss_curve_[-1]:.3f} hinge)",
        logreg.loss_curve_[-1] < logreg.loss_curve_[0] and svm.loss_curve_[-1] < svm.loss_curve_[0],
    )


def oracles(result: Result, rows: list[Row], X, y, Xt, yt, quick: bool) -> None:
    """scikit-learn's logistic regression, LinearSVC and k-NN on the same split."""
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    from sklearn.neighbors import KNeighborsClassifier as SkKNeighbors
    from sklearn.svm import LinearSVC
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    heading("Checked against scikit-learn on the same splits")
    ours = {r.name: r for r in rows}
    knn = ours[f"{K_NEIGHBOURS}-nearest neighbours"]
    sk_knn = SkKNeighbors(K_NEIGHBOURS).fit(X, y).predict(Xt)
    same = int((sk_knn == knn.predictions).sum())
    # lbfgs makes hundreds of small products; on a two-thread BLAS each hands work over
    # between the threads, which on a busy 2-core machine costs 30x more than it saves
    with threadpool_limits(1, user_api="blas"):
        sk_lr = SkLogisticRegression(C=1.0, max_iter=2000).fit(X, y).score(Xt, yt)
    sk_svc = LinearSVC(C=1.0, max_iter=10000).fit(X, y).score(Xt, yt)
    lr, svm = ours["logistic regression"].accuracy, ours["linear SVM (hinge)"].accuracy
    table(
        ["model", "axon", "scikit-learn"],
        [
            ["logistic regression", f"{lr:.2%}", f"{sk_lr:.2%} (lbfgs)"],
            ["linear SVM", f"{svm:.2%}", f"{sk_svc:.2%} (LinearSVC: one-vs-rest, squared hinge)"],
            [f"{K_NEIGHBOURS}-NN predictions equal", f"{same} of {len(yt)}", ""],
        ],
        align="lrl",
    )
    result.check(
        f"axon's {K_NEIGHBOURS}-NN predicts exactly what scikit-learn's "
        f"KNeighborsClassifier does ({same} of {len(yt)} test images)",
        same == len(yt),
    )
    if not quick:  # a quick run trains the linear models too briefly to compare
        result.check(
            f"logistic regression {lr:.2%} within {ORACLE_MARGIN:.0%} of "
            f"scikit-learn's {sk_lr:.2%}",
            abs(lr - sk_lr) <= ORACLE_MARGIN,
        )
        result.check(
            f"the linear SVM {svm:.2%} within {ORACLE_MARGIN:.0%} of LinearSVC's {sk_svc:.2%}",
            abs(svm - sk_svc) <= ORACLE_MARGIN,
        )
    result.metrics.update(
        {
            "sklearn_logreg_test_accuracy": sk_lr,
            "sklearn_svc_test_accuracy": sk_svc,
            "knn_equal_to_sklearn": same / len(yt),
        }
    )


def save_figures(
    result: Result,
    rows: list[Row],
    logreg: LogisticRegression,
    svm: LinearSVM,
    histories: dict[str, ax.History],
    out,
) -> None:
    """Accuracy and time per model; the linear models' class templates; the curves."""
    names = [r.name for r in rows]
    colours = ["tab:blue" if r.written == "axon" else "tab:grey" for r in rows]
    fig, (acc, secs) = plot.figure(
        ncols=2,
        size=(6.0, 4.0),
        title="8x8 digits: test accuracy and fitting time (blue: axon, grey: scikit-learn)",
    )
    pos = np.arange(len(rows))
    acc.barh(pos, [r.accuracy for r in rows], color=colours)
    acc.set_yticks(pos, names)
    acc.invert_yaxis()
    lo = min(r.accuracy for r in rows)
    acc.set_xlim(max(0.0, lo - 0.05), 1.0)
    for p, r in zip(pos, rows, strict=True):
        acc.text(r.accuracy, p, f" {r.accuracy:.1%}", va="center", fontsize=8)
    acc.set_xlabel("test accuracy")
    secs.barh(pos, [max(r.fit_seconds, 1e-4) for r in rows], color=colours)
    secs.set_yticks(pos, [])
    secs.invert_yaxis()
    secs.set_xscale("log")
    secs.set_xlabel("fit seconds (log scale)")
    result.figures.append(plot.save(fig, out / "classic_vs_nn_summary.png"))

    fig, axes = plot.figure(
        ncols=10,
        nrows=2,
        size=(1.2, 1.4),
        title="Each class's weights W_c as an 8x8 image (red: pixel "
        "votes for the class, blue: against)",
    )
    templates = [w.reshape(8, 8) for w in logreg.coef_] + [w.reshape(8, 8) for w in svm.coef_]
    labels = [f"logreg {c}" for c in range(10)] + [f"SVM {c}" for c in range(10)]
    plot.images(axes, templates, labels, cmap="RdBu_r", symmetric=True)
    result.figures.append(plot.save(fig, out / "classic_vs_nn_weights.png"))

    fig, (lin, net) = plot.figure(ncols=2, size=(5.0, 3.8), title="Training curves")
    plot.curves(
        lin,
        {
            "logistic regression (cross-entropy + penalty)": logreg.loss_curve_,
            "linear SVM (hinge + penalty)": svm.loss_curve_,
        },
        ylabel="objective",
        log=True,
    )
    lin.set_title("linear models (full batch)")
    plot.curves(
        net,
        {name: h.history["val_accuracy"] for name, h in histories.items()},
        ylabel="validation accuracy",
    )
    net.set_title("networks (validation split)")
    result.figures.append(plot.save(fig, out / "classic_vs_nn_curves.png"))
