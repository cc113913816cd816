"""The fused CUDA kernels: each hot pointwise step in one launch.

On a GPU every array op is a kernel launch (a few microseconds of overhead) plus a pass
over memory. An LSTM step written as NumPy calls is about ten of each; here it is one
kernel that reads the gates once and writes the cell, ``tanh(c)`` and ``h``. The ops keep
their NumPy-style chains (the CPU runs those, and the GPU tests compare the two); they
call these through ``backend.kernels()`` when it gives them.

The recurrent kernels see one step's rows: ``gates`` is the (b, G*H) block of the step
(gate blocks in the op's internal order, see ``ops/rnn.py``), written back activated, and
element ``i`` of a kernel is unit ``i % H`` of sample ``i / H``. All arrays are
C-contiguous rows of a step, so the flat index is the memory index.
"""

from __future__ import annotations

import cupy

_SIGMOID = "__device__ T sigmoid(T z) { return T(0.5) * tanh(T(0.5) * z) + T(0.5); }"
"""sigma(z) = (1 + tanh(z / 2)) / 2, as the CPU computes it (no exp overflow)."""


_DEAD = "__device__ bool dead(T m) { return isinf(m) && m < T(0); }"
"""A row whose max is -inf is all masked: its softmax is 0s (not 0 / 0)."""


