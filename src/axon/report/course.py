"""The course's order of experiments, for ``axon tour`` and the report's index.

The order is the README's experiments table ("The command line"): from a perceptron and
XOR, through vision, recurrent and attention models, to the studies of training itself
and the applications. A test checks that it names every registered experiment exactly
once and follows the README's table.
"""

from __future__ import annotations

#: Every registered experiment, in the order the course teaches them.
COURSE_ORDER: tuple[str, ...] = (
    # perceptrons and the first network
    "xor",
    "boolean",
    # vision
    "mnist-mlp",
    "lenet",
    "fashion",
    "digits",
    # recurrent networks
    "parity",
    "deep-rnn",
    "shakespeare",
    "next-word",
    "sentiment",
    "pos-tagging",
    # sequence to sequence and attention
    "reverse",
    "translate",
    "transformer-lm",
    "masked-lm",
    "self-attention",
    # applications and attacks
    "spam",
    "spam-poisoning",
    "adversarial",
    # how training works
    "activations",
    "init",
    "vanishing",
    "optimizers",
    "overfitting",
    "universal-approximation",
    "regression",
    "layerwise-pretraining",
    # scaling out
    "data-parallel",
    # other models and paradigms
    "classic-vs-nn",
    "paradigms",
    "functional",
    "transfer",
    "word2vec",
)

_POSITION = {name: i for i, name in enumerate(COURSE_ORDER)}


def course_key(experiment: str, name: str) -> tuple[int, int, str, str]:
    """A sort key: the course's experiments in its order, then any others by name (a run's
    folder ``name`` breaks ties between runs of one experiment)."""
    if experiment in _POSITION:
        return (0, _POSITION[experiment], "", name)
    return (1, 0, experiment, name)
