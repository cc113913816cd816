"""``torch.nn.modules.sparse``'s names in axon: Embedding layers, for code that imports
them from there (``from torch.nn.modules.sparse import ...``)."""

from ..sparse import Embedding, EmbeddingBag  # noqa: F401
