"""``COURSE_ORDER``: every registered experiment once, in the README's order."""

import re
from pathlib import Path

from axon import lab
from axon.report import COURSE_ORDER

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_order() -> list[str]:
    """The experiments named in the first column of the README's table under "The
    command line", top to bottom."""
    section = README.read_text(encoding="utf-8").split("\n## The command line", 1)[1]
    section = section.split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([^`]+)`", line.split("|")[1])
    return names


def test_course_order_names_every_experiment_once():
    assert len(set(COURSE_ORDER)) == len(COURSE_ORDER)
    assert sorted(COURSE_ORDER) == lab.names()


def test_course_order_follows_the_readme_table():
    assert list(COURSE_ORDER) == readme_order()
