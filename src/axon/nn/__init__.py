"""Neural-network building blocks: ``Module``, layers, losses, ``init``, ``functional``."""

from . import functional, init  # noqa: F401
from .containers import ModuleDict, ModuleList, ParameterList, Sequential
from .linear import Flatten, Identity, Linear, Unflatten
from .module import Module, Parameter, register_module_forward_hook
