"""Recurrent layers: the cells ``RNNCell``, ``LSTMCell``, ``GRUCell`` (one step, composed
from primitive ops: the readable reference) and the sequence layers ``RNN``, ``LSTM``,
``GRU`` (stacked, optionally bidirectional; each layer and direction runs the whole
sequence in one fused op of ``axon.autograd.ops.rnn`` with its own backward through time).

Names, arguments, defaults, parameter names and layouts and gate orders are PyTorch's,
so a PyTorch ``state_dict`` loads unchanged: ``weight_ih_l{k}`` is (G*H, H_in) with the
G gate blocks stacked in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n),
``weight_hh_l{k}`` (G*H, H), ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (G*H,), and
``_reverse`` for the backward direction. Every weight and bias starts uniform in
[-1/sqrt(H), 1/sqrt(H)], drawn from axon's seeded generator.
"""

from __future__ import annotations

import math
import numbers
import warnings

from .. import backend as B
from ..autograd.creation import cat, stack, zeros
from ..autograd.ops.rnn import GRUSeq, LSTMSeq, RNNSeq
from ..autograd.tensor import Tensor
from ..backend import xp
from . import functional as F
from . import init
from ._factory import factory_dtype, place
from .module import Module, Parameter
from .utils.rnn import PackedSequence, _from_packed, _to_packed

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ============================================================ cells (the reference)


class RNNCellBase(Module):
    """Weights of one recurrent step: ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H),
    ``bias_ih`` and ``bias_hh`` (G*H,), all uniform in [-1/sqrt(H), 1/sqrt(H)]."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        dt = factory_dtype(device, dtype)
        G = num_chunks * hidden_size
        self.weight_ih = Parameter(xp.empty((G, input_size), dtype=dt))
        self.weight_hh = Parameter(xp.empty((G, hidden_size), dtype=dt))
        if bias:
            self.bias_ih = Parameter(xp.empty((G,), dtype=dt))
            self.bias_hh = Parameter(xp.empty((G,), dtype=dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()
        place(self, device)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, states: tuple) -> tuple[Tensor, list, bool]:
        """Check shapes; add the batch dimension to unbatched (1-D) input and states;
        zeros for missing states. Returns (input, states, batched)."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        for k, s in enumerate(states):
            if s is not None and s.ndim not in (1, 2):
                raise ValueError(f"{name}: Expected hx[{k}] to be 1D or 2D, got {s.ndim}D instead")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise RuntimeError(
                f"{name}: input has inconsistent input_size: got {input.shape[1]}, "
                f"expected {self.input_size} (input shape {tuple(input.shape)})"
            )
        N, H = input.shape[0], self.hidden_size
        out = []
        for k, s in enumerate(states):
            if s is None:
                s = Tensor(B.namespace(input.array).zeros((N, H), dtype=input.dtype))
            elif not batched:
                s = s.unsqueeze(0)
            if s.shape != (N, H):
                raise RuntimeError(
                    f"{name}: hidden{k} has shape {tuple(s.shape)}, expected {(N, H)} "
                    f"(batch size {N}, hidden_size {H})"
                )
            out.append(s)
        return input, out, batched


