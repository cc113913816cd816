"""Training conveniences in Keras' manner: ``fit`` / ``evaluate`` / ``predict``, callbacks,
metrics, ``History`` and ``summary``; ``fit`` is the one loop, its updates a step (``steps``)."""

from . import callbacks, metrics
from .base import Callback
from .checkpoint import BackupAndRestore
from .guard import FiniteGuard
from .fit import NonFiniteError, TrainState, evaluate, fit, predict
from .history import History
from .steps import BatchStep, TrainStep
from .summary import ModelSummary, summary

__all__ = [
    "BackupAndRestore",
    "BatchStep",
    "Callback",
    "FiniteGuard",
    "History",
    "ModelSummary",
    "NonFiniteError",
    "TrainState",
    "TrainStep",
    "callbacks",
    "evaluate",
    "fit",
    "metrics",
    "predict",
    "summary",
]

# truncated BPTT over a stream (stateful recurrent models)
from .tbptt import TBPTTStep, detach_state, evaluate_stream, fit_stream

__all__ += ["TBPTTStep", "detach_state", "evaluate_stream", "fit_stream"]

# BLEU as sacrebleu computes it (13a tokenizer, exp smoothing)
from .bleu import BLEUScore, corpus_bleu, sentence_bleu

__all__ += ["BLEUScore", "corpus_bleu", "sentence_bleu"]
