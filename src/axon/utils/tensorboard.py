"""``SummaryWriter``: ``torch.utils.tensorboard.SummaryWriter`` for axon, so a PyTorch
program's ``from torch.utils.tensorboard import SummaryWriter`` becomes ``from
axon.utils.tensorboard import SummaryWriter`` and writes the same TensorBoard event files.

The event format (protocol buffers in TFRecord files, one ``events.out.tfevents.*`` file
per writer) is written by tensorboardX, an optional extra: ``pip install
"axon[tensorboard]"``. It is imported when a writer is created, never by ``import axon``.
This module's part is what tensorboardX cannot know: axon Tensors (Parameters that
require grad included) become NumPy arrays in host memory first, detached and moved off
their device, whatever the backend; the names, signatures and defaults are PyTorch's.

Non-finite values: a scalar is written as it is (a NaN loss is a fact worth seeing, and
TensorBoard reads NaN back as NaN); a histogram of values with a NaN or an infinity is
refused with a ValueError naming the tag, because its bins cannot be computed.

Figures are drawn with matplotlib's Agg canvas, as :mod:`axon.plot` draws them: pyplot is
not imported, and ``close=True`` closes a pyplot figure only when pyplot is in use.
"""

from __future__ import annotations

import itertools
import os
import socket
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SummaryWriter"]

_INSTALL = 'pip install "axon[tensorboard]"'
_writer_ids = itertools.count()  # this process's writers, numbered as torch numbers them


def tensorboardx() -> Any:
    """The ``tensorboardX`` module, or an ImportError that says how to install it."""
    try:
        import tensorboardX
    except ImportError as e:
        raise ImportError(
            f"axon's TensorBoard logging writes its event files with tensorboardX, which is "
            f"not installed: {_INSTALL} (or pip install tensorboardX)"
        ) from e
    return tensorboardX


def to_numpy(value: Any) -> np.ndarray:
    """``value`` (an axon Tensor or Parameter, an array of any backend, a number or a
    list) as a NumPy array in host memory, detached from any graph."""
    from ..autograd.tensor import Tensor, _host

    if isinstance(value, Tensor):
        value = value.detach().array
    return np.asarray(_host(value))


def _number(value: Any, what: str) -> float:
    """A one-element Tensor, array or number as a float (``what`` names it in errors)."""
    array = to_numpy(value)
    if array.size != 1:
        raise ValueError(f"{what} must hold one value, got shape {tuple(array.shape)}")
    return float(array.reshape(()))


def _step(global_step: Any) -> int | None:
    return None if global_step is None else int(_number(global_step, "global_step"))


def default_log_dir(comment: str = "") -> str:
    """PyTorch's default: ``runs/<Mon><DD>_<HH>-<MM>-<SS>_<hostname><comment>``."""
    now = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{now}_{socket.gethostname()}{comment}")


def figure_to_array(figure: Figure) -> np.ndarray:
    """The RGB pixels of a matplotlib figure, ``(3, height, width)`` uint8, drawn by the
    Agg canvas at the figure's own size and dpi (pyplot is not involved)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)  # (becomes the figure's canvas)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())  # (H, W, 4)
    return np.ascontiguousarray(rgba[:, :, :3].transpose(2, 0, 1))  # (3, H, W)


def _close(figure: Figure) -> None:
    """Close a pyplot-managed figure (an object-API figure needs nothing)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(figure)


