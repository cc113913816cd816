"""``torch.distributions``: every distribution and ``kl_divergence`` live in this file; its
``constraints`` and ``transforms``, and modules that give torch's import paths, sit beside it.

The everyday ones: ``Categorical`` and ``Bernoulli`` (policies of
reinforcement-learning programs), ``Normal``, ``MultivariateNormal`` and ``Independent``
(continuous policies, VAEs), ``OneHotCategorical``, ``Uniform``, ``Exponential``,
``Laplace``, ``LogNormal``, ``Poisson``, ``Gamma`` and ``Beta``, with ``kl_divergence``
between two of a kind (for the common pairs).

Each holds its parameters as Tensors, so ``log_prob``, ``entropy``, ``rsample`` and the
KL divergence are differentiable in them; ``sample`` draws without a graph from axon's
global generator (``axon.manual_seed`` fixes it). As in torch, parameters and values are
checked by default (``validate_args``): a parameter outside its constraint, or a value
outside the support given to ``log_prob``, raises ValueError. The numbers drawn are not
torch's (the generators differ); the formulas are.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Size, Tensor, _wrap
from ..nn import functional as F

__all__ = [
    "Bernoulli",
    "Beta",
    "Categorical",
    "Cauchy",
    "Dirichlet",
    "Distribution",
    "Exponential",
    "Gamma",
    "Geometric",
    "Gumbel",
    "HalfNormal",
    "StudentT",
    "Independent",
    "Laplace",
    "LogNormal",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Poisson",
    "TransformedDistribution",
    "Uniform",
    "kl_divergence",
]


def _as_param(value, like: Tensor | None = None) -> Tensor:
    """A parameter as a floating Tensor (a Python number in the default float dtype)."""
    if isinstance(value, Tensor):
        return value if value.dtype.kind == "f" else value.type(B.get_default_dtype())
    dtype = like.dtype if like is not None else B.get_default_dtype()
    return _wrap(np.asarray(value, dtype=dtype))


def _broadcast(*tensors: Tensor) -> list[Tensor]:
    shape = np.broadcast_shapes(*(tuple(t.shape) for t in tensors))
    return [t if tuple(t.shape) == shape else t.expand(*shape) for t in tensors]


def _clamp_probs(probs: Tensor) -> Tensor:
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(eps, 1 - eps)


class Distribution:
    """The base: ``batch_shape``, ``event_shape``, ``sample``/``rsample``, ``log_prob``,
    ``entropy``, ``mean``/``variance``/``stddev``, and argument checking. A subclass's
    constructor calls ``super().__init__`` (which reads ``validate_args``) before it
    ``_check``s its parameters."""

    has_rsample = False

    def __init__(self, batch_shape=(), event_shape=(), validate_args: bool | None = None):
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)
        self._validate_args = validate_args is not False

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def _extended_shape(self, sample_shape=()) -> tuple:
        return tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape)

    def sample(self, sample_shape=()) -> Tensor:
        """Draws of shape ``sample_shape + batch_shape + event_shape``, without a graph."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sampler")

    def sample_n(self, n: int) -> Tensor:
        return self.sample(Size((n,)))

    def _check(self, ok, what: str, name: str) -> None:
        if self._validate_args and not bool(np.all(ok)):
            raise ValueError(
                f"Expected {name} to satisfy the constraint {what}, but found invalid values"
            )

    def _check_value(self, ok, support: str) -> None:
        if self._validate_args and not bool(np.all(ok)):
            raise ValueError(
                f"Expected value argument to be within the support ({support}) "
                f"of the distribution {self!r}, but found invalid values"
            )

    def __repr__(self) -> str:
        def show(t: Tensor):
            return t.shape if t.ndim else t.item()

        names = [n for n in self.arg_constraints if n in self.__dict__]
        args = ", ".join(f"{n}: {show(self.__dict__[n])}" for n in names)
        return f"{type(self).__name__}({args})"

    arg_constraints: dict = {}


class _LocScale(Distribution):
    """A law of a location ``loc`` and a positive ``scale``, broadcast together (Normal,
    Laplace, Cauchy, Gumbel)."""

    arg_constraints = {"loc": "Real()", "scale": "GreaterThan(lower_bound=0.0)"}

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        loc = _as_param(loc, scale if isinstance(scale, Tensor) else None)
        self.loc, self.scale = _broadcast(loc, _as_param(scale, loc))
        super().__init__(self.loc.shape, (), validate_args)
        self._check(self.scale.array > 0, self.arg_constraints["scale"], "parameter scale")