class RNNCell(RNNCellBase):
    """One step of the Elman RNN:

        h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh),   act = tanh or relu

    Input (N, I) or (I,); ``hx`` (N, H) or (H,), zeros when omitted. Returns h'.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, (hx,))
        z = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        h = z.tanh() if self.nonlinearity == "tanh" else z.relu()
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One step of the LSTM (gate blocks i, f, g, o, as in PyTorch):

        i = sigma(W_ii x + b_ii + W_hi h + b_hi)     (input gate)
        f = sigma(W_if x + b_if + W_hf h + b_hf)     (forget gate)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)      (candidate cell)
        o = sigma(W_io x + b_io + W_ho h + b_ho)     (output gate)
        c' = f * c + i * g
        h' = o * tanh(c')

    Input (N, I) or (I,); ``hx`` a pair (h, c), zeros when omitted. Returns (h', c').
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        states = (None, None) if hx is None else tuple(hx)
        x, (h, c), batched = self._prepare(input, states)
        gates = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(
            h, self.weight_hh, self.bias_hh
        )
        i, f, g, o = gates.chunk(4, 1)  # each (N, H)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One step of the GRU (gate blocks r, z, n, as in PyTorch):

        r = sigma(W_ir x + b_ir + W_hr h + b_hr)          (reset gate)
        z = sigma(W_iz x + b_iz + W_hz h + b_hz)          (update gate)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))     (candidate state)
        h' = (1 - z) * n + z * h

    Input (N, I) or (I,); ``hx`` (N, H) or (H,), zeros when omitted. Returns h'.
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, (hx,))
        x_r, x_z, x_n = F.linear(x, self.weight_ih, self.bias_ih).chunk(3, 1)  # (N, H) each
        h_r, h_z, h_n = F.linear(h, self.weight_hh, self.bias_hh).chunk(3, 1)
        r = (x_r + h_r).sigmoid()
        z = (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        h = (1 - z) * n + z * h
        return h if batched else h.squeeze(0)


# ============================================================ sequence layers


class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: the stacked, optionally bidirectional
    weights, the input and state checks, and the layer loop.

    Input (L, N, H_in), or (N, L, H_in) with ``batch_first``, or unbatched (L, H_in),
    or a :class:`~axon.nn.utils.rnn.PackedSequence`. Initial states (D * num_layers,
    N, H) (D = 2 if bidirectional), zeros when omitted. Layer k > 0 reads the
    concatenated outputs of both directions of layer k - 1, after dropout (training
    only) when ``dropout`` > 0.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        if (
            not isinstance(dropout, numbers.Number)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the "
                "probability of an element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                stacklevel=3,
            )
        for name, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError(
                f"proj_size has to be smaller than hidden_size (got proj_size="
                f"{proj_size}, hidden_size={hidden_size})"
            )
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dt = factory_dtype(device, dtype)
        G = _GATES[mode] * hidden_size
        D = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        out = proj_size or hidden_size  # the size of h (and of each direction's output)
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out * D
            for direction in range(D):
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = {f"weight_ih{sfx}": (G, layer_in), f"weight_hh{sfx}": (G, out)}
                if bias:
                    shapes.update({f"bias_ih{sfx}": (G,), f"bias_hh{sfx}": (G,)})
                if proj_size:
                    shapes[f"weight_hr{sfx}"] = (proj_size, hidden_size)
                for name, shape in shapes.items():
                    setattr(self, name, Parameter(xp.empty(shape, dtype=dt)))
                self._flat_weights_names.extend(shapes)
                self._all_weights.append(list(shapes))
        self.reset_parameters()
        place(self, device)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op, kept so PyTorch code that calls it runs unchanged."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of each layer and direction: [[w_ih, w_hh, b_ih, b_hh], ...]."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------- forward
    def forward(self, input, hx=None):
        n_states = 2 if self.mode == "LSTM" else 1
        if n_states == 1:
            states = None if hx is None else (hx,)
        else:
            states = None if hx is None else tuple(hx)
        packed = isinstance(input, PackedSequence)
        if packed:
            x, batch_sizes, mask = _from_packed(input)  # (L, N, H_in) padded, time first
            self._check_input(x, batched=True)
            if states is not None:
                self._check_states(states, x.shape[1], batched=True)
                if input.sorted_indices is not None:  # into the packed (sorted) order
                    states = tuple(s.index_select(1, input.sorted_indices) for s in states)
        else:
            if input.ndim not in (2, 3):
                raise ValueError(
                    f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                    f"{input.ndim}D input instead"
                )
            batched = input.ndim == 3
            self._check_input(input, batched)
            x = input
            if not batched:
                x = x.unsqueeze(1)  # (L, 1, H_in)
            elif self.batch_first:
                x = x.transpose(0, 1)  # (N, L, H_in) -> (L, N, H_in)
            if states is not None:
                self._check_states(states, x.shape[1], batched)
                if not batched:
                    states = tuple(s.unsqueeze(1) for s in states)  # (D*layers, 1, H)
            batch_sizes = None
        output, finals = self._run_layers(x, states, batch_sizes)
        if packed:
            output = _to_packed(output, mask, input)
            if input.unsorted_indices is not None:  # back to the caller's order
                finals = [s.index_select(1, input.unsorted_indices) for s in finals]
        elif not batched:
            output = output.squeeze(1)
            finals = [s.squeeze(1) for s in finals]
        elif self.batch_first:
            output = output.transpose(0, 1)  # (L, N, D*H) -> (N, L, D*H)
        return output, (finals[0] if n_states == 1 else tuple(finals))

    def _run_layers(self, x: Tensor, states, batch_sizes) -> tuple[Tensor, list[Tensor]]:
        """Run every layer and direction on time-first x (L, N, H_in). Returns the last
        layer's outputs (L, N, D*H) and the final states [(D*layers, N, H), ...]."""
        if batch_sizes is not None and int(batch_sizes[-1]) == x.shape[1]:
            batch_sizes = None  # every sequence has full length
        elif batch_sizes is not None:  # host ints, as a tuple: not an array on another device
            batch_sizes = tuple(int(b) for b in batch_sizes)
        D = 2 if self.bidirectional else 1
        n_states = 2 if self.mode == "LSTM" else 1
        finals: list[list[Tensor]] = [[] for _ in range(n_states)]
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, True)
            outs = []
            for direction in range(D):
                k = layer * D + direction
                init_states = [None] * n_states if states is None else [s[k] for s in states]
                w = [getattr(self, n) for n in self._all_weights[k]]
                if not self.bias:
                    w[2:2] = [None, None]  # [w_ih, w_hh, b_ih, b_hh(, w_hr)]
                run = self._run_projected if self.proj_size else self._run_one
                y, last = run(x, init_states, w, direction == 1, batch_sizes)
                outs.append(y)  # (L, N, H)
                for j in range(n_states):
                    finals[j].append(last[j])  # (N, H)
            x = outs[0] if D == 1 else cat(outs, 2)  # (L, N, D*H)
        return x, [stack(f, 0) for f in finals]

    def _run_projected(self, x, init_states, w, reverse, batch_sizes):
        """One LSTM layer in one direction with projections (``proj_size`` P > 0), step by
        step with Tensor ops (the fused ops have no projection):

            c_t = f_t * c_{t-1} + i_t * g_t,   h_t = W_hr (o_t * tanh(c_t))    (h_t: P)

        For packed sequences (sorted longest first) step t updates only the first
        ``batch_sizes[t]`` rows; the others keep their state (the reverse direction
        starts each sequence at its own end that way) and output zeros. Returns the
        outputs (L, N, P) and the final states [h_n (N, P), c_n (N, H)]."""
        w_ih, w_hh, b_ih, b_hh, w_hr = w
        L, N = x.shape[0], x.shape[1]
        H, P = self.hidden_size, self.proj_size
        on = dict(dtype=x.dtype, device=x.device)
        h = init_states[0] if init_states[0] is not None else zeros(N, P, **on)
        c = init_states[1] if init_states[1] is not None else zeros(N, H, **on)
        xw = F.linear(x, w_ih, b_ih)  # (L, N, 4H): the input's part of every gate at once
        outs = [None] * L
        for t in range(L - 1, -1, -1) if reverse else range(L):
            n = N if batch_sizes is None else int(batch_sizes[t])  # the active rows
            gates = xw[t, :n] + F.linear(h[:n], w_hh, b_hh)  # (n, 4H), blocks i, f, g, o
            i, f, g, o = gates.chunk(4, 1)
            c_new = f.sigmoid() * c[:n] + i.sigmoid() * g.tanh()
            h_new = F.linear(o.sigmoid() * c_new.tanh(), w_hr)  # (n, P)
            if n == N:
                h, c, outs[t] = h_new, c_new, h_new
            else:
                h, c = cat([h_new, h[n:]], 0), cat([c_new, c[n:]], 0)
                outs[t] = cat([h_new, zeros(N - n, P, **on)], 0)
        return stack(outs, 0), [h, c]

    def _run_one(self, x, init_states, w, reverse, batch_sizes):
        """One layer in one direction as one fused op: the outputs (L, N, H) and the
        final states [(N, H), ...] (the op returns them stacked, (L + S, N, H))."""
        if self.mode == "LSTM":
            y = LSTMSeq.apply(x, *init_states, *w, reverse, batch_sizes)
        elif self.mode == "GRU":
            y = GRUSeq.apply(x, *init_states, *w, reverse, batch_sizes)
        else:
            act = "relu" if self.mode == "RNN_RELU" else "tanh"
            y = RNNSeq.apply(x, *init_states, *w, act, reverse, batch_sizes)
        L = x.shape[0]
        return y[:L], [y[L + j] for j in range(len(init_states))]

    # ------------------------------------------------------------- checks
    def _check_input(self, x: Tensor, batched: bool) -> None:
        wdt = self.weight_ih_l0.dtype
        if x.dtype != wdt:
            raise ValueError(
                f"RNN input dtype ({x.dtype}) does not match weight dtype ({wdt}). Convert "
                f"input: input.to({wdt}), or convert model: model.to({x.dtype})"
            )
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {x.shape[-1]} (input shape {tuple(x.shape)})"
            )

    def _check_states(self, states: tuple, batch: int, batched: bool) -> None:
        D = 2 if self.bidirectional else 1
        names = ["hx"] if len(states) == 1 else ["hx", "cx"]
        want_dim = 3 if batched else 2
        dims = [s.ndim for s in states]
        if any(d != want_dim for d in dims):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            got = ", ".join(f"{d}-D" for d in dims)
            raise RuntimeError(
                f"For {kind} input, {' and '.join(names)} should also be "
                f"{want_dim}-D but got ({got}) tensors"
            )
        for k, s in enumerate(states):
            size = self.proj_size if (k == 0 and self.proj_size) else self.hidden_size
            expected = (self.num_layers * D, batch, size)  # h has the projection's size
            if not batched:
                expected = (expected[0], expected[2])
            if tuple(s.shape) != expected:
                which = "hidden" if len(states) == 1 else f"hidden[{k}]"
                raise RuntimeError(f"Expected {which} size {expected}, got {list(s.shape)}")
            if s.dtype != self.weight_ih_l0.dtype:
                raise ValueError(
                    f"{names[k]} dtype ({s.dtype}) does not match weight dtype "
                    f"({self.weight_ih_l0.dtype})"
                )


