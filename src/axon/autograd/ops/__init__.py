"""The primitive ops, each an ``Op``: forward on arrays beside its local derivative.

Every op works on backend arrays. ``backward`` receives the gradient of the output and
returns one gradient per input (``None`` where ``self.parents[i] is None``, i.e. where no
gradient is needed). Broadcasting is undone by the engine, not here.
"""

from .elementwise import (
    Abs,
    Add,
    Cast,
    Clamp,
    Clone,
    CopyInto,
    Cos,
    Div,
    Exp,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Sin,
    Sqrt,
    Sub,
    Where,
)
from .activation import (
    Elu,
    Gelu,
    LeakyRelu,
    LogSoftmax,
    Relu,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    erf,
)
from .reduce import (
    Amax,
    Amin,
    LogSumExp,
    Mean,
    Norm,
    Std,
    Sum,
    Var,
)
from .product import (
    Linear,
    MatMul,
)
from .movement import (
    Cat,
    Expand,
    Pad,
    Permute,
    Repeat,
    Reshape,
    Stack,
)
from .index import (
    Gather,
    Index,
    IndexPut,
)
from .activation import (  # noqa: E402
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LogSigmoid,
    Mish,
    ScaledElu,
    Shrink,
    Silu,
    Threshold,
)
from .pointwise import (  # noqa: E402
    Acos,
    Acosh,
    Asin,
    Asinh,
    Atan,
    Atan2,
    Atanh,
    Copysign,
    Cosh,
    Exp2,
    Expm1,
    Fmax,
    Fmin,
    Hypot,
    Lerp,
    Log1p,
    Log2,
    Log10,
    LogAddExp,
    LogAddExp2,
    Logit,
    Sinh,
    Tan,
    Xlogy,
)
from .rounding import (  # noqa: E402
    Ceil,
    DivRounded,
    Floor,
    FloorDivide,
    Fmod,
    Frac,
    Frexp,
    Heaviside,
    NextAfter,
    Remainder,
    Round,
    Sign,
    Trunc,
)
from .special import (  # noqa: E402
    I0,
    I1,
    Erf,
    Erfc,
    Erfcx,
    Erfinv,
    I0e,
    I1e,
    Sinc,
)
from .gamma import (  # noqa: E402
    Digamma,
    Gammainc,
    Lgamma,
    Polygamma,
    Zeta,
)
from .cumulative import (  # noqa: E402
    Cumprod,
    Cumsum,
    LogCumSumExp,
    Prod,
)
from .scatter import (  # noqa: E402
    Rearrange,
    ScatterAdd,
    ScatterReduce,
    Take,
    Unfold,
)
from .linalg import (  # noqa: E402
    Cholesky,
    Det,
    Eigh,
    EuclideanDist,
    Inv,
    MatrixExp,
    Qr,
    Slogdet,
    Solve,
    Svd,
)
from .product import Einsum  # noqa: E402
from .dropout import Dropout  # noqa: E402
from .loss import (  # noqa: E402
    BCE,
    BCEWithLogits,
    ClassIndexLoss,
    MultiMargin,
    PointwiseLoss,
    SoftTargetCrossEntropy,
    WeightElimination,
)
from .norm import BatchNorm, GroupNorm, LayerNorm  # noqa: E402
from .rnn import GRUSeq, LSTMSeq, RNNSeq  # noqa: E402
from .attention import Attention, AttentionWeights, MaskedSoftmax, PackedAttention  # noqa: E402
from .embedding import BagSum, Embedding  # noqa: E402
from . import conv, conv3d, conv_transpose, fold, pool, pool3d, pool_index, resample  # noqa: E402, F401
