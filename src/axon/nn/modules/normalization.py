"""``torch.nn.modules.normalization``'s names in axon: layer, group, RMS and local
response normalisation, for code that imports them from there."""

from ..normalization import (  # noqa: F401
    CrossMapLRN2d,
    GroupNorm,
    LayerNorm,
    LocalResponseNorm,
    RMSNorm,
)
