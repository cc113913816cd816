"""Fused recurrent ops: a whole sequence of one layer in one direction (Elman RNN, LSTM, GRU)
is ONE graph node, with its own backward through time; the layers are in ``axon.nn.rnn``.

Composing an LSTM from primitive ops records over a thousand graph nodes per step; these
ops record one per layer and direction, and keep the work in few, large products:

- the input projection of all steps is one matrix product, ``X W_ih^T + b`` of shape
  (L, N, G*H) for G gates;
- each step does one product ``h W_hh^T`` for all gates at once and applies the sigmoid
  to one contiguous block of gates;
- what backward needs (gate activations, c, h per step) goes into (L, N, ...) arrays
  allocated once per call;
- backward walks the steps in reverse carrying dh (and dc), storing the gradients of
  the gate pre-activations ``dZ`` for every step; then the weight gradients are single
  products over all steps: ``dW_hh = dZ^T H_prev``, ``dW_ih = dZ^T X``, ``dX = dZ W_ih``.
  Each step works in place on small (N, H) blocks that stay in cache (computing the
  chain-rule factors for all steps at once before the loop is slower: it streams
  several (L, N, H) temporaries through memory).
- every product goes through the backend's ``matmul`` (on the CPU, one-thread BLAS: the
  same bits at any thread count), the step products into preallocated ``out=`` blocks.

Conventions shared by the three ops:

- ``x`` is (L, N, I) (time first), ``h0`` / ``c0`` are (N, H) or ``None`` (zeros), the
  weights are PyTorch's (``w_ih`` (G*H, I), ``w_hh`` (G*H, H), biases (G*H,) or ``None``).
- ``reverse`` runs from step L-1 down to 0 (the backward half of a bidirectional layer).
- ``batch_sizes`` (``None`` or L ints, non-increasing) gives variable-length batches
  sorted by decreasing length: at step t only the first ``batch_sizes[t]`` sequences
  are real. The others keep their state unchanged (so padded steps change neither
  outputs nor gradients) and their output there is 0, as ``pad_packed_sequence`` gives.
  In reverse, a sequence starts from h0 at its own last real step.
- The result is ONE array of shape (L + S, N, H): rows [0, L) are the outputs h_t,
  row L is the final hidden state h_n and, for the LSTM, row L+1 the final cell c_n.
  (An op has a single output; the module slices the three parts out of it.)
- The state history ``hs`` has L+1 rows in time order: going forward, ``hs[0] = h0``
  and the state after step t is ``hs[t+1]``; in reverse, ``hs[L] = h0`` and the state
  after step t is ``hs[t]``. Either way the L previous states are one contiguous slice,
  which is what the recurrent weight gradient's single product needs.
"""

from __future__ import annotations

from ..function import Op


def sigmoid_(xp, z):
    """sigma(z) = (1 + tanh(z / 2)) / 2, in place (``z`` of namespace ``xp``): exact, and
    stable for any z (no exp overflow for large negative z)."""
    xp.multiply(z, 0.5, out=z)
    xp.tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


def _transposed(xp, w):
    """W^T as a C-contiguous copy: OpenBLAS multiplies ``h @ W^T`` faster with it than
    with the transposed view (and the copy is made once per sequence)."""
    return xp.ascontiguousarray(w.T)


