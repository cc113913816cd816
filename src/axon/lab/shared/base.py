"""The experiment protocol: ``run(config) -> Result``, the printing helpers the
experiments share so their output reads alike, and the two things every training
experiment does alike: back up its training so that ``--resume`` can continue it, and
load ``--weights FILE`` instead of training.

An experiment prints what it shows as it goes, checks each claim it makes with
:meth:`Result.check` (the claim's text and whether it held), and saves its figures under
``config.out``. The CLI prints the claims at the end, writes what the run found into
``config.out / "results.json"`` (:mod:`axon.lab.shared.record`; the per-epoch history of
each backed-up fit comes from :func:`backup`'s callbacks) and exits non-zero if a claim
failed. A run trained for fewer epochs than the experiment's default cannot fail the
claims made for the full training: those are "not checked" (:attr:`Result.undertrained`).

Backups (:func:`backup`): every ``fit`` / ``fit_stream`` call of an experiment gets a
:class:`axon.train.callbacks.BackupAndRestore` writing to ``config.out / ".backup" / tag``
(one tag per fit call). The backup holds the whole training state (weights, optimizer,
schedules, random generators, the loader's position, callbacks, history) and is deleted
when that fit ends. A run with ``config.resume`` continues each fit from its backup where
one exists; a run without it deletes a leftover backup and starts over, saying so. A fit
that finished before the interruption has no backup left and trains again from its seed
(to the same bits, as the experiments seed each model, unless a time budget cut it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from axon.train.base import Callback

from .record import RUN


@dataclass
class Config:
    """What every experiment is run with.

    Attributes:
        seed: seeds axon's generator (and any other randomness the experiment uses).
        out: the folder figures are written to.
        quick: a small configuration that finishes in seconds (used by the tests).
        graph: worksheets only: where to draw the computation graph (a PNG), if anywhere.
        epochs: training epochs, overriding the experiment's default (None: its default).
        data_dir: where datasets are read from (None: ``AXON_DATA_DIR``, else
            ``~/.cache/axon``; see :func:`axon.data.data_dir`).
        prompt: language-model experiments only: a text to continue.
        weights: a saved state dict loaded instead of training the experiment's model
            (``lenet``'s file for ``lenet`` or ``adversarial``...); which model it
            replaces, or why an experiment refuses it, is in :data:`axon.lab.WEIGHTS`.
        resume: continue each training from its backup under ``out / ".backup"`` where
            one exists (see :func:`backup`), instead of starting over.
        device: where the experiment's models train (``"cpu"``, ``"cuda"``,
            ``"cuda:1"``): they are moved there before their optimizer is made, and each
            batch follows as ``fit`` draws it; the data stays in host memory. Only the
            experiments in :data:`axon.lab.ON_DEVICE` read it (the CLI refuses the others).
    """

    seed: int = 0
    out: Path = Path("runs")
    quick: bool = False
    graph: Path | None = None
    epochs: int | None = None
    data_dir: Path | None = None
    prompt: str | None = None
    weights: Path | None = None
    resume: bool = False
    device: str = "cpu"


@dataclass
class Result:
    """What an experiment found: numbers, the claims it checked, the figures it wrote.

    Attributes:
        name: the experiment's name.
        metrics: its headline numbers, by name (floats).
        claims: each claim's text and whether it held, in the order checked.
        figures: the figures it wrote, in that order.
        splits: examples per split (``{"train": 54000, "val": 6000, "test": 10000}``),
            when the experiment knows them; the run record keeps them.
        undertrained: set (by the CLI) when the run trained for fewer epochs than the
            experiment's claims need (``--epochs`` below its default), to the note a
            failed claim gets instead of failing: ``"not checked at 1 epoch (needs
            12)"``. A claim that holds still holds.
    """

    name: str
    metrics: dict[str, float] = field(default_factory=dict)
    claims: list[tuple[str, bool]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    splits: dict[str, int] = field(default_factory=dict)
    undertrained: str | None = None

    def check(self, claim: str, holds: bool) -> bool:
        """Record a claim and whether it held; returns ``holds``."""
        self.claims.append((claim, bool(holds)))
        return bool(holds)

    def verdicts(self) -> list[tuple[str, str, str | None]]:
        """Each claim as ``(text, verdict, note)``: verdict ``"held"``, ``"failed"`` or,
        for a failed claim of an undertrained run, ``"not checked"`` with the note."""
        return [
            (text, "held", None)
            if ok
            else (text, "not checked", self.undertrained)
            if self.undertrained
            else (text, "failed", None)
            for text, ok in self.claims
        ]

    def count(self, verdict: str) -> int:
        """How many claims have this verdict."""
        return sum(v == verdict for _, v, _ in self.verdicts())

    @property
    def passed(self) -> bool:
        """True when no claim failed (every claim held, or was not checked)."""
        return self.count("failed") == 0

    def report(self) -> str:
        """The claims and figures, one per line, for the end of a run."""
        mark = {"held": "PASS", "failed": "FAIL", "not checked": "NOT CHECKED"}
        lines = ["Claims"]
        lines += [
            f"  [{mark[verdict]}] {text}" + (f" ({note})" if note else "")
            for text, verdict, note in self.verdicts()
        ]
        if self.figures:
            lines.append("Figures")
            lines += [f"  {p}" for p in self.figures]
        return "\n".join(lines)


def heading(title: str) -> None:
    """Print a section title, underlined."""
    print()
    print(title)
    print("-" * len(title))


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    align: str | None = None,
    indent: int = 2,
) -> None:
    """Print rows as aligned columns. ``align`` has one character per column, ``l`` or
    ``r``; by default columns of numbers align right and the others left."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    if align is None:
        align = "".join(
            "r" if all(_is_number(r[i]) for r in cells) else "l" for i in range(len(header))
        )
    pad = " " * indent

    def line(row: Sequence[str]) -> str:
        parts = [
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(row, widths, align, strict=True)
        ]
        return (pad + "  ".join(parts)).rstrip()

    print(line(list(header)))
    print(pad + "  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))


def signed(x: float, digits: int = 6) -> str:
    """A number with a sign column, so positive and negative values line up."""
    return f"{x: .{digits}f}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------- --weights
class WeightsError(ValueError):
    """``--weights FILE`` cannot be used: the file does not fit the model, or the
    experiment takes none. The CLI prints the message and exits with status 2."""


def load_weights(config: Config, model, what: str) -> bool:
    """Load ``config.weights`` (a state dict saved by :func:`axon.save`) into ``model``
    when given; returns whether it did, so the caller skips training.

    A missing file raises ``FileNotFoundError``; a file that does not fit the model (other
    names or shapes: saved by another experiment, or by a quick run for a full one)
    raises :class:`WeightsError` naming the file and ``what`` it was loaded into.
    """
    if config.weights is None:
        return False
    import axon as ax

    path = Path(config.weights)
    if not path.is_file():
        raise FileNotFoundError(f"--weights {path}: no such file")
    try:
        model.load_state_dict(ax.load(path))
    except (KeyError, ValueError, RuntimeError, TypeError) as err:
        raise WeightsError(f"--weights {path} does not fit {what}: {err}") from None
    print(f"  weights loaded from {path} into {what}: not training it")
    return True


# ----------------------------------------------------------------------------- --device
def device_of(model):
    """Where ``model``'s parameters live (``config.device``, set by ``--device``): the
    inputs an experiment makes itself go there, and the model's outputs are copied back to
    the host (``.cpu()``) before NumPy reads them."""
    return next(iter(model.parameters())).device


# ----------------------------------------------------------------------------- --resume
BACKUPS = ".backup"  # the folder under config.out that holds the backups
KILL_HOOK = "AXON_TEST_KILL_AT_STEP"  # test hook: see KillAtStep


def backup_dir(config: Config, tag: str) -> Path:
    """Where the fit tagged ``tag`` keeps its backup: ``config.out / ".backup" / tag``."""
    return Path(config.out) / BACKUPS / tag


def has_backup(folder: Path) -> bool:
    """Whether ``folder`` holds a backup (a non-empty folder)."""
    return folder.is_dir() and any(folder.iterdir())


def backup(config: Config | None, tag: str, save_freq: str | int = "epoch") -> list[Callback]:
    """The callbacks that make one ``fit`` / ``fit_stream`` call resumable; pass them
    first in its ``callbacks``.

    ``tag`` names the fit (the experiment's name, with a suffix when it trains several
    models) and its backup folder :func:`backup_dir`. ``save_freq``: ``"epoch"`` or a
    number of updates between backups (the long experiments, whose epochs take minutes).

    - without ``config.resume``, a backup left by an interrupted run is deleted, with a
      line saying so and how to continue it instead;
    - with ``config.resume``, the fit continues from the backup (it prints "resuming TAG
      from epoch E, step S" when it does) or, without one, starts from the beginning
      with a note.
    The backup is deleted when the fit ends normally. Without a config (a helper called
    from Python rather than by a run) there is nothing to back up into: no callbacks.
    """
    from axon.train.callbacks import BackupAndRestore

    if config is None:
        return []

    folder = backup_dir(config, tag)
    found = has_backup(folder)
    if found and not config.resume:
        _start_over(folder, [tag], "--resume")
    elif config.resume and not found:
        print(
            f"  {tag}: no backup in {folder} (it had finished, or not started): training "
            f"it from the start"
        )
    return [
        BackupAndRestore(folder, save_freq=save_freq),
        ResumeNote(tag, resumed=found and config.resume, kill_at=os.environ.get(KILL_HOOK)),
    ]


def prepare_backups(name: str, config: Config, resumable: bool) -> None:
    """Before a run of the experiment ``name`` (the CLI calls it), for the whole backup
    folder ``config.out / ".backup"``: without ``config.resume`` every leftover backup (an
    interrupted run's) is deleted, with a line saying how to continue it instead; with it,
    a line says which backups will be resumed, or that an experiment that keeps none
    (``resumable`` False) runs from the start. Each fit says the rest (:func:`backup`)."""
    folder = Path(config.out) / BACKUPS
    tags = sorted(p.name for p in folder.iterdir() if has_backup(p)) if folder.is_dir() else []
    if config.resume and not resumable:
        print(
            f"note: {name} keeps no backups (no model, or a training loop of its own "
            f"rather than fit): --resume runs it from the start"
        )
    elif config.resume and tags:
        print(f"resuming {name} from the backups in {folder}: {', '.join(tags)}")
    elif tags:
        _start_over(folder, tags, f"`axon run {name} --resume` (same options)")


def _start_over(folder: Path, tags: list[str], how: str) -> None:
    """Delete the leftover backup ``folder`` of an interrupted run, saying so."""
    print(
        f"note: {folder} holds the backup of an interrupted run ({', '.join(tags)}); "
        f"starting over; {how} continues it instead"
    )
    shutil.rmtree(folder)


class ResumeNote(Callback):
    """Says where a resumed fit continues: "resuming TAG from epoch E, step S" (both
    1-based: the first update it runs), at its first update. It has no state, so the
    backup's fingerprint (which lists the callbacks) is the same with and without it.

    At the fit's end it hands the fit's History to the run record
    (:data:`axon.lab.shared.record.RUN`, under ``tag``): the trainer's own History,
    which a resumed fit restores from its backup, so the epochs come back complete. It
    does this here rather than in a callback of its own because a new callback would
    change the list of callbacks that the backups' fingerprint names, and a backup
    written before would no longer resume.

    It also carries the one test hook of the backups: with ``kill_at`` N (the environment
    variable ``AXON_TEST_KILL_AT_STEP``), the process kills itself (SIGKILL: no clean-up,
    as a crash or ``kill -9``) after its N-th update among the backed-up fits, counted
    over the whole run. The resume tests use it to interrupt a run at a known point.
    """

    updates = 0  # updates so far in this process, over every fit (for the test hook)

    def __init__(self, tag: str, resumed: bool, kill_at: str | int | None = None) -> None:
        super().__init__()
        self.tag = tag
        self.kill_at = int(kill_at) if kill_at else None
        self.pending = resumed  # the note is still to be printed
        if resumed:  # the per-batch hook is installed only where needed: free otherwise
            self.on_batch_begin = self._say_where
        if self.kill_at is not None:
            self.on_batch_end = self._count_and_kill

    def _say_where(self, batch: int, logs=None) -> None:
        if self.pending and getattr(self.trainer, "resuming", True):
            epoch = getattr(self.trainer, "epoch", 0)
            print(f"  resuming {self.tag} from epoch {epoch + 1}, step {batch + 1}", flush=True)
        self.pending = False

    def on_train_end(self, logs=None) -> None:
        if self.pending and getattr(self.trainer, "resuming", True):  # nothing was left
            print(f"  resuming {self.tag}: its training had already ended", flush=True)
        self.pending = False
        history = getattr(self.trainer, "history", None)
        if history is not None:
            RUN.add_fit(self.tag, history)

    def _count_and_kill(self, batch: int, logs=None) -> None:
        ResumeNote.updates += 1
        if ResumeNote.updates >= self.kill_at:
            print(f"  {KILL_HOOK}: killed after update {ResumeNote.updates}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)


class ResumableBatches:
    """Base of the lab's loaders that draw their batches from a generator of their own
    (``self.rng``, a NumPy ``Generator``), with DataLoader's ``state_dict`` /
    ``load_state_dict`` (torchdata's names) so that a backup holds their position.

    A subclass writes ``_epoch()``, the generator of one epoch's batches. The state is
    the generator's state when the epoch's iterator was made, the batches it has yielded,
    the generator's state now and whether the epoch is finished; after
    ``load_state_dict`` the next ``iter`` yields the rest of the saved epoch (its batches
    drawn again from the epoch's start and the used ones skipped), or, if it was
    finished, the next epoch.
    """

    rng: np.random.Generator

    def _epoch(self) -> Iterator:
        raise NotImplementedError

    def __iter__(self) -> Iterator:
        restored, self._restored = getattr(self, "_restored", None), None
        skip = 0
        if restored is not None:
            finished = restored["finished"]
            self.rng.bit_generator.state = json.loads(
                restored["rng"] if finished else restored["epoch_rng"]
            )
            skip = 0 if finished else int(restored["yielded"])
        self._epoch_rng = json.dumps(self.rng.bit_generator.state)
        self._yielded, self._finished = skip, False
        for i, batch in enumerate(self._epoch()):
            if i < skip:
                continue
            self._yielded = i + 1
            yield batch
        self._finished = True

    def state_dict(self) -> dict:
        """The position (see the class): only strings, ints and bools."""
        now = json.dumps(self.rng.bit_generator.state)
        return {
            "epoch_rng": getattr(self, "_epoch_rng", now),
            "rng": now,
            "yielded": getattr(self, "_yielded", 0),
            "finished": getattr(self, "_finished", True),
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from ``state`` at the next ``iter``."""
        missing = {"epoch_rng", "rng", "yielded", "finished"} - set(state)
        if missing:
            raise KeyError(
                f"{type(self).__name__}.load_state_dict: missing {', '.join(sorted(missing))}"
            )
        self._restored = dict(state)
        self.rng.bit_generator.state = json.loads(state["rng"])
