"""The SMS Spam Collection as the spam experiments read it (:func:`load_sms`) and the
confusion counts and rates with spam as the positive class (:func:`confusion`).
"""

from __future__ import annotations

import numpy as np

from axon.data.text import sms_spam

from .base import Config


def load_sms(config: Config, size: int | None = None) -> tuple[list[str], np.ndarray]:
    """The SMS Spam Collection shuffled with ``config.seed``: the texts and their labels
    (1 spam, 0 ham); only the first ``size`` after shuffling if given."""
    data = sms_spam(config.data_dir)
    order = np.random.default_rng(config.seed).permutation(len(data))
    if size is not None:
        order = order[:size]
    texts = [data[i][1] for i in order]
    labels = np.array([data[i][0] == "spam" for i in order], dtype=np.int64)
    return texts, labels


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """The 2x2 confusion counts with spam (1) as the positive class, and accuracy,
    precision TP / (TP + FP), recall TP / (TP + FN), false-positive rate FP / (FP + TN)
    (ham wrongly filtered). A ratio with an empty denominator is 0."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    tp = int(((y_pred == 1) & (y_true == 1)).sum())
    fp = int(((y_pred == 1) & (y_true == 0)).sum())
    fn = int(((y_pred == 0) & (y_true == 1)).sum())
    tn = int(((y_pred == 0) & (y_true == 0)).sum())

    def ratio(a: int, b: int) -> float:
        return a / b if b else 0.0

    return dict(
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        accuracy=ratio(tp + tn, len(y_true)),
        precision=ratio(tp, tp + fp),
        recall=ratio(tp, tp + fn),
        fpr=ratio(fp, fp + tn),
    )
