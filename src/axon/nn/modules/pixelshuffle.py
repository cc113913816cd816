"""``torch.nn.modules.pixelshuffle``'s names in axon: Pixel shuffling, for code that imports
them from there (``from torch.nn.modules.pixelshuffle import ...``)."""

from ..pixelshuffle import PixelShuffle, PixelUnshuffle  # noqa: F401
