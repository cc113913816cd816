"""``axon.cuda``: NVIDIA GPUs through CuPy, with ``torch.cuda``'s names.

``is_available()`` loads the CUDA backend (``backend/cupy``) on first ask and says whether
it runs: CuPy installed (``pip install "axon[cuda12]"`` or ``"axon[cuda13]"``) and a GPU
found. Without them it answers False and everything else works as on a machine without
CUDA in torch: seeding is accepted and ignored, and asking for a GPU's properties raises
:class:`~axon.backend.device.DeviceUnavailableError` saying which of the two is missing.

Random numbers: ``axon.manual_seed(s)`` fixes the GPU's draws too (as torch's does);
``manual_seed(s)`` here changes only the GPU's. The GPU draws other numbers than the CPU
for one seed (torch's CPU and CUDA generators differ as well), but one seed on one device
gives the same run every time.
"""

from __future__ import annotations

from types import SimpleNamespace

from . import amp as _amp
from .backend.device import DeviceUnavailableError, _no_backend, load

amp = SimpleNamespace(GradScaler=_amp.GradScaler, autocast=_amp.autocast)
"""``axon.cuda.amp``: torch's older spelling of ``axon.amp``."""


def is_available() -> bool:
    """Whether tensors can live on a GPU: CuPy is installed and finds one."""
    return load("cuda")


def _backend():
    """The CUDA backend, or DeviceUnavailableError saying what is missing."""
    if not load("cuda"):
        raise DeviceUnavailableError(f"CUDA was asked for: {_no_backend('cuda')}")
    from .backend.cupy import cuda

    return cuda


def _index(device=None) -> int:
    """The ordinal of ``device`` (an int, "cuda:N", a device, or None: the current one)."""
    from .backend.device import device as _device

    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    d = _device(device)
    return current_device() if d.index is None else d.index


def device_count() -> int:
    """The number of GPUs CuPy sees (0 without CuPy or a GPU)."""
    if not is_available():
        return 0
    from .backend.cupy import COUNT

    return COUNT


def current_device() -> int:
    """The ordinal of the GPU that ``"cuda"`` means now."""
    return _backend().selected


def set_device(device) -> None:
    """Make ``device`` the current GPU: ``"cuda"`` names it from now on."""
    backend = _backend()
    backend.selected = backend.device(_index(device)).index


def synchronize(device=None) -> None:
    """Wait for every kernel queued on ``device`` (the current GPU) to finish: time GPU
    work between two ``synchronize()`` calls, since launches return at once."""
    backend = _backend()
    backend.synchronize(backend.device(_index(device)).index)


def get_device_name(device=None) -> str:
    """The GPU's name, as the driver reports it (``"NVIDIA H100 80GB HBM3"``)."""
    return get_device_properties(device).name


def get_device_properties(device=None) -> SimpleNamespace:
    """``name``, ``total_memory`` (bytes), ``major``/``minor`` (compute capability) and
    ``multi_processor_count`` of the GPU."""
    backend = _backend()
    p = backend.properties(backend.device(_index(device)).index)
    name = p["name"]
    return SimpleNamespace(
        name=name.decode() if isinstance(name, bytes) else str(name),
        total_memory=int(p["totalGlobalMem"]),
        major=int(p["major"]),
        minor=int(p["minor"]),
        multi_processor_count=int(p["multiProcessorCount"]),
    )


def manual_seed(seed: int) -> None:
    """Seed the GPU's draws (accepted and ignored without CUDA, as torch does)."""
    from . import backend

    backend.device_salt = int(seed) % 2**63


manual_seed_all = manual_seed
"""All GPUs draw from one seed here, so seeding one seeds all."""


def seed() -> None:
    """Accepted: the GPU's draws already follow axon's seeded host stream."""


seed_all = seed


def memory_allocated(device=None) -> int:
    """Bytes held by arrays on the GPU (CuPy's memory pool's used bytes)."""
    _backend()
    import cupy

    with cupy.cuda.Device(_index(device)):
        return cupy.get_default_memory_pool().used_bytes()


def empty_cache() -> None:
    """Give the GPU memory CuPy keeps for reuse back to the driver (nothing to do without
    CUDA, as torch accepts it before CUDA starts)."""
    if is_available():
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: axon's arrays have no bfloat16 (NumPy and CuPy lack it)."""
    return False
