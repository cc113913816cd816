"""Neural-network building blocks: ``Module``, layers, losses, ``init``, ``functional``."""

from . import functional, init, utils  # noqa: F401
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .containers import ModuleDict, ModuleList, ParameterList, Sequential
from .dropout import Dropout
from .linear import Flatten, Identity, Linear, Unflatten
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module, Parameter, register_module_forward_hook

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "ELU", "Flatten", "GELU",
    "HuberLoss", "Identity", "L1Loss", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss",
    "Module", "ModuleDict", "ModuleList", "MultiMarginLoss", "NLLLoss", "Parameter",
    "ParameterList", "ReLU", "Sequential", "Sigmoid", "SmoothL1Loss", "Softmax", "Softplus",
    "Tanh", "Unflatten", "functional", "init", "register_module_forward_hook", "utils",
]
