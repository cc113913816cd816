"""The CUDA backend: CuPy arrays on NVIDIA GPUs (``pip install "axon[cuda12]"`` or
``"axon[cuda13]"``).

CuPy is NumPy's API on CUDA, so almost every op runs as written: ``self.xp`` is CuPy's
namespace and each NumPy call becomes a kernel launch on the current stream. What differs
lives here:

- Devices are ``cuda:N``, one per GPU; an array's device is the GPU its memory is on. A
  transfer from the host copies into the target GPU's memory; ``to_host`` waits for the
  GPU's pending work (it is the point where a program synchronises, as ``.item()`` is).
- Random draws for device arrays (dropout's masks) are made on the GPU by cuRAND. Each
  draw takes its seed from axon's one host stream, so ``axon.manual_seed`` fixes them, a
  checkpoint's ``get_rng_state`` restores them, and CPU and GPU runs with one seed draw
  different masks (as in torch, whose CPU and CUDA generators differ).
- The hot pointwise steps (an LSTM or GRU step over the batch, Adam's update) are single
  CUDA kernels (``kernels.py``) instead of a chain of ten launches; scatter-adds use
  ``cupyx.scatter_add``; convolution is im2col on a strided view plus one cuBLAS product.
- CuPy never warns about floating-point errors, so ``errstate`` is a context that does
  nothing (NumPy's is used on the CPU to silence expected overflow warnings).

Importing this module registers the backend, or raises :class:`DeviceUnavailableError`
saying whether CuPy or a GPU is missing (``device.py`` imports it on the first use of
``"cuda"``).
"""

from __future__ import annotations

import contextlib
import types
import warnings

import numpy as np

from ..base import Backend, register, window_layout
from ..device import DeviceUnavailableError, device

try:
    import cupy
    import cupyx
except ImportError as e:  # no CuPy, or a CuPy that cannot load its CUDA libraries
    raise DeviceUnavailableError(
        f"CUDA needs CuPy, which is not installed or does not load ({e}): "
        f'pip install "axon[cuda12]" (CUDA 12) or "axon[cuda13]" (CUDA 13)'
    ) from None


def _device_count() -> int:
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError as e:
        raise DeviceUnavailableError(
            f"CuPy {cupy.__version__} is installed but finds no usable GPU ({e}): check the "
            f"NVIDIA driver (nvidia-smi) and that the CuPy wheel matches its CUDA version"
        ) from None


COUNT = _device_count()
if COUNT == 0:
    raise DeviceUnavailableError(
        f"CuPy {cupy.__version__} is installed but this machine has no NVIDIA GPU"
    )


_ATOMIC = {np.dtype(t) for t in ("float32", "float64", "int32", "uint32", "uint64")}
"""The dtypes ``cupyx.scatter_add`` adds into directly."""


@contextlib.contextmanager
def _no_fp_errors(*args, **kwargs):
    """NumPy's ``errstate`` for CuPy: GPU kernels raise no floating-point warnings."""
    yield


def _namespace():
    """CuPy's namespace with the NumPy names the ops use that CuPy lacks (``errstate``)."""
    ns = types.ModuleType("axon.backend.cupy.xp", "CuPy's names, plus errstate")
    ns.__dict__.update({k: v for k, v in vars(cupy).items() if not k.startswith("__")})
    ns.errstate = _no_fp_errors
    return ns