class _Recurrent(Op):
    """What the three sequence ops share: setup, step order, the input projection and
    the final gradient products."""

    def _setup(self, x, h0, w_ih, w_hh, reverse, batch_sizes):
        xp = self.xp
        L, N, _ = x.shape
        H = w_hh.shape[1]
        self.L, self.N, self.H = L, N, H
        self.reverse, self.batch_sizes = reverse, batch_sizes
        # packed batches leave rows untouched at padded steps: start them at 0
        alloc = xp.empty if batch_sizes is None else xp.zeros
        self.alloc = alloc
        hs = alloc((L + 1, N, H), dtype=w_hh.dtype)  # state history, see module doc
        hs[self._h0_row()] = 0 if h0 is None else h0
        self.hs = hs
        return L, N, H

    def _h0_row(self) -> int:
        return self.L if self.reverse else 0

    def _rows(self, t: int) -> tuple[int, int]:
        """(row of the previous state, row of the new state) of step t in ``hs``."""
        return (t + 1, t) if self.reverse else (t, t + 1)

    def _steps(self, backward: bool = False) -> range:
        """The order in which forward visits the steps (reversed for backward)."""
        L = self.L
        forward_order = not self.reverse
        if backward:
            forward_order = not forward_order
        return range(L) if forward_order else range(L - 1, -1, -1)

    def _active(self, t: int) -> int:
        """How many sequences are real at step t (all N without ``batch_sizes``)."""
        return self.N if self.batch_sizes is None else int(self.batch_sizes[t])

    def _h_prev_all(self):
        """(L, N, H): the state each step started from (a view of ``hs``)."""
        return self.hs[1:] if self.reverse else self.hs[:-1]

    def _outputs(self, n_states: int, *finals):
        """The op's result: outputs h_t (0 at padded steps), then the final states."""
        xp = self.xp
        L, N, H = self.L, self.N, self.H
        out = xp.empty((L + n_states, N, H), dtype=self.hs.dtype)
        out[:L] = self.hs[:L] if self.reverse else self.hs[1:]
        if self.batch_sizes is not None:
            for t in range(L):
                out[t, int(self.batch_sizes[t]) :] = 0
        for k, final in enumerate(finals):
            out[L + k] = final
        return out

    def _project(self, x, w_ih, bias):
        """All steps' input projections at once: X W_ih^T + bias, shape (L, N, G*H)."""
        L, N, I = x.shape
        self.x_flat = x.reshape(L * N, I)  # (L*N, I), kept for dW_ih = dZ^T X
        z = self.backend.matmul(self.x_flat, _transposed(self.xp, w_ih))  # (L*N, G*H)
        if bias is not None:
            z += bias
        return z.reshape(L, N, -1)  # (L, N, G*H)

    def _weight_grads(self, dz_x, dz_h, w_ih):
        """Gradients of x, W_ih and W_hh from the per-step gradients of the input part
        (``dz_x``) and of the recurrent part (``dz_h``) of the pre-activations, both
        (L, N, G*H): one matrix product each, over all steps."""
        L, N, H = self.L, self.N, self.H
        gx_flat = dz_x.reshape(L * N, -1)  # (L*N, G*H)
        gh_flat = dz_h.reshape(L * N, -1)  # (L*N, G*H)
        dx = None
        if self.parents[0] is not None:
            dx = self.backend.matmul(gx_flat, w_ih).reshape(L, N, -1)
        dw_ih = self.backend.matmul(gx_flat.T, self.x_flat)  # (G*H, I)
        dw_hh = self.backend.matmul(gh_flat.T, self._h_prev_all().reshape(L * N, H))  # (G*H, H)
        return dx, dw_ih, dw_hh, gx_flat, gh_flat


# ============================================================ Elman RNN


class RNNSeq(_Recurrent):
    """A whole sequence of the Elman RNN:

        h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),  act = tanh or relu

    Backward, with dh_t the gradient reaching h_t (from the output and from step t+1):
    dz_t = dh_t * act'(z_t) (1 - h_t^2 for tanh, [h_t > 0] for relu) and
    dh_{t-1} = dz_t W_hh.
    """

    def forward(self, x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity, reverse, batch_sizes):
        xp, matmul = self.xp, self.backend.matmul
        L, N, H = self._setup(x, h0, w_ih, w_hh, reverse, batch_sizes)
        bias = None if b_ih is None else b_ih + b_hh
        z = self._project(x, w_ih, bias)  # (L, N, H) input part of each step
        hs, w_hh_t, relu = self.hs, _transposed(xp, w_hh), nonlinearity == "relu"
        for t in self._steps():
            prev, new = self._rows(t)
            b = self._active(t)
            if b < N:  # finished (or not yet started) sequences keep their state
                hs[new, b:] = hs[prev, b:]
            h = hs[new, :b]
            matmul(hs[prev, :b], w_hh_t, out=h)
            h += z[t, :b]
            if relu:
                xp.maximum(h, 0, out=h)
            else:
                xp.tanh(h, out=h)
        self.w_ih, self.w_hh, self.relu = w_ih, w_hh, relu
        self.has_bias = b_ih is not None
        return self._outputs(1, hs[0] if reverse else hs[L])

    def backward(self, g):
        xp, matmul = self.xp, self.backend.matmul
        L = self.L
        states = self.hs[:L] if self.reverse else self.hs[1:]  # (L, N, H) h_t
        # act'(z_t) for all steps at once
        slope = (states > 0).astype(states.dtype) if self.relu else 1 - states * states
        dz = self.alloc(states.shape, dtype=states.dtype)  # (L, N, H)
        dh = g[L].copy()  # gradient reaching the current state
        w_hh = self.w_hh
        for t in self._steps(backward=True):
            b = self._active(t)
            dh_b = dh[:b]
            dh_b += g[t, :b]
            xp.multiply(dh_b, slope[t, :b], out=dz[t, :b])
            matmul(dz[t, :b], w_hh, out=dh_b)
        dx, dw_ih, dw_hh, flat, _ = self._weight_grads(dz, dz, self.w_ih)
        db = flat.sum(axis=0) if self.has_bias else None
        dh0 = dh if self.parents[1] is not None else None
        return dx, dh0, dw_ih, dw_hh, db, db, None, None, None


