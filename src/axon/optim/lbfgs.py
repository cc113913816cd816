"""L-BFGS: a quasi-Newton method that rebuilds the inverse Hessian from recent steps.

Each ``step(closure)`` runs up to ``max_iter`` iterations, each one evaluating the loss
and its gradient through ``closure`` (which must zero the gradients, compute the loss,
call ``backward`` and return the loss). All the algebra runs on flat vectors (arrays of
the parameters' backend): the
parameters' gradients are gathered into one vector, the search direction is one vector,
and only the final moves touch the parameters, so the work besides the closure is a few
vector operations per iteration however many parameters the model has.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from functools import reduce
from itertools import accumulate

from ..autograd import Tensor
from ..autograd.tensor import _placed
from ..backend import namespace, of, promote_types
from .optimizer import Optimizer, _check


class LBFGS(Optimizer):
    r"""L-BFGS (Nocedal, 1980; the variant of PyTorch and minFunc), PyTorch's iterates.

    From the last ``history_size`` pairs of parameter steps :math:`s_i` and gradient
    changes :math:`y_i` (kept only when :math:`y_i^\top s_i > 10^{-10}`), the two-loop
    recursion turns the gradient :math:`g` into the direction :math:`d = -H g`, where
    :math:`H` approximates the inverse Hessian starting from :math:`\frac{y^\top s}
    {y^\top y} I`. The parameters then move by :math:`t d`: with a fixed step :math:`t =
    \gamma` (the first iteration of all takes :math:`\min(1, 1/\|g\|_1)\gamma`), or with
    ``line_search_fn="strong_wolfe"`` at a :math:`t` that satisfies the strong Wolfe
    conditions, found by cubic interpolation and zoom (:func:`strong_wolfe`).

    An iteration stops the step early when the gradient is below ``tolerance_grad``
    everywhere, when the move or the change in loss is below ``tolerance_change``, or
    when ``max_eval`` closure calls have been spent.

    Args:
        params: the Tensors to optimize (one group only, as in PyTorch).
        lr: learning rate :math:`\gamma`: the step, or the line search's first trial.
        max_iter: iterations per ``step``.
        max_eval: closure calls per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when every gradient entry is at most this in size.
        tolerance_change: stop when the loss or the parameters change less than this.
        history_size: how many step pairs the inverse Hessian is built from.
        line_search_fn: ``None`` (fixed step) or ``"strong_wolfe"``.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        _check(lr >= 0, "learning rate", lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        ends = list(accumulate(p.array.size for p in self._params))
        self._parts = [
            slice(end - p.array.size, end) for p, end in zip(self._params, ends, strict=True)
        ]

    # ----------------------------------------------------------------- flat vectors
    def _gather_flat_grad(self):
        """All gradients as one new vector (zeros for a parameter without one)."""
        dtype = reduce(promote_types, (p.array.dtype for p in self._params))
        flat = namespace(self._params[0].array).empty(self._parts[-1].stop, dtype=dtype)
        for p, part in zip(self._params, self._parts, strict=True):
            if p.grad is None:
                flat[part] = 0
            else:
                flat[part] = p.grad.array.ravel()
        return flat

    def _add_grad(self, t: float, d) -> None:
        """Move every parameter by ``t * d`` (its part of the flat direction)."""
        for p, part in zip(self._params, self._parts, strict=True):
            p.array += t * d[part].reshape(p.array.shape)

    def _flat_params(self):
        xp = namespace(self._params[0].array)
        return xp.concatenate([p.array.ravel() for p in self._params])

    def _set_params(self, flat) -> None:
        for p, part in zip(self._params, self._parts, strict=True):
            p.array[...] = flat[part].reshape(p.array.shape)

    def _directional_evaluate(self, closure, x, t: float, d):
        """The loss and flat gradient at ``x + t d``; the parameters are put back to ``x``."""
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_params(x)
        return loss, flat_grad

    # ----------------------------------------------------------------- the step
    def step(self, closure: Callable[[], Tensor]):  # type: ignore[override]
        """Up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure
        call (before any move), as PyTorch does."""
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn = group["line_search_fn"]

        def evaluate():
            return self._evaluate(closure)

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if abs(flat_grad).max() <= tolerance_grad:  # already optimal
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # the direction: steepest descent at first, then the two-loop recursion
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, H_diag = [], [], [], 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:  # keep the pair only where the curvature is positive
                    if len(old_dirs) == group["history_size"]:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                if "al" not in state:
                    state["al"] = [None] * group["history_size"]
                d = _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag, state["al"])

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # the step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)  # the directional derivative
            if gtd > -tolerance_change:  # not a descent direction any more
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._flat_params()

                def obj_func(x, t, d):
                    return self._directional_evaluate(evaluate, x, t, d)

                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    obj_func,
                    x_init,
                    t,
                    d,
                    loss,
                    flat_grad,
                    gtd,
                    max_ls=max_eval - current_evals,
                )
                self._add_grad(t, d)
                opt_cond = abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:  # the last iteration's gradient waits for next step
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(
            d=d,
            t=t,
            old_dirs=old_dirs,
            old_stps=old_stps,
            ro=ro,
            H_diag=H_diag,
            prev_flat_grad=prev_flat_grad,
            prev_loss=prev_loss,
        )
        return orig_loss

    def _load_state_value(self, key: str, value, param: Tensor, index: int):
        """LBFGS's state is flat vectors, lists of them and numbers: copied as they are
        (torch's tensors become arrays), on ``param``'s device."""
        if isinstance(value, Tensor):
            value = value.array
        if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
            value = value.detach().numpy()
        if isinstance(value, list):
            return [self._load_state_value(key, v, param, index) for v in value]
        if of(value) is not None:  # an array: placed beside the parameter
            value = _placed(value, param.device).copy()
            return value if value.ndim else value[()]
        return copy.deepcopy(value)


