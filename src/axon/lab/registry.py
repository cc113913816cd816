"""The registry of the course's experiments and worksheets: ``register``, ``names``, ``get``,
``run``, and what ``--weights`` and ``--resume`` do in each experiment (``WEIGHTS``, ``RESUMABLE``).

Every module directly in ``axon.lab`` but this one is an experiment module: it registers
its ``run(config) -> Result`` with ``@register(name, description)``. Nothing imports them
by hand: :func:`get` imports the module named after the experiment (``masked-lm`` ->
``masked_lm``) when the name is not registered yet, and :func:`names` / :func:`entries`
(what ``axon list`` prints) import them all, so ``import axon.lab`` stays cheap and
``axon run NAME`` imports that experiment alone where its module bears its name.
"""

from __future__ import annotations

import importlib
import pkgutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from .shared.base import Config, Result

__all__ = [
    "DURATION",
    "ON_DEVICE",
    "RESUMABLE",
    "TRAINING",
    "WEIGHTS",
    "Entry",
    "Training",
    "entries",
    "experiment_modules",
    "get",
    "names",
    "register",
    "run",
    "expected_duration",
    "undertrained",
    "weights_help",
]

#: What ``--weights FILE`` does in each experiment. ``(True, what)``: the file is loaded
#: into ``what`` *instead of training it* (the rest of the experiment runs as usual);
#: ``(False, why)``: the experiment refuses the option, for the reason given (it trains
#: several models, or none). The CLI's help is made from it (:func:`weights_help`).
WEIGHTS: dict[str, tuple[bool, str]] = {
    # one trained model: the file replaces its training
    "lenet": (True, "LeNet-5 (lenet.safetensors of an earlier run)"),
    "mnist-mlp": (True, "the 784-16-16-10 MLP (mnist_mlp.safetensors)"),
    "fashion": (True, "the Fashion-MNIST CNN (fashion_cnn.safetensors)"),
    "shakespeare": (True, "the character LSTM (shakespeare.safetensors)"),
    "next-word": (True, "the word LSTM (next_word.safetensors)"),
    "transformer-lm": (True, "the Transformer language model (transformer_lm.safetensors)"),
    "sentiment": (True, "the BiGRU classifier (sentiment.safetensors)"),
    "pos-tagging": (True, "the BiLSTM tagger (pos_tagging.safetensors)"),
    "masked-lm": (
        True,
        "the pretrained masked LM (masked_lm.safetensors): pretraining is "
        "skipped, the fine-tuning runs",
    ),
    "self-attention": (
        True,
        "the masked LM (masked_lm.safetensors, with the "
        "masked_lm_vocab.json and masked_lm_config.json beside it)",
    ),
    "word2vec": (True, "the skip-gram vectors (word2vec.safetensors)"),
    "adversarial": (
        True,
        "the clean LeNet-5 that is attacked (lenet.safetensors); the "
        "adversarially trained one still trains",
    ),
    # several models, or none: a single weights file cannot stand for them
    "activations": (False, "it trains no model (it differentiates activation functions)"),
    "boolean": (False, "it trains perceptrons by the learning rule, not a saved network"),
    "classic-vs-nn": (False, "it trains several models (classic ones, an MLP and a CNN)"),
    "data-parallel": (
        False,
        "it trains LeNet-5 twice from the same draw (on P processes and on one) to compare them",
    ),
    "deep-rnn": (False, "it trains several recurrent networks, one per depth and direction"),
    "digits": (False, "it trains two models (an MLP and a CNN)"),
    "functional": (False, "it trains two models (a two-output model and a siamese one)"),
    "init": (False, "it studies initialisations: every network starts from its own draw"),
    "layerwise-pretraining": (False, "it trains several networks (pretrained and from scratch)"),
    "optimizers": (False, "it trains one network per optimizer, each from the same seed"),
    "overfitting": (False, "it trains one network per remedy, each from the same seed"),
    "paradigms": (
        False,
        "it trains several models (logistic regression, k-means, an autoencoder, a Q-table)",
    ),
    "parity": (False, "it trains several recurrent networks (RNN, LSTM, GRU per length)"),
    "regression": (False, "it fits a two-parameter line in closed form and by gradient descent"),
    "reverse": (False, "it trains two models (plain and with attention)"),
    "spam": (False, "its models are Naive Bayes counts, not a network"),
    "spam-poisoning": (False, "its models are Naive Bayes counts, not a network"),
    "transfer": (False, "it trains several LeNet-5s (pretrained, fine-tuned, from scratch)"),
    "translate": (False, "it trains three models (plain, attention, Transformer)"),
    "universal-approximation": (False, "it fits one network per number of hidden units"),
    "vanishing": (False, "it trains several deep networks (sigmoid, ReLU, residual, batch norm)"),
    "xor": (False, "it trains two models (a perceptron and a 2-2-1 network)"),
}

