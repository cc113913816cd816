"""``torch.nn.modules.lazy``'s names in axon: The lazy-module machinery, for code that imports
them from there (``from torch.nn.modules.lazy import ...``)."""

from ..lazy import LazyModuleMixin  # noqa: F401
