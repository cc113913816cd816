"""Random sampling as in torch: ``normal``, ``multinomial``, ``bernoulli``, ``poisson`` and
the in-place fills (``bernoulli_``, ``random_``, ``exponential_``, ``geometric_``,
``log_normal_``, ``cauchy_``).

Every draw comes from ``generator=`` (an ``axon.Generator``) when given, else from axon's
global stream, which ``axon.manual_seed`` seeds: the same seed gives the same numbers
(not torch's numbers: the streams differ). The generators are NumPy's, so draws are made
in host memory: parameters on another device are read with their backend's ``to_host``
and the samples moved onto the device with ``from_host`` (the same numbers on every device).
"""

from __future__ import annotations

from .. import backend as B
from ..backend import host
from .tensor import Tensor, _data, _shape_arg, _wrap, bind_methods


def _rng(generator):
    """The NumPy generator to draw from: ``generator``'s own stream, else axon's global."""
    return B.rng() if generator is None else generator.rng


def _host(x):
    """``x`` in host memory: another backend's array copied there, anything else as it is."""
    b = B.of(x)
    return x if b is None else b.to_host(x)


def _on(out: host.ndarray, like):
    """The host array ``out`` moved onto the device of the array ``like`` (a CPU array or
    a number leaves it where it is)."""
    b = B.of(like)
    return out if b is None else b.from_host(out, b.device_of(like))


def _zero_grad_link(out: Tensor, *params) -> Tensor:
    """``out`` joined to the graph of the parameters it was drawn with, with a zero
    gradient: torch's samplers (normal, bernoulli, poisson) return such outputs."""
    for p in params:
        if isinstance(p, Tensor) and p.requires_grad:
            out = out + p * 0
    return out


def _float_dtype(*tensors):
    """The dtype of the first floating tensor among ``tensors``, else the default."""
    for t in tensors:
        if isinstance(t, Tensor) and t.dtype.kind == "f":
            return t.dtype
    return B.get_default_dtype()


