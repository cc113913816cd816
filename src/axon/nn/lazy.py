"""Lazy layers: ``LazyLinear``, ``LazyConv1d/2d``, ``LazyConvTranspose1d/2d``,
``LazyBatchNorm1d/2d`` and ``LazyInstanceNorm1d/2d``, whose input size is read from the
first input instead of being given (PyTorch's ``torch.nn.Lazy*``).

Until the first forward their parameters (and running buffers) are
:class:`UninitializedParameter` / :class:`UninitializedBuffer` placeholders of unknown
shape. The first forward materialises them in place, with the shape the input implies,
initialises them as the ordinary layer does, and turns the module into that layer
(``LazyLinear`` becomes ``Linear``). Because the placeholders are the very objects that
become the parameters, an optimizer made before the first call still holds the right
ones. Loading a state dict into a lazy layer materialises it from the saved shapes.
Asking a placeholder for its shape before then raises torch's ``RuntimeError``, for its
size or number of elements a ``ValueError``, each saying to run a forward first (an op
given a placeholder sees an empty array).
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.tensor import Tensor, _placed, _wrap
from ._factory import check_device, factory_dtype
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .module import Parameter
from .normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
)

_TOO_EARLY = (
    "{what}: the shape of an uninitialized parameter or buffer is not known yet. It belongs "
    "to a lazy module (nn.LazyLinear, nn.LazyConv2d, ...): run a forward pass with a dummy "
    "batch (or load a state dict) to initialize it before using it."
)


def _placeholder(device, dtype):
    """The empty array a placeholder holds, on ``device``: materialising makes the real one
    beside it."""
    return _placed(B.xp.empty((0,), dtype=factory_dtype(device, dtype)), check_device(device))


class _Uninitialized:
    """What both placeholders share: no shape until :meth:`materialize`."""

    __slots__ = ()
    cls_to_become: type = Tensor

    def materialize(self, shape: tuple, dtype=None) -> None:
        """Give the placeholder an (uninitialised) array of ``shape``, on the device its
        empty array is on (``.to(device)`` moved it), and turn it into an ordinary
        Parameter (or buffer Tensor), in place."""
        dt = B.to_dtype(dtype) or self.array.dtype
        self.array = B.namespace(self.array).empty(tuple(shape), dtype=dt)
        self.__class__ = self.cls_to_become

    def _refuse(self, what: str, error: type[Exception] = ValueError):
        raise error(_TOO_EARLY.format(what=f"{type(self).__name__}.{what}"))

    @property
    def shape(self):
        self._refuse("shape", RuntimeError)  # torch's class for this one

    @property
    def ndim(self):
        self._refuse("ndim")

    def size(self, dim=None):
        self._refuse("size()")

    def numel(self):
        self._refuse("numel()")

    def __len__(self):
        self._refuse("len()")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class UninitializedParameter(_Uninitialized, Parameter):
    """A parameter whose shape is not known yet (see the module doc)."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        super().__init__(_placeholder(device, dtype), requires_grad)


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer (a running statistic) whose shape is not known yet."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device=None, dtype=None) -> None:
        super().__init__(_placeholder(device, dtype))


def _is_uninitialized(t) -> bool:
    return isinstance(t, _Uninitialized)


class LazyModuleMixin:
    """The lazy behaviour: placeholders until the first forward, then the layer that
    ``cls_to_become`` names. A subclass says how shapes follow from the input
    (:meth:`initialize_parameters`) and from a loaded state (:meth:`_materialize_from_state`)."""

    cls_to_become: type | None = None

    def has_uninitialized_params(self) -> bool:
        """Whether any own parameter or buffer is still a placeholder."""
        own = list(self._parameters.values()) + list(self._buffers.values())
        return any(_is_uninitialized(t) for t in own)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params():
            super().reset_parameters()

    def _materialize(self, shapes: dict) -> None:
        """Give every placeholder its shape, initialise, become ``cls_to_become``."""
        for name, t in list(self._parameters.items()) + list(self._buffers.items()):
            if _is_uninitialized(t):
                t.materialize(shapes[name])
        self.reset_parameters()  # the layer's own initialisation (running statistics too)
        self.__class__ = self.cls_to_become

    def forward(self, input: Tensor, *args, **kwargs):
        """The first call: materialise from ``input``, become the ordinary layer (so this
        runs once), and run as it."""
        self.initialize_parameters(input)
        return self.forward(input, *args, **kwargs)

    def _materialize_from_state(self, state_dict: dict, prefix: str) -> None:
        """Before ``load_state_dict``: take the shapes of the saved weight (called by
        :meth:`Module.load_state_dict` for every lazy submodule)."""
        if prefix + "weight" in state_dict:
            self._infer_from_weight(tuple(state_dict[prefix + "weight"].shape))
            self._materialize(self._shapes())


