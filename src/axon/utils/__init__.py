"""``torch.utils``' paths that programs reach through the ``torch`` name: ``utils.data`` (the
module ``axon.data`` itself) and ``utils.checkpoint`` (activation checkpointing's interface).

``torch.utils.data.DataLoader`` runs after only ``import axon as torch``."""

import sys

from .. import data
from . import checkpoint

# ``import axon.utils.data.sampler`` and friends: the package and its submodules under this
# path too (Python finds an already-imported module by its dotted name in sys.modules)
for _name, _module in list(sys.modules.items()):
    if _name == "axon.data" or _name.startswith("axon.data."):
        sys.modules["axon.utils." + _name.removeprefix("axon.")] = _module

__all__ = ["checkpoint", "data"]
