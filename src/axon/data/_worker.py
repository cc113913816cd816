"""Worker processes for ``DataLoader(num_workers > 0)``, as torch's.

The main process hands out batches of indices round-robin, each worker holding at most
``prefetch_factor`` of them (one index queue per worker); workers read and collate their
batch and put ``(task number, batch)`` on one shared result queue. The main process hands
the batches back in task order, which is the sampler's, holding any that arrive early, so
the batches are those of ``num_workers=0`` whatever the workers' speed.

Seeding, as torch: each epoch draws one base seed
(:func:`axon.data.sampler.draw_base_seed`); worker ``i`` seeds axon's global generator and
Python's ``random`` with ``base_seed + i`` (and NumPy's legacy global one from both), so
random augmentation in a worker is reproducible for a given seed and ``num_workers`` and
differs between workers. :func:`get_worker_info` tells a dataset (or
``worker_init_fn``) which worker it runs in.

Resuming (``DataLoader.load_state_dict``): new workers are seeded with the saved base
seed, persistent workers' random states (axon's, Python's, NumPy's) are put back as they
were at the epoch's start (each worker reports them when an epoch starts, and on request
between epochs), and the batches the saved iterator had yielded are made again and
dropped: exact, for the cost of making those batches once more.

Nothing hangs: the main process waits on the result queue in short slices and checks that
every worker is alive (a killed worker is a RuntimeError naming its pid), the ``timeout``
bounds the wait for one batch, a worker exits when the main process dies, and an exception
in a worker is raised again in the main process with the worker's traceback in the
message. A worker uses one BLAS thread (as torch's), so workers do not oversubscribe the
cores. Batches of 1 MB or more of arrays travel through shared memory, smaller ones through
the queue's pipe (:mod:`axon.data._transport`).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import random
import signal
import time
import traceback
import uuid
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend as B
from ..backend.numpy import threads
from ._transport import discard, pack, remove_unread, unpack

_POLL = 0.1  # seconds between checks that the workers are alive while waiting


@dataclass(frozen=True)
class WorkerInfo:
    """Which worker this is: ``id`` in [0, num_workers), the ``seed`` it was given, and
    ``dataset``, its own copy of the loader's dataset."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker, its :class:`WorkerInfo`; in the main process, None."""
    return _worker_info


@dataclass(frozen=True)
class _StreamEnd:
    """A worker's IterableDataset copy is exhausted for this epoch."""

    worker_id: int


@dataclass(frozen=True)
class _Resume:
    """Start a new epoch (persistent workers): a fresh fetcher, and the worker's random
    streams put at ``states`` when given (a resumed run); echoed back with the streams'
    states at the epoch's start."""

    states: Any = None


@dataclass(frozen=True)
class _Snapshot:
    """Echo the worker's random streams' states back, changing nothing."""


def _rng_states() -> dict:
    """This process's random streams, as ``axon.save`` stores them: axon's global
    generator, Python's ``random`` and NumPy's legacy global generator."""
    version, internal, gauss = random.getstate()
    kind, key, pos, has_gauss, cached = np.random.get_state()
    return {
        "axon": B.rng().bit_generator.state,
        "python": [version, list(internal), gauss],
        "numpy": [kind, key, pos, has_gauss, cached],
    }


