"""The course's results as a static site: ``axon report`` and ``axon tour``.

Every ``axon run NAME`` leaves a record, ``runs/NAME/results.json``, beside its figures.
:func:`build` turns a set of records into a site that a learner opens from disk, with no
server and no network: an index of every run in the course's order and a page per run
with its figures, claims, metrics, config and interactive training curves (hand-written
SVG and a small script shipped in ``static/``). ``axon tour`` runs every experiment in
:data:`COURSE_ORDER` and then builds the site (:mod:`.commands`).

Only the standard library is used here: the report needs neither matplotlib nor a
browser driver to be built.
"""

from .course import COURSE_ORDER
from .records import Claim, RecordError, RecordWarning, Run, find_runs, read_record
from .site import build

__all__ = [
    "COURSE_ORDER",
    "Claim",
    "RecordError",
    "RecordWarning",
    "Run",
    "build",
    "find_runs",
    "read_record",
]
