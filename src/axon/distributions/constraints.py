"""``torch.distributions.constraints``: the sets a parameter or a value must lie in, each
with ``check(value)`` (a bool Tensor: True where the value is inside) and ``event_dim``
(how many rightmost dims one check covers). Custom distributions name them in
``arg_constraints`` and ``support``."""

from __future__ import annotations

import numpy as np

from ..autograd.tensor import Tensor, _wrap

__all__ = [
    "Constraint",
    "boolean",
    "greater_than",
    "greater_than_eq",
    "half_open_interval",
    "independent",
    "integer_interval",
    "interval",
    "less_than",
    "lower_cholesky",
    "lower_triangular",
    "nonnegative",
    "nonnegative_integer",
    "one_hot",
    "positive",
    "positive_definite",
    "positive_integer",
    "real",
    "real_vector",
    "simplex",
    "square",
    "symmetric",
    "unit_interval",
]


def _array(value) -> np.ndarray:
    return value.array if isinstance(value, Tensor) else np.asarray(value)


class Constraint:
    """A set: ``check(value)`` says elementwise (per event) whether ``value`` is in it."""

    is_discrete = False
    event_dim = 0

    def __init__(self, test, name: str, event_dim: int = 0, is_discrete: bool = False):
        self._test, self._name = test, name
        self.event_dim, self.is_discrete = event_dim, is_discrete

    def check(self, value) -> Tensor:
        return _wrap(np.asarray(self._test(_array(value))))

    def __repr__(self) -> str:
        return self._name


def greater_than(lower_bound) -> Constraint:
    return Constraint(lambda v: v > lower_bound, f"GreaterThan(lower_bound={lower_bound})")


def greater_than_eq(lower_bound) -> Constraint:
    return Constraint(lambda v: v >= lower_bound, f"GreaterThanEq(lower_bound={lower_bound})")


def less_than(upper_bound) -> Constraint:
    return Constraint(lambda v: v < upper_bound, f"LessThan(upper_bound={upper_bound})")


def interval(lower_bound, upper_bound) -> Constraint:
    return Constraint(
        lambda v: (lower_bound <= v) & (v <= upper_bound),
        f"Interval(lower_bound={lower_bound}, upper_bound={upper_bound})",
    )


def half_open_interval(lower_bound, upper_bound) -> Constraint:
    return Constraint(
        lambda v: (lower_bound <= v) & (v < upper_bound),
        f"HalfOpenInterval(lower_bound={lower_bound}, upper_bound={upper_bound})",
    )


def integer_interval(lower_bound, upper_bound) -> Constraint:
    return Constraint(
        lambda v: (v % 1 == 0) & (lower_bound <= v) & (v <= upper_bound),
        f"IntegerInterval(lower_bound={lower_bound}, upper_bound={upper_bound})",
        is_discrete=True,
    )


def independent(base_constraint: Constraint, reinterpreted_batch_ndims: int) -> Constraint:
    """``base_constraint`` holding over the last ``reinterpreted_batch_ndims`` dims too."""
    n = reinterpreted_batch_ndims

    def test(v):
        ok = np.asarray(base_constraint._test(v))
        return ok.reshape(ok.shape[: ok.ndim - n] + (-1,)).all(-1) if n else ok

    return Constraint(
        test,
        f"IndependentConstraint({base_constraint}, {n})",
        base_constraint.event_dim + n,
        base_constraint.is_discrete,
    )


def _matrix(test, name: str) -> Constraint:
    return Constraint(test, name, event_dim=2)


real = Constraint(lambda v: v == v, "Real()")  # NaN is the one real number that is not
real_vector = independent(real, 1)
boolean = Constraint(lambda v: (v == 0) | (v == 1), "Boolean()", is_discrete=True)
positive = greater_than(0.0)
nonnegative = greater_than_eq(0.0)
unit_interval = interval(0.0, 1.0)
nonnegative_integer = Constraint(
    lambda v: (v % 1 == 0) & (v >= 0), "IntegerGreaterThan(lower_bound=0)", is_discrete=True
)
positive_integer = Constraint(
    lambda v: (v % 1 == 0) & (v >= 1), "IntegerGreaterThan(lower_bound=1)", is_discrete=True
)
simplex = Constraint(
    lambda v: (v >= 0).all(-1) & (np.abs(v.sum(-1) - 1) < 1e-6), "Simplex()", event_dim=1
)
one_hot = Constraint(
    lambda v: ((v == 0) | (v == 1)).all(-1) & (v.sum(-1) == 1),
    "OneHot()",
    event_dim=1,
    is_discrete=True,
)
square = _matrix(lambda v: np.full(v.shape[:-2], v.shape[-1] == v.shape[-2]), "Square()")
symmetric = _matrix(
    lambda v: np.isclose(v, np.swapaxes(v, -1, -2), atol=1e-6).all((-2, -1)), "Symmetric()"
)
lower_triangular = _matrix(lambda v: (np.tril(v) == v).all((-2, -1)), "LowerTriangular()")
lower_cholesky = _matrix(
    lambda v: (np.tril(v) == v).all((-2, -1)) & (np.diagonal(v, 0, -2, -1) > 0).all(-1),
    "LowerCholesky()",
)
positive_definite = _matrix(
    lambda v: symmetric._test(v) & (np.linalg.eigvalsh(v) > 0).all(-1), "PositiveDefinite()"
)