#: The experiments whose training ``--resume`` continues: each of their ``fit`` /
#: ``fit_stream`` calls keeps a backup (:func:`axon.lab.shared.base.backup`). The others
#: have no model or train in loops of their own (seconds; word2vec's full run a few
#: minutes): ``--resume`` runs them from the start, with a note.
RESUMABLE: frozenset[str] = frozenset(
    {
        "lenet",
        "mnist-mlp",
        "fashion",
        "digits",
        "shakespeare",
        "next-word",
        "transformer-lm",
        "sentiment",
        "pos-tagging",
        "masked-lm",
        "translate",
        "adversarial",
        "functional",
        "optimizers",
        "overfitting",
        "paradigms",
        "transfer",
        "classic-vs-nn",
    }
)


#: The experiments that train on ``--device DEVICE`` (``config.device``; marked ``*`` by
#: ``axon list``): their models are moved there before their optimizers are made,
#: ``fit`` / ``evaluate`` / ``predict`` move each batch to the model's device, the inputs
#: an experiment's own loops make are made there (:func:`~axon.lab.shared.base.device_of`),
#: and what they compute with NumPy from a model's outputs is copied to the host first.
#: What is NumPy work anyway (the classic models, the 2-D optimizer paths, parity's cell
#: diagnostics, the attacks' steps) stays on the CPU. The others refuse a device other
#: than the CPU: they train no network (NumPy demos, Naive Bayes counts, a two-parameter
#: line, the perceptron rule), or train in ways that keep to host memory so far.
ON_DEVICE: frozenset[str] = frozenset(
    {
        "adversarial",
        "classic-vs-nn",
        "deep-rnn",
        "digits",
        "fashion",
        "functional",
        "init",
        "layerwise-pretraining",
        "lenet",
        "masked-lm",
        "mnist-mlp",
        "next-word",
        "optimizers",
        "overfitting",
        "paradigms",
        "parity",
        "pos-tagging",
        "reverse",
        "self-attention",
        "sentiment",
        "shakespeare",
        "transfer",
        "transformer-lm",
        "translate",
        "universal-approximation",
        "vanishing",
    }
)


@dataclass(frozen=True)
class Training:
    """How long an experiment trains by default, in the unit ``--epochs`` sets in it:
    ``full`` in a full run, ``quick`` with ``--quick``. ``unit`` is ``"epoch"``, or
    ``"step"`` where ``--epochs`` sets the number of gradient steps."""

    full: int
    quick: int
    unit: str = "epoch"

    def amount(self, n: int) -> str:
        """``n`` in this unit: "1 epoch", "12 epochs", "500 steps"."""
        return f"{n} {self.unit}{'' if n == 1 else 's'}"


#: Each training experiment's default training, read off its module: the experiments
#: whose ``run`` reads ``config.epochs`` (``tests/lab/test_record.py`` keeps the table in
#: step with them). Where one run trains several models for different lengths, the
#: longest (``--epochs`` sets them all). A run with ``--epochs`` below the default does
#: not fail the claims it cannot reach: they are "not checked" (:func:`undertrained`).
#: optimizers and overfitting train on MNIST in a full run when it is there (the 8x8
#: digits otherwise, for 10 and 60 epochs).
TRAINING: dict[str, Training] = {
    "adversarial": Training(4, 2),  # clean LeNet-5 2 (quick 2), adversarial 4 (quick 2)
    "classic-vs-nn": Training(40, 3),
    "digits": Training(40, 8),
    "fashion": Training(10, 2),
    "functional": Training(40, 12),  # two-output model 40 (quick 12), siamese 20 (quick 6)
    "layerwise-pretraining": Training(30, 3),
    "lenet": Training(12, 2),
    "masked-lm": Training(20, 5),  # the fine-tuning's epochs, at most (early stopping)
    "mnist-mlp": Training(15, 5),
    "next-word": Training(6, 2),
    "optimizers": Training(3, 2),
    "overfitting": Training(100, 40),
    "paradigms": Training(60, 5),
    "pos-tagging": Training(4, 3),
    "regression": Training(4000, 2500, "step"),
    "reverse": Training(6, 6),
    "sentiment": Training(3, 4),
    "shakespeare": Training(6, 2),
    "transfer": Training(2, 6),  # the pretraining's epochs
    "transformer-lm": Training(24, 3),
    "translate": Training(30, 3),
    "universal-approximation": Training(2000, 500, "step"),
    "vanishing": Training(200, 120, "step"),
    "word2vec": Training(15, 4),
}

