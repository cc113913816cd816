"""``torch.nn.modules.fold``'s names in axon: Fold and Unfold, for code that imports
them from there (``from torch.nn.modules.fold import ...``)."""

from ..fold import Fold, Unfold  # noqa: F401