class Normal(_LocScale):
    """The Gaussian of mean ``loc`` and standard deviation ``scale`` (broadcast)."""

    has_rsample = True

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return self.scale**2

    @property
    def stddev(self) -> Tensor:
        return self.scale

    def rsample(self, sample_shape=()) -> Tensor:
        """``loc + eps * scale`` with standard normal ``eps``: differentiable in both."""
        shape = self._extended_shape(sample_shape)
        eps = _wrap(B.rng().standard_normal(shape).astype(self.loc.dtype))
        return self.loc + eps * self.scale

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.loc)
        return (
            -((value - self.loc) ** 2) / (2 * self.variance)
            - self.scale.log()
            - math.log(math.sqrt(2 * math.pi))
        )

    def cdf(self, value) -> Tensor:
        value = _as_param(value, self.loc)
        return 0.5 * (1 + ((value - self.loc) / (self.scale * math.sqrt(2))).erf())

    def icdf(self, value) -> Tensor:
        value = _as_param(value, self.loc)
        return self.loc + self.scale * (2 * value - 1).erfinv() * math.sqrt(2)

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()


class Uniform(Distribution):
    """Uniform on ``[low, high)`` (broadcast)."""

    has_rsample = True
    arg_constraints = {
        "low": "Dependent(is_discrete=False, event_dim=0)",
        "high": "Dependent(is_discrete=False, event_dim=0)",
    }

    def __init__(self, low, high, validate_args: bool | None = None) -> None:
        low = _as_param(low, high if isinstance(high, Tensor) else None)
        self.low, self.high = _broadcast(low, _as_param(high, low))
        super().__init__(self.low.shape, (), validate_args)
        self._check(self.low.array < self.high.array, "low < high", "parameter low")

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = _wrap(B.rng().random(shape).astype(self.low.dtype))
        return self.low + u * (self.high - self.low)

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.low)
        inside = (self.low.array <= value.array) & (value.array < self.high.array)
        self._check_value(inside, f"Interval(lower_bound={self.low}, upper_bound={self.high})")
        width = self.high - self.low
        return _wrap(np.log(inside.astype(width.dtype))) - width.log()

    def cdf(self, value) -> Tensor:
        value = _as_param(value, self.low)
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()


class Categorical(Distribution):
    """A choice among the last dimension's categories, by ``probs`` (normalised to sum to
    1) or ``logits`` (log-probabilities up to a constant): exactly one of them."""

    arg_constraints = {"probs": "Simplex()", "logits": "IndependentConstraint(Real(), 1)"}

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        name = "probs" if probs is not None else "logits"
        given = _as_param(probs if probs is not None else logits)
        if given.ndim < 1:
            raise ValueError(f"`{name}` parameter must be at least one-dimensional.")
        super().__init__(given.shape[:-1], (), validate_args)
        if probs is not None:
            self._check(given.array >= 0, self.arg_constraints["probs"], "parameter probs")
            self.probs = given / given.sum(-1, keepdim=True)
            self.logits = _clamp_probs(self.probs).log()
        else:
            self.logits = given - given.logsumexp(-1, keepdim=True)
            self.probs = self.logits.softmax(-1)
        self._num_events = self.probs.shape[-1]

    @property
    def param_shape(self) -> Size:
        return self.probs.shape

    @property
    def mean(self) -> Tensor:
        return _wrap(np.full(self.batch_shape, np.nan, dtype=self.probs.dtype))

    variance = mean

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(-1)

    def sample(self, sample_shape=()) -> Tensor:
        """Category indices (int64) of shape ``sample_shape + batch_shape``."""
        p = self.probs.array.reshape(-1, self._num_events).astype(np.float64)
        count = int(np.prod(tuple(sample_shape), dtype=np.int64))
        u = B.rng().random((count, p.shape[0], 1))
        idx = (np.cumsum(p, -1)[None] / p.sum(-1, keepdims=True)[None] < u).sum(-1)
        idx = np.minimum(idx, self._num_events - 1)
        return _wrap(idx.reshape(tuple(sample_shape) + tuple(self.batch_shape)).astype(np.int64))

    def log_prob(self, value) -> Tensor:
        value = value if isinstance(value, Tensor) else _wrap(np.asarray(value))
        v = value.array
        self._check_value(
            (v % 1 == 0) & (v >= 0) & (v <= self._num_events - 1),
            f"IntegerInterval(lower_bound=0, upper_bound={self._num_events - 1})",
        )
        shape = np.broadcast_shapes(tuple(v.shape) + (1,), tuple(self.logits.shape))
        index = _wrap(np.broadcast_to(v.astype(np.int64)[..., None], shape[:-1] + (1,)))
        return self.logits.expand(*shape).gather(-1, index).squeeze(-1)

    def entropy(self) -> Tensor:
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)