#: How long a full run takes on a 2-core machine, in seconds, and where the figure comes
#: from: measured by hand (the run's CPU time, user + system, while other work shared the
#: machine: its wall time when quiet is about that, or less where BLAS uses both cores),
#: or taken from the sessions' notes and the modules' docstrings. Approximate, as the
#: line printed says.
DURATION: dict[str, int] = {
    "activations": 5,  # measured: 4.1 s CPU
    "boolean": 3,  # measured: 2.3 s CPU
    "classic-vs-nn": 30,  # measured: 26.7 s CPU
    "deep-rnn": 20,  # measured: 19.3 s CPU
    "digits": 30,  # measured: 27.1 s CPU
    "functional": 10,  # measured: 10.2 s CPU
    "init": 50,  # measured: 52.1 s CPU
    "layerwise-pretraining": 35,  # measured: 35.4 s CPU
    "mnist-mlp": 30,  # measured: 31.5 s CPU
    "optimizers": 75,  # measured: 72.6 s CPU (its docstring: about 2 minutes, busy cores)
    "overfitting": 80,  # measured: 78.8 s CPU
    "paradigms": 10,  # measured: 8.2 s CPU
    "parity": 40,  # measured: 38.6 s CPU
    "regression": 5,  # measured: 5.0 s CPU
    "reverse": 80,  # measured: 79.3 s CPU (its docstring: about 1.5 minutes on one core)
    "spam": 5,  # measured: 5.6 s CPU
    "spam-poisoning": 10,  # measured: 10.6 s CPU
    "universal-approximation": 10,  # measured: 10.2 s CPU
    "vanishing": 20,  # measured: 19.9 s CPU
    "xor": 3,  # measured: 3.2 s CPU
    "data-parallel": 15,  # notes of issue 16: 15 s in all, quiet (measured: 33 s CPU, 2 ranks)
    "fashion": 300,  # measured: 7 of its 10 epochs in 4 minutes, two threads, busy machine
    "lenet": 120,  # notes of issue 3: about 7 s per epoch, quiet; 12 epochs, then figures
    "adversarial": 190,  # its docstring: 3.2 minutes on an idle machine
    "transfer": 240,  # its docstring: about 4 minutes on 2 busy cores
    "word2vec": 240,  # its docstring: 3 to 4.3 minutes on 2 busy cores
    "transformer-lm": 600,  # notes of issue 15: training stopped by its 9-minute budget
    "shakespeare": 620,  # notes of issue 4: 622 s, about 100 s per epoch
    "translate": 1200,  # its docstring: about 20 minutes on two cores
    "next-word": 1500,  # notes of issue 4: about 25 minutes when quiet (2,720 s loaded)
    # at most its training's time budget (TimeBudget stops it there) and the evaluation
    "sentiment": 750,  # training: 3 epochs or its 12-minute budget
    "pos-tagging": 870,  # training: 4 epochs or its 14-minute budget
    "masked-lm": 465,  # measured (issue 17's full run, one other process beside it): 465 s
    "self-attention": 130,  # measured (issue 17's full run): 126 s
}


def undertrained(name: str, epochs: int | None, quick: bool) -> str | None:
    """The note for the claims of a run of ``name`` that trained less than its default
    (``--epochs`` below :data:`TRAINING`'s figure): "not checked at 1 epoch (needs 12)";
    None when the run trained its default or more, or ``name`` has no default."""
    training = TRAINING.get(name)
    if training is None or epochs is None:
        return None
    needs = training.quick if quick else training.full
    if epochs >= needs:
        return None
    return f"not checked at {training.amount(epochs)} (needs {needs})"


