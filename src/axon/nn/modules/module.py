"""``torch.nn.modules.module``'s names in axon: The base class, for code that imports
them from there (``from torch.nn.modules.module import ...``)."""

from ..module import Module  # noqa: F401