class RNN(RNNBase):
    """A stacked Elman RNN over whole sequences: for each layer and step

        h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),   act = tanh or relu

    ``forward(input, hx=None)`` returns ``(output, h_n)``: output (L, N, D*H) holds the
    last layer's h_t for every t (both directions concatenated), h_n (D*num_layers, N, H)
    each layer and direction's final state.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode,
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """A stacked LSTM over whole sequences; each layer and step computes (gate blocks
    i, f, g, o, as in PyTorch)

        i_t = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
        f_t = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        o_t = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    ``forward(input, (h_0, c_0)=None)`` returns ``(output, (h_n, c_n))``: output
    (L, N, D*H) is the last layer's h_t for every t, h_n and c_n (D*num_layers, N, H)
    the final states of each layer and direction.

    ``proj_size`` P > 0 (LSTMP, Sak et al., 2014): h_t = W_hr (o_t * tanh(c_t)) is
    projected to P features by ``weight_hr_l{k}`` (P, H), so output and h have P (per
    direction) instead of H; computed step by step rather than by the fused op.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase):
    """A stacked GRU over whole sequences; each layer and step computes (gate blocks
    r, z, n, as in PyTorch)

        r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    ``forward(input, h_0=None)`` returns ``(output, h_n)`` with the shapes of :class:`RNN`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )
