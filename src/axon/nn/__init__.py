"""Neural-network building blocks: ``Module`` (``module.py``), containers, one file per kind of
layer, losses, ``init``, ``functional``, the functional API (``Input``/``Model``) and ``utils``."""

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
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "Flatten",
    "GELU",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ModuleDict",
    "ModuleList",
    "MultiMarginLoss",
    "NLLLoss",
    "Parameter",
    "ParameterList",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "Softplus",
    "Tanh",
    "Unflatten",
    "functional",
    "init",
    "register_module_forward_hook",
    "utils",
]

from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm

__all__ += ["BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm"]

from .conv import Conv1d, Conv2d
from .dropout import Dropout2d
from .pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from .upsampling import Upsample

__all__ += [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "Conv1d",
    "Conv2d",
    "Dropout2d",
    "MaxPool1d",
    "MaxPool2d",
    "Upsample",
]

from .sparse import Embedding

__all__ += ["Embedding"]

from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ += ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]

from .attention import (
    BahdanauAttention,
    LearnedPositionalEncoding,
    LuongAttention,
    MultiheadAttention,
    PositionalEncoding,
)

__all__ += [
    "BahdanauAttention",
    "LearnedPositionalEncoding",
    "LuongAttention",
    "MultiheadAttention",
    "PositionalEncoding",
]

from .transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ += [
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]

# the functional API: Input placeholders, graph Models, and the layers where branches meet
from .functional_api import Input, Model, SymbolicTensor
from .merge import Add, Concatenate, Lambda, Multiply, Subtract

__all__ += [
    "Add",
    "Concatenate",
    "Input",
    "Lambda",
    "Model",
    "Multiply",
    "Subtract",
    "SymbolicTensor",
]

# penalties added to the loss (not layers): nn.regularizers.weight_elimination(params, lam, beta)
from . import regularizers  # noqa: E402

__all__ += ["regularizers"]

# more activations, losses and distances (PyTorch's names)
from .activation import (
    CELU,
    GLU,
    SELU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LogSigmoid,
    Mish,
    PReLU,
    ReLU6,
    RReLU,
    SiLU,
    Softmin,
    Softshrink,
    Softsign,
    Tanhshrink,
    Threshold,
)
from .loss import (
    CTCLoss,
    CosineEmbeddingLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    KLDivLoss,
    MarginRankingLoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    PoissonNLLLoss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from .distance import CosineSimilarity, PairwiseDistance

__all__ += [
    "CELU",
    "GLU",
    "SELU",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LogSigmoid",
    "Mish",
    "PReLU",
    "ReLU6",
    "RReLU",
    "SiLU",
    "Softmin",
    "Softshrink",
    "Softsign",
    "Tanhshrink",
    "Threshold",
    "CosineEmbeddingLoss",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "KLDivLoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "PoissonNLLLoss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "CosineSimilarity",
    "PairwiseDistance",
    "CTCLoss",
]
from .activation import Softmax2d
from .loss import TripletMarginWithDistanceLoss
from .upsampling import UpsamplingBilinear2d, UpsamplingNearest2d

__all__ += [
    "Softmax2d",
    "TripletMarginWithDistanceLoss",
    "UpsamplingBilinear2d",
    "UpsamplingNearest2d",
]
from .loss import LinearCrossEntropyLoss, NLLLoss2d

__all__ += ["LinearCrossEntropyLoss", "NLLLoss2d"]

# more layers: transposed and 3-D convolution, fold/unfold, more
# pooling and padding, instance/RMS/local response norms, lazy layers, EmbeddingBag, ...
from .adaptive import AdaptiveLogSoftmaxWithLoss  # noqa: E402
from .conv import Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d  # noqa: E402
from .dropout import AlphaDropout, Dropout1d, Dropout3d, FeatureAlphaDropout  # noqa: E402
from .fold import Fold, Unfold  # noqa: E402
from .lazy import (  # noqa: E402
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyBatchNorm3d,
    LazyConv1d,
    LazyConv2d,
    LazyConv3d,
    LazyConvTranspose1d,
    LazyConvTranspose2d,
    LazyConvTranspose3d,
    LazyInstanceNorm1d,
    LazyInstanceNorm2d,
    LazyInstanceNorm3d,
    LazyLinear,
    LazyModuleMixin,
    UninitializedBuffer,
    UninitializedParameter,
)
from .linear import Bilinear  # noqa: E402
from .normalization import (  # noqa: E402
    BatchNorm3d,
    CrossMapLRN2d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    LocalResponseNorm,
    RMSNorm,
    SyncBatchNorm,
)
from .padding import (  # noqa: E402
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)
from .pixelshuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle  # noqa: E402
from .pooling import (  # noqa: E402
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
    AvgPool3d,
    FractionalMaxPool2d,
    FractionalMaxPool3d,
    LPPool1d,
    LPPool2d,
    LPPool3d,
    MaxPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
)
from .sparse import EmbeddingBag  # noqa: E402
from . import modules  # noqa: E402  (torch.nn.modules' paths: nn.modules.batchnorm._BatchNorm)
from .parallel import DataParallel, DistributedDataParallel  # noqa: E402

__all__ += [
    "AdaptiveAvgPool3d",
    "AdaptiveLogSoftmaxWithLoss",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AlphaDropout",
    "AvgPool3d",
    "BatchNorm3d",
    "Bilinear",
    "ChannelShuffle",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "CrossMapLRN2d",
    "Dropout1d",
    "Dropout3d",
    "EmbeddingBag",
    "FeatureAlphaDropout",
    "Fold",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
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
    "LocalResponseNorm",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
    "PixelShuffle",
    "PixelUnshuffle",
    "RMSNorm",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "SyncBatchNorm",
    "Unfold",
    "UninitializedBuffer",
    "UninitializedParameter",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "DataParallel",
    "DistributedDataParallel",
]

# torch's ParameterDict, nn.Buffer (>= 2.5) and the module paths nn.parameter / nn.common_types
from .containers import ParameterDict  # noqa: E402
from .module import Buffer  # noqa: E402
from . import common_types, parameter  # noqa: E402

__all__ += ["Buffer", "ParameterDict"]
from .module import Container, factory_kwargs  # noqa: E402
from . import grad  # noqa: E402  (torch.nn.grad: conv*d_input, conv*d_weight)

__all__ += ["Container", "factory_kwargs"]
