"""``axon.backends``: torch's backend switches (``cuda``, ``cudnn``, ``mps``) for programs that
set or query them; not to be confused with ``axon.backend``, where the array backends live.

axon computes with NumPy on the CPU and with CuPy on NVIDIA GPUs: ``cuda.is_built()`` says
whether CuPy is installed, ``mps.is_available()`` is False, and cuDNN's flags
(``cudnn.deterministic``, ``cudnn.benchmark``) are plain settable attributes that change
nothing (axon's convolutions are its own, not cuDNN's).
"""

import importlib.util
from types import SimpleNamespace

from . import cudnn, mps

cuda = SimpleNamespace(
    is_built=lambda: importlib.util.find_spec("cupy") is not None,
    matmul=SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True),
)

__all__ = ["cuda", "cudnn", "mps"]