class CupyBackend(Backend):
    """CuPy on NVIDIA GPUs: device type ``cuda``, arrays ``cupy.ndarray``."""

    name = "cuda"
    array_type = cupy.ndarray
    xp = _namespace()

    def __init__(self) -> None:
        self.devices = [device("cuda", i) for i in range(COUNT)]
        self.selected = cupy.cuda.runtime.getDevice()
        """The GPU ``"cuda"`` names (``axon.cuda.set_device``). Ops switch CuPy's current
        GPU to their inputs' (``activate``), which leaves this one as it is, as torch's
        device guards do."""
        self.draws = _DeviceDraws()
        self.fused = None
        """The fused CUDA kernels (``kernels.Kernels``), made on first use; ``False``
        turns them off (the generic NumPy-style path then runs, as the tests compare)."""

    # ------------------------------------------------------------ devices and memory
    def device(self, index=None):
        if index is None:
            index = self.selected
        if not 0 <= index < COUNT:
            raise RuntimeError(
                f"CUDA error: invalid device ordinal: cuda:{index} was asked for, and this "
                f"machine has {COUNT} GPU{'s' if COUNT != 1 else ''} (cuda:0"
                f"{f' to cuda:{COUNT - 1}' if COUNT > 1 else ''})"
            )
        return self.devices[index]

    def device_of(self, array):
        return self.devices[array.device.id]

    def to_host(self, array) -> np.ndarray:
        return cupy.asnumpy(array)

    def from_host(self, array, dev=None):
        index = self.selected if dev is None or dev.index is None else dev.index
        if array.__class__ is cupy.ndarray and array.device.id == index:
            return array  # drawn on the device already (a dropout mask)
        with cupy.cuda.Device(index):
            return cupy.array(array, copy=True)

    def device_rng(self):
        """A cuRAND generator on the current GPU, seeded afresh from axon's host stream at
        each draw (see the module's docstring)."""
        return self.draws

    # ------------------------------------------------------------ the NumPy-only tricks
    def scatter_add(self, target, index, values) -> None:
        """``cupyx.scatter_add`` (CUDA's atomic adds), which takes float32, float64, int32,
        uint32 and uint64 targets: an int64 target adds as uint64 (the same bits, modulo
        2**64), the others through a float32 or int32 copy."""
        dt = target.dtype
        if dt in _ATOMIC:
            cupyx.scatter_add(target, index, values)
        elif dt == np.int64:
            values = cupy.asarray(values, dtype=dt)
            cupyx.scatter_add(target.view(np.uint64), index, values.view(np.uint64))
        else:
            wide = target.astype(np.float32 if dt.kind == "f" else np.int32)
            cupyx.scatter_add(wide, index, cupy.asarray(values).astype(wide.dtype))
            target[...] = wide.astype(dt)

    def sliding_windows(self, x, window_shape, axis):
        return cupy.lib.stride_tricks.sliding_window_view(x, window_shape, axis)

    def windows(self, x_padded, kernel, out, stride, dilation):
        """A strided view, as on the CPU: ``ascontiguousarray`` of it is one gather kernel
        that writes the im2col columns, instead of one slice copy per kernel offset."""
        shape, strides = window_layout(x_padded, kernel, out, stride, dilation)
        return cupy.lib.stride_tricks.as_strided(x_padded, shape, strides)

    def kernels(self):
        """The fused kernels, compiled on first use (None when turned off)."""
        if self.fused is None:
            from .kernels import Kernels

            self.fused = Kernels()
        return self.fused or None

    # ------------------------------------------------------------ the GPUs themselves
    def activate(self, dev) -> None:
        """Make ``dev``'s GPU the current one when it is not (one cheap runtime call)."""
        if cupy.cuda.runtime.getDevice() != dev.index:
            cupy.cuda.Device(dev.index).use()

    def synchronize(self, index=None) -> None:
        """Wait until every kernel queued on GPU ``index`` (the current one) has run."""
        with cupy.cuda.Device(self.selected if index is None else index):
            cupy.cuda.Stream.null.synchronize()
            cupy.cuda.get_current_stream().synchronize()

    def properties(self, index: int) -> dict:
        return cupy.cuda.runtime.getDeviceProperties(index)


class _DeviceDraws:
    """The part of NumPy's Generator interface the ops draw with (``random``), drawing on
    the current GPU. The seed of each draw comes from axon's host stream, so one seed fixes
    every mask and a restored host state restores them (cuRAND's Philox generator is
    counter-based: reseeding it costs no state set-up)."""

    def __init__(self) -> None:
        self._states: dict[int, object] = {}  # a cuRAND generator per GPU, made on first use
        self._no_curand: str | None = None
        """Why cuRAND did not load (its library missing), once seen: draws are then made
        on the host and moved, as on a backend without device draws."""

    def _state(self):
        index = cupy.cuda.runtime.getDevice()
        state = self._states.get(index)
        if state is None:
            with cupy.cuda.Device(index):
                method = cupy.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10
                state = self._states[index] = cupy.random.RandomState(0, method=method)
        return state

    def random(self, size=None, dtype=np.float64):
        """Uniform draws in [0, 1) of ``size`` on the current GPU (float32 or float64)."""
        from .. import device_salt, rng

        if self._no_curand is None:
            try:
                state = self._state()
            except ImportError as e:  # CuPy finds no libcurand
                self._no_curand = str(e)
                warnings.warn(
                    f"cuRAND does not load ({e}): dropout masks are drawn on the host and "
                    f"moved to the GPU",
                    RuntimeWarning,
                    stacklevel=3,
                )
            else:
                state.seed(int(rng().integers(2**63)) ^ device_salt)
                return state.random_sample(size, dtype)
        return rng().random(size, dtype=dtype)


cuda = register(CupyBackend())
"""The CUDA backend (``backend.for_device("cuda")``)."""
