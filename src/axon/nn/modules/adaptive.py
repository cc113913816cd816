"""``torch.nn.modules.adaptive``'s names in axon: The adaptive softmax, for code that imports
them from there (``from torch.nn.modules.adaptive import ...``)."""

from ..adaptive import AdaptiveLogSoftmaxWithLoss  # noqa: F401