class Bernoulli(Distribution):
    """1 with probability ``probs`` (or ``sigmoid(logits)``), else 0: exactly one of them."""

    arg_constraints = {"probs": "Interval(lower_bound=0.0, upper_bound=1.0)", "logits": "Real()"}

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        given = _as_param(probs if probs is not None else logits)
        super().__init__(given.shape, (), validate_args)
        if probs is not None:
            self.probs = given
            self._check(
                (given.array >= 0) & (given.array <= 1),
                self.arg_constraints["probs"],
                "parameter probs",
            )
            clamped = _clamp_probs(given)
            self.logits = clamped.log() - (-clamped).log1p()
        else:
            self.logits = given
            self.probs = given.sigmoid()

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        return (self.probs >= 0.5).type(self.probs.dtype)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        p = np.broadcast_to(self.probs.array, shape)
        return _wrap((B.rng().random(shape) < p).astype(self.probs.dtype))

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.probs)
        self._check_value((value.array == 0) | (value.array == 1), "Boolean()")
        logits, value = _broadcast(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> Tensor:
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


class Exponential(Distribution):
    """The waiting time of rate ``rate``: density ``rate exp(-rate x)`` for x >= 0."""

    has_rsample = True
    arg_constraints = {"rate": "GreaterThan(lower_bound=0.0)"}

    def __init__(self, rate, validate_args: bool | None = None) -> None:
        self.rate = _as_param(rate)
        super().__init__(self.rate.shape, (), validate_args)
        self._check(self.rate.array > 0, self.arg_constraints["rate"], "parameter rate")

    @property
    def mean(self) -> Tensor:
        return 1 / self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate * 0

    @property
    def variance(self) -> Tensor:
        return self.rate**-2

    def rsample(self, sample_shape=()) -> Tensor:
        """A standard exponential draw divided by ``rate`` (differentiable in it)."""
        shape = self._extended_shape(sample_shape)
        e = _wrap(B.rng().standard_exponential(shape).astype(self.rate.dtype))
        return e / self.rate

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.rate)
        self._check_value(value.array >= 0, "GreaterThanEq(lower_bound=0.0)")
        return self.rate.log() - self.rate * value

    def cdf(self, value) -> Tensor:
        value = _as_param(value, self.rate)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value) -> Tensor:
        value = _as_param(value, self.rate)
        return -(-value).log1p() / self.rate

    def entropy(self) -> Tensor:
        return 1.0 - self.rate.log()


class Laplace(_LocScale):
    """The double exponential around ``loc`` with scale ``scale``."""

    has_rsample = True

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale**2

    @property
    def stddev(self) -> Tensor:
        return math.sqrt(2) * self.scale

    def rsample(self, sample_shape=()) -> Tensor:
        """``loc - scale sign(u) log(1 - |u|)`` for ``u`` uniform on (-1, 1)."""
        shape = self._extended_shape(sample_shape)
        tiny = float(np.finfo(self.loc.dtype).eps)
        u = _wrap(B.rng().uniform(tiny - 1, 1, shape).astype(self.loc.dtype))
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.loc)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value) -> Tensor:
        value = _as_param(value, self.loc)
        d = value - self.loc
        return 0.5 - 0.5 * d.sign() * (-d.abs() / self.scale).expm1()

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()


