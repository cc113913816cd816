"""``torch.nn.modules.distance``'s names in axon: the distances, for code that
imports them from there."""

from ..distance import CosineSimilarity, PairwiseDistance  # noqa: F401
