"""``axon.Generator``: a random stream of its own, as ``torch.Generator``.

A Generator is passed as ``generator=`` to samplers, ``random_split`` and the DataLoader
so that one part of a program draws reproducibly whatever the rest draws from the global
generator. Inside is a NumPy PCG64 generator (:attr:`Generator.rng`), reseeded in place by
:meth:`Generator.manual_seed` so that anything holding it sees the new stream.

The numbers differ from torch's (a Mersenne Twister): what carries over is the interface
and the guarantee that one seed gives one stream. ``get_state()`` returns the stream's
position as a uint8 Tensor, as torch's does, and ``set_state`` puts it back.
"""

from __future__ import annotations

import secrets

import numpy as np

DEFAULT_SEED = 67280421310721
"""The seed of a fresh Generator (torch's ``default_rng_seed_val``)."""

_STATE_BYTES = (16, 16, 4, 1, 8)  # PCG64 state, increment, buffered uint32, its flag, seed


class Generator:
    """A seeded random stream: ``g = axon.Generator().manual_seed(0)``.

    Args:
        device: ``"cpu"``, or ``"cuda"`` where a GPU is available: the stream is drawn
            on the host either way (the samplers and ``random_split`` that take a
            generator work on the host).
    """

    def __init__(self, device: str = "cpu") -> None:
        name = str(device)
        if name != "cpu":
            from ..cuda import is_available

            if not (name.partition(":")[0] == "cuda" and is_available()):
                raise RuntimeError(f"Generator: device={device!r} has no backend here; use the cpu")
        self.device = name
        self._seed = DEFAULT_SEED
        self._rng = np.random.Generator(np.random.PCG64(DEFAULT_SEED))

    @property
    def rng(self) -> np.random.Generator:
        """The NumPy generator that draws this stream's numbers."""
        return self._rng

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed`` (an int in [-2**63, 2**64)); returns self.

        A negative seed is taken modulo 2**64, as torch does.
        """
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise ValueError(f"manual_seed: seed {seed} is outside [-2**63, 2**64)")
        self._seed = seed % 2**64
        self._rng.bit_generator.state = np.random.PCG64(self._seed).state
        return self

    def seed(self) -> int:
        """Seed the stream from the operating system's entropy; returns the seed used."""
        seed = secrets.randbits(63)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        """The seed the stream was last started from."""
        return self._seed

    def get_state(self):
        """The stream's position (and seed) as a uint8 Tensor, for :meth:`set_state`."""
        from ..autograd.tensor import _wrap

        s = self._rng.bit_generator.state
        fields = (
            s["state"]["state"],
            s["state"]["inc"],
            s["uinteger"],
            s["has_uint32"],
            self._seed,
        )
        raw = b"".join(
            int(v).to_bytes(n, "little") for v, n in zip(fields, _STATE_BYTES, strict=True)
        )
        return _wrap(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Go back to a position saved by :meth:`get_state`; returns self."""
        from ..autograd.tensor import Tensor

        if not isinstance(new_state, Tensor) or new_state.dtype != np.uint8:
            raise TypeError("RNG state must be a uint8 Tensor (from Generator.get_state())")
        raw = new_state.array.tobytes()
        if len(raw) != sum(_STATE_BYTES):
            raise RuntimeError(
                f"Expected a Generator state of size {sum(_STATE_BYTES)} but found the input "
                f"RNG state size to be {len(raw)}"
            )
        values, start = [], 0
        for n in _STATE_BYTES:
            values.append(int.from_bytes(raw[start : start + n], "little"))
            start += n
        state, inc, uinteger, has_uint32, seed = values
        self._rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": state, "inc": inc},
            "has_uint32": has_uint32,
            "uinteger": uinteger,
        }
        self._seed = seed
        return self

    def __repr__(self) -> str:
        return f"Generator(initial_seed={self._seed})"


class _DefaultGenerator(Generator):
    """The global stream (``axon.manual_seed``'s) seen as a Generator, as
    ``torch.default_generator``: seeding, ``get_state`` and ``set_state`` act on the
    generator that ``axon.backend.rng()`` returns at the time of the call."""

    def __init__(self) -> None:
        self.device = "cpu"

    @property
    def _rng(self) -> np.random.Generator:
        from . import rng

        return rng()

    @property
    def _seed(self) -> int:
        from . import initial_seed

        return initial_seed()

    @_seed.setter
    def _seed(self, seed: int) -> None:
        from .. import backend

        backend._seed = seed

    def manual_seed(self, seed: int) -> Generator:
        """Restart the global stream from ``seed`` (``axon.manual_seed``); returns self."""
        from . import manual_seed

        manual_seed(seed)
        return self

    def __repr__(self) -> str:
        return f"default_generator(initial_seed={self._seed})"


default_generator = _DefaultGenerator()
"""The global random stream as a Generator (``torch.default_generator``)."""


def manual_seed(seed: int) -> Generator:
    """Seed axon's global random stream (weights, dropout, shuffling); returns
    :data:`default_generator`, as ``torch.manual_seed``."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the global stream from the operating system's entropy; returns the seed."""
    new_seed = secrets.randbits(63)
    default_generator.manual_seed(new_seed)
    return new_seed


def get_rng_state():
    """The global stream's position as a uint8 Tensor (for :func:`set_rng_state`)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Put the global stream back where :func:`get_rng_state` saw it: the same draws
    follow."""
    default_generator.set_state(new_state)