class SummaryWriter:
    """Write scalars, histograms, images, figures, text and hyperparameters to an event
    file in ``log_dir`` for TensorBoard (``tensorboard --logdir runs``).

    Args:
        log_dir: the run's folder; default ``runs/CURRENT_DATETIME_HOSTNAME`` (+ comment).
        comment: appended to the default ``log_dir`` (ignored when ``log_dir`` is given).
        purge_step: when a run restarts after a crash at step ``T + X``, events at steps
            ``>= T`` written before are hidden by TensorBoard (a restart marker).
        max_queue: events held in memory before a write to disk.
        flush_secs: how often, in seconds, pending events are flushed to disk.
        filename_suffix: appended to the event file's name.

    The event file is named as torch names it: ``events.out.tfevents.<time>.<hostname>.
    <pid>.<n><suffix>``, so two writers on one folder never write into the same file.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        tbx = tensorboardx()
        self.log_dir = os.fspath(log_dir) if log_dir is not None else default_log_dir(comment)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = f".{os.getpid()}.{next(_writer_ids)}{filename_suffix}"
        self._writer = tbx.SummaryWriter(
            logdir=self.log_dir,
            purge_step=purge_step,
            max_queue=max_queue,
            flush_secs=flush_secs,
            filename_suffix=self.filename_suffix,
        )

    def get_logdir(self) -> str:
        """The folder this writer writes to."""
        return self.log_dir

    @property
    def event_file(self) -> str:
        """The path of the event file this writer writes (its folder's file with this
        writer's suffix)."""
        names = [n for n in os.listdir(self.log_dir) if n.endswith(self.filename_suffix)]
        if len(names) != 1:
            raise FileNotFoundError(
                f"SummaryWriter: expected one event file ending in {self.filename_suffix!r} "
                f"in {self.log_dir!r}, found {names}"
            )
        return os.path.join(self.log_dir, names[0])

    # ----------------------------------------------------------------- scalars
    def add_scalar(
        self, tag: str, scalar_value: Any, global_step: Any = None, walltime: float | None = None
    ) -> None:
        """One value of the curve ``tag`` at ``global_step`` (stored as float32; NaN and
        infinities are written as they are)."""
        value = _number(scalar_value, f"add_scalar({tag!r}): scalar_value")
        self._writer.add_scalar(tag, value, _step(global_step), walltime)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict[str, Any],
        global_step: Any = None,
        walltime: float | None = None,
    ) -> None:
        """Several curves in one chart: each ``tag`` of the dict goes to its own run
        folder ``log_dir/<main_tag>_<tag>`` under the tag ``main_tag`` (as torch does)."""
        values = {
            tag: _number(v, f"add_scalars({main_tag!r}): {tag!r}")
            for tag, v in tag_scalar_dict.items()
        }
        self._writer.add_scalars(main_tag, values, _step(global_step), walltime)

    # ----------------------------------------------------------------- histograms
    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: Any = None,
        bins: str | int | np.ndarray = "tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """The distribution of ``values`` (any shape) at ``global_step``: count, sum,
        sum of squares, min, max and the bucket counts. ``bins`` is ``"tensorflow"``
        (TensorFlow's exponential buckets) or anything ``numpy.histogram`` takes."""
        array = to_numpy(values).astype(np.float64).reshape(-1)
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            raise ValueError(
                f"add_histogram({tag!r}): {bad} of the {array.size} values are NaN or "
                "infinite; a histogram needs finite values"
            )
        if array.size == 0:
            raise ValueError(f"add_histogram({tag!r}): values is empty")
        self._writer.add_histogram(tag, array, _step(global_step), bins, walltime, max_bins)

    # ----------------------------------------------------------------- images
    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: Any = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """One image, stored as a PNG. Floats are taken as [0, 1] and scaled to 0..255,
        uint8 as they are; ``dataformats`` is ``"CHW"``, ``"HWC"`` or ``"HW"`` (1 or 3
        channels, or 4 with alpha)."""
        self._writer.add_image(
            tag, to_numpy(img_tensor), _step(global_step), walltime, dataformats=dataformats
        )

    def add_images(
        self,
        tag: str,
        img_tensor: Any,
        global_step: Any = None,
        walltime: float | None = None,
        dataformats: str = "NCHW",
    ) -> None:
        """A batch of images tiled into one grid image (``"NCHW"``, ``"NHWC"``, ...)."""
        self._writer.add_images(
            tag, to_numpy(img_tensor), _step(global_step), walltime, dataformats=dataformats
        )

    def add_figure(
        self,
        tag: str,
        figure: Figure | list[Figure],
        global_step: Any = None,
        close: bool = True,
        walltime: float | None = None,
    ) -> None:
        """A matplotlib figure (or a list of them, tiled) as an image of the figure's
        pixel size; ``close`` closes a pyplot-managed figure afterwards."""
        figures = figure if isinstance(figure, list) else [figure]
        pictures = [figure_to_array(f) for f in figures]
        if close:
            for f in figures:
                _close(f)
        step = _step(global_step)
        if isinstance(figure, list):
            self._writer.add_images(tag, np.stack(pictures), step, walltime, dataformats="NCHW")
        else:
            self._writer.add_image(tag, pictures[0], step, walltime, dataformats="CHW")

    # ----------------------------------------------------------------- text, hparams
    def add_text(
        self, tag: str, text_string: str, global_step: Any = None, walltime: float | None = None
    ) -> None:
        """Text (rendered as Markdown by TensorBoard) at ``global_step``."""
        self._writer.add_text(tag, str(text_string), _step(global_step), walltime)

    def add_hparams(
        self,
        hparam_dict: dict[str, Any],
        metric_dict: dict[str, Any],
        hparam_domain_discrete: dict[str, list] | None = None,
        run_name: str | None = None,
        global_step: Any = None,
    ) -> None:
        """One row of TensorBoard's HParams table: the hyperparameters (bool, str, int or
        float) and the metrics they reached, written in ``log_dir/<run_name>`` (default:
        the current time, as torch does)."""
        if hparam_domain_discrete is not None:
            raise NotImplementedError(
                "add_hparams: hparam_domain_discrete is not supported by tensorboardX; "
                "TensorBoard takes each hyperparameter's domain from the values logged"
            )
        hparams = {}
        for key, value in hparam_dict.items():
            if not isinstance(value, bool | str | int | float):
                value = _number(value, f"add_hparams: hparam {key!r}")
            hparams[key] = value
        metrics = {k: _number(v, f"add_hparams: metric {k!r}") for k, v in metric_dict.items()}
        self._writer.add_hparams(hparams, metrics, name=run_name, global_step=_step(global_step))

    # ----------------------------------------------------------------- files
    def flush(self) -> None:
        """Write every pending event to disk (also those still queued for tensorboardX's
        writer thread, which its own flush leaves behind: see :func:`_drain`)."""
        for file_writer in (self._writer.all_writers or {}).values():
            _drain(file_writer.event_writer)
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file (further writes reopen a new one)."""
        self._writer.close()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SummaryWriter(log_dir={self.log_dir!r})"


def _drain(events) -> None:
    """Have tensorboardX's ``EventFileWriter`` ``events`` write every event queued so far.

    Its events go through a queue to a writer thread, and its ``flush`` flushes the file
    without waiting for that queue: a flush could return with the last events unwritten
    (seen under load, where a backup then recorded an event file's length without its
    last histogram). Stopping the thread makes it write everything queued before the stop
    signal and end; a new thread then takes the same queue and the same file."""
    if events._closed:
        return
    worker = events._worker
    worker.stop()
    events._worker = type(worker)(events._event_queue, events._ev_writer, events._flush_secs)
    events._worker.start()
