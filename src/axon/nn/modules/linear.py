"""``torch.nn.modules.linear``'s names in axon: Linear layers, for code that imports
them from there (``from torch.nn.modules.linear import ...``)."""

from ..lazy import LazyLinear  # noqa: F401
from ..linear import Bilinear, Identity, Linear  # noqa: F401