class Independent(Distribution):
    """``base_distribution`` with its last ``reinterpreted_batch_ndims`` batch dims read as
    one event: ``log_prob`` and ``entropy`` sum over them (a diagonal Gaussian policy is
    ``Independent(Normal(mu, sigma), 1)``)."""

    def __init__(
        self,
        base_distribution: Distribution,
        reinterpreted_batch_ndims: int,
        validate_args: bool | None = None,
    ) -> None:
        n = reinterpreted_batch_ndims
        shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        event_dim = n + len(base_distribution.event_shape)
        if n > len(base_distribution.batch_shape):
            raise ValueError(
                "Expected reinterpreted_batch_ndims <= "
                f"len(base_distribution.batch_shape), actual {n} vs "
                f"{len(base_distribution.batch_shape)}"
            )
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, n
        self.has_rsample = base_distribution.has_rsample
        super().__init__(
            shape[: len(shape) - event_dim], shape[len(shape) - event_dim :], validate_args
        )

    @property
    def mean(self) -> Tensor:
        return self.base_dist.mean

    @property
    def mode(self) -> Tensor:
        return self.base_dist.mode

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def sample(self, sample_shape=()) -> Tensor:
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        return self.base_dist.rsample(sample_shape)

    def _sum_rightmost(self, t: Tensor) -> Tensor:
        n = self.reinterpreted_batch_ndims
        return t.sum(tuple(range(-n, 0))) if n else t

    def log_prob(self, value) -> Tensor:
        return self._sum_rightmost(self.base_dist.log_prob(value))

    def entropy(self) -> Tensor:
        return self._sum_rightmost(self.base_dist.entropy())

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


class MultivariateNormal(Distribution):
    """The Gaussian of mean ``loc`` (its last dim is the event) and covariance given by
    exactly one of ``covariance_matrix``, ``precision_matrix`` (its inverse) or
    ``scale_tril`` (a lower-triangular L with covariance L L^T)."""

    has_rsample = True
    arg_constraints = {
        "loc": "IndependentConstraint(Real(), 1)",
        "covariance_matrix": "PositiveDefinite()",
        "precision_matrix": "PositiveDefinite()",
        "scale_tril": "LowerCholesky()",
    }

    def __init__(
        self,
        loc,
        covariance_matrix=None,
        precision_matrix=None,
        scale_tril=None,
        validate_args: bool | None = None,
    ) -> None:
        from .. import linalg

        loc = _as_param(loc)
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or "
                "scale_tril may be specified."
            )
        matrix = _as_param(given[0], loc)
        if matrix.ndim < 2:
            raise ValueError(
                "The matrix argument must be at least two-dimensional, with "
                "optional leading batch dimensions"
            )
        batch = np.broadcast_shapes(tuple(loc.shape[:-1]), tuple(matrix.shape[:-2]))
        k = loc.shape[-1]
        super().__init__(batch, (k,), validate_args)
        if scale_tril is None:
            name = "covariance_matrix" if covariance_matrix is not None else "precision_matrix"
            sym = matrix.array
            self._check(
                np.all(np.linalg.eigvalsh(sym) > 0) and np.allclose(sym, np.swapaxes(sym, -1, -2)),
                "PositiveDefinite()",
                f"parameter {name}",
            )
            cov = matrix if covariance_matrix is not None else linalg.inv(matrix)
            tril = linalg.cholesky(cov)
        else:
            tril = matrix
            self._check(
                np.all(np.diagonal(tril.array, 0, -2, -1) > 0),
                "LowerCholesky()",
                "parameter scale_tril",
            )
        self.loc = loc.expand(*batch, k)
        self._unbroadcasted_scale_tril = tril
        self.scale_tril = tril.expand(*batch, k, k)

    @property
    def covariance_matrix(self) -> Tensor:
        return self.scale_tril @ self.scale_tril.mT

    @property
    def precision_matrix(self) -> Tensor:
        from .. import linalg

        return linalg.inv(self.covariance_matrix)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return (self.scale_tril**2).sum(-1)

    def rsample(self, sample_shape=()) -> Tensor:
        """``loc + L eps`` with standard normal ``eps``: differentiable in both."""
        shape = self._extended_shape(sample_shape)
        eps = _wrap(B.rng().standard_normal(shape).astype(self.loc.dtype))
        return self.loc + (self.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self) -> Tensor:
        return self.scale_tril.diagonal(0, -2, -1).log().sum(-1)

    def log_prob(self, value) -> Tensor:
        from .. import linalg

        value = _as_param(value, self.loc)
        diff = value - self.loc
        shape = np.broadcast_shapes(tuple(diff.shape), tuple(self.loc.shape))
        tril = self.scale_tril.expand(*shape, shape[-1])
        z = linalg.solve_triangular(tril, diff.expand(*shape).unsqueeze(-1), upper=False)
        maha = (z.squeeze(-1) ** 2).sum(-1)
        k = self.event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + maha) - self._half_log_det()

    def entropy(self) -> Tensor:
        k = self.event_shape[0]
        return 0.5 * k * (1.0 + math.log(2 * math.pi)) + self._half_log_det()