def _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag, al):
    """The direction :math:`-H g` by the two-loop recursion over the stored pairs (``al``
    is the list its first loop fills, kept in the state as torch keeps it)."""
    q = -flat_grad
    for i in range(len(old_dirs) - 1, -1, -1):
        al[i] = old_stps[i].dot(q) * ro[i]
        q -= al[i] * old_dirs[i]
    r = q * H_diag
    for i in range(len(old_dirs)):
        be_i = old_dirs[i].dot(r) * ro[i]
        r += (al[i] - be_i) * old_stps[i]
    return r


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer, clipped to ``bounds`` (default: between the two points), of the
    cubic through two points with values ``f`` and slopes ``g``; the middle of the bounds
    when the cubic has no minimum."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square < 0:
        return (xmin_bound + xmax_bound) / 2.0
    d2 = namespace(d2_square).sqrt(d2_square)  # a NumPy scalar or a 0-d array
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, xmin_bound), xmax_bound)


def strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    r"""A step length ``t`` along ``d`` from ``x`` satisfying the strong Wolfe conditions,
    :math:`f(x + t d) \le f + c_1 t\, g^\top d` (enough decrease) and :math:`|\nabla f(x +
    t d)^\top d| \le c_2 |g^\top d|` (a flat enough slope), as minFunc and PyTorch find it:
    first grow ``t`` (by cubic extrapolation, at most 10x) until a step brackets an
    acceptable one, then zoom into the bracket by cubic interpolation, stepping away from
    its ends when progress stalls. ``obj_func(x, t, d)`` returns the loss and flat
    gradient at ``x + t d``. Returns ``(f_new, g_new, t, evaluations)``; at most
    ``max_ls`` evaluations."""
    d_norm = abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    # bracketing phase: [t_prev, t] must come to hold an acceptable step
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate beyond t (at least 1% further, at most 10x)
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:  # out of evaluations: bracket the start and the last trial
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom phase: shrink the bracket until a point satisfies the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        t, insuf_progress = _keep_off_the_ends(t, bracket, insuf_progress)
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # not enough decrease: t replaces the high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the slope points back past the low end: the old low becomes the high
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


def _keep_off_the_ends(t, bracket, insuf_progress):
    """Move a trial ``t`` within 10% of the bracket's width of an end to 10% inside,
    when the previous trial also made too little progress or ``t`` is at or past an
    end; returns ``(t, insuf_progress)``."""
    high, low = max(bracket), min(bracket)
    eps = 0.1 * (high - low)
    if min(high - t, t - low) >= eps:
        return t, False
    if not (insuf_progress or t >= high or t <= low):
        return t, True
    t = high - eps if abs(t - high) < abs(t - low) else low + eps
    return t, False