# ============================================================ LSTM


def _lstm_order(xp, H: int):
    """Row indices that reorder PyTorch's gate blocks (i, f, g, o) into (o, i, f, g), so
    the three sigmoid gates (o, i, f) are one contiguous block: one sigmoid in forward,
    one s (1 - s) in backward."""
    idx = xp.arange(4 * H).reshape(4, H)
    return idx[[3, 0, 1, 2]].reshape(-1)


class LSTMSeq(_Recurrent):
    """A whole sequence of the LSTM (PyTorch's equations, gates i, f, g, o):

        i_t = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
        f_t = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        o_t = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    Backward through time, with dh_t and dc_t the gradients reaching h_t and c_t:

        dc_t += dh_t * o_t * (1 - tanh(c_t)^2)
        dz_o = dh_t * tanh(c_t) * o_t (1 - o_t)     dz_i = dc_t * g_t * i_t (1 - i_t)
        dz_f = dc_t * c_{t-1} * f_t (1 - f_t)       dz_g = dc_t * i_t * (1 - g_t^2)
        dh_{t-1} = dz_t W_hh,   dc_{t-1} = dc_t * f_t

    Inside, the gate blocks are kept in the order (o, i, f, g) (see ``_lstm_order``); the
    weight gradients are put back into PyTorch's order at the end.
    """

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes):
        xp, matmul = self.xp, self.backend.matmul
        L, N, H = self._setup(x, h0, w_ih, w_hh, reverse, batch_sizes)
        order = _lstm_order(xp, H)
        w_ih, w_hh = w_ih[order], w_hh[order]  # (4H, I), (4H, H) in (o, i, f, g)
        bias = None if b_ih is None else (b_ih + b_hh)[order]
        a = self._project(x, w_ih, bias)  # (L, N, 4H): pre-activations, then gates
        hs = self.hs
        cs = self.alloc(hs.shape, dtype=hs.dtype)  # cell history, same rows as hs
        cs[self._h0_row()] = 0 if c0 is None else c0
        tanh_c = self.alloc((L, N, H), dtype=hs.dtype)
        rec = xp.empty((N, 4 * H), dtype=hs.dtype)  # scratch for h W_hh^T
        ig = xp.empty((N, H), dtype=hs.dtype)  # scratch for i * g
        w_hh_t = _transposed(xp, w_hh)  # (H, G*H)
        fused = self.backend.kernels()  # one kernel per step's pointwise part (a GPU)
        for t in self._steps():
            prev, new = self._rows(t)
            b = self._active(t)
            if b < N:
                hs[new, b:] = hs[prev, b:]
                cs[new, b:] = cs[prev, b:]
            gates = a[t, :b]  # (b, 4H)
            if fused is not None:  # the sum, activations, cell and output in one kernel
                r = matmul(hs[prev, :b], w_hh_t, out=rec[:b])
                fused.lstm_forward(gates, r, cs[prev, :b], cs[new, :b], tanh_c[t, :b], hs[new, :b])
                continue
            gates += matmul(hs[prev, :b], w_hh_t, out=rec[:b])
            sigmoid_(xp, gates[:, : 3 * H])  # o, i, f
            xp.tanh(gates[:, 3 * H :], out=gates[:, 3 * H :])  # g
            o, i, f, g = (
                gates[:, :H],
                gates[:, H : 2 * H],
                gates[:, 2 * H : 3 * H],
                gates[:, 3 * H :],
            )
            c = cs[new, :b]
            xp.multiply(f, cs[prev, :b], out=c)
            c += xp.multiply(i, g, out=ig[:b])
            xp.tanh(c, out=tanh_c[t, :b])
            xp.multiply(o, tanh_c[t, :b], out=hs[new, :b])
        self.a, self.cs, self.tanh_c = a, cs, tanh_c
        self.order, self.w_ih, self.w_hh = order, w_ih, w_hh
        self.has_bias = b_ih is not None
        last = 0 if reverse else L
        return self._outputs(2, hs[last], cs[last])

    def backward(self, g):
        xp, matmul = self.xp, self.backend.matmul
        L, N, H = self.L, self.N, self.H
        a = self.a.reshape(L, N, 4, H)  # gates (o, i, f, g) of every step
        tanh_c = self.tanh_c
        c_prev_all = self.cs[1:] if self.reverse else self.cs[:-1]  # (L, N, H)
        dz = self.alloc((L, N, 4, H), dtype=a.dtype)  # pre-activation grads, all steps
        dh, dc = g[L].copy(), g[L + 1].copy()  # gradients reaching the current h, c
        w_hh = self.w_hh
        d_sig = xp.empty((N, 3, H), dtype=a.dtype)  # scratch: sigma' of o, i, f
        tmp = xp.empty((N, H), dtype=a.dtype)
        fused = self.backend.kernels()
        for t in self._steps(backward=True):
            b = self._active(t)
            dh_b, dc_b, tmp_b, z = dh[:b], dc[:b], tmp[:b], dz[t, :b]
            o, i, f, gg = a[t, :b, 0], a[t, :b, 1], a[t, :b, 2], a[t, :b, 3]
            tc = tanh_c[t, :b]
            if fused is not None:
                fused.lstm_backward(a[t, :b], tc, c_prev_all[t, :b], g[t, :b], dh_b, dc_b, z)
                matmul(z.reshape(b, 4 * H), w_hh, out=dh_b)
                continue
            dh_b += g[t, :b]
            # dc += dh * o * (1 - tanh(c)^2)
            xp.multiply(tc, tc, out=tmp_b)
            xp.subtract(1, tmp_b, out=tmp_b)
            tmp_b *= o
            tmp_b *= dh_b
            dc_b += tmp_b
            # dz_o, dz_i, dz_f = (dh tanh(c), dc g, dc c_prev) * sigma', sigma' = s (1 - s)
            xp.multiply(dh_b, tc, out=z[:, 0])
            xp.multiply(dc_b, gg, out=z[:, 1])
            xp.multiply(dc_b, c_prev_all[t, :b], out=z[:, 2])
            s = a[t, :b, :3]
            ds = d_sig[:b]
            xp.subtract(1, s, out=ds)
            ds *= s
            z[:, :3] *= ds
            # dz_g = dc i (1 - g^2)
            xp.multiply(gg, gg, out=tmp_b)
            xp.subtract(1, tmp_b, out=tmp_b)
            tmp_b *= i
            xp.multiply(dc_b, tmp_b, out=z[:, 3])
            # on to step t-1
            dc_b *= f
            matmul(z.reshape(b, 4 * H), w_hh, out=dh_b)
        dx, dw_ih, dw_hh, flat, _ = self._weight_grads(dz, dz, self.w_ih)
        unorder = xp.argsort(self.order)  # back to PyTorch's (i, f, g, o)
        db = flat.sum(axis=0)[unorder] if self.has_bias else None
        _, ph0, pc0, *_ = self.parents
        return (
            dx,
            dh if ph0 is not None else None,
            dc if pc0 is not None else None,
            dw_ih[unorder],
            dw_hh[unorder],
            db,
            db,
            None,
            None,
        )