class OneHotCategorical(Distribution):
    """``Categorical`` whose draws and values are one-hot vectors over the last dim."""

    arg_constraints = Categorical.arg_constraints

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits, validate_args)
        self.probs, self.logits = self._categorical.probs, self._categorical.logits
        super().__init__(self._categorical.batch_shape, self.probs.shape[-1:], validate_args)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        n = self.probs.shape[-1]
        return _wrap(np.eye(n, dtype=self.probs.dtype)[self.probs.argmax(-1).array])

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        n = self.probs.shape[-1]
        index = self._categorical.sample(sample_shape).array
        return _wrap(np.eye(n, dtype=self.probs.dtype)[index])

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.probs)
        v = value.array
        self._check_value(((v == 0) | (v == 1)).all(-1) & (v.sum(-1) == 1), "OneHot()")
        return self._categorical.log_prob(_wrap(v.argmax(-1)))

    def entropy(self) -> Tensor:
        return self._categorical.entropy()


class Poisson(Distribution):
    """Counts at rate ``rate``: P(k) = rate^k e^-rate / k!."""

    arg_constraints = {"rate": "GreaterThanEq(lower_bound=0.0)"}

    def __init__(self, rate, validate_args: bool | None = None) -> None:
        self.rate = _as_param(rate)
        super().__init__(self.rate.shape, (), validate_args)
        self._check(self.rate.array >= 0, self.arg_constraints["rate"], "parameter rate")

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        rate = np.broadcast_to(self.rate.array, shape)
        return _wrap(B.rng().poisson(rate).astype(self.rate.dtype))

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.rate)
        v = value.array
        self._check_value((v >= 0) & (v % 1 == 0), "IntegerGreaterThan(lower_bound=0)")
        return value.xlogy(self.rate) - self.rate - (value + 1).lgamma()


class LogNormal(Distribution):
    """``exp`` of a ``Normal(loc, scale)`` draw."""

    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        self.base_dist = Normal(loc, scale, validate_args)
        self.loc, self.scale = self.base_dist.loc, self.base_dist.scale
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return (self.loc + self.scale**2 / 2).exp()

    @property
    def mode(self) -> Tensor:
        return (self.loc - self.scale**2).exp()

    @property
    def variance(self) -> Tensor:
        s2 = self.scale**2
        return s2.expm1() * (2 * self.loc + s2).exp()

    def rsample(self, sample_shape=()) -> Tensor:
        return self.base_dist.rsample(sample_shape).exp()

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.loc)
        self._check_value(value.array > 0, "GreaterThan(lower_bound=0.0)")
        log_value = value.log()
        return self.base_dist.log_prob(log_value) - log_value

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() + self.loc


class Gamma(Distribution):
    """Shape ``concentration``, rate ``rate``: density rate^a x^(a-1) e^(-rate x) / G(a).
    (``sample`` only: axon has no reparameterised gamma sampler.)"""

    arg_constraints = {
        "concentration": "GreaterThan(lower_bound=0.0)",
        "rate": "GreaterThan(lower_bound=0.0)",
    }

    def __init__(self, concentration, rate, validate_args: bool | None = None) -> None:
        a = _as_param(concentration, rate if isinstance(rate, Tensor) else None)
        self.concentration, self.rate = _broadcast(a, _as_param(rate, a))
        super().__init__(self.rate.shape, (), validate_args)
        for name in ("concentration", "rate"):
            self._check(
                getattr(self, name).array > 0, self.arg_constraints[name], f"parameter {name}"
            )

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate**2

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        a = np.broadcast_to(self.concentration.array, shape)
        draws = B.rng().gamma(a) / np.broadcast_to(self.rate.array, shape)
        return _wrap(draws.astype(self.rate.dtype))

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.rate)
        self._check_value(value.array > 0, "GreaterThanEq(lower_bound=0.0)")
        a, r = self.concentration, self.rate
        return a.xlogy(r) + (a - 1).xlogy(value) - r * value - a.lgamma()

    def entropy(self) -> Tensor:
        a, r = self.concentration, self.rate
        return a - r.log() + a.lgamma() + (1 - a) * a.digamma()


