"""The ``device=`` and ``dtype=`` keywords every layer takes, as in PyTorch
(``nn.Linear(4, 2, device="strict", dtype=torch.float64)``).

A layer is built and initialised in host memory, from the seeded generator, then its
parameters and buffers move to ``device`` (:func:`place`), so one seed gives the same
weights on every device. The CPU is accepted in any spelling (``None``, ``"cpu"``,
``"cpu:0"``, ``axon.device("cpu")``, any object whose ``str()`` names it); a device without
a backend (``"cuda"`` here) raises the RuntimeError of
:func:`axon.backend.device.check_device` naming it, at the line that asks for it.
"""

from __future__ import annotations

from .. import backend as B
from ..backend.device import check_device as _check_device
from ..backend.device import device as _device


def check_device(device):
    """``device`` as an ``axon.device`` (None for None or the CPU, in any spelling); a
    ``RuntimeError`` naming any device without a backend."""
    if device is not None and not isinstance(device, str | _device):
        device = str(device)  # another library's device object, by its name
    return _check_device(device)


def factory_dtype(device=None, dtype=None) -> B.dtype:
    """The floating dtype a layer's parameters are made in: ``dtype`` if given, else the
    default (``axon.get_default_dtype()``), after checking ``device``."""
    check_device(device)
    return B.to_dtype(dtype) or B.get_default_dtype()


def place(module, device) -> None:
    """Move ``module``'s parameters and buffers, made and initialised on the host, to
    ``device`` (nothing to do for None or the CPU): the end of a layer's constructor."""
    d = check_device(device)
    if d is not None:
        module.to(d)
