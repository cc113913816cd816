"""Shape and movement ops: reshape, permute, expand, repeat, cat, stack, pad."""

from __future__ import annotations

from ..function import Op


class Reshape(Op):
    def forward(self, a, shape):
        self.in_shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise RuntimeError(
                f"reshape: shape {tuple(shape)} is invalid for a tensor of shape {a.shape} "
                f"({a.size} elements)"
            ) from None

    def backward(self, g):
        return g.reshape(self.in_shape), None


class Permute(Op):
    def forward(self, a, axes):
        self.axes = axes
        return a.transpose(axes)

    def backward(self, g):
        inv = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inv[ax] = i
        return g.transpose(inv), None


class Expand(Op):
    def forward(self, a, shape):
        try:
            return self.xp.broadcast_to(a, shape)
        except ValueError:
            raise RuntimeError(f"expand: cannot expand shape {a.shape} to {shape}") from None

    def backward(self, g):
        return g, None  # the engine sums it back to the input's shape


class Repeat(Op):
    def forward(self, a, reps):
        self.in_shape = a.shape
        if len(reps) < a.ndim:
            raise RuntimeError(
                f"repeat: {len(reps)} repeats given for a tensor of {a.ndim} dimensions"
            )
        self.reps = reps
        return self.xp.tile(a, reps)

    def backward(self, g):
        lead = len(self.reps) - len(self.in_shape)
        shape = (1,) * lead + self.in_shape
        split = []
        for r, s in zip(self.reps, shape, strict=True):
            split += [r, s]
        g = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return g.reshape(self.in_shape), None


class Cat(Op):
    def forward(self, dim, *arrays):
        self.dim = dim
        self.sizes = [a.shape[dim] for a in arrays]
        try:
            return self.xp.concatenate(arrays, axis=dim)
        except ValueError:
            raise RuntimeError(
                f"cat: tensors of shapes {[a.shape for a in arrays]} do not match outside dim {dim}"
            ) from None

    def backward(self, g):
        xp = self.xp
        bounds = list(xp.cumsum(self.sizes)[:-1])
        return (None, *xp.split(g, bounds, axis=self.dim))


class Stack(Op):
    def forward(self, dim, *arrays):
        self.dim = dim
        try:
            return self.xp.stack(arrays, axis=dim)
        except ValueError:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, got {[a.shape for a in arrays]}"
            ) from None

    def backward(self, g):
        n = g.shape[self.dim]
        return (None, *(self.xp.take(g, i, axis=self.dim) for i in range(n)))


class Pad(Op):
    """Constant padding with PyTorch's ``pad`` order: (left, right, top, bottom, ...)
    from the last dimension backwards."""

    def forward(self, a, pad, value):
        xp = self.xp
        if len(pad) % 2 or len(pad) // 2 > a.ndim:
            raise RuntimeError(f"pad: {pad} is not a valid padding for shape {a.shape}")
        width = [(0, 0)] * a.ndim
        for i in range(len(pad) // 2):
            width[a.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        self.width = width
        self.shape = a.shape
        if any(lo < 0 or hi < 0 for lo, hi in width):  # negative padding crops
            pos = [(max(lo, 0), max(hi, 0)) for lo, hi in width]
            out = xp.pad(a, pos, constant_values=value)
            sl = tuple(
                slice(-min(lo, 0), out.shape[d] + min(hi, 0)) for d, (lo, hi) in enumerate(width)
            )
            self.crop = (pos, sl)
            return out[sl]
        self.crop = None
        return xp.pad(a, width, constant_values=value)

    def backward(self, g):
        if self.crop is not None:
            pos, sl = self.crop
            full_shape = tuple(s + lo + hi for s, (lo, hi) in zip(self.shape, pos, strict=True))
            full = self.xp.zeros(full_shape, dtype=g.dtype)
            full[sl] = g
            g = full
            width = pos
        else:
            width = self.width
        sl = tuple(slice(lo, g.shape[d] - hi) for d, (lo, hi) in enumerate(width))
        return g[sl], None, None
