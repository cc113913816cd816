"""Reverse-mode autodiff: ``Tensor`` (``tensor.py``), ``Function``/``Op`` and the backward walk
(``function.py``), every op in ``ops/``, torch's functions by family (``*_api.py``), gradcheck."""

from .tensor import Tensor  # noqa: I001  (first: the other modules import it)
from .function import Function, FunctionCtx, Op
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckReport, gradcheck

__all__ = [
    "Function",
    "FunctionCtx",
    "GradcheckReport",
    "Op",
    "Tensor",
    "enable_grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]

# the autograd API as torch.autograd: grad, backward, inference mode, hook handles
from .function import backward, grad  # noqa: E402
from .grad_mode import inference_mode, is_inference_mode_enabled  # noqa: E402
from .tensor import RemovableHandle  # noqa: E402

__all__ += ["RemovableHandle", "backward", "grad", "inference_mode", "is_inference_mode_enabled"]
from .function import Variable  # noqa: E402
from .grad_mode import detect_anomaly, is_anomaly_enabled, set_detect_anomaly  # noqa: E402

__all__ += ["Variable", "detect_anomaly", "is_anomaly_enabled", "set_detect_anomaly"]
from . import functional  # noqa: E402  (jacobian, hessian, vjp, jvp, hvp, vhp)

# torch.autograd's remaining everyday names: second-derivative checks, module paths
from .gradcheck import gradgradcheck  # noqa: E402
from . import anomaly_mode, variable  # noqa: E402


def is_tensor_like(inp) -> bool:
    """True for a Tensor (or an object that says it is one through ``__torch_function__``)."""
    return isinstance(inp, Tensor) or hasattr(type(inp), "__torch_function__")


__all__ += ["gradgradcheck", "is_tensor_like"]
from . import graph  # noqa: E402  (save_on_cpu, disable_saved_tensors_hooks)
