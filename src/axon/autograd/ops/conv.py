"""The convolution op (conv1d / conv2d): im2col plus one matrix product, with its backward.

A backend with a fused kernel (``Backend.conv2d``: the CPU's, with its scratch buffers,
batch halves on two threads and cache-sized chunks, is in ``axon.backend.numpy.conv2d``)
runs the passes; another runs them here with its ``windows``, ``matmul`` and ``col2im``.

**Layout.** The convolution and pooling ops work on the channel-major view
``xc = x.transpose(1, 0, 2, 3)`` of shape (C, N, H, W) and hand back their result as the
(N, C, H', W') transposed view of a C-contiguous (C, N, H', W') array. The values and
shapes are PyTorch's; only the memory order differs, and it is the order the next layer
wants: the matrix product of a convolution produces (O, N * H' * W') directly, and the
im2col of the next convolution reads whole (N, H, W) blocks per channel. A
conv -> relu -> pool -> conv chain never copies to change layout.

**Convolution** is im2col plus one matrix product (Needle, d2l). With padded input
x_padded, stride s, dilation d and a kh x kw kernel::

    cols[c, i, j, n, ho, wo] = x_padded[c, n, ho s + i d, wo s + j d]  (kh kw strided copies)
    out[o, (n, ho, wo)] = sum_(c, i, j) W[o, (c, i, j)] cols[(c, i, j), (n, ho, wo)] + b[o]

and backward, with g of shape (O, N Ho Wo)::

    dW = g cols^T,   db = sum of g over (n, ho, wo),   dcols = W^T g,
    dx = col2im(dcols)                                   (kh kw strided slice-adds)

Groups split C and O into G blocks: one batched product over the G blocks.
"""

from __future__ import annotations

from ..function import Op
from ..tensor import Tensor
from .spatial import check_input_dims, to_4d