class LazyLinear(LazyModuleMixin, Linear):
    """:class:`Linear` with ``in_features`` read from the last dimension of the first
    input: ``LazyLinear(out_features, bias=True, device=None, dtype=None)``."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        Linear.__init__(self, 1, out_features, False, device, dtype)  # then placeholders:
        self.in_features = 0
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.bias = UninitializedParameter(device=device, dtype=dtype) if bias else None

    def _shapes(self) -> dict:
        return {"weight": (self.out_features, self.in_features), "bias": (self.out_features,)}

    def _infer_from_weight(self, shape: tuple) -> None:
        self.in_features = shape[1]

    def initialize_parameters(self, input: Tensor) -> None:
        self.in_features = int(input.shape[-1])
        self._materialize(self._shapes())


class _LazyConvMixin(LazyModuleMixin):
    """Lazy convolutions: ``in_channels`` is dimension 1 of a batched input (0 of an
    unbatched one)."""

    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        # built as the layer it becomes, with in_channels = groups (which passes the
        # divisibility checks) until the real one is known; then the placeholders
        self.cls_to_become.__init__(
            self,
            groups,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            False,
            padding_mode,
            device,
            dtype,
        )
        self._placeholders(bias, device, dtype)

    def _placeholders(self, bias: bool, device, dtype) -> None:
        self.in_channels = 0
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.bias = UninitializedParameter(device=device, dtype=dtype) if bias else None

    def _shapes(self) -> dict:
        shape = self._weight_shape(
            self.in_channels, self.out_channels, self.groups, self.kernel_size
        )
        return {"weight": shape, "bias": (self.out_channels,)}

    def _infer_from_weight(self, shape: tuple) -> None:
        self.in_channels = shape[0] if self.transposed else shape[1] * self.groups

    def initialize_parameters(self, input: Tensor) -> None:
        batched = input.ndim == self._nd + 2
        self.in_channels = int(input.shape[1 if batched else 0])
        if self.in_channels % self.groups:
            raise ValueError(
                f"{type(self).__name__}: in_channels ({self.in_channels}, from "
                f"input of shape {tuple(input.shape)}) must be divisible by "
                f"groups ({self.groups})"
            )
        self._materialize(self._shapes())


class LazyConv1d(_LazyConvMixin, Conv1d):
    """:class:`Conv1d` with ``in_channels`` read from the first input."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConvMixin, Conv2d):
    """:class:`Conv2d` with ``in_channels`` read from the first input."""

    cls_to_become = Conv2d


class LazyConv3d(_LazyConvMixin, Conv3d):
    """:class:`Conv3d` with ``in_channels`` read from the first input."""

    cls_to_become = Conv3d


class _LazyConvTransposeMixin(_LazyConvMixin):
    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        self.cls_to_become.__init__(
            self,
            groups,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            False,
            dilation,
            padding_mode,
            device,
            dtype,
        )
        self._placeholders(bias, device, dtype)


class LazyConvTranspose1d(_LazyConvTransposeMixin, ConvTranspose1d):
    """:class:`ConvTranspose1d` with ``in_channels`` read from the first input."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTransposeMixin, ConvTranspose2d):
    """:class:`ConvTranspose2d` with ``in_channels`` read from the first input."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTransposeMixin, ConvTranspose3d):
    """:class:`ConvTranspose3d` with ``in_channels`` read from the first input."""

    cls_to_become = ConvTranspose3d


class _LazyNormMixin(LazyModuleMixin):
    """Lazy batch and instance norms: ``num_features`` is the input's channel count."""

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        self.cls_to_become.__init__(self, 0, eps, momentum, False, False, device, dtype, bias=bias)
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.register_buffer("running_mean", UninitializedBuffer(device=device, dtype=dtype))
            self.register_buffer("running_var", UninitializedBuffer(device=device, dtype=dtype))
            count = _placed(B.xp.zeros((), dtype=B.int64), check_device(device))
            self.register_buffer("num_batches_tracked", _wrap(count))

    def _shapes(self) -> dict:
        return dict.fromkeys(
            ("weight", "bias", "running_mean", "running_var"), (self.num_features,)
        )

    def _materialize_from_state(self, state_dict: dict, prefix: str) -> None:
        for key in ("weight", "running_mean"):
            if prefix + key in state_dict:
                self.num_features = tuple(state_dict[prefix + key].shape)[0]
                self._materialize(self._shapes())
                return

    def initialize_parameters(self, input: Tensor) -> None:
        unbatched = hasattr(self, "_spatial") and input.ndim == self._spatial + 1  # instance
        self.num_features = int(input.shape[0 if unbatched else 1])
        self._materialize(self._shapes())


class LazyBatchNorm1d(_LazyNormMixin, BatchNorm1d):
    """:class:`BatchNorm1d` with ``num_features`` read from the first input."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormMixin, BatchNorm2d):
    """:class:`BatchNorm2d` with ``num_features`` read from the first input."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormMixin, BatchNorm3d):
    """:class:`BatchNorm3d` with ``num_features`` read from the first input."""

    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNormMixin, InstanceNorm1d):
    """:class:`InstanceNorm1d` with ``num_features`` read from the first input (unlike
    ``InstanceNorm1d``, ``affine`` and ``track_running_stats`` default to True, as in
    torch)."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNormMixin, InstanceNorm2d):
    """:class:`InstanceNorm2d` with ``num_features`` read from the first input (``affine``
    and ``track_running_stats`` default to True, as in torch)."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNormMixin, InstanceNorm3d):
    """:class:`InstanceNorm3d` with ``num_features`` read from the first input."""

    cls_to_become = InstanceNorm3d


__all__ = [
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "LazyLinear",
    "LazyModuleMixin",
    "UninitializedBuffer",
    "UninitializedParameter",
]
