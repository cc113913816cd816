"""``axon.backends``: torch's backend switches (``cuda``, ``cudnn``, ``mps``) for programs that
set or query them; not to be confused with ``axon.backend``, where the array backends live.

axon computes with NumPy on the CPU: ``mps.is_available()`` and ``cuda.is_built()`` are
False, and cuDNN's flags (``cudnn.deterministic``, ``cudnn.benchmark``) are plain settable
attributes that change nothing (axon's CPU results are deterministic already).
"""

from types import SimpleNamespace

from . import cudnn, mps

cuda = SimpleNamespace(
    is_built=lambda: False,
    matmul=SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True),
)

__all__ = ["cuda", "cudnn", "mps"]
