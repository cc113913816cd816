"""Fused loss ops: cross-entropy and NLL of class indices or soft targets, multi-margin,
binary cross-entropy, the pointwise regression losses and the weight-elimination penalty.

The functional forms that check the arguments and apply these live in ``axon.nn.functional``
(the penalty's in ``axon.nn.regularizers``). Each op is one graph node with its own backward
(a chain of primitives would record a dozen nodes and many temporaries).

Every op here follows ``axon.autograd.ops``: ``forward`` takes arrays (plus plain
settings), computes with ``self.xp`` (the namespace of its inputs' backend), stores what
``backward`` needs on ``self``, and ``backward`` returns one gradient (or ``None``) per
input. Weights are plain arrays: they get no gradient. ``backward`` never writes into the
incoming gradient or into saved arrays, so ``retain_graph=True`` can run it twice.
"""

from __future__ import annotations

from ..function import Op


def _reduce(xp, loss, reduction: str, denom=None):
    """Apply ``reduction`` to an elementwise loss (of namespace ``xp``); ``mean`` divides by
    ``denom`` (or the number of elements). Returns the output and the divisor used."""
    if reduction == "none":
        return loss, None
    total = xp.asarray(loss.sum())
    if reduction == "sum":
        return total, None
    n = loss.size if denom is None else denom
    with xp.errstate(divide="ignore", invalid="ignore"):
        return xp.asarray(total / n, dtype=loss.dtype), n


def _upstream(xp, g, reduction: str, n, dtype):
    """The gradient each element of the unreduced loss receives from the output."""
    if reduction == "mean":
        with xp.errstate(divide="ignore", invalid="ignore"):
            return (g / n).astype(dtype, copy=False)
    return g


# ============================================================ class-index losses


def _check_targets(t, n_classes: int, valid) -> None:
    bad = valid & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")


