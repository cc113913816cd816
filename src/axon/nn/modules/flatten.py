"""``torch.nn.modules.flatten``'s names in axon: Flatten and Unflatten, for code that imports
them from there (``from torch.nn.modules.flatten import ...``)."""

from ..linear import Flatten, Unflatten  # noqa: F401
