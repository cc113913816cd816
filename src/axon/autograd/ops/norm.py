"""Fused normalisation ops: batch norm, layer norm and group norm, each one graph node with
its own backward; the layers (``axon.nn.normalization``) and ``axon.nn.functional`` use them.

The composition from primitives would record about a dozen nodes and as many full-size
temporaries (and LayerNorm runs twice in every Transformer block).

All three normalise groups of values the same way. For a group of n values x_i with
mean mu and biased variance var,

    xhat_i = (x_i - mu) * invstd,     invstd = 1 / sqrt(var + eps),
    y_i    = gamma * xhat_i + beta,

and, with dxhat = gamma * dy, the classic backward through mu and var is

    dx_i = (1/n) * invstd * (n * dxhat_i - sum_j dxhat_j - xhat_i * sum_j dxhat_j xhat_j)
         = invstd * (dxhat_i - mean(dxhat) - xhat_i * mean(dxhat * xhat)),
    dgamma = sum dy * xhat,     dbeta = sum dy   (summed over every position gamma covers).

Batch norm groups by channel (over the batch and every spatial position); layer norm by
sample (over the trailing ``normalized_shape``); group norm by (sample, channel group).
``xhat`` is computed once in forward and reused by backward; the per-group sums are
``einsum`` reductions, which read their operands once and allocate nothing full-size.
As everywhere in axon, ``backward`` never writes into ``g`` or into saved arrays, and the
arrays are computed with ``self.xp``, the namespace of the inputs' backend.
"""

from __future__ import annotations

from ..function import Op


def _normalize_rows(xp, x2, eps: float):
    """xhat and invstd of every row of ``x2`` (M, D): each row is one group."""
    einsum = xp.einsum
    d = x2.shape[1]
    mean = einsum("md->m", x2) / d  # (M,)
    xc = x2 - mean[:, None]  # (M, D), a fresh array: becomes xhat
    var = einsum("md,md->m", xc, xc) / d  # (M,) biased variance, two-pass
    invstd = 1.0 / xp.sqrt(var + eps)
    xc *= invstd[:, None]
    return xc, invstd


def _normalize_rows_backward(xp, dxhat, xhat, invstd):
    """dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), rows of (M, D)."""
    einsum = xp.einsum
    d = xhat.shape[1]
    mean_dxhat = einsum("md->m", dxhat) / d  # (M,)
    mean_dxhat_xhat = einsum("md,md->m", dxhat, xhat) / d  # (M,)
    dx = xhat * -mean_dxhat_xhat[:, None]
    dx += dxhat
    dx -= mean_dxhat[:, None]
    dx *= invstd[:, None]
    return dx


# ============================================================ batch norm


class BatchNorm(Op):
    """Batch normalisation of x (N, C, *) per channel c, over the batch and all positions.

    ``training``: normalise with the batch's mean and biased variance, and (when running
    buffers are given) update them in place:
    running_mean <- (1 - m) running_mean + m mean,
    running_var  <- (1 - m) running_var + m var * n / (n - 1)   (the unbiased variance).
    Otherwise normalise with the running statistics: y = x * scale + shift, an affine map
    with scale = gamma / sqrt(running_var + eps), so dx = dy * scale.

    Backward in training (n = N * prod(spatial), k = gamma * invstd per channel): the two
    per-channel sums the formula needs are beta's and gamma's own gradients,
    sum dxhat = gamma * sum dy and sum dxhat xhat = gamma * sum dy xhat, so
        dx = k * (dy - sum(dy) / n - xhat * sum(dy xhat) / n).

    ``sync`` (SyncBatchNorm): a function summing an array over the processes of a
    distributed job. The batch's statistics are then those of every process's values (n
    and the sums reduced, then the centred squares), and backward reduces the two sums,
    so dx is the gradient of all processes' losses; gamma's and beta's stay local.
    """

    def forward(
        self, x, weight, bias, running_mean, running_var, training, momentum, eps, sync=None
    ):
        xp = self.xp
        einsum = xp.einsum
        n_batch, c = x.shape[0], x.shape[1]
        x3 = x.reshape(n_batch, c, -1)  # (N, C, S): S = all spatial positions
        self.x_shape = x.shape
        self.weight = weight
        self.training = training
        self.sync = sync
        if training:
            n = x3.shape[0] * x3.shape[2]  # values per channel
            sums = einsum("ncs->c", x3)  # (C,)
            if sync is not None:  # SyncBatchNorm: the sums and counts of every process
                both = sync(xp.concatenate([sums, xp.asarray([n], dtype=sums.dtype)]))
                sums, n = both[:c], int(round(float(both[c])))
            mean = sums / n
            xhat = x3 - mean[:, None]  # (N, C, S), centred; becomes xhat
            squares = einsum("ncs,ncs->c", xhat, xhat)
            var = (squares if sync is None else sync(squares)) / n
            invstd = 1.0 / xp.sqrt(var + eps)
            xhat *= invstd[:, None]
            if running_mean is not None:
                running_mean *= 1.0 - momentum
                running_mean += momentum * mean
            if running_var is not None:
                running_var *= 1.0 - momentum
                running_var += (momentum * n / max(n - 1, 1)) * var
            self.xhat, self.invstd, self.n = xhat, invstd, n
            if weight is None:
                y = xhat if bias is None else xhat + bias[:, None]
            else:
                y = xhat * weight[:, None]
                if bias is not None:
                    y += bias[:, None]
            return y.reshape(x.shape)
        # running statistics: one affine map per channel (copies: the buffers may change
        # before backward runs)
        invstd = 1.0 / xp.sqrt(running_var + eps)
        scale = invstd if weight is None else invstd * weight
        shift = -running_mean * scale
        if bias is not None:
            shift = shift + bias
        self.x3, self.mean, self.invstd, self.scale = x3, running_mean.copy(), invstd, scale
        y = x3 * scale[:, None]
        y += shift[:, None]
        return y.reshape(x.shape)

    def backward(self, g):
        einsum = self.xp.einsum
        px, pw, pb = self.parents[:3]
        g3 = g.reshape(self.x_shape[0], self.x_shape[1], -1)  # (N, C, S)
        sum_g = einsum("ncs->c", g3)  # dbeta
        if not self.training:
            dx = g3 * self.scale[:, None] if px is not None else None
            dw = None
            if pw is not None:
                # sum dy * (x - mean) * invstd, without forming x - mean
                dw = (einsum("ncs,ncs->c", g3, self.x3) - self.mean * sum_g) * self.invstd
            return (
                None if dx is None else dx.reshape(self.x_shape),
                dw,
                sum_g if pb is not None else None,
                None,
                None,
                None,
                None,
                None,
            )
        xhat, n = self.xhat, self.n
        sum_g_xhat = einsum("ncs,ncs->c", g3, xhat)  # dgamma
        dx = None
        if px is not None:
            total_g, total_g_xhat = sum_g, sum_g_xhat
            if self.sync is not None:  # the sums over every process's values
                c = sum_g.shape[0]
                both = self.sync(self.xp.concatenate([sum_g, sum_g_xhat]))
                total_g, total_g_xhat = both[:c], both[c:]
            k = self.invstd if self.weight is None else self.invstd * self.weight
            dx = xhat * (-total_g_xhat / n)[:, None]
            dx += g3
            dx -= (total_g / n)[:, None]
            dx *= k[:, None]
            dx = dx.reshape(self.x_shape)
        # gamma and beta: this process's sums (DistributedDataParallel averages them)
        return (
            dx,
            sum_g_xhat if pw is not None else None,
            sum_g if pb is not None else None,
        ) + (None,) * (len(self.parents) - 3)