class ClassIndexLoss(Op):
    """Cross-entropy (``from_logits``: log-softmax fused in) or NLL of class indices.

    With p = softmax(x) over the class dimension, smoothing eps, C classes and per-class
    weights w (all 1 by default), sample i of target y contributes

        l_i = (1 - eps) w_y (-log p_y) + eps / C * sum_c w_c (-log p_c)

    (0 where y == ignore_index). ``mean`` divides the sum by sum_i w_{y_i} over the kept
    samples, as PyTorch does. Backward on logits: dl_i/dx = p * sum_c a_c - a with
    a_c = (1 - eps) w_y [c == y] + eps w_c / C, i.e. softmax minus the smoothed one-hot.
    """

    def forward(self, x, target, weight, ignore_index, reduction, smoothing, from_logits):
        xp = self.xp
        cdim = 1 if x.ndim > 1 else 0
        C = x.shape[cdim]
        # classes last, samples flattened: (M, C)
        xs = xp.moveaxis(x, cdim, -1).reshape(-1, C) if x.ndim > 2 else x.reshape(-1, C)
        t = target.reshape(-1)
        valid = t != ignore_index
        _check_targets(t, C, valid)
        tt = xp.where(valid, t, 0)
        rows = xp.arange(t.shape[0])
        wt = (weight[tt] if weight is not None else xp.ones(t.shape, x.dtype)) * valid
        fused = self.backend.kernels() if from_logits else None
        if fused is not None:  # a GPU: the softmax in three launches, nothing shifted kept
            p, m, s = fused.softmax_rows(xs)
            m, s = m[:, 0], s[:, 0]
            picked = xs[rows, tt] - m
            log_s = xp.log(s)
            nll = wt * (log_s - picked)
            if smoothing:  # sum_c w_c (x_c - m), without the shifted copy
                w_sum = weight.sum() if weight is not None else C
                rowsum = (
                    self.backend.matmul(xs, weight) if weight is not None else xs.sum(axis=1)
                ) - m * w_sum
                smooth = (log_s * w_sum - rowsum) * valid
            self.p = p
        elif from_logits:
            shifted = xs - xs.max(axis=1, keepdims=True)
            picked = shifted[rows, tt]
            if smoothing:
                rowsum = (
                    self.backend.matmul(shifted, weight)
                    if weight is not None
                    else shifted.sum(axis=1)
                )
            p = xp.exp(shifted, out=shifted)
            s = p.sum(axis=1)
            p /= s[:, None]
            log_s = xp.log(s)
            nll = wt * (log_s - picked)
            if smoothing:
                w_sum = weight.sum() if weight is not None else C
                smooth = (log_s * w_sum - rowsum) * valid
            self.p = p
        else:
            nll = -wt * xs[rows, tt]
            if smoothing:
                weighted = self.backend.matmul(xs, weight) if weight is not None else xs.sum(axis=1)
                smooth = -weighted * valid
        loss = (1 - smoothing) * nll + (smoothing / C) * smooth if smoothing else nll
        if reduction == "none":
            loss = loss.reshape(target.shape)
        out, self.n = _reduce(xp, loss, reduction, wt.sum())
        self.x_shape, self.cdim, self.C = x.shape, cdim, C
        self.rows, self.tt, self.wt, self.valid = rows, tt, wt, valid
        self.weight, self.reduction, self.smoothing = weight, reduction, smoothing
        self.from_logits = from_logits
        return out

    def backward(self, g):
        xp = self.xp
        eps, C, weight = self.smoothing, self.C, self.weight
        coef = _upstream(xp, g, self.reduction, self.n, self.wt.dtype)
        coef = coef.reshape(-1, 1) if self.reduction == "none" else coef
        if self.from_logits:
            # sum_c a_c for each sample (0 for ignored ones)
            total = (1 - eps) * self.wt
            if eps:
                w_sum = weight.sum() if weight is not None else C
                total = total + xp.multiply(self.valid, (eps / C) * w_sum, dtype=total.dtype)
            grad = self.p * (total[:, None] * coef)
        else:
            grad = xp.zeros((self.rows.shape[0], C), dtype=self.wt.dtype)
        if eps:
            smooth = (eps / C) * (weight if weight is not None else 1.0)
            kept = coef if self.valid.all() else self.valid[:, None] * coef  # input's dtype
            grad -= kept * smooth
        hit = (1 - eps) * self.wt
        grad[self.rows, self.tt] -= hit * coef[:, 0] if self.reduction == "none" else hit * coef
        if len(self.x_shape) > 2:
            moved = (self.x_shape[0], *self.x_shape[2:], C)
            grad = xp.moveaxis(grad.reshape(moved), -1, self.cdim)
        return grad.reshape(self.x_shape), None, None, None, None, None, None


