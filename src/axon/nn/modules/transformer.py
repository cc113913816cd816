"""``torch.nn.modules.transformer``'s names in axon: Transformer layers, for code that imports
them from there (``from torch.nn.modules.transformer import ...``)."""

from ..transformer import (  # noqa: F401
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