class Beta(Distribution):
    """On (0, 1) with shapes ``concentration1`` (a) and ``concentration0`` (b).
    (``sample`` only: axon has no reparameterised beta sampler.)"""

    arg_constraints = {
        "concentration1": "GreaterThan(lower_bound=0.0)",
        "concentration0": "GreaterThan(lower_bound=0.0)",
    }

    def __init__(self, concentration1, concentration0, validate_args: bool | None = None) -> None:
        a = _as_param(
            concentration1, concentration0 if isinstance(concentration0, Tensor) else None
        )
        self.concentration1, self.concentration0 = _broadcast(a, _as_param(concentration0, a))
        super().__init__(self.concentration1.shape, (), validate_args)
        for name in ("concentration1", "concentration0"):
            self._check(
                getattr(self, name).array > 0, self.arg_constraints[name], f"parameter {name}"
            )

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self) -> Tensor:
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total**2 * (total + 1))

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        a = np.broadcast_to(self.concentration1.array, shape)
        b = np.broadcast_to(self.concentration0.array, shape)
        return _wrap(B.rng().beta(a, b).astype(self.concentration1.dtype))

    def _log_beta(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        return a.lgamma() + b.lgamma() - (a + b).lgamma()

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.concentration1)
        self._check_value((value.array > 0) & (value.array < 1), "Interval(0.0, 1.0)")
        a, b = self.concentration1, self.concentration0
        return (a - 1).xlogy(value) + (b - 1).xlogy(1 - value) - self._log_beta()

    def entropy(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return (
            self._log_beta()
            - (a - 1) * a.digamma()
            - (b - 1) * b.digamma()
            + (total - 2) * total.digamma()
        )


class HalfNormal(Distribution):
    """``|x|`` for ``x`` from ``Normal(0, scale)``."""

    has_rsample = True
    arg_constraints = {"scale": "GreaterThan(lower_bound=0.0)"}

    def __init__(self, scale, validate_args: bool | None = None) -> None:
        self.base_dist = Normal(0.0 * _as_param(scale), scale, validate_args)
        self.scale = self.base_dist.scale
        super().__init__(self.scale.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self) -> Tensor:
        return self.scale**2 * (1 - 2 / math.pi)

    def rsample(self, sample_shape=()) -> Tensor:
        return self.base_dist.rsample(sample_shape).abs()

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.scale)
        self._check_value(value.array >= 0, "GreaterThanEq(lower_bound=0.0)")
        return self.base_dist.log_prob(value) + math.log(2)

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() - math.log(2)


class Cauchy(_LocScale):
    """The Lorentz law around ``loc`` with half-width ``scale`` (no mean, no variance)."""

    has_rsample = True

    @property
    def mean(self) -> Tensor:
        return self.loc * math.nan

    @property
    def variance(self) -> Tensor:
        return self.scale * 0 + math.inf

    def rsample(self, sample_shape=()) -> Tensor:
        u = _wrap(B.rng().random(self._extended_shape(sample_shape)).astype(self.loc.dtype))
        return self.loc + self.scale * (math.pi * (u - 0.5)).tan()

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.loc)
        return (
            -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()
        )

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()


_EULER = 0.57721566490153286060


class Gumbel(_LocScale):
    """The law of a maximum: density exp(-(z + exp(-z))) / scale, z = (x - loc) / scale."""

    has_rsample = True

    @property
    def mean(self) -> Tensor:
        return self.loc + self.scale * _EULER

    @property
    def variance(self) -> Tensor:
        return (math.pi**2 / 6) * self.scale**2

    def rsample(self, sample_shape=()) -> Tensor:
        tiny = float(np.finfo(self.loc.dtype).tiny)
        u = B.rng().uniform(tiny, 1.0, self._extended_shape(sample_shape))
        return self.loc - self.scale * _wrap(np.log(-np.log(u)).astype(self.loc.dtype))

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.loc)
        z = (value - self.loc) / self.scale
        return -(z + (-z).exp()) - self.scale.log()

    def entropy(self) -> Tensor:
        return self.scale.log() + (1 + _EULER)


