"""``unfold`` (im2col) and ``fold`` (col2im) as ops on (N, C, H, W) images, each the
other's adjoint, so each one's backward is the other one.

**Unfold** copies each sliding window of a padded (N, C, H, W) input into a column,
(N, C kh kw, L) with L the number of windows; **fold** sums columns back into an image.
The windows and slice-adds are the backend's (``windows``, ``col2im``).
"""

from __future__ import annotations

from ..function import Op


def unfold_geometry(name, shape, kernel, dilation, padding, stride):
    """Number of windows (Lh, Lw) of an (N, C, H, W) input, with torch's error when
    there are none."""
    H, W = shape[-2:]
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = kernel, dilation, padding, stride
    Lh = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    Lw = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if Lh <= 0 or Lw <= 0:
        raise RuntimeError(
            f"{name}: given input with spatial size ({H}, {W}), kernel_size {kernel}, "
            f"dilation {dilation}, padding {padding} and stride {stride}, the calculated "
            f"shape of the array of sliding blocks is ({Lh}, {Lw}), but its components "
            f"must be at least one"
        )
    return Lh, Lw


def im2col(backend, x, kernel, dilation, padding, stride):
    """(N, C, H, W) -> (N, C kh kw, Lh Lw): each padded window as a column."""
    N, C, H, W = x.shape
    (ph, pw) = padding
    Lh, Lw = unfold_geometry("unfold", x.shape, kernel, dilation, padding, stride)
    x_padded = backend.xp.zeros((C, N, H + 2 * ph, W + 2 * pw), x.dtype)
    x_padded[:, :, ph : ph + H, pw : pw + W] = x.transpose(1, 0, 2, 3)
    cols = backend.windows(x_padded, kernel, (Lh, Lw), stride, dilation)  # (C, kh, kw, N, Lh, Lw)
    return cols.transpose(3, 0, 1, 2, 4, 5).reshape(N, C * kernel[0] * kernel[1], Lh * Lw)


def col2im_image(backend, cols, output_size, kernel, dilation, padding, stride):
    """(N, C kh kw, L) -> (N, C, H, W): every column summed back onto its window."""
    N, CK, L = cols.shape
    (kh, kw), (H, W), (ph, pw) = kernel, output_size, padding
    C = CK // (kh * kw)
    Lh, Lw = unfold_geometry("fold", (H, W), kernel, dilation, padding, stride)
    dcols = cols.reshape(N, C, kh, kw, Lh, Lw).transpose(1, 2, 3, 0, 4, 5)
    full = backend.xp.zeros((C, N, H + 2 * ph, W + 2 * pw), cols.dtype)
    backend.col2im(dcols, full, stride, dilation)
    return full[:, :, ph : ph + H, pw : pw + W].transpose(1, 0, 2, 3)


class Unfold(Op):
    """y = im2col(x); dx = col2im(g) (:func:`im2col`, :func:`col2im_image`)."""

    def forward(self, x, kernel, dilation, padding, stride):
        self.args, self.x_shape = (kernel, dilation, padding, stride), x.shape
        unbatched = x.ndim == 3
        y = im2col(self.backend, x[None] if unbatched else x, *self.args)
        return y[0] if unbatched else y

    def backward(self, g):
        unbatched = len(self.x_shape) == 3
        dx = col2im_image(self.backend, g[None] if unbatched else g, self.x_shape[-2:], *self.args)
        return (dx[0] if unbatched else dx), None, None, None, None


class Fold(Op):
    """y = col2im(x); dx = im2col(g), the adjoint."""

    def forward(self, x, output_size, kernel, dilation, padding, stride):
        self.args, self.unbatched = (kernel, dilation, padding, stride), x.ndim == 2
        y = col2im_image(self.backend, x[None] if self.unbatched else x, output_size, *self.args)
        return y[0] if self.unbatched else y

    def backward(self, g):
        dx = im2col(self.backend, g[None] if self.unbatched else g, *self.args)
        return (dx[0] if self.unbatched else dx), None, None, None, None, None
