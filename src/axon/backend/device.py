"""``axon.device``: where a tensor lives, with torch's names, and which device types have a
backend (the CPU always; others once a backend registers itself, ``backend.register``).

A program written for torch names devices everywhere (``device="cuda" if
torch.cuda.is_available() else "cpu"``, ``x.to(device)``, ``model.cuda()``). Every such
name is parsed here: a device type with a backend is accepted; any other device torch knows
is a valid ``device`` object, but putting a tensor there raises
:class:`DeviceUnavailableError` naming it; a name torch does not know (and no backend
registered) raises torch's RuntimeError.
"""

from __future__ import annotations

# the device types torch's parser accepts, in its order (its error message lists them)
DEVICE_TYPES = (
    "cpu",
    "cuda",
    "ipu",
    "xpu",
    "mkldnn",
    "opengl",
    "opencl",
    "ideep",
    "hip",
    "ve",
    "fpga",
    "maia",
    "xla",
    "lazy",
    "vulkan",
    "mps",
    "meta",
    "hpu",
    "mtia",
    "privateuseone",
)

_available: set[str] = {"cpu"}
"""The device types a backend computes on (``backend.register`` adds to it)."""
_extra_types: list[str] = []
"""Device types torch does not know, named by a registered backend (torch's
``rename_privateuse1_backend``): ``device()`` accepts them too."""


_LAZY = {"cuda": "axon.backend.cupy"}
"""Backends loaded on the first use of their device type: importing the module registers
it (CuPy is imported only by a program that asks for ``"cuda"``)."""
_why_not: dict[str, str] = {}
"""Why a lazy backend did not load (CuPy missing, no GPU), kept for the next ask."""


def load(name: str) -> bool:
    """Whether device type ``name`` has a backend, loading a lazy one on first ask."""
    if name in _available:
        return True
    module = _LAZY.get(name)
    if module is None or name in _why_not:
        return False
    import importlib

    try:
        importlib.import_module(module)
    except DeviceUnavailableError as e:
        _why_not[name] = str(e)
        return False
    return name in _available


def add_device_type(name: str) -> None:
    """Make ``name`` a device type with a backend (called by ``backend.register``)."""
    if name not in DEVICE_TYPES and name not in _extra_types:
        _extra_types.append(name)
    _available.add(name)


class DeviceUnavailableError(RuntimeError, AssertionError):
    """A tensor was asked to live on a device axon has no backend for (CUDA, MPS, ...).

    A RuntimeError, and an AssertionError too: torch built without CUDA raises
    ``AssertionError("Torch not compiled with CUDA enabled")``, so either ``except`` works.
    """


class device:  # noqa: N801  (torch's name)
    """A device: ``device("cpu")``, ``device("cuda:1")``, ``device("cuda", 1)``.

    Attributes:
        type: the device type (``"cpu"``, ``"cuda"``, ...).
        index: the device's ordinal, or None when not given.

    Equal to another device of the same type and index, and (a convenience torch lacks)
    to the string that names it: ``x.device == "cpu"``.
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index: int | None = None) -> None:  # noqa: A002  (torch's name)
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): index given twice (in the device and as index)")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool) and index is None:
            if type >= 0 and load("cuda"):  # torch takes a bare ordinal as a CUDA device
                self.type, self.index = "cuda", type
                return
            raise RuntimeError(f"device({type}) names CUDA device {type}: {_no_backend('cuda')}")
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string or a device, got {type!r}")
        name, sep, ordinal = type.partition(":")
        if name not in DEVICE_TYPES and name not in _extra_types:
            raise RuntimeError(
                f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device "
                f"string: {type}"
            )
        if sep:
            if index is not None:
                raise RuntimeError(
                    f"type (string) must not include an index because index "
                    f"was passed explicitly: {type}"
                )
            if not ordinal.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(ordinal)
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type, self.index = name, index

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self) -> device:
        """``with device("cpu"):`` (torch's default-device context) is accepted; other
        devices raise (see :func:`set_default_device`)."""
        set_default_device(self)
        return self

    def __exit__(self, *exc) -> None:
        pass


CPU = device("cpu")
"""The one device tensors live on (``Tensor.device``)."""


def _no_backend(name: str) -> str:
    if name in _why_not:
        return _why_not[name]
    return (
        f"axon has no {name.upper()} backend yet; it runs on the CPU only: use "
        f"device='cpu' (or leave device out)"
    )


def check_device(dev) -> device | None:
    """``dev`` as a ``device`` when a tensor can live there (None for None or the CPU).
    Others raise: :class:`DeviceUnavailableError` for devices torch knows (naming them),
    torch's RuntimeError for unknown names."""
    if dev is None or dev is CPU or dev == "cpu":
        return None
    d = dev if isinstance(dev, device) else device(dev)
    if d.type == "cpu":
        return None
    if d.type not in _available and not load(d.type):
        raise DeviceUnavailableError(f"cannot put a tensor on device '{d}': {_no_backend(d.type)}")
    return d


def get_default_device() -> device:
    """The device factories use when none is given: the CPU."""
    return CPU


def set_default_device(dev) -> None:
    """Accepts the CPU (or None). Other devices raise: :class:`DeviceUnavailableError`
    without a backend, NotImplementedError with one (factories default to the CPU)."""
    d = check_device(dev)
    if d is not None:
        raise NotImplementedError(
            f"set_default_device('{d}'): the default device is the CPU; pass device='{d}' "
            f"to the factories or move tensors with .to('{d}')"
        )


class layout:  # noqa: N801  (torch's name)
    """A memory layout; axon has one, ``strided`` (dense arrays with strides)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"axon.{self.name}"


strided = layout("strided")
"""The layout of every axon tensor (``Tensor.layout``, the factories' ``layout=``)."""


class memory_format:  # noqa: N801  (torch's name)
    """How a tensor's dimensions are ordered in memory. axon's arrays are row-major
    whatever is asked, so the ``memory_format=`` of ``to``, ``contiguous``, ``clone`` and
    the ``*_like`` factories is accepted and changes nothing (as torch on layouts that
    already match)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"axon.{self.name}"


preserve_format = memory_format("preserve_format")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
