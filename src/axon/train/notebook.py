"""Jupyter: whether code runs in a notebook kernel, and one cell output replaced in place.

A notebook cell's output is a list of messages, not a terminal. The carriage returns with
which a terminal bar redraws itself pile up there as separate lines (or one mangled line),
and rich's live display needs ipywidgets to draw anything at all. What Jupyter offers
instead is a display with an id (IPython's ``display(..., display_id=True)``), whose
content ``update`` replaces where it stands: ``fit``'s progress bar and
:class:`~axon.train.liveplot.LivePlot` draw through :class:`LiveOutput`. IPython is never
imported here: a notebook kernel has loaded it already, and outside one it is not needed.
"""

from __future__ import annotations

import base64
import io
import sys
import types
from typing import Any

__all__ = ["LiveOutput", "figure_png", "in_notebook", "png_bundle", "shows_as_png"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, the classic Notebook, VS Code, Colab): an
    IPython shell that has a kernel. Plain Python and the terminal IPython are False."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def png_bundle(png: bytes, text: str) -> dict[str, str]:
    """A MIME bundle showing the PNG image ``png`` (``text`` where images are not shown);
    Jupyter's messages carry images as base64 text."""
    return {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text}


class LiveOutput:
    """One output of the running cell: shown by the first :meth:`show`, replaced in place by
    the next ones (the cell gains no new output)."""

    def __init__(self) -> None:
        self._handle: Any = None

    def show(self, bundle: dict[str, str]) -> None:
        """Show ``bundle``, a MIME bundle such as ``{"text/plain": ..., "text/html": ...}``."""
        from IPython.display import display

        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)


def figure_png(fig, dpi: int = 100) -> bytes:
    """The matplotlib Figure ``fig`` rendered as PNG bytes (by the Agg canvas, no pyplot)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def shows_as_png(fig):
    """``fig`` given a ``_repr_png_``, so that Jupyter shows it as an image when it is a
    cell's value. A Figure made with matplotlib's object API has none (pyplot's inline
    backend registers one, but only for the figures pyplot manages); returns ``fig``."""
    fig._repr_png_ = types.MethodType(figure_png, fig)
    return fig
