"""The transposed convolution op (``conv_transpose1d/2d``), the adjoint of a convolution,
with its backward; its im2col and col2im are its backend's (``windows``, ``col2im``).

Where a convolution gathers each output from a window of inputs, a transposed
convolution scatters each input into a window of outputs. With weight W of shape
(C_in, C_out / G, kh, kw), per group::

    cols = W^T x                       (C_out kh kw, N H W): one product
    full = col2im(cols)         full[o, n, h s + i d, w s + j d] += cols[(o, i, j), (n, h, w)]
    y = full[..., p : p + H_out, ...] + b

so H_out = (H - 1) s - 2 p + d (kh - 1) + output_padding + 1. Backward runs the other way:
the gradient, put back in a zero ``full`` frame, is a convolution input::

    dcols = im2col(g)                  (the windows a convolution with W would read)
    dx = W dcols,   dW = x dcols^T,   db = sum of g over (n, h, w)
"""

from __future__ import annotations

from ..function import Op
from .spatial import check_input_dims, to_4d


def _rank_back(y4, nd: int, x_shape: tuple):
    """(N, C, H, W) back to the caller's rank: drop H = 1 for 1-D, N for unbatched."""
    y = y4[:, :, 0] if nd == 1 else y4
    return y[0] if len(x_shape) == y.ndim - 1 else y


class ConvTranspose(Op):
    """conv_transpose1d / conv_transpose2d (see the module doc for the formulas).

    ``stride``, ``padding``, ``output_padding`` and ``dilation`` are pairs in 2-D terms
    (a 1-D input runs as height 1); an unbatched input runs as a batch of one."""

    def forward(self, x, w, b, stride, padding, output_padding, dilation, groups, name):
        nd = 1 if name.endswith("1d") else 2
        check_input_dims(name, x, nd)
        if w.ndim != nd + 2:
            raise RuntimeError(
                f"{name}: expected a {nd + 2}-D weight (in_channels, out_channels / groups, "
                f"*kernel_size), got weight of shape {w.shape}"
            )
        if x.dtype.kind != "f" or x.dtype != w.dtype or (b is not None and b.dtype != x.dtype):
            raise RuntimeError(
                f"{name}: input ({x.dtype}), weight ({w.dtype})"
                + (f" and bias ({b.dtype})" if b is not None else "")
                + " must have the same floating dtype"
            )
        self.x_shape, self.w_shape, self.nd = x.shape, w.shape, nd
        x4 = to_4d(x, nd)
        w4 = w.reshape(w.shape[:2] + (1,) * (2 - nd) + w.shape[2:])
        N, C, H, W = x4.shape
        Cin, Og, kh, kw = w4.shape
        G = groups
        if C != Cin:
            raise RuntimeError(
                f"{name}: input of shape {self.x_shape} has {C} channels but the weight of "
                f"shape {self.w_shape} expects {Cin} (dim 0 of a transposed convolution's "
                f"weight)"
            )
        if Cin % G:
            raise RuntimeError(
                f"{name}: the weight's {Cin} input channels (weight shape {self.w_shape}) "
                f"are not divisible by groups={G}"
            )
        O = Og * G
        if b is not None and b.shape != (O,):
            raise RuntimeError(
                f"{name}: bias of shape {b.shape} does not match the {O} output channels of "
                f"the weight (shape {self.w_shape}, groups={G})"
            )
        (sh, sw), (ph, pw), (oh, ow), (dh, dw) = stride, padding, output_padding, dilation
        Hf = (H - 1) * sh + dh * (kh - 1) + 1 + oh  # the uncropped output ("full")
        Wf = (W - 1) * sw + dw * (kw - 1) + 1 + ow
        Ho, Wo = Hf - 2 * ph, Wf - 2 * pw
        if Ho <= 0 or Wo <= 0:
            out = (Ho, Wo)[2 - nd :]
            raise RuntimeError(
                f"{name}: given input of shape {self.x_shape}, weight of shape {self.w_shape} "
                f"and padding {tuple(padding)[2 - nd :]}, the output size {out} is too small"
            )
        Cg, K = Cin // G, Og * kh * kw
        xg = x4.transpose(1, 0, 2, 3).reshape(G, Cg, N * H * W)  # (G, C / G, N H W)
        wg = w4.reshape(G, Cg, K)  # (G, C / G, O / G kh kw)
        cols = self.backend.matmul(wg.transpose(0, 2, 1), xg)  # (G, O / G kh kw, N H W)
        full = self.xp.zeros((O, N, Hf, Wf), x.dtype)
        self.backend.col2im(cols.reshape(O, kh, kw, N, H, W), full, (sh, sw), (dh, dw))
        out = full[:, :, ph : ph + Ho, pw : pw + Wo]  # (O, N, Ho, Wo)
        if b is not None:
            out = out + b[:, None, None, None]
        self.geometry = (N, C, H, W, G, Cg, Og, kh, kw, Hf, Wf, Ho, Wo, ph, pw)
        self.stride, self.dilation = (sh, sw), (dh, dw)
        if self.parents is not None:
            self.xg, self.wg = xg, wg
        return _rank_back(out.transpose(1, 0, 2, 3), nd, self.x_shape)

    def backward(self, g):
        px, pw_, pb = self.parents[:3]
        N, C, H, W, G, Cg, Og, kh, kw, Hf, Wf, Ho, Wo, ph, pw = self.geometry
        O = G * Og
        gc = g.reshape(N, O, Ho, Wo).transpose(1, 0, 2, 3)  # (O, N, Ho, Wo)
        gfull = self.xp.zeros((O, N, Hf, Wf), g.dtype)
        gfull[:, :, ph : ph + Ho, pw : pw + Wo] = gc
        # the windows a convolution with W would read: (O / G kh kw, N H W) per group
        dcols = self.backend.windows(gfull, (kh, kw), (H, W), self.stride, self.dilation)
        dcols = self.xp.ascontiguousarray(dcols).reshape(G, Og * kh * kw, N * H * W)
        gx = gw = gb = None
        if px is not None:
            dx = self.backend.matmul(self.wg, dcols).reshape(C, N, H, W)
            gx = dx.transpose(1, 0, 2, 3).reshape(self.x_shape)
        if pw_ is not None:
            gw = self.backend.matmul(self.xg, dcols.transpose(0, 2, 1)).reshape(self.w_shape)
        if pb is not None:
            gb = gc.sum(axis=(1, 2, 3))
        return gx, gw, gb, None, None, None, None, None, None
