"""``torch.nn.modules.batchnorm``'s names in axon: Batch normalisation, for code that imports
them from there (``from torch.nn.modules.batchnorm import ...``)."""

from ..lazy import LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d  # noqa: F401
from ..normalization import (  # noqa: F401
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    SyncBatchNorm,
    _BatchNorm,
    _NormBase,
)
