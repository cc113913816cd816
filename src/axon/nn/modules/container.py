"""``torch.nn.modules.container``'s names in axon: the containers, for code that
imports them from there."""

from ..containers import ModuleDict, ModuleList, ParameterList, Sequential  # noqa: F401