def normal(
    mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad: bool = False
) -> Tensor:
    """Normal samples: tensor ``mean`` and/or ``std`` give one sample per element
    (broadcast); floats need ``size``. Drawn from ``generator`` or axon's global stream."""
    m, s = _host(_data(mean)), _host(_data(std))
    if host.any(host.asarray(s) < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std {host.min(s)}")
    if size is None:
        if not (isinstance(mean, Tensor) or isinstance(std, Tensor)):
            raise TypeError(
                "normal() received an invalid combination of arguments: give a "
                "tensor mean or std, or a size"
            )
        shape = host.broadcast_shapes(host.shape(m), host.shape(s))
    else:
        shape = _shape_arg((size,))
    dt = B.to_dtype(dtype) or _float_dtype(mean, std)
    out = (m + s * _rng(generator).standard_normal(shape)).astype(dt)
    like = _data(mean) if isinstance(mean, Tensor) else _data(std)
    out = _wrap(_on(out, like), requires_grad)
    return _zero_grad_link(out, mean, std)


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator=None
) -> Tensor:
    """Category indices drawn with probability proportional to the (non-negative, not all
    zero) weights of each row of a 1-D or 2-D ``input``.

    With replacement: inverse-CDF sampling (the index is the count of cumulative weights at
    most u, so a zero-weight category, an empty interval, is never drawn). Without: the
    ``num_samples`` smallest exponential keys E / w (the Gumbel top-k trick); zero weights
    get infinite keys and come last.
    """
    p = host.asarray(_host(input.array), dtype=host.float64)
    if p.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got shape {p.shape}")
    if not host.isfinite(p).all() or (p < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = p.reshape(-1, p.shape[-1])
    n = rows.shape[1]
    if (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if num_samples <= 0:
        raise RuntimeError(f"cannot sample n_sample <= 0 samples, got {num_samples}")
    if not replacement and num_samples > n:
        raise RuntimeError(
            f"cannot sample n_sample > prob_dist.size(-1) samples without "
            f"replacement (n_sample {num_samples}, {n} categories)"
        )
    rng = _rng(generator)
    if replacement:
        cdf = host.cumsum(rows, axis=1)
        u = rng.random((rows.shape[0], num_samples)) * cdf[:, -1:]
        if u.size * n <= 2**22:  # many short rows (a batch of policies): count in one go
            out = (u[:, :, None] >= cdf[:, None, :]).sum(axis=2)
        else:
            out = host.stack(
                [host.searchsorted(c, v, side="right") for c, v in zip(cdf, u, strict=True)]
            )
    else:
        with host.errstate(divide="ignore"):
            keys = rng.exponential(size=rows.shape) / rows
        out = host.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    out = out.reshape(p.shape[:-1] + (num_samples,)).astype(host.int64)
    return _wrap(_on(out, input.array))


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """1 with probability ``input`` (or the number ``p``) per element, else 0; the dtype
    of ``input``."""
    prob = _host(input.array) if p is None else host.full(input.shape, p, dtype=host.float64)
    if (prob < 0).any() or (prob > 1).any() or host.isnan(prob).any():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    draws = _rng(generator).random(input.shape) < prob
    return _zero_grad_link(_wrap(_on(draws.astype(input.dtype), input.array)), input)


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 1 (probability ``p``, a number or a tensor) or 0, in place."""
    prob = _host(_data(p))
    if host.any(host.asarray(prob) < 0) or host.any(host.asarray(prob) > 1):
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    self.array[...] = _on(_rng(generator).random(self.shape) < prob, self.array)
    return self


def random_(self: Tensor, from_: int = 0, to: int | None = None, *, generator=None) -> Tensor:
    """Fill with integers uniform in [from, to) (``random_(to)`` for [0, to); without
    bounds, [0, 2**mantissa] for floats, the dtype's range for integers), in place."""
    if to is None and from_ != 0:
        from_, to = 0, from_
    if to is None:
        dt = self.dtype
        to = 2 ** (host.finfo(dt).nmant + 1) + 1 if dt.kind == "f" else host.iinfo(dt).max
    if from_ >= to:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={from_} >= to={to}"
        )
    self.array[...] = _on(_rng(generator).integers(from_, to, size=self.shape), self.array)
    return self


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with exponential samples of rate ``lambd`` (mean 1 / lambd), in place."""
    if lambd <= 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    self.array[...] = _on(_rng(generator).exponential(1.0 / lambd, size=self.shape), self.array)
    return self


def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    self.array[...] = _on(_rng(generator).geometric(p, size=self.shape), self.array)
    return self


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill with exp(N(mean, std^2)) samples, in place."""
    if std <= 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    self.array[...] = _on(_rng(generator).lognormal(mean, std, size=self.shape), self.array)
    return self


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill with Cauchy samples median + sigma tan(pi (u - 1/2)), in place."""
    if sigma <= 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    draws = median + sigma * _rng(generator).standard_cauchy(size=self.shape)
    self.array[...] = _on(draws, self.array)
    return self


def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson samples with the rates in ``input`` (same shape and dtype)."""
    rates = _host(input.array)
    if (rates < 0).any() or not host.isfinite(rates).all():
        raise RuntimeError("poisson: the rates must be finite and non-negative")
    draws = _rng(generator).poisson(rates).astype(input.dtype)
    return _zero_grad_link(_wrap(_on(draws, input.array)), input)


bind_methods(
    **{
        fn.__name__: fn
        for fn in [
            bernoulli,
            bernoulli_,
            random_,
            exponential_,
            geometric_,
            log_normal_,
            cauchy_,
            multinomial,
        ]
    }
)

__all__ = ["bernoulli", "multinomial", "normal", "poisson"]


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Binomial samples: successes in ``count`` trials of probability ``prob`` (broadcast),
    in ``count``'s floating dtype, as torch."""
    if count.dtype.kind != "f":
        raise ValueError(
            f"binomial only supports floating-point dtypes for count, got: {count.dtype}"
        )
    n, p = host.broadcast_arrays(_host(count.array), _host(_data(prob)))
    draws = _rng(generator).binomial(n.astype(host.int64), p).astype(count.dtype)
    return _wrap(_on(draws, count.array))


__all__ += ["binomial"]
