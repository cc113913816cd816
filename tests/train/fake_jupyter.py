"""A fake Jupyter for the notebook tests: IPython's shell reports a kernel, and
``IPython.display.display`` records what each output shows instead of sending it."""

from __future__ import annotations

import types

import IPython
import IPython.display
import pytest


class FakeDisplay:
    """Stands for ``IPython.display.display``: ``outputs[i]`` is every bundle output ``i``
    showed, the first from ``display(..., display_id=True)``, the next from its handle's
    ``update``."""

    def __init__(self) -> None:
        self.outputs: list[list[dict]] = []

    def __call__(self, bundle, raw=False, display_id=None, **kwargs):
        assert raw and display_id is True and not kwargs, "an output updated in place"
        self.outputs.append([bundle])
        return _Handle(self.outputs[-1])

    @property
    def bundles(self) -> list[dict]:
        return [b for shown in self.outputs for b in shown]


class _Handle:
    def __init__(self, shown: list) -> None:
        self.shown = shown

    def update(self, bundle, raw=False):
        assert raw
        self.shown.append(bundle)


@pytest.fixture
def jupyter(monkeypatch) -> FakeDisplay:
    """Runs the test as inside a Jupyter kernel; returns the display's record."""
    shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    fake = FakeDisplay()
    monkeypatch.setattr(IPython.display, "display", fake)
    return fake
