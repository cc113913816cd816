"""axon: a readable deep-learning framework on NumPy. Packages: ``backend`` (devices, arrays),
``autograd`` (Tensor, ops), ``nn``, ``optim``, ``data``, ``train`` (fit), ``models``, ``lab``.

PyTorch's names, semantics and weight layouts; Keras' conveniences (``fit``, callbacks,
``summary``); the course's experiments runnable from ``axon run NAME``.
"""

from .backend import (
    bool_,
    double,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    initial_seed,
    int8,
    int16,
    int32,
    int64,
    long,
    manual_seed,
    set_default_dtype,
    uint8,
)
from .backend.numpy.threads import get_num_threads, set_num_threads
from .autograd import (
    Function,
    Tensor,
    enable_grad,
    gradcheck,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .autograd.creation import *  # noqa: F403
from .autograd.creation import abs, max, min, pow, sum  # noqa: A004
from .autograd.tensor import where
from . import data, models, nn, optim  # noqa: E402
from .nn import Input, Model  # noqa: E402  (Keras' functional API: ax.Input, ax.Model)
from .serialization import load, save  # noqa: E402
from .train import (  # noqa: E402
    History,
    callbacks,
    evaluate,
    fit,
    fit_stream,
    metrics,
    predict,
    summary,
)

float = float32  # noqa: A001  (torch.float is float32)
int = int32  # noqa: A001  (torch.int is int32)
bool = bool_  # noqa: A001

__version__ = "0.1.0"

# a random stream of its own, as torch.Generator (generator= of samplers and loaders)
from .backend.generator import Generator  # noqa: E402

# math (also Tensor methods): elementwise, tests, bitwise and logical in math_api; scans
# and reductions in reduce_api (sum and mean come from creation, calling the methods)
from .autograd.math_api import (  # noqa: E402, A004
    acos,
    acosh,
    add,
    addcdiv,
    addcmul,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    ceil,
    clamp_max,
    clamp_min,
    copysign,
    cosh,
    deg2rad,
    digamma,
    div,
    divide,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    fix,
    float_power,
    floor,
    floor_divide,
    fmax,
    fmin,
    fmod,
    frac,
    gcd,
    heaviside,
    hypot,
    is_nonzero,
    isclose,
    isinf,
    isneginf,
    isposinf,
    isreal,
    lcm,
    ldexp,
    lerp,
    lgamma,
    log10,
    log1p,
    log2,
    logaddexp,
    logaddexp2,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logit,
    mul,
    multiply,
    mvlgamma,
    nan_to_num,
    neg,
    negative,
    polygamma,
    positive,
    rad2deg,
    reciprocal,
    remainder,
    round,
    rsqrt,
    sgn,
    sign,
    signbit,
    sinc,
    sinh,
    square,
    sub,
    subtract,
    tan,
    true_divide,
    trunc,
    xlogy,
)
from .autograd.math_api import (  # noqa: E402
    absolute,
    eq,
    frexp,
    ge,
    greater,
    greater_equal,
    gt,
    i0,
    igamma,
    igammac,
    le,
    less,
    less_equal,
    lt,
    ne,
    nextafter,
    not_equal,
    rsub,
)
from .autograd.reduce_api import (  # noqa: E402, A004
    all,
    aminmax,
    any,
    corrcoef,
    count_nonzero,
    cov,
    cummax,
    cummin,
    cumprod,
    cumsum,
    cumulative_trapezoid,
    diff,
    logcumsumexp,
    nanmean,
    nansum,
    prod,
    std_mean,
    trapezoid,
    trapz,
    var_mean,
)
from . import special  # noqa: E402  (torch.special's names)

# shape, indexing, sorting, products and sampling (also Tensor methods, bound in each
# module); ax.linalg: norms, distances and decompositions
from .autograd.shape_api import *  # noqa: E402, F403
from .autograd.product_api import *  # noqa: E402, F403
from .autograd.select_api import *  # noqa: E402, F403
from .autograd.random_api import *  # noqa: E402, F403
from . import linalg  # noqa: E402
from .linalg import (  # noqa: E402
    cdist,
    cholesky_inverse,
    cholesky_solve,
    det,
    dist,
    inverse,
    logdet,
    matrix_exp,
    matrix_power,
    pdist,
    pinverse,
    renorm,
    slogdet,
)
from .linalg import (  # noqa: E402  (torch's older forms: svd gives U, S, V)
    torch_cholesky as cholesky,
    torch_qr as qr,
    torch_svd as svd,
)

# ONNX export: ax.onnx.export(model, args, f, ...) as torch.onnx.export (needs `onnx`)
from . import onnx  # noqa: E402

# devices as torch names them (axon computes on the CPU): ax.device, ax.cuda, ax.backends;
# the autograd API (ax.autograd.grad, inference_mode) and torch's small tensor queries
from . import amp, backends, cuda  # noqa: E402
from .amp import autocast, is_autocast_enabled  # noqa: E402
from .autograd.tensor import set_printoptions  # noqa: E402
from .settings import (  # noqa: E402, A004
    are_deterministic_algorithms_enabled,
    compile,
    get_float32_matmul_precision,
    is_deterministic_algorithms_warn_only_enabled,
    set_float32_matmul_precision,
    use_deterministic_algorithms,
)
from .autograd import inference_mode, is_inference_mode_enabled  # noqa: E402
from .autograd.creation import is_floating_point  # noqa: E402
from .autograd.tensor import Size  # noqa: E402
from .backend import dtype  # noqa: E402
from math import e, inf, nan, pi  # noqa: E402, I001  (torch.pi, torch.e, torch.inf, torch.nan)
from .backend.device import device, get_default_device, set_default_device, strided  # noqa: E402
from .autograd import is_anomaly_enabled  # noqa: E402

# torch's top-level spellings of activations and distances (torch.selu, torch.prelu, ...)
from .nn._functional_activations import (  # noqa: E402
    celu,
    celu_,
    hardshrink,
    prelu,
    relu_,
    rrelu,
    rrelu_,
    selu,
    selu_,
    threshold,
    threshold_,
)
from .nn._functional_activations import _sigmoid_ as sigmoid_, _tanh_ as tanh_  # noqa: E402
from .nn._functional_losses import cosine_similarity, pairwise_distance  # noqa: E402

# torch's remaining everyday names: dtype limits, memory formats, the legacy typed
# constructors, the global generator, window functions, top-level forms of methods
# (torch.clone, torch.exp_, ...) and of nn.functional (torch.conv2d, torch.embedding, ...)
from .backend.info import finfo, iinfo  # noqa: E402
from .backend.device import (  # noqa: E402
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    preserve_format,
)
from .backend.generator import (  # noqa: E402, F811  (manual_seed returns the Generator)
    default_generator,
    get_rng_state,
    manual_seed,
    seed,
    set_rng_state,
)
from .autograd.legacy import *  # noqa: E402, F403
from .autograd.legacy import range  # noqa: E402, A004
from .autograd.signal_windows import *  # noqa: E402, F403
from .autograd.torch_forms import *  # noqa: E402, F403
from .nn.functional import (  # noqa: E402  (same signatures at the top level)
    adaptive_avg_pool1d,
    avg_pool1d,
    bilinear,
    channel_shuffle,
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    pixel_shuffle,
    pixel_unshuffle,
    rms_norm,
)
from .nn._torch_forms import (  # noqa: E402  (torch's ATen signatures: see the module)
    adaptive_max_pool1d,
    affine_grid_generator,
    alpha_dropout,
    alpha_dropout_,
    batch_norm,
    binary_cross_entropy_with_logits,
    constant_pad_nd,
    cosine_embedding_loss,
    ctc_loss,
    dropout,
    dropout_,
    embedding,
    feature_alpha_dropout,
    feature_alpha_dropout_,
    grid_sampler,
    group_norm,
    hinge_embedding_loss,
    instance_norm,
    kl_div,
    layer_norm,
    margin_ranking_loss,
    max_pool1d_with_indices,
    poisson_nll_loss,
    triplet_margin_loss,
)
from .settings import (  # noqa: E402
    get_num_interop_threads,
    is_anomaly_check_nan_enabled,
    is_warn_always_enabled,
    set_anomaly_enabled,
    set_flush_denormal,
    set_num_interop_threads,
    set_warn_always,
)
from . import multiprocessing, random, version  # noqa: E402
from .backend.device import layout  # noqa: E402
from .backend import int16 as short, xp as _xp  # noqa: E402

uint16, uint32, uint64 = _xp.dtype("uint16"), _xp.dtype("uint32"), _xp.dtype("uint64")
newaxis = None  # torch.newaxis, as NumPy's: x[:, ax.newaxis]
from .linalg import torch_vander as vander  # noqa: E402
from . import cpu  # noqa: E402
from .autograd.reduce_api import gradient  # noqa: E402
from . import distributed  # noqa: E402  (torch.distributed on MPI; mpi4py loads on first use)
from . import distributions  # noqa: E402  (Categorical, Normal, Bernoulli, Uniform)
from .settings import (  # noqa: E402
    get_deterministic_debug_mode,
    has_lapack,
    has_mkl,
    has_openmp,
    has_spectral,
    init_num_threads,
    set_deterministic_debug_mode,
)
from .linalg import frobenius_norm, norm_except_dim, nuclear_norm  # noqa: E402
from .nn._torch_forms import (  # noqa: E402
    convolution,
    embedding_renorm_,
    feature_dropout,
    feature_dropout_,
    grid_sampler_2d,
    grid_sampler_3d,
    gru_cell,
    lstm_cell,
    rnn_relu_cell,
    rnn_tanh_cell,
)
from .backend.device import contiguous_format as legacy_contiguous_format  # noqa: E402
from .linalg import triangular_solve  # noqa: E402
from . import types  # noqa: E402  (torch.types: Number, Device, _size, ...)
from . import utils  # noqa: E402  (torch.utils.data as axon.data, utils.checkpoint)
from .linalg import lu_unpack, torch_lu as lu, torch_lu_solve as lu_solve  # noqa: E402

# torch.jit.script / trace / is_scripting: eager pass-throughs (axon has no TorchScript)
from . import jit  # noqa: E402
