"""The ``device=`` and ``dtype=`` keywords every layer takes, as in PyTorch
(``nn.Linear(4, 2, device="cpu", dtype=torch.float64)``).

axon keeps every array in host memory, so the only device is the CPU: ``None``, ``"cpu"``,
``"cpu:0"`` or a device object whose ``str()`` is one of those is accepted, anything else
(``"cuda"``, ``"mps"``) raises a ``RuntimeError`` naming it, so a program written for a GPU
fails at the line that asks for one instead of silently running elsewhere.
"""

from __future__ import annotations

import numpy as np

from .. import backend as B


def check_device(device) -> None:
    """Accept ``None`` or the CPU in any spelling; raise a ``RuntimeError`` naming any
    other device."""
    if device is None:
        return
    name = str(device)
    if name == "cpu" or name.startswith("cpu:"):
        return
    raise RuntimeError(
        f"axon runs on the CPU only: device={name!r} is not available (use device='cpu' "
        f"or leave it out)"
    )


def factory_dtype(device=None, dtype=None) -> np.dtype:
    """The floating dtype a layer's parameters are made in: ``dtype`` if given, else the
    default (``axon.get_default_dtype()``), after checking ``device``."""
    check_device(device)
    return B.to_dtype(dtype) or B.get_default_dtype()
