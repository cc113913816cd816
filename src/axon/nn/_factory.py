"""The ``device=`` and ``dtype=`` keywords every layer takes, as in PyTorch
(``nn.Linear(4, 2, device="cpu", dtype=torch.float64)``).

axon keeps every array in host memory, so the only device is the CPU: ``None``, ``"cpu"``,
``"cpu:0"``, ``axon.device("cpu")`` or any object whose ``str()`` names the CPU is
accepted; any other device (``"cuda"``, ``"mps"``) raises the RuntimeError of
:func:`axon.backend.device.check_device` naming it, so a program written for a GPU fails at the
line that asks for one instead of silently running elsewhere.
"""

from __future__ import annotations

from .. import backend as B
from ..backend.device import check_device as _check_device
from ..backend.device import device as _device


def check_device(device) -> None:
    """Accept ``None`` or the CPU in any spelling; raise a ``RuntimeError`` naming any
    other device (NotImplementedError for one with a backend: build, then ``.to`` it)."""
    if device is not None and not isinstance(device, str | _device):
        device = str(device)  # another library's device object, by its name
    d = _check_device(device)
    if d is not None:
        raise NotImplementedError(
            f"layers are made on the CPU: leave device= out and call .to('{d}') on the module"
        )


def factory_dtype(device=None, dtype=None) -> B.dtype:
    """The floating dtype a layer's parameters are made in: ``dtype`` if given, else the
    default (``axon.get_default_dtype()``), after checking ``device``."""
    check_device(device)
    return B.to_dtype(dtype) or B.get_default_dtype()