class Geometric(Distribution):
    """Failures before the first success of probability ``probs`` (or ``sigmoid(logits)``)."""

    arg_constraints = Bernoulli.arg_constraints

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        bern = Bernoulli(probs, logits, validate_args)
        self.probs, self.logits = bern.probs, bern.logits
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()) -> Tensor:
        p = np.broadcast_to(self.probs.array, self._extended_shape(sample_shape))
        return _wrap((B.rng().geometric(p) - 1).astype(self.probs.dtype))

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.probs)
        v = value.array
        self._check_value((v >= 0) & (v % 1 == 0), "IntegerGreaterThan(lower_bound=0)")
        value, probs = _broadcast(value, self.probs)
        sure = _wrap((probs.array == 1) & (value.array == 0))  # 0 * log(0) counts as 0
        return value * (-probs.masked_fill(sure, 0.0)).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        return (
            F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")
            / self.probs
        )


class StudentT(Distribution):
    """Student's t with ``df`` degrees of freedom, shifted by ``loc``, scaled by ``scale``."""

    has_rsample = True
    arg_constraints = {
        "df": "GreaterThan(lower_bound=0.0)",
        "loc": "Real()",
        "scale": "GreaterThan(lower_bound=0.0)",
    }

    def __init__(self, df, loc=0.0, scale=1.0, validate_args: bool | None = None) -> None:
        df = _as_param(df)
        self.df, self.loc, self.scale = _broadcast(df, _as_param(loc, df), _as_param(scale, df))
        super().__init__(self.df.shape, (), validate_args)
        for name in ("df", "scale"):
            self._check(
                getattr(self, name).array > 0, self.arg_constraints[name], f"parameter {name}"
            )

    @property
    def mean(self) -> Tensor:
        return self.loc.masked_fill(_wrap(self.df.array <= 1), math.nan)

    @property
    def variance(self) -> Tensor:
        df = self.df
        out = self.scale**2 * df / (df - 2).masked_fill(_wrap(df.array <= 2), 1.0)
        out = out.masked_fill(_wrap((df.array <= 2) & (df.array > 1)), math.inf)
        return out.masked_fill(_wrap(df.array <= 1), math.nan)

    def rsample(self, sample_shape=()) -> Tensor:
        """``loc + scale * z / sqrt(chi2 / df)`` (the chi-square drawn without a graph)."""
        shape = self._extended_shape(sample_shape)
        z = _wrap(B.rng().standard_normal(shape).astype(self.df.dtype))
        chi2 = _wrap(B.rng().chisquare(np.broadcast_to(self.df.array, shape)).astype(self.df.dtype))
        return self.loc + self.scale * z * (chi2 / self.df).rsqrt()

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.df)
        df, y = self.df, (value - self.loc) / self.scale
        z = (
            self.scale.log()
            + 0.5 * df.log()
            + 0.5 * math.log(math.pi)
            + (0.5 * df).lgamma()
            - (0.5 * (df + 1.0)).lgamma()
        )
        return -0.5 * (df + 1.0) * (y**2 / df).log1p() - z

    def entropy(self) -> Tensor:
        df = self.df
        lbeta = (0.5 * df).lgamma() + math.lgamma(0.5) - (0.5 * (df + 1)).lgamma()
        return (
            self.scale.log()
            + 0.5 * (df + 1) * ((0.5 * (df + 1)).digamma() - (0.5 * df).digamma())
            + 0.5 * df.log()
            + lbeta
        )


class Dirichlet(Distribution):
    """A point of the simplex over the last dim of ``concentration``."""

    arg_constraints = {"concentration": "IndependentConstraint(GreaterThan(lower_bound=0.0), 1)"}

    def __init__(self, concentration, validate_args: bool | None = None) -> None:
        self.concentration = _as_param(concentration)
        if self.concentration.ndim < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        shape = self.concentration.shape
        super().__init__(shape[:-1], shape[-1:], validate_args)
        self._check(
            self.concentration.array > 0,
            self.arg_constraints["concentration"],
            "parameter concentration",
        )

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def variance(self) -> Tensor:
        a = self.concentration
        a0 = a.sum(-1, keepdim=True)
        return a * (a0 - a) / (a0**2 * (a0 + 1))

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        gammas = B.rng().gamma(np.broadcast_to(self.concentration.array, shape))
        return _wrap((gammas / gammas.sum(-1, keepdims=True)).astype(self.concentration.dtype))

    def log_prob(self, value) -> Tensor:
        value = _as_param(value, self.concentration)
        v = value.array
        self._check_value((v >= 0).all(-1) & (np.abs(v.sum(-1) - 1) < 1e-6), "Simplex()")
        a = self.concentration
        return (a - 1.0).xlogy(value).sum(-1) + a.sum(-1).lgamma() - a.lgamma().sum(-1)

    def entropy(self) -> Tensor:
        a = self.concentration
        k, a0 = a.shape[-1], a.sum(-1)
        return (
            a.lgamma().sum(-1)
            - a0.lgamma()
            - (k - a0) * a0.digamma()
            - ((a - 1.0) * a.digamma()).sum(-1)
        )


