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
    "RESUMABLE",
    "WEIGHTS",
    "Entry",
    "entries",
    "experiment_modules",
    "get",
    "names",
    "register",
    "run",
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
