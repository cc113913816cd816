"""``torch.nn.modules.utils``: the argument normalisers custom layers import
(``_single``, ``_pair``, ``_triple``, ``_quadruple``, ``_ntuple``)."""

from __future__ import annotations

import collections.abc
from itertools import repeat


def _ntuple(n: int, name: str = "parse"):
    """A function that turns a value into an ``n``-tuple: an iterable as a tuple of its
    items, anything else repeated ``n`` times (torch's rule)."""

    def parse(x):
        if isinstance(x, collections.abc.Iterable):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")


def _reverse_repeat_tuple(t, n: int) -> tuple:
    """(a, b) -> (b, b, a, a) for n = 2: each item of ``t``, last first, ``n`` times (the
    padding order of F.pad)."""
    return tuple(x for x in reversed(t) for _ in range(n))