class TransformedDistribution(Distribution):
    """The law of ``y = t_n(... t_1(x))`` for ``x`` drawn from ``base_distribution``:
    ``log_prob(y)`` is the base's at ``x`` minus each transform's log-Jacobian (summed over
    the event dims), e.g. ``TransformedDistribution(Normal(mu, sigma), [TanhTransform()])``.
    """

    def __init__(
        self, base_distribution: Distribution, transforms, validate_args: bool | None = None
    ) -> None:
        from .transforms import Transform

        self.base_dist = base_distribution
        self.transforms = [transforms] if isinstance(transforms, Transform) else list(transforms)
        self.has_rsample = base_distribution.has_rsample
        super().__init__(
            base_distribution.batch_shape, base_distribution.event_shape, validate_args
        )

    def rsample(self, sample_shape=()) -> Tensor:
        x = self.base_dist.rsample(sample_shape)
        for transform in self.transforms:
            x = transform(x)
        return x

    def sample(self, sample_shape=()) -> Tensor:
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for transform in self.transforms:
                x = transform(x)
            return x

    def log_prob(self, value) -> Tensor:
        y = _as_param(value)
        event_dim = len(self.event_shape)
        log_prob = 0
        for transform in reversed(self.transforms):
            x = transform.inv(y)
            jacobian = transform.log_abs_det_jacobian(x, y)
            extra = event_dim - transform.event_dim
            if extra > 0:
                jacobian = jacobian.sum(tuple(range(-extra, 0)))
            log_prob = log_prob - jacobian
            y = x
        return log_prob + self.base_dist.log_prob(y)


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q) for two distributions of the same kind (Normal, Categorical, Bernoulli,
    Uniform); other pairs raise NotImplementedError, as torch without a registered rule."""
    if type(p) is Normal and type(q) is Normal:
        var_ratio = (p.scale / q.scale) ** 2
        t1 = ((p.loc - q.loc) / q.scale) ** 2
        return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())
    if type(p) is Categorical and type(q) is Categorical:
        t = p.probs * (p.logits - q.logits)
        t = t.masked_fill(_wrap(np.broadcast_to(q.probs.array == 0, t.shape)), math.inf)
        t = t.masked_fill(_wrap(np.broadcast_to(p.probs.array == 0, t.shape)), 0.0)
        return t.sum(-1)
    if type(p) is Bernoulli and type(q) is Bernoulli:
        t1 = p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits))
        t2 = (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits))
        return t1 + t2
    if type(p) is Independent and type(q) is Independent:
        if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
            raise NotImplementedError(
                "KL between Independents with different reinterpreted_batch_ndims"
            )
        return p._sum_rightmost(kl_divergence(p.base_dist, q.base_dist))
    if type(p) is Exponential and type(q) is Exponential:
        ratio = q.rate / p.rate
        return ratio - 1 - ratio.log()
    if type(p) is Uniform and type(q) is Uniform:
        outside = (q.low.array > p.low.array) | (q.high.array < p.high.array)
        kl = ((q.high - q.low) / (p.high - p.low)).log()
        return kl.masked_fill(_wrap(outside), math.inf)
    raise NotImplementedError(
        f"No KL(p || q) is implemented for p of type "
        f"{type(p).__name__} and q of type {type(q).__name__}"
    )


# torch's module paths (torch.distributions.categorical.Categorical, ...)
from . import bernoulli, categorical, constraints, distribution, kl, normal  # noqa: E402, F401
from . import uniform  # noqa: E402, F401
from .transforms import (  # noqa: E402
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    SigmoidTransform,
    TanhTransform,
    Transform,
)

__all__ += [
    "AffineTransform",
    "ComposeTransform",
    "ExpTransform",
    "SigmoidTransform",
    "TanhTransform",
    "Transform",
]