# ============================================================ GRU


class GRUSeq(_Recurrent):
    """A whole sequence of the GRU (PyTorch's equations, gates r, z, n):

        r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    Backward, with dh_t the gradient reaching h_t and hn_t = W_hn h_{t-1} + b_hn:

        dz_n = dh_t (1 - z_t)(1 - n_t^2)             (n's pre-activation)
        dz_z = dh_t (h_{t-1} - n_t) z_t (1 - z_t)
        dz_r = dz_n hn_t r_t (1 - r_t),   d hn_t = dz_n r_t
        dh_{t-1} = dh_t z_t + [dz_r, dz_z, d hn_t] W_hh

    The input part of the pre-activations gets [dz_r, dz_z, dz_n], the recurrent part
    [dz_r, dz_z, d hn_t]: they differ only in the n block.
    """

    def forward(self, x, h0, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes):
        xp, matmul = self.xp, self.backend.matmul
        L, N, H = self._setup(x, h0, w_ih, w_hh, reverse, batch_sizes)
        if b_ih is None:
            bias, b_hn = None, None
        else:  # b_hr, b_hz fold into the projection; b_hn sits inside r * (...)
            bias = b_ih.copy()
            bias[: 2 * H] += b_hh[: 2 * H]
            b_hn = b_hh[2 * H :]
        a = self._project(x, w_ih, bias)  # (L, N, 3H): pre-activations, then gates
        hs = self.hs
        hn = self.alloc((L, N, H), dtype=hs.dtype)  # W_hn h_{t-1} + b_hn per step
        rec = xp.empty((N, 3 * H), dtype=hs.dtype)  # scratch for h W_hh^T
        w_hh_t = _transposed(xp, w_hh)  # (H, G*H)
        fused = self.backend.kernels()  # one kernel per step's pointwise part (a GPU)
        for t in self._steps():
            prev, new = self._rows(t)
            b = self._active(t)
            if b < N:
                hs[new, b:] = hs[prev, b:]
            gates = a[t, :b]  # (b, 3H)
            r_h = matmul(hs[prev, :b], w_hh_t, out=rec[:b])  # (b, 3H)
            if fused is not None:
                if b_hn is not None:
                    r_h[:, 2 * H :] += b_hn
                fused.gru_forward(gates, r_h, hs[prev, :b], hn[t, :b], hs[new, :b])
                continue
            rz = gates[:, : 2 * H]
            rz += r_h[:, : 2 * H]
            sigmoid_(xp, rz)  # r, z
            r, z, n = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
            hn_t = hn[t, :b]
            if b_hn is None:
                hn_t[...] = r_h[:, 2 * H :]
            else:
                xp.add(r_h[:, 2 * H :], b_hn, out=hn_t)
            n += r * hn_t
            xp.tanh(n, out=n)
            h = hs[new, :b]  # h = n + z * (h_prev - n)
            xp.subtract(hs[prev, :b], n, out=h)
            h *= z
            h += n
        self.a, self.hn, self.w_ih, self.w_hh = a, hn, w_ih, w_hh
        self.has_bias = b_ih is not None
        return self._outputs(1, hs[0] if reverse else hs[L])

    def backward(self, g):
        xp, matmul = self.xp, self.backend.matmul
        L, N, H = self.L, self.N, self.H
        a = self.a.reshape(L, N, 3, H)  # gates (r, z, n) of every step
        h_prev_all, hn = self._h_prev_all(), self.hn
        dz_h = self.alloc((L, N, 3, H), dtype=a.dtype)  # [dz_r, dz_z, d hn], all steps
        dz_n = self.alloc((L, N, H), dtype=a.dtype)
        dh = g[L].copy()  # gradient reaching the current h
        w_hh = self.w_hh
        tmp = xp.empty((N, H), dtype=a.dtype)
        one_minus_z = xp.empty((N, H), dtype=a.dtype)
        rec = xp.empty((N, H), dtype=a.dtype)  # scratch for [dz_r, dz_z, d hn] W_hh
        fused = self.backend.kernels()
        for t in self._steps(backward=True):
            b = self._active(t)
            dh_b, tmp_b, omz, d = dh[:b], tmp[:b], one_minus_z[:b], dz_h[t, :b]
            if fused is not None:
                fused.gru_backward(
                    a[t, :b], hn[t, :b], h_prev_all[t, :b], g[t, :b], dh_b, d, dz_n[t, :b]
                )
                dh_b += matmul(d.reshape(b, 3 * H), w_hh, out=rec[:b])
                continue
            r, z, n = a[t, :b, 0], a[t, :b, 1], a[t, :b, 2]
            dh_b += g[t, :b]
            xp.subtract(1, z, out=omz)
            # dz_n = dh (1 - z)(1 - n^2)
            dn = dz_n[t, :b]
            xp.multiply(n, n, out=tmp_b)
            xp.subtract(1, tmp_b, out=tmp_b)
            tmp_b *= omz
            xp.multiply(dh_b, tmp_b, out=dn)
            # dz_z = dh (h_prev - n) z (1 - z)
            dzz = d[:, 1]
            xp.subtract(h_prev_all[t, :b], n, out=dzz)
            dzz *= dh_b
            dzz *= z
            dzz *= omz
            # dz_r = dz_n hn r (1 - r),  d hn = dz_n r
            dzr = d[:, 0]
            xp.subtract(1, r, out=dzr)
            dzr *= r
            dzr *= hn[t, :b]
            dzr *= dn
            xp.multiply(dn, r, out=d[:, 2])
            # on to step t-1: dh_{t-1} = dh z + [dz_r, dz_z, d hn] W_hh
            dh_b *= z
            dh_b += matmul(d.reshape(b, 3 * H), w_hh, out=rec[:b])
        dz_x = xp.empty_like(dz_h)  # (L, N, 3, H): [dz_r, dz_z, dz_n]
        dz_x[:, :, :2] = dz_h[:, :, :2]
        dz_x[:, :, 2] = dz_n
        dx, dw_ih, dw_hh, flat_x, flat_h = self._weight_grads(dz_x, dz_h, self.w_ih)
        db_ih = flat_x.sum(axis=0) if self.has_bias else None
        db_hh = flat_h.sum(axis=0) if self.has_bias else None
        dh0 = dh if self.parents[1] is not None else None
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None, None
