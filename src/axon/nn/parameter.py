"""``torch.nn.parameter``'s path: ``nn.parameter.Parameter`` and its kin, as programs and
type hints import them (``from torch.nn.parameter import Parameter``)."""

from .lazy import UninitializedBuffer, UninitializedParameter
from .module import Buffer, Parameter

__all__ = ["Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter"]