def _set_rng_states(states: dict) -> None:
    """Put back what :func:`_rng_states` returned (possibly after a round trip through
    ``axon.save``/``axon.load``)."""
    B.rng().bit_generator.state = states["axon"]
    version, internal, gauss = states["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), gauss))
    kind, key, pos, has_gauss, cached = states["numpy"]
    np.random.set_state(
        (kind, np.asarray(key, dtype=np.uint32), int(pos), int(has_gauss), float(cached))
    )


class _WorkerError:
    """An exception raised in a worker, carried to the main process as text."""

    def __init__(self, worker_id: int, exc: BaseException) -> None:
        try:  # the class travels by name: one defined in a function cannot
            pickle.dumps(type(exc))
            self.exc_type = type(exc)
        except Exception:
            self.exc_type = RuntimeError
        self.text = (
            f"Caught {type(exc).__name__} in DataLoader worker process {worker_id}.\n"
            f"Original {''.join(traceback.format_exception(exc))}"
        )

    def reraise(self):
        """Raise the same exception class, its message the worker's traceback."""
        try:
            err = self.exc_type(self.text)
        except Exception:  # a class that does not take one message
            err = RuntimeError(self.text)
        raise err


def _numpy_seed(base_seed: int, worker_id: int) -> np.ndarray:
    """A seed for NumPy's legacy global generator (``np.random``) in a worker."""
    return np.random.SeedSequence([worker_id, base_seed]).generate_state(4)


def _seed_worker(base_seed: int, worker_id: int) -> int:
    seed = base_seed + worker_id
    random.seed(seed)
    B.manual_seed(seed)
    np.random.seed(_numpy_seed(base_seed, worker_id))
    return seed


def worker_loop(
    dataset,
    index_queue,
    result_queue,
    auto_collation: bool,
    collate_fn,
    drop_last: bool,
    base_seed: int,
    init_fn,
    worker_id: int,
    num_workers: int,
    parent_pid: int,
    shm_prefix: str,
) -> None:
    """A worker's life: seed, ``init_fn``, then fetch every batch asked for until None."""
    from .dataloader import IterableFetcher, make_fetcher

    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    threads.set_num_threads(1)
    seed = _seed_worker(base_seed, worker_id)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    init_error = fetcher = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
    except Exception as e:
        init_error = _WorkerError(worker_id, e)
    stream_done = False
    while os.getppid() == parent_pid:  # the main process is gone: stop
        try:
            task = index_queue.get(timeout=_POLL * 5)
        except queue.Empty:
            continue
        if task is None:
            break
        if isinstance(task, _Snapshot):
            result_queue.put((task, (worker_id, _rng_states())))
            continue
        if isinstance(task, _Resume):
            stream_done = False
            if task.states is not None:
                _set_rng_states(task.states)
            states = _rng_states()  # before the fetcher: an IterableDataset's __iter__ may draw
            try:
                fetcher = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
            except Exception as e:
                init_error = _WorkerError(worker_id, e)
            result_queue.put((task, (worker_id, states)))
            continue
        if stream_done:
            continue
        number, index = task
        if init_error is not None:
            data, init_error = init_error, None
        else:
            try:
                data = fetcher.fetch(index)
            except StopIteration as e:
                if isinstance(fetcher, IterableFetcher):
                    data, stream_done = _StreamEnd(worker_id), True
                else:
                    data = _WorkerError(worker_id, e)
            except Exception as e:
                data = _WorkerError(worker_id, e)
        result_queue.put((number, _message(data, worker_id, shm_prefix)))
        del data, index, task


def _message(data, worker_id: int, shm_prefix: str) -> tuple:
    """``data`` packed here (see :mod:`axon.data._transport`), so that a batch that cannot
    be pickled is reported as an error instead of vanishing in the queue's feeder thread
    (which would leave the main process waiting)."""
    try:
        return pack(data, shm_prefix)
    except Exception as e:
        return pack(_WorkerError(worker_id, e), shm_prefix)


def _default_context():
    """Fork where the platform has it (fast, shares the dataset), else spawn."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class MultiProcessIter:
    """One epoch (or, with persistent workers, every epoch) of a multi-worker loader."""

    def __init__(self, loader) -> None:
        # persistent workers: the loader keeps this iterator, so a strong reference back
        # would make a cycle, freed only by the garbage collector, which closes the queues'
        # feeder threads before __del__ can tell the workers to stop (a 1 s wait each)
        self._loader = weakref.proxy(loader) if loader.persistent_workers else loader
        try:
            self._length = len(loader)
        except TypeError:  # (an IterableDataset without a length)
            self._length = None
        self._num_workers = loader.num_workers
        self._prefetch = loader.prefetch_factor
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._epoch, self._indices, resume = loader._open_epoch()
        self._base_seed = self._epoch.base_seed
        ctx = loader.multiprocessing_context or _default_context()
        self._result_queue = ctx.Queue()
        self._index_queues, self._workers = [], []
        self._shut = False
        self._shm_prefix = f"axon-dl-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        for worker_id in range(self._num_workers):
            index_queue = ctx.Queue()
            index_queue.cancel_join_thread()
            w = ctx.Process(
                target=worker_loop,
                args=(
                    loader.dataset,
                    index_queue,
                    self._result_queue,
                    loader._auto_collation,
                    loader.collate_fn,
                    loader.drop_last,
                    self._base_seed,
                    loader.worker_init_fn,
                    worker_id,
                    self._num_workers,
                    os.getpid(),
                    self._shm_prefix,
                ),
                daemon=True,
            )
            w.start()
            self._index_queues.append(index_queue)
            self._workers.append(w)
        if resume is not None and resume.worker_states is not None:
            self._echo([_Resume(states) for states in resume.worker_states])
        self._start_epoch()
        if resume is not None:
            self._catch_up(resume.skip)

    # ------------------------------------------------------------------ bookkeeping
    def _start_epoch(self) -> None:
        self._sent = 0  # the number of the next task to hand out
        self._received = 0  # the number of the next batch to return
        self._tasks: dict[int, tuple] = {}  # number -> (worker,) or (worker, data)
        self._in_flight = [0] * self._num_workers
        self._active = [True] * self._num_workers  # False: its stream ended this epoch
        self._cycle = itertools.cycle(range(self._num_workers))
        self._exhausted = False
        for _ in range(self._prefetch * self._num_workers):
            self._send_next()

    def reset(self) -> None:
        """A new epoch on the same (persistent) workers, which keep their base seed and
        random streams; their states at the epoch's start are noted for ``state_dict``."""
        self._epoch, self._indices, _ = self._loader._open_epoch(base_seed=self._base_seed)
        self._epoch.worker_states = self._echo([_Resume()] * self._num_workers)
        self._start_epoch()

    def worker_states(self) -> list:
        """Each worker's random streams now (persistent workers between epochs)."""
        return self._echo([_Snapshot()] * self._num_workers)

    def _echo(self, tasks: list) -> list:
        """Send task ``i`` to worker ``i`` and wait for every echo (dropping what is left
        of an earlier epoch meanwhile); returns the workers' random states, by worker."""
        for q, task in zip(self._index_queues, tasks, strict=True):
            q.put(task)
        states: list = [None] * self._num_workers
        pending = self._num_workers
        while pending:
            number, message = self._get()
            if isinstance(number, _Resume | _Snapshot):
                worker_id, worker_states = message
                states[worker_id] = worker_states
                pending -= 1
            else:
                discard(message)
        return states

    def _catch_up(self, skip: int) -> None:
        """A resumed epoch: make the batches the saved iterator had yielded again and drop
        them, so that every worker's random streams are where they were."""
        yielded = self._epoch.yielded
        for _ in range(skip):
            next(self)
        self._epoch.yielded = yielded

    def _send_next(self) -> None:
        """Give the next batch of indices to the next worker with room, if any."""
        if self._exhausted:
            return
        for _ in range(self._num_workers):
            w = next(self._cycle)
            if self._active[w] and self._in_flight[w] < self._prefetch:
                break
        else:
            return
        try:
            index = next(self._indices)
        except StopIteration:
            self._exhausted = True
            return
        self._index_queues[w].put((self._sent, index))
        self._tasks[self._sent] = (w,)
        self._in_flight[w] += 1
        self._sent += 1

    # ------------------------------------------------------------------ receiving
    def _get(self):
        """The next message from any worker; RuntimeError on a dead worker or timeout."""
        start = time.monotonic()
        while True:
            try:
                return self._result_queue.get(timeout=_POLL)
            except queue.Empty:
                pass
            dead = [w for w in self._workers if not w.is_alive()]
            if dead:
                self._shutdown()
                pids = ", ".join(str(w.pid) for w in dead)
                codes = ", ".join(str(w.exitcode) for w in dead)
                raise RuntimeError(
                    f"DataLoader worker (pid(s) {pids}) exited unexpectedly (exit code(s) {codes})"
                )
            if self._timeout and time.monotonic() - start > self._timeout:
                self._shutdown()
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def __iter__(self) -> MultiProcessIter:
        return self

    def __next__(self) -> Any:
        while True:
            while self._received < self._sent:  # skip tasks of ended streams
                info = self._tasks[self._received]
                if len(info) == 2 or self._active[info[0]]:
                    break
                del self._tasks[self._received]
                self._received += 1
            else:
                self._epoch.finished = True
                if not self._persistent:
                    self._shutdown()
                raise StopIteration
            info = self._tasks[self._received]
            if len(info) == 2:  # arrived earlier, out of turn
                del self._tasks[self._received]
                self._received += 1
                return self._deliver(info[1])
            number, message = self._get()
            data = unpack(message)
            worker = self._tasks[number][0]
            self._in_flight[worker] -= 1
            if isinstance(data, _StreamEnd):  # its tasks left unanswered are skipped above
                self._active[worker] = False
                continue
            if number != self._received:
                self._tasks[number] = (worker, data)
                continue
            del self._tasks[number]
            self._received += 1
            return self._deliver(data)

    def _deliver(self, data):
        self._send_next()
        if isinstance(data, _WorkerError):
            if not self._persistent:
                self._shutdown()
            data.reraise()
        self._epoch.yielded += 1
        return data

    def __len__(self) -> int:
        try:
            return len(self._loader)
        except ReferenceError:  # persistent workers, their loader dropped: the length it had
            if self._length is None:
                raise TypeError("this DataLoader iterator has no length") from None
            return self._length

    # ------------------------------------------------------------------ shutting down
    def _shutdown(self) -> None:
        """Ask every worker to stop, wait briefly, then terminate stragglers."""
        if self._shut:
            return
        self._shut = True
        for q in self._index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for w in self._workers:
            w.join(timeout=1.0)
            if w.is_alive():
                w.terminate()
                w.join(timeout=1.0)
        for q in [*self._index_queues, self._result_queue]:
            q.cancel_join_thread()
            q.close()
        remove_unread(self._shm_prefix)

    def __del__(self) -> None:
        try:
            self._shutdown()
        except Exception:
            pass
