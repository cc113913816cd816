"""``torch.nn.modules.instancenorm``'s names in axon: Instance normalisation, for code that imports
them from there (``from torch.nn.modules.instancenorm import ...``)."""

from ..lazy import LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d  # noqa: F401
from ..normalization import (  # noqa: F401
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    _InstanceNorm,
    _NormBase,
)