class SoftTargetCrossEntropy(Op):
    """Cross-entropy against class probabilities q of the input's shape:
    l_i = -sum_c w_c q'_c log p_c with q' = (1 - eps) q + eps / C; ``mean`` divides by
    the number of samples. dl/dx = p * sum_c(w q') - w q',  dl/dq = -(1 - eps) w log p."""

    def forward(self, x, q, weight, reduction, smoothing):
        xp = self.xp
        cdim = 1 if x.ndim > 1 else 0
        C = x.shape[cdim]
        shifted = x - x.max(axis=cdim, keepdims=True)
        logp = shifted - xp.log(xp.exp(shifted).sum(axis=cdim, keepdims=True))
        a = q * (1 - smoothing) + smoothing / C if smoothing else q
        if weight is not None:
            wshape = (C,) + (1,) * (x.ndim - cdim - 1)
            self.w = weight.reshape(wshape)
            a = a * self.w
        else:
            self.w = None
        loss = -(logp * a).sum(axis=cdim)
        out, self.n = _reduce(xp, loss, reduction, x.size // C if x.size else 0)
        self.logp, self.a, self.cdim = logp, a, cdim
        self.reduction, self.smoothing = reduction, smoothing
        return out

    def backward(self, g):
        xp = self.xp
        _, pq, _, _, _ = self.parents
        coef = _upstream(xp, g, self.reduction, self.n, self.logp.dtype)
        if self.reduction == "none":
            coef = xp.expand_dims(coef, self.cdim)
        logp, a = self.logp, self.a
        gx = (xp.exp(logp) * a.sum(axis=self.cdim, keepdims=True) - a) * coef
        gq = None
        if pq is not None:
            gq = -logp * coef * (1 - self.smoothing)
            if self.w is not None:
                gq = gq * self.w
        return gx, gq, None, None, None


class MultiMargin(Op):
    """Multi-class hinge loss: l_i = sum_{j != y} max(0, margin - x_y + x_j)^p * w_y / C
    (p = 1 or 2); ``mean`` averages over samples."""

    def forward(self, x, target, p, margin, weight, reduction):
        xp = self.xp
        C = x.shape[-1]
        xs = x.reshape(-1, C)
        t = target.reshape(-1)
        if ((t < 0) | (t >= C)).any():
            raise RuntimeError(f"multi_margin_loss: target out of range for {C} classes")
        rows = xp.arange(t.shape[0])
        z = margin - xs[rows, t][:, None] + xs
        z[rows, t] = 0  # the target class itself is not a violation
        h = xp.maximum(z, 0)
        scale = (weight[t] if weight is not None else xp.ones(t.shape, x.dtype)) / C
        loss = (h * h if p == 2 else h).sum(axis=1) * scale
        out, self.n = _reduce(xp, loss.reshape(target.shape), reduction)
        self.h, self.scale, self.rows, self.t = h, scale, rows, t
        self.p, self.x_shape, self.reduction = p, x.shape, reduction
        return out

    def backward(self, g):
        xp = self.xp
        coef = _upstream(xp, g, self.reduction, self.n, self.h.dtype)
        coef = coef.reshape(-1) if self.reduction == "none" else coef
        dh = 2 * self.h if self.p == 2 else (self.h > 0).astype(self.h.dtype)
        grad = dh * (self.scale * coef)[:, None]
        grad[self.rows, self.t] = -grad.sum(axis=1)
        return grad.reshape(self.x_shape), None, None, None, None, None


# ============================================================ binary cross-entropy


class BCEWithLogits(Op):
    """Binary cross-entropy on logits x, stable for any x:

        l = (1 - t) x + (1 + (pw - 1) t) softplus(-x),  softplus(-x) = log(1 + e^-x)

    times ``weight``. dl/dx = (1 - t) - (1 + (pw - 1) t) sigmoid(-x)  (= sigmoid(x) - t
    without ``pos_weight``),  dl/dt = -x + (pw - 1) softplus(-x).
    """

    def forward(self, x, t, weight, pos_weight, reduction):
        xp = self.xp
        # softplus(-x) = max(-x, 0) + log1p(e^-|x|): never overflows
        sp = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        if pos_weight is None:
            loss = (1 - t) * x + sp
        else:
            lw = (pos_weight - 1) * t + 1
            loss = (1 - t) * x + lw * sp
        if weight is not None:
            loss = loss * weight
        out, self.n = _reduce(xp, loss, reduction)
        self.x, self.t, self.sp = x, t, sp
        self.weight, self.pos_weight, self.reduction = weight, pos_weight, reduction
        return out

    def backward(self, g):
        xp = self.xp
        _, pt, _, _, _ = self.parents
        x, t, sp, pw = self.x, self.t, self.sp, self.pos_weight
        coef = _upstream(xp, g, self.reduction, self.n, x.dtype)
        if self.weight is not None:
            coef = coef * self.weight
        sig_neg = -xp.expm1(-sp)  # sigmoid(-x) = 1 - e^-softplus(-x)
        if pw is None:
            gx = (1 - t - sig_neg) * coef
        else:
            gx = (1 - t - ((pw - 1) * t + 1) * sig_neg) * coef
        gt = None
        if pt is not None:
            gt = (-x if pw is None else (pw - 1) * sp - x) * coef
        return gx, gt, None, None, None


class BCE(Op):
    """Binary cross-entropy on probabilities: l = -w (t log x + (1 - t) log(1 - x)), each
    log clamped to >= -100 as in PyTorch. dl/dx = w (x - t) / max(x (1 - x), 1e-12),
    dl/dt = -w logit(x)."""

    def forward(self, x, t, weight, reduction):
        xp = self.xp
        if ((x < 0) | (x > 1)).any():
            raise RuntimeError("all elements of input should be between 0 and 1")
        if ((t < 0) | (t > 1)).any():
            raise RuntimeError("all elements of target should be between 0 and 1")
        with xp.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        loss = (t - 1) * log_1mx - t * log_x
        if weight is not None:
            loss = loss * weight
        out, self.n = _reduce(xp, loss, reduction)
        self.x, self.t, self.weight, self.reduction = x, t, weight, reduction
        return out

    def backward(self, g):
        xp = self.xp
        _, pt, _, _ = self.parents
        x, t = self.x, self.t
        coef = _upstream(xp, g, self.reduction, self.n, x.dtype)
        if self.weight is not None:
            coef = coef * self.weight
        gx = coef * (x - t) / xp.maximum((1 - x) * x, 1e-12)
        gt = None
        if pt is not None:
            with xp.errstate(divide="ignore"):
                gt = coef * (xp.log1p(-x) - xp.log(x))
        return gx, gt, None, None


# ============================================================ regression losses


class PointwiseLoss(Op):
    """Elementwise losses of d = x - y, with their derivatives dl/dd:

    - ``mse``: d^2, 2 d
    - ``l1``: |d|, sign(d)
    - ``huber`` (delta): d^2 / 2 if |d| < delta else delta (|d| - delta / 2); clip(d, +-delta)
    - ``smooth_l1`` (beta): d^2 / (2 beta) if |d| < beta else |d| - beta / 2; clip(d / beta, +-1)

    An elementwise ``weight`` multiplies l; with it, ``mean`` divides by sum(weight) when
    ``mean_by_weight`` (PyTorch's mse and l1) and by the element count otherwise (huber).
    """

    def forward(self, x, y, kind, param, weight, reduction, mean_by_weight):
        xp = self.xp
        d = x - y
        if kind == "mse":
            loss = d * d
        elif kind == "l1":
            loss = xp.abs(d)
        else:
            a = xp.abs(d)
            if kind == "huber":
                loss = xp.where(a < param, 0.5 * d * d, param * (a - 0.5 * param))
            else:
                loss = xp.where(a < param, (0.5 / param) * d * d, a - 0.5 * param)
        if weight is not None:
            loss = loss * weight
        denom = weight.sum() if weight is not None and mean_by_weight else None
        out, self.n = _reduce(xp, loss, reduction, denom)
        self.d, self.kind, self.param = d, kind, param
        self.weight, self.reduction = weight, reduction
        return out

    def backward(self, g):
        xp = self.xp
        px, py, *_ = self.parents
        d, param = self.d, self.param
        coef = _upstream(xp, g, self.reduction, self.n, d.dtype)
        if self.weight is not None:
            coef = coef * self.weight
        if self.kind == "mse":
            gd = (2 * d) * coef
        elif self.kind == "l1":
            gd = xp.sign(d) * coef
        elif self.kind == "huber":
            gd = xp.clip(d, -param, param) * coef
        else:
            gd = xp.clip(d / param, -1, 1) * coef
        return (
            gd if px is not None else None,
            -gd if py is not None else None,
            None,
            None,
            None,
            None,
            None,
        )


# ============================================================ weight elimination


class WeightElimination(Op):
    """The weight-elimination penalty ``lam * sum over all given arrays of w^2 / (beta^2 +
    w^2)`` (Weigend, Rumelhart and Huberman, 1991; ``axon.nn.regularizers`` says what it
    does): one graph node for every parameter, the gradient written out in closed form."""

    def forward(self, lam, beta, *ws):
        xp = self.xp
        b2 = beta * beta
        dtype = xp.result_type(*ws)
        total = sum(float((w * w / (w * w + b2)).sum(dtype=xp.float64)) for w in ws)
        self.lam, self.b2, self.ws = lam, b2, ws
        return xp.asarray(lam * total, dtype=dtype)

    def backward(self, g):
        xp = self.xp
        grads = []
        scale = 2.0 * self.lam * self.b2 * float(g)  # dR/dw = lam 2 w b^2 / (b^2 + w^2)^2
        for w, parent in zip(self.ws, self.parents[2:], strict=True):
            if parent is None:
                grads.append(None)
                continue
            d = w * w
            d += self.b2
            xp.multiply(d, d, out=d)  # (b^2 + w^2)^2
            grads.append((w * scale / d).astype(w.dtype, copy=False))
        return (None, None, *grads)