# ============================================================ layer norm


class LayerNorm(Op):
    """Layer normalisation over the last ``k`` dimensions of x, with weight and bias of
    those dimensions' shape: each sample (every leading index) is one group of
    D = prod(normalized_shape) values."""

    def forward(self, x, weight, bias, k, eps):
        d = 1
        for s in x.shape[x.ndim - k :]:
            d *= s
        x2 = x.reshape(-1, d)  # (M, D): one row per group
        xhat, invstd = _normalize_rows(self.xp, x2, eps)
        self.x_shape, self.xhat, self.invstd = x.shape, xhat, invstd
        self.w = None if weight is None else weight.reshape(d)
        self.w_shape = x.shape[x.ndim - k :] if weight is None else weight.shape
        if self.w is None:
            y = xhat if bias is None else xhat + bias.reshape(d)
        else:
            y = xhat * self.w
            if bias is not None:
                y += bias.reshape(d)
        return y.reshape(x.shape)

    def backward(self, g):
        einsum = self.xp.einsum
        px, pw, pb = self.parents[:3]
        xhat, w = self.xhat, self.w
        g2 = g.reshape(xhat.shape)  # (M, D)
        dw = db = dx = None
        if pw is not None:
            dw = einsum("md,md->d", g2, xhat).reshape(self.w_shape)
        if pb is not None:
            db = einsum("md->d", g2).reshape(self.w_shape)
        if px is not None:
            dxhat = g2 if w is None else g2 * w
            dx = _normalize_rows_backward(self.xp, dxhat, xhat, self.invstd).reshape(self.x_shape)
        return dx, dw, db, None, None


# ============================================================ group norm


class GroupNorm(Op):
    """Group normalisation of x (N, C, *): the C channels are split into G groups, each
    (sample, group) is one group of C/G * prod(spatial) values; weight and bias (C,) are
    per channel."""

    def forward(self, x, weight, bias, groups, eps):
        n_batch, c = x.shape[0], x.shape[1]
        xg = x.reshape(n_batch * groups, -1)  # (N*G, C/G * S): one row per group
        xhat, invstd = _normalize_rows(self.xp, xg, eps)
        self.x_shape, self.xhat, self.invstd, self.weight = x.shape, xhat, invstd, weight
        xhat3 = xhat.reshape(n_batch, c, -1)  # (N, C, S) for the per-channel affine
        if weight is None:
            y = xhat3 if bias is None else xhat3 + bias[:, None]
        else:
            y = xhat3 * weight[:, None]
            if bias is not None:
                y += bias[:, None]
        return y.reshape(x.shape)

    def backward(self, g):
        einsum = self.xp.einsum
        px, pw, pb = self.parents[:3]
        xhat, w = self.xhat, self.weight
        g3 = g.reshape(self.x_shape[0], self.x_shape[1], -1)  # (N, C, S)
        xhat3 = xhat.reshape(g3.shape)
        dw = einsum("ncs,ncs->c", g3, xhat3) if pw is not None else None
        db = einsum("ncs->c", g3) if pb is not None else None
        dx = None
        if px is not None:
            dxhat = g3 if w is None else g3 * w[:, None]
            dx = _normalize_rows_backward(self.xp, dxhat.reshape(xhat.shape), xhat, self.invstd)
            dx = dx.reshape(self.x_shape)
        return dx, dw, db, None, None
