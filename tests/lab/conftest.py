"""Every figure the lab's tests make an experiment draw is checked: ``axon.plot.save`` is
wrapped so that each figure is measured as it is saved (``save(..., check=True)``, the
checks of ``axon.plot.problems``), and one with cut or unreadably small text, an empty
panel, a curve that paints nothing or piled-up labels fails the test that drew it, with
the file's name and each problem. The tests already run every experiment's quick
configuration; the check records the drawing the save makes anyway, no second one."""

from __future__ import annotations

import pytest

from axon import plot

# Figures of the experiments another part of issue 17 reworks (mnist, fashion, digits,
# vision_common, adversarial, functional_models, masked_lm, self_attention, transfer,
# classic_vs_nn, data_parallel), exempted by file name while they fail the check, each
# with its reason; an entry goes when its experiment's figures are fixed. None fails
# today: adversarial_examples.png's title, cut at both edges, is wrapped by
# plot.figure now. A figure not listed here must read well.
KNOWN_PROBLEMS: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _figures_read_well(monkeypatch):
    save = plot.save

    def save_and_check(fig, path, dpi=plot.DPI):
        try:
            return save(fig, path, dpi, check=True)
        except plot.FigureProblems as bad:
            if bad.path.name in KNOWN_PROBLEMS:
                return bad.path
            pytest.fail(str(bad), pytrace=False)

    monkeypatch.setattr(plot, "save", save_and_check)
