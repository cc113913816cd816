"""The course's experiments, each a module with ``run(config) -> Result``, registered by name.

    @register("xor", "XOR: a perceptron fails, a 2-2-1 network succeeds")
    def run(config: Config) -> Result: ...

``axon run NAME`` runs an experiment; ``axon worksheet NAME`` runs a worksheet (a worked
example computed step by step by the engine), registered with ``register(..., kind=
"worksheet")``. ``axon list`` prints both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .base import Config, Result

__all__ = ["Config", "Entry", "Result", "get", "names", "register", "run"]


@dataclass(frozen=True)
class Entry:
    """A registered experiment or worksheet."""

    name: str
    description: str
    run: Callable[[Config], Result]
    kind: str = "experiment"


_REGISTRY: dict[str, dict[str, Entry]] = {"experiment": {}, "worksheet": {}}


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


def names(kind: str = "experiment") -> list[str]:
    """The registered names of one kind, sorted."""
    return sorted(_REGISTRY[kind])


def entries(kind: str = "experiment") -> list[Entry]:
    """The registered entries of one kind, sorted by name."""
    return [_REGISTRY[kind][n] for n in names(kind)]


def get(name: str, kind: str = "experiment") -> Entry:
    """The entry registered as ``name``; a ``KeyError`` naming the known ones otherwise."""
    try:
        return _REGISTRY[kind][name]
    except KeyError:
        known = ", ".join(names(kind))
        raise KeyError(f"unknown {kind} {name!r}; known {kind}s: {known}") from None


def run(name: str, config: Config | None = None, kind: str = "experiment") -> Result:
    """Run a registered experiment (or worksheet) by name."""
    return get(name, kind).run(config or Config())


# Importing the modules registers them.
from . import boolean, digits, fashion, mnist, worksheets, xor  # noqa: E402, F401
from . import next_word, pos_tagging, sentiment, shakespeare  # noqa: E402, F401
from . import deep_rnn, parity  # noqa: E402, F401
from . import reverse  # noqa: E402, F401
from . import masked_lm, self_attention, transformer_lm  # noqa: E402, F401
from . import translate  # noqa: E402, F401
from . import spam  # noqa: E402, F401
from . import spam_poisoning  # noqa: E402, F401
from . import adversarial  # noqa: E402, F401
from . import functional_models  # noqa: E402, F401
from . import activations, init_study, regression, universal, vanishing  # noqa: E402, F401
from . import classic_vs_nn, layerwise, paradigms  # noqa: E402, F401
from . import optimizers, overfitting  # noqa: E402, F401
from . import transfer, word2vec  # noqa: E402, F401