def expected_duration(name: str, epochs: int | None) -> str | None:
    """The line a full run of ``name`` prints before it starts: "expected duration:
    about 12 minutes on a 2-core machine (full run)", scaled by ``epochs`` / the
    default where ``--epochs`` is given; None where no duration was measured."""
    seconds = DURATION.get(name)
    if seconds is None:
        return None
    what = "full run"
    training = TRAINING.get(name)
    if epochs is not None and training is not None and epochs != training.full:
        seconds *= epochs / training.full
        what = f"{training.amount(epochs)} instead of {training.full}"
    if seconds < 90:
        about = f"{max(5, round(seconds / 5) * 5)} seconds"
    else:
        about = f"{round(seconds / 60)} minutes"
    return f"expected duration: about {about} on a 2-core machine ({what})"


def weights_help() -> str:
    """What ``--weights FILE`` does, with the experiments that take it (from ``WEIGHTS``):
    one paragraph of the CLI's help."""
    takes = ", ".join(sorted(n for n, (ok, _) in WEIGHTS.items() if ok))
    return textwrap.fill(
        "--weights FILE: the saved state dict (the .safetensors an earlier run wrote) is "
        f"loaded into the experiment's model instead of training it, in {takes}; the "
        "experiments that train several models, or none, refuse it (exit status 2).",
        88,
    )


@dataclass(frozen=True)
class Entry:
    """A registered experiment or worksheet."""

    name: str
    description: str
    run: Callable[[Config], Result]
    kind: str = "experiment"


_REGISTRY: dict[str, dict[str, Entry]] = {"experiment": {}, "worksheet": {}}
_NOT_EXPERIMENTS = frozenset({"registry"})  # the modules of axon.lab that register nothing
_loaded_all = False


def register(name: str, description: str, kind: str = "experiment"):
    """Decorator: register ``run(config) -> Result`` under ``name`` with a one-line
    description. ``kind`` is ``"experiment"`` or ``"worksheet"``."""
    if kind not in _REGISTRY:
        raise ValueError(f"kind must be one of {sorted(_REGISTRY)}, got {kind!r}")

    def decorate(fn: Callable[[Config], Result]) -> Callable[[Config], Result]:
        table = _REGISTRY[kind]
        if name in table:
            raise ValueError(f"a {kind} named {name!r} is already registered")
        table[name] = Entry(name, description, fn, kind)
        return fn

    return decorate


def experiment_modules() -> list[str]:
    """The names of the experiment modules: every module directly in ``axon.lab`` (not the
    ``shared`` package of helpers, not this registry), sorted."""
    package = importlib.import_module(__package__)
    return sorted(
        m.name
        for m in pkgutil.iter_modules(package.__path__)
        if not m.ispkg and m.name not in _NOT_EXPERIMENTS and not m.name.startswith("_")
    )


def _load_all() -> None:
    """Import every experiment module (each registers its names), once."""
    global _loaded_all
    if not _loaded_all:
        for module in experiment_modules():
            importlib.import_module(f"{__package__}.{module}")
        _loaded_all = True


def _load(name: str, kind: str) -> None:
    """Import the module named after ``name`` if there is one; if that does not register
    ``name`` as a ``kind``, every module."""
    module = name.replace("-", "_")
    if module in experiment_modules():
        importlib.import_module(f"{__package__}.{module}")
    if name not in _REGISTRY[kind]:
        _load_all()


def names(kind: str = "experiment") -> list[str]:
    """The registered names of one kind, sorted."""
    _load_all()
    return sorted(_REGISTRY[kind])


def entries(kind: str = "experiment") -> list[Entry]:
    """The registered entries of one kind, sorted by name."""
    return [_REGISTRY[kind][n] for n in names(kind)]


def get(name: str, kind: str = "experiment") -> Entry:
    """The entry registered as ``name``; a ``KeyError`` naming the known ones otherwise."""
    if name not in _REGISTRY[kind]:
        _load(name, kind)
    try:
        return _REGISTRY[kind][name]
    except KeyError:
        known = ", ".join(names(kind))
        raise KeyError(f"unknown {kind} {name!r}; known {kind}s: {known}") from None


def run(name: str, config: Config | None = None, kind: str = "experiment") -> Result:
    """Run a registered experiment (or worksheet) by name."""
    return get(name, kind).run(config or Config())