class Kernels:
    """The compiled kernels (CuPy compiles each for a dtype on its first call)."""

    def __init__(self) -> None:
        ew = cupy.ElementwiseKernel
        # LSTM, gates (o, i, f, g): add the recurrent part, activate, then
        # c = f c_prev + i g, h = o tanh(c)
        self._lstm_forward = ew(
            "int32 H, raw T rec, raw T c_prev",
            "raw T gates, raw T c, raw T tanh_c, raw T h",
            """
            const ptrdiff_t n = i / H, j = i % H, row = n * 4 * H + j;
            const T o = sigmoid(gates[row] + rec[row]);
            const T in = sigmoid(gates[row + H] + rec[row + H]);
            const T f = sigmoid(gates[row + 2 * H] + rec[row + 2 * H]);
            const T g = tanh(gates[row + 3 * H] + rec[row + 3 * H]);
            gates[row] = o; gates[row + H] = in; gates[row + 2 * H] = f; gates[row + 3 * H] = g;
            const T cc = f * c_prev[i] + in * g;
            const T tc = tanh(cc);
            c[i] = cc; tanh_c[i] = tc; h[i] = o * tc;
            """,
            "axon_lstm_step_forward",
            preamble=_SIGMOID,
        )
        # LSTM backward of one step: the pre-activation gradients z and dc for step t-1
        self._lstm_backward = ew(
            "int32 H, raw T a, raw T tanh_c, raw T c_prev, raw T g_h",
            "raw T dh, raw T dc, raw T z",
            """
            const ptrdiff_t n = i / H, j = i % H, row = n * 4 * H + j;
            const T o = a[row], in = a[row + H], f = a[row + 2 * H], g = a[row + 3 * H];
            const T tc = tanh_c[i], d_h = dh[i] + g_h[i];
            const T d_c = dc[i] + d_h * o * (T(1) - tc * tc);
            z[row] = d_h * tc * o * (T(1) - o);
            z[row + H] = d_c * g * in * (T(1) - in);
            z[row + 2 * H] = d_c * c_prev[i] * f * (T(1) - f);
            z[row + 3 * H] = d_c * in * (T(1) - g * g);
            dc[i] = d_c * f;
            """,
            "axon_lstm_step_backward",
        )
        # GRU, gates (r, z, n) with rec = h_prev W_hh^T (+ b_hn in the n block)
        self._gru_forward = ew(
            "int32 H, raw T rec, raw T h_prev",
            "raw T gates, raw T hn, raw T h",
            """
            const ptrdiff_t n = i / H, j = i % H, row = n * 3 * H + j, rrow = n * 3 * H + j;
            const T r = sigmoid(gates[row] + rec[rrow]);
            const T z = sigmoid(gates[row + H] + rec[rrow + H]);
            const T hn_t = rec[rrow + 2 * H];
            const T nn = tanh(gates[row + 2 * H] + r * hn_t);
            gates[row] = r; gates[row + H] = z; gates[row + 2 * H] = nn;
            hn[i] = hn_t;
            h[i] = nn + z * (h_prev[i] - nn);
            """,
            "axon_gru_step_forward",
            preamble=_SIGMOID,
        )
        # GRU backward of one step: [dz_r, dz_z, d hn] (d), dz_n (dn), and dh scaled by z
        self._gru_backward = ew(
            "int32 H, raw T a, raw T hn, raw T h_prev, raw T g_h",
            "raw T dh, raw T d, raw T dn",
            """
            const ptrdiff_t n = i / H, j = i % H, row = n * 3 * H + j;
            const T r = a[row], z = a[row + H], nn = a[row + 2 * H];
            const T d_h = dh[i] + g_h[i];
            const T d_n = d_h * (T(1) - z) * (T(1) - nn * nn);
            dn[i] = d_n;
            d[row] = d_n * hn[i] * r * (T(1) - r);
            d[row + H] = d_h * (h_prev[i] - nn) * z * (T(1) - z);
            d[row + 2 * H] = d_n * r;
            dh[i] = d_h * z;
            """,
            "axon_gru_step_backward",
        )
        # softmax over the last axis: m (the rows' max) and s broadcast over the rows
        rk = cupy.ReductionKernel
        self._sumexp = rk(
            "T x, T m",
            "T s",
            "dead(m) ? T(0) : exp(x - m)",
            "a + b",
            "s = a",
            "0",
            "axon_sum_exp",
            preamble=_DEAD,
        )
        self._softmax = ew(
            "T x, T m, T s",
            "T y",
            "y = dead(m) ? T(0) : exp(x - m) / s",
            "axon_softmax",
            preamble=_DEAD,
        )
        self._log_softmax = ew("T x, T m, T s", "T y", "y = x - m - log(s)", "axon_log_softmax")
        self._dot_rows = rk(
            "T p, T dp", "T row", "p * dp", "a + b", "row = a", "0", "axon_dot_rows"
        )
        self._softmax_grad = ew(
            "T p, T dp, T row", "T ds", "ds = p * (dp - row)", "axon_softmax_grad"
        )
        # Adam: both moments and the step to subtract, in one pass
        self._adam = ew(
            "T g, T beta1, T beta2, T scale, T eps",
            "T m, T v, T update",
            """
            m = beta1 * m + (T(1) - beta1) * g;
            v = beta2 * v + (T(1) - beta2) * g * g;
            update = m / (sqrt(v) * scale + eps);
            """,
            "axon_adam_update",
        )

    # ------------------------------------------------------------ softmax over the last axis
    def softmax_rows(self, x, out=None):
        """softmax(x) over the last axis in three launches (the max, one sum of
        exponentials, one pass that writes the result), into ``out`` when given (``x``
        itself is allowed). A row that is all -inf gives 0s, not NaN (attention's fully
        masked rows). Returns ``(out, m, s)``: the rows' max and sum of e^(x - max)."""
        m = x.max(axis=-1, keepdims=True)
        s = self._sumexp(x, m, axis=-1, keepdims=True)
        out = self._softmax(x, m, s) if out is None else self._softmax(x, m, s, out)
        return out, m, s

    def log_softmax_rows(self, x):
        """log_softmax(x) over the last axis: x - max - log(sum e^(x - max))."""
        m = x.max(axis=-1, keepdims=True)
        return self._log_softmax(x, m, self._sumexp(x, m, axis=-1, keepdims=True))

    def softmax_backward(self, p, dp, out=None):
        """The scores' gradient P (dP - rowsum(dP P)) in two launches (``out`` may be
        ``dp``)."""
        row = self._dot_rows(p, dp, axis=-1, keepdims=True)
        return (
            self._softmax_grad(p, dp, row) if out is None else self._softmax_grad(p, dp, row, out)
        )

    # ------------------------------------------------------------ LSTM
    def lstm_forward(self, gates, rec, c_prev, c, tanh_c, h) -> None:
        """One LSTM step over ``b`` rows: ``gates`` (b, 4H), the input's pre-activations
        (o, i, f, g), plus ``rec`` = h_prev W_hh^T become the gates; writes ``c``,
        ``tanh_c`` and ``h`` (each (b, H))."""
        b, H = c.shape
        self._lstm_forward(H, rec, c_prev, gates, c, tanh_c, h, size=b * H)

    def lstm_backward(self, a, tanh_c, c_prev, g_h, dh, dc, z) -> None:
        """Step t's backward: with ``dh`` + ``g_h`` the gradient reaching h_t and ``dc``
        c_t's, write the pre-activation gradients ``z`` (b, 4H) and c_{t-1}'s into ``dc``
        (``dh`` is left for the caller's product ``z W_hh``)."""
        b, H = dh.shape
        self._lstm_backward(H, a, tanh_c, c_prev, g_h, dh, dc, z, size=b * H)

    # ------------------------------------------------------------ GRU
    def gru_forward(self, gates, rec, h_prev, hn, h) -> None:
        """One GRU step: ``gates`` (b, 3H) input pre-activations become (r, z, n);
        ``rec`` is h_prev W_hh^T with b_hn already added to its n block."""
        b, H = h.shape
        self._gru_forward(H, rec, h_prev, gates, hn, h, size=b * H)

    def gru_backward(self, a, hn, h_prev, g_h, dh, d, dn) -> None:
        """Step t's backward: writes ``d`` = [dz_r, dz_z, d hn] (b, 3H), ``dn`` = dz_n,
        and ``dh`` = (dh + g_h) z (the caller adds d W_hh)."""
        b, H = dh.shape
        self._gru_backward(H, a, hn, h_prev, g_h, dh, d, dn, size=b * H)

    # ------------------------------------------------------------ Adam
    def adam(self, g, m, v, out, beta1, beta2, scale, eps) -> None:
        """m, v advanced by ``g`` in place; ``out`` = m / (sqrt(v) scale + eps)."""
        t = g.dtype.type
        self._adam(g, t(beta1), t(beta2), t(scale), t(eps), m, v, out)