class Conv(Op):
    """conv1d / conv2d: im2col plus one matrix product (see the module doc for the formulas).

    ``padding`` is ((top, bottom), (left, right)) in 2-D terms; 1-D inputs (N, C, L) run
    as (N, C, 1, L) and unbatched inputs as a batch of one. The input's gradient is skipped
    when it needs none (a first layer), the weight's when it is frozen. The passes are the
    backend's fused kernel's (``Backend.conv2d``) where it has one.
    """

    def forward(self, x, w, b, stride, padding, dilation, groups, name):
        nd = 1 if name == "conv1d" else 2
        check_input_dims(name, x, nd)
        if w.ndim != nd + 2:
            raise RuntimeError(
                f"{name}: expected a {nd + 2}-D weight (out_channels, in_channels / groups, "
                f"*kernel_size), got weight of shape {w.shape}"
            )
        if x.dtype.kind != "f":
            raise RuntimeError(f"{name}: expected a floating point input, got {x.dtype}")
        if x.dtype != w.dtype or (b is not None and b.dtype != x.dtype):
            raise RuntimeError(
                f"{name}: input ({x.dtype}), weight ({w.dtype})"
                + (f" and bias ({b.dtype})" if b is not None else "")
                + " must have the same dtype"
            )
        self.x_shape, self.w_shape, self.nd = x.shape, w.shape, nd
        x, w = to_4d(x, nd), w.reshape(w.shape[:2] + (1,) * (2 - nd) + w.shape[2:])
        N, C, H, W = x.shape
        O, Cg, kh, kw = w.shape
        G = groups
        if O % G:
            raise RuntimeError(
                f"{name}: the weight's {O} output channels (weight shape {self.w_shape}) are "
                f"not divisible by groups={G}"
            )
        if C != Cg * G:
            raise RuntimeError(
                f"{name}: input has {C} channels but the weight expects {Cg * G} (weight shape "
                f"{self.w_shape}" + (f", groups={G})" if G > 1 else ")")
            )
        if b is not None and b.shape != (O,):
            raise RuntimeError(
                f"{name}: bias of shape {b.shape} does not match the {O} output channels of "
                f"the weight (shape {self.w_shape})"
            )
        (pt, pb), (pl, pr) = padding
        (sh, sw), (dh, dw) = stride, dilation
        Hp, Wp = H + pt + pb, W + pl + pr
        Ho = (Hp - dh * (kh - 1) - 1) // sh + 1
        Wo = (Wp - dw * (kw - 1) - 1) // sw + 1
        if Ho <= 0 or Wo <= 0:
            size, pad_size, kern = (H, W), (Hp, Wp), (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
            if nd == 1:
                size, pad_size, kern = size[1:], pad_size[1:], kern[1:]
            raise RuntimeError(
                f"{name}: the input's spatial size {size} (padded: {pad_size}) is smaller "
                f"than the (dilated) kernel {kern} of the weight of shape {self.w_shape}: "
                f"output size too small (input shape {self.x_shape})"
            )
        K, L, Og = Cg * kh * kw, N * Ho * Wo, O // G

        self.geometry = (N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw)
        self.stride, self.dilation = stride, dilation
        kernel = self.backend.conv2d
        out = self._forward(x, w, b) if kernel is None else kernel.forward(self, x, w, b)
        y = out.transpose(1, 0, 2, 3)  # (N, O, Ho, Wo), channel-major memory
        return y.reshape(self._out_shape(y.shape))

    def _forward(self, x, w, b):
        """The (O, N, Ho, Wo) output by the backend's windows and one product per group."""
        N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw = self.geometry
        xc = x.transpose(1, 0, 2, 3)  # (C, N, H, W)
        x_padded = self.backend.padded(xc, (pt, pl), (Hp, Wp), 0, "conv-pad")
        windows = self.backend.windows(x_padded, (kh, kw), (Ho, Wo), self.stride, self.dilation)
        cols = self.xp.ascontiguousarray(windows).reshape(G, K, L)
        wg = w.reshape(G, Og, K)  # (G, O / G, Cg kh kw)
        out = self.backend.matmul(wg, cols)  # (G, O / G, N Ho Wo)
        if b is not None:
            out += b.reshape(G, Og, 1)
        if self.parents is not None:  # the columns for dW, the weight for dx
            self.cols = cols if self.parents[1] is not None else None
            self.wg = wg if self.parents[0] is not None else None
        return out.reshape(G * Og, N, Ho, Wo)

    def _out_shape(self, shape4: tuple) -> tuple:
        """(N, O, Ho, Wo) back to the caller's rank: drop H = 1 for 1-D, N for unbatched."""
        shape = shape4[:2] + shape4[3:] if self.nd == 1 else shape4
        return shape[1:] if len(self.x_shape) == len(shape) - 1 else shape

    def backward(self, g):
        kernel = self.backend.conv2d
        if kernel is None:
            gxc, gw, gb = self._backward(g)
        else:
            self.leaf_weight = isinstance(self.parents[1], Tensor)  # may defer its gradient
            gxc, gw, gb = kernel.backward(self, g)
        gx = None if gxc is None else gxc.transpose(1, 0, 2, 3).reshape(self.x_shape)
        return gx, gw, gb, None, None, None, None, None

    def _backward(self, g):
        """(dx as a (C, N, H, W) view or None, dW, db) of :meth:`_forward`."""
        px, pw, pb = self.parents[:3]
        N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw = self.geometry
        gc = g.reshape(N, G * Og, Ho, Wo).transpose(1, 0, 2, 3).reshape(G, Og, L)
        gx = gw = gb = None
        if pw is not None:
            gw = self.backend.matmul(gc, self.cols.transpose(0, 2, 1)).reshape(self.w_shape)
        if pb is not None:
            gb = gc.reshape(G * Og, L).sum(axis=1)
        if px is not None:
            dcols = self.backend.matmul(self.wg.transpose(0, 2, 1), gc)  # (G, K, N Ho Wo)
            dx_padded = self.xp.zeros((C, N, Hp, Wp), g.dtype)
            dcols = dcols.reshape(C, kh, kw, N, Ho, Wo)
            self.backend.col2im(dcols, dx_padded, self.stride, self.dilation)
            gx = dx_padded[:, :, pt : pt + H, pl : pl + W]
        return gx, gw, gb
