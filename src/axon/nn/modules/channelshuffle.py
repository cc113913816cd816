"""``torch.nn.modules.channelshuffle``'s names in axon: Channel shuffling, for code that imports
them from there (``from torch.nn.modules.channelshuffle import ...``)."""

from ..pixelshuffle import ChannelShuffle  # noqa: F401
