"""``torch.nn.modules.dropout``'s names in axon: Dropout layers, for code that imports
them from there (``from torch.nn.modules.dropout import ...``)."""

from ..dropout import (  # noqa: F401
    AlphaDropout,
    Dropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
    FeatureAlphaDropout,
    _DropoutNd,
)
