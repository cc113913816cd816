"""``axon.special``: torch.special's names for the special functions.

Most are other names of functions in ``axon.autograd.math_api`` (``expit`` is sigmoid,
``gammaln`` is lgamma, ``psi`` is digamma); the rest are short compositions of them, so
their gradients come from the ops they are made of.
"""

from __future__ import annotations

import math

from .autograd import ops
from .autograd.math_api import (
    digamma,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    i0,
    igamma,
    igammac,
    lgamma,
    log1p,
    logit,
    mvlgamma,
    polygamma,
    round,  # noqa: A004
    sinc,
    xlogy,
)
from .autograd.tensor import Tensor, _as_tensor, where

__all__ = [
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammainc",
    "gammaincc",
    "gammaln",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "sinc",
    "softmax",
    "xlog1py",
    "xlogy",
    "zeta",
]

psi = digamma
gammaln = lgamma
gammainc = igamma
gammaincc = igammac
multigammaln = mvlgamma
_SQRT_HALF = math.sqrt(0.5)


def erfcx(input: Tensor) -> Tensor:
    """The scaled complementary error function e^(x^2) erfc(x) (finite for large x)."""
    return ops.Erfcx.apply(input)


def i0e(input: Tensor) -> Tensor:
    """e^-|x| I0(x), the exponentially scaled modified Bessel function of order 0."""
    return ops.I0e.apply(input)


def i1(input: Tensor) -> Tensor:
    """I1(x), the modified Bessel function of order 1."""
    return ops.I1.apply(input)


def i1e(input: Tensor) -> Tensor:
    """e^-|x| I1(x), the exponentially scaled modified Bessel function of order 1."""
    return ops.I1e.apply(input)


def zeta(input, other) -> Tensor:
    """The Hurwitz zeta function sum_{k >= 0} (other + k)^-input (the Riemann zeta at
    other = 1); gradient for ``other`` only, as torch."""
    input = _as_tensor(input)
    return ops.Zeta.apply(input, _as_tensor(other, input))


def expit(input: Tensor) -> Tensor:
    """The logistic sigmoid 1 / (1 + e^-x)."""
    return input.sigmoid()


def entr(input: Tensor) -> Tensor:
    """The elementwise entropy -x ln x: 0 at 0, -inf for x < 0."""
    return where(input < 0, -math.inf, 0.0 - xlogy(input, input))  # 0 - : +0.0 at 0


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2 (accurate in the left tail)."""
    return erfc(input * -_SQRT_HALF) * 0.5


def log_ndtr(input: Tensor) -> Tensor:
    """log Phi(x) in float64, without underflow in either tail: below -1 it is
    log(erfcx(-x / sqrt 2) / 2) - x^2 / 2, above it log1p(-Phi(-x)). Each branch sees only
    its own inputs (the other's are replaced by a constant), so no NaN leaks into the
    gradient."""
    wide = input.double()
    left = wide < -1
    x_left = where(left, wide, -2.0)
    x_right = where(left, 0.0, wide)
    far = (erfcx(x_left * -_SQRT_HALF) * 0.5).log() - x_left * x_left * 0.5
    near = (0.0 - ndtr(0.0 - x_right)).log1p()
    return where(left, far, near).type(input.dtype)


def ndtri(input: Tensor) -> Tensor:
    """The inverse of the standard normal CDF: sqrt 2 erfinv(2 p - 1)."""
    return erfinv(input * 2 - 1) * math.sqrt(2.0)


def xlog1py(input, other) -> Tensor:
    """input * log1p(other), and 0 where input is 0 (even where other is -1);
    d/dinput = log1p(other), but 0 where input is 0 and other <= -1 (as torch)."""
    input = _as_tensor(input)
    other = _as_tensor(other, input)
    cut = (input == 0) & (other <= -1)
    return ops.Mul.apply(input, where(cut, 0.0, log1p(other)))


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log sum e^x over ``dim``, stably."""
    return input.logsumexp(dim, keepdim)


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """softmax over ``dim`` (cast to ``dtype`` first when given)."""
    return (input if dtype is None else input.type(dtype)).softmax(dim)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """log_softmax over ``dim`` (cast to ``dtype`` first when given)."""
    return (input if dtype is None else input.type(dtype)).log_softmax(dim)
