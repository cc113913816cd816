"""Diagnostics for recurrent networks, measured with the engine:

- :func:`hidden_grad_norms`: ||dL/dh_t|| at every step t for a loss at the last step
  only. The sequence is unrolled with the cell (``RNNCell``, ``LSTMCell``, ``GRUCell``),
  so each h_t is a Tensor of the graph whose gradient we keep (``retain_grad``). By the
  chain rule dL/dh_t = dL/dh_T * prod_{s=t+1..T} dh_s/dh_{s-1}: a product of T - t
  Jacobians, which shrinks geometrically when their norms stay below 1 (the vanishing
  gradient).
- :func:`gate_saturation`: the share of gate activations in the flat parts of their
  curves (sigmoid < 0.05 or > 0.95, |tanh| > 0.95), where the local derivative is below
  about 0.05 (sigmoid) or 0.1 (tanh).
- :func:`param_counts`: the course's parameter formulas beside PyTorch's layout.
"""

from __future__ import annotations

import numpy as np

import axon as ax
from axon import nn

KINDS = ("RNN", "LSTM", "GRU")
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
_CELLS = {"RNN": nn.RNNCell, "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}


def kind_of(layer: nn.Module) -> str:
    """``"RNN"``, ``"LSTM"`` or ``"GRU"`` for a sequence layer or a cell."""
    for kind in ("LSTM", "GRU", "RNN"):
        if type(layer).__name__.startswith(kind):
            return kind
    raise TypeError(f"not a recurrent layer: {type(layer).__name__}")


def cell_from_layer(layer: nn.RNNBase) -> nn.RNNCellBase:
    """The cell of ``layer``'s first layer (forward direction), sharing its weights'
    values: ``weight_ih_l0`` becomes the cell's ``weight_ih``, and so on. The fused layer
    and the cell loop then compute the same h_t."""
    kind = kind_of(layer)
    cell = _CELLS[kind](layer.input_size, layer.hidden_size, bias=layer.bias)
    state = {
        name: getattr(layer, f"{name}_l0").detach().numpy().copy()
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        if layer.bias or name.startswith("weight")
    }
    cell.load_state_dict(state)
    return cell


def unroll(cell: nn.RNNCellBase, x: ax.Tensor) -> list[ax.Tensor]:
    """Run ``cell`` over batch-first x (N, T, I) from zero states; returns h_1..h_T,
    each (N, H)."""
    hs, state = [], None
    for t in range(x.shape[1]):
        state = cell(x[:, t], state)
        hs.append(state[0] if isinstance(state, tuple) else state)
    return hs


def hidden_grad_norms(
    cell: nn.RNNCellBase, head: nn.Module, x: ax.Tensor, target: ax.Tensor
) -> np.ndarray:
    """||dL/dh_t|| for t = 1..T, averaged over the batch, where
    L = cross_entropy(head(h_T), target) reads the last step only.

    x is batch first (N, T, I), target (N,) class ids. Returns a (T,) array.
    """
    hs = unroll(cell, x)
    for h in hs:
        h.retain_grad()
    loss = nn.functional.cross_entropy(head(hs[-1]), target)
    loss.backward()
    norms = [np.linalg.norm(h.grad.numpy(), axis=1).mean() for h in hs]  # each (N,) -> mean
    cell.zero_grad()
    head.zero_grad()
    return np.asarray(norms, dtype=np.float64)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def gate_activations(cell: nn.RNNCellBase, x: ax.Tensor) -> dict[str, np.ndarray]:
    """Every gate's activation at every step, recomputed in NumPy from the cell's weights
    and the states the cell produced (z = x W_ih^T + b_ih + h W_hh^T + b_hh, split in
    PyTorch's gate order). Returns {gate name: (T, N, H) array}."""
    kind = kind_of(cell)
    with ax.no_grad():
        hs = [h.numpy() for h in unroll(cell, x)]
    H = cell.hidden_size
    w_ih, w_hh = cell.weight_ih.detach().numpy(), cell.weight_hh.detach().numpy()
    zeros = np.zeros(w_ih.shape[0], dtype=w_ih.dtype)
    b_ih = cell.bias_ih.detach().numpy() if cell.bias else zeros
    b_hh = cell.bias_hh.detach().numpy() if cell.bias else zeros
    xs = x.numpy().transpose(1, 0, 2)  # (N, T, I) -> (T, N, I)
    prev = [np.zeros_like(hs[0])] + hs[:-1]  # h_{t-1} for every t
    acts: dict[str, list[np.ndarray]] = {}
    for x_t, h_prev in zip(xs, prev, strict=True):
        zx = x_t @ w_ih.T + b_ih  # (N, G*H)
        zh = h_prev @ w_hh.T + b_hh  # (N, G*H)
        if kind == "RNN":
            gates = {"h (tanh)": np.tanh(zx + zh)}
        elif kind == "LSTM":
            z = zx + zh
            gates = {
                "i": _sigmoid(z[:, :H]),
                "f": _sigmoid(z[:, H : 2 * H]),
                "g (tanh)": np.tanh(z[:, 2 * H : 3 * H]),
                "o": _sigmoid(z[:, 3 * H :]),
            }
        else:
            r = _sigmoid(zx[:, :H] + zh[:, :H])
            gates = {
                "r": r,
                "z": _sigmoid(zx[:, H : 2 * H] + zh[:, H : 2 * H]),
                "n (tanh)": np.tanh(zx[:, 2 * H :] + r * zh[:, 2 * H :]),
            }
        for name, a in gates.items():
            acts.setdefault(name, []).append(a)
    return {name: np.stack(a) for name, a in acts.items()}  # each (T, N, H)


def gate_saturation(cell: nn.RNNCellBase, x: ax.Tensor) -> dict[str, float]:
    """The share of saturated activations per gate and overall ("all"): sigmoid gates
    below 0.05 or above 0.95, tanh units with |a| > 0.95."""
    acts = gate_activations(cell, x)
    shares, counts = {}, []
    for name, a in acts.items():
        sat = np.abs(a) > 0.95 if "tanh" in name else (a < 0.05) | (a > 0.95)
        shares[name] = float(sat.mean())
        counts.append((sat.sum(), sat.size))
    shares["all"] = float(sum(c for c, _ in counts) / sum(n for _, n in counts))
    return shares


def param_counts(n: int, d: int) -> list[dict[str, int | str]]:
    """For a one-layer RNN, LSTM and GRU with input size n and hidden size d: the course's
    count g*d*(d+n+1) (one bias per gate), PyTorch's g*d*(n+d) + 2*g*d (two bias
    vectors, b_ih and b_hh), their difference g*d, and the count of axon's layer,
    sum(p.numel())."""
    rows = []
    for kind in KINDS:
        g = GATES[kind]
        layer = getattr(nn, kind)(n, d)
        rows.append(
            {
                "kind": kind,
                "gates": g,
                "course": g * d * (d + n + 1),
                "pytorch": g * d * (n + d) + 2 * g * d,
                "difference": g * d,
                "axon": sum(p.numel() for p in layer.parameters()),
            }
        )
    return rows
