"""The lab's figure check (``conftest.py``): a figure that does not read well fails the
test that saves it, once written; one that reads well passes through."""

import pytest

from axon import plot


def test_a_figure_that_does_not_read_well_fails_the_test_that_saves_it(tmp_path):
    fig, (ax,) = plot.figure(size=(2, 2))
    ax.plot([0, 1], [0, 1])
    ax.set_title("a panel title far wider than its small figure")
    with pytest.raises(pytest.fail.Exception, match=r"bad\.png .*\n.*is cut at the figure's"):
        plot.save(fig, tmp_path / "bad.png")
    assert (tmp_path / "bad.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # to be looked at
    fig, (ax,) = plot.figure(size=(4, 3), title="a short title")
    ax.plot([0, 1], [0, 1])
    assert plot.save(fig, tmp_path / "good.png") == tmp_path / "good.png"
