"""``mlp``: a multilayer perceptron as an ``nn.Sequential`` of Linear layers and activations.

Each hidden layer computes h = act(W h_prev + b) (optionally batch-normalised before the
activation and dropped out after it); the last layer is affine, optionally followed by
``output_activation``. ``mlp([784, 16, 16, 10], activation="sigmoid")`` is the course's
digit network: 784*16+16 + 16*16+16 + 16*10+10 = 13,002 parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .. import nn

__all__ = ["mlp", "make_activation"]

# name -> factory for a fresh activation module; softmax-like outputs act on the class dim
_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "softplus": nn.Softplus,
    "softmax": lambda: nn.Softmax(dim=1),
    "log_softmax": lambda: nn.LogSoftmax(dim=1),
    "identity": nn.Identity,
    "linear": nn.Identity,
}

ActivationSpec = str | type | Callable[[], nn.Module] | None


def make_activation(spec: ActivationSpec) -> nn.Module | None:
    """A fresh activation module from a name (``"relu"``, ``"sigmoid"``, ...), a module
    class (``nn.Tanh``) or any zero-argument factory; ``None`` gives ``None``.

    A new module is made on every call, so no two layers share one instance.
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        key = spec.lower().replace("-", "_")
        if key not in _ACTIVATIONS:
            raise ValueError(
                f"unknown activation {spec!r}; choose one of {sorted(_ACTIVATIONS)}, "
                "or pass a module class"
            )
        return _ACTIVATIONS[key]()
    if isinstance(spec, nn.Module):
        raise TypeError(
            "pass the activation's class or name (e.g. nn.ReLU or 'relu'), not an "
            "instance, so that every layer gets its own module"
        )
    if callable(spec):
        module = spec()
        if not isinstance(module, nn.Module):
            raise TypeError(
                f"activation factory {spec!r} returned {type(module).__name__}, not an nn.Module"
            )
        return module
    raise TypeError(f"activation must be a name, a Module class or None, got {spec!r}")


def mlp(
    sizes: Sequence[int],
    activation: ActivationSpec = "relu",
    output_activation: ActivationSpec = None,
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> nn.Sequential:
    """A fully connected network with layer widths ``sizes`` (input first, output last).

    Every hidden layer is ``Linear -> [BatchNorm1d] -> activation -> [Dropout]``; the output
    layer is ``Linear -> [output_activation]``. Layers are numbered like any
    ``nn.Sequential`` (state-dict keys ``0.weight``, ``0.bias``, ``2.weight``, ...).

    Args:
        sizes: at least two widths, e.g. ``[784, 16, 16, 10]``.
        activation: name (``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"leaky_relu"``, ``"elu"``,
            ``"gelu"``, ``"softplus"``, ``"identity"``) or module class for hidden layers.
        output_activation: the same for the output (``"softmax"``/``"log_softmax"`` act on
            dim 1); ``None`` leaves the logits raw, as ``CrossEntropyLoss`` expects.
        dropout: probability of the ``Dropout`` after each hidden activation (0: none).
        batch_norm: put ``BatchNorm1d`` between each hidden Linear and its activation.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"mlp needs at least an input and an output size, got {sizes}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    make_activation(activation)  # fail early on a bad name, even for a one-layer net
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers.append(nn.Linear(n_in, n_out))
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(make_activation(activation))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    out = make_activation(output_activation)
    if out is not None:
        layers.append(out)
    return nn.Sequential(*layers)
