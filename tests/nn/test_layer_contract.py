"""Every layer of ``axon.nn`` against the layer contract (``tests/nn/contract.py``).

``test_every_exported_layer_has_a_contract_case`` fails when ``axon.nn`` exports a Module
subclass that has no case here and is not in ``NOT_LAYERS``: a new layer must add one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

import axon as ax
from axon import nn
from tests.backend.strict import STRICT  # noqa: F401  (registers the "strict" device)
from tests.nn.contract import check_layer, check_layer_on_device


@dataclass
class Case:
    make: Callable[[], nn.Module]
    input_shape: tuple
    output_shape: tuple
    num_params: int
    options: dict = field(default_factory=dict)


def _indices(high: int, shape: tuple) -> Callable:
    return lambda rng: rng.integers(0, high, shape).astype(np.int64)


def _h(rng, *shape):
    return rng.uniform(-1.0, 1.0, shape).astype(np.float32)


def _state(*shape) -> Callable:
    return lambda rng: (_h(rng, *shape),)


X = (2, 3, 4)  # a generic (N, C, L) input for shape-preserving layers


class _SelfAttention(nn.MultiheadAttention):
    """MultiheadAttention called as self-attention without weights (the fused path)."""

    def forward(self, x):
        return super().forward(x, x, x, need_weights=False)[0]


def _functional_model() -> nn.Model:
    """Two inputs, two outputs: a (N, 4) branch through Linear+Tanh feeds both heads, the
    (N, 2) input joins it before the first."""
    a, b = nn.Input((4,)), nn.Input((2,))
    h = nn.Tanh()(nn.Linear(4, 5)(a))
    return nn.Model([a, b], [nn.Linear(7, 3)(nn.Concatenate()(h, b)), nn.Linear(5, 1)(h)])


CASES: dict[str, Case] = {
    # ---------------------------------------------------------------- core
    "Linear": Case(lambda: nn.Linear(4, 3), (2, 5, 4), (2, 5, 3), 4 * 3 + 3),
    "Linear-nobias": Case(lambda: nn.Linear(4, 3, bias=False), (2, 4), (2, 3), 12),
    "Identity": Case(lambda: nn.Identity(), X, X, 0),
    "Flatten": Case(lambda: nn.Flatten(), (2, 3, 4, 5), (2, 60), 0),
    "Flatten-range": Case(lambda: nn.Flatten(0, 1), (2, 3, 4), (6, 4), 0),
    "Unflatten": Case(lambda: nn.Unflatten(1, (3, 4)), (2, 12), (2, 3, 4), 0),
    # ---------------------------------------------------------------- activations
    "ReLU": Case(lambda: nn.ReLU(), X, X, 0),
    "ReLU-inplace": Case(lambda: nn.ReLU(inplace=True), X, X, 0, dict(input_requires_grad=False)),
    "Sigmoid": Case(lambda: nn.Sigmoid(), X, X, 0),
    "Tanh": Case(lambda: nn.Tanh(), X, X, 0),
    "LeakyReLU": Case(lambda: nn.LeakyReLU(0.2), X, X, 0),
    "ELU": Case(lambda: nn.ELU(), X, X, 0),
    "Softplus": Case(lambda: nn.Softplus(beta=2.0), X, X, 0),
    "GELU": Case(lambda: nn.GELU(), X, X, 0),
    "GELU-tanh": Case(lambda: nn.GELU("tanh"), X, X, 0),
    "Softmax": Case(lambda: nn.Softmax(dim=1), X, X, 0),
    "LogSoftmax": Case(lambda: nn.LogSoftmax(dim=-1), X, X, 0),
    "Hardtanh": Case(lambda: nn.Hardtanh(-0.5, 0.5), X, X, 0),
    "ReLU6": Case(lambda: nn.ReLU6(), X, X, 0),
    "Hardsigmoid": Case(lambda: nn.Hardsigmoid(), X, X, 0),
    "Hardswish": Case(lambda: nn.Hardswish(), X, X, 0),
    "SELU": Case(lambda: nn.SELU(), X, X, 0),
    "CELU": Case(lambda: nn.CELU(0.5), X, X, 0),
    "SiLU": Case(lambda: nn.SiLU(), X, X, 0),
    "Mish": Case(lambda: nn.Mish(), X, X, 0),
    "Softsign": Case(lambda: nn.Softsign(), X, X, 0),
    "Tanhshrink": Case(lambda: nn.Tanhshrink(), X, X, 0),
    "LogSigmoid": Case(lambda: nn.LogSigmoid(), X, X, 0),
    "Softmin": Case(lambda: nn.Softmin(dim=1), X, X, 0),
    "Softmax2d": Case(lambda: nn.Softmax2d(), (2, 3, 4, 4), (2, 3, 4, 4), 0),
    "GLU": Case(lambda: nn.GLU(), X, (2, 3, 2), 0),
    "Threshold": Case(lambda: nn.Threshold(0.1, 20.0), X, X, 0),
    "Softshrink": Case(lambda: nn.Softshrink(), X, X, 0),
    "Hardshrink": Case(lambda: nn.Hardshrink(0.3), X, X, 0),
    "PReLU": Case(lambda: nn.PReLU(), X, X, 1),
    "PReLU-channels": Case(lambda: nn.PReLU(3, init=0.1), X, X, 3),
    "RReLU": Case(lambda: nn.RReLU(0.1, 0.3), X, X, 0),
    "CosineSimilarity": Case(
        lambda: nn.CosineSimilarity(), X, (2, 4), 0, dict(make_extra_args=_state(*X))
    ),
    "PairwiseDistance": Case(
        lambda: nn.PairwiseDistance(p=1.0), X, (2, 3), 0, dict(make_extra_args=_state(*X))
    ),
    # ---------------------------------------------------------------- dropout
    "Dropout": Case(lambda: nn.Dropout(0.5), X, X, 0),
    "Dropout2d": Case(lambda: nn.Dropout2d(0.5), (2, 3, 4, 4), (2, 3, 4, 4), 0),
    # ---------------------------------------------------------------- normalisation
    "BatchNorm1d": Case(lambda: nn.BatchNorm1d(3), (4, 3), (4, 3), 6),
    "BatchNorm1d-3d": Case(lambda: nn.BatchNorm1d(3, momentum=None), (4, 3, 5), (4, 3, 5), 6),
    "BatchNorm1d-noaffine": Case(lambda: nn.BatchNorm1d(3, affine=False), (4, 3), (4, 3), 0),
    "BatchNorm2d": Case(lambda: nn.BatchNorm2d(3), (4, 3, 5, 5), (4, 3, 5, 5), 6),
    "BatchNorm2d-nostats": Case(
        lambda: nn.BatchNorm2d(3, track_running_stats=False), (4, 3, 2, 2), (4, 3, 2, 2), 6
    ),
    "LayerNorm": Case(lambda: nn.LayerNorm(4), X, X, 8),
    "LayerNorm-2d": Case(lambda: nn.LayerNorm((3, 4)), X, X, 24),
    "LayerNorm-nobias": Case(lambda: nn.LayerNorm(4, bias=False), X, X, 4),
    "GroupNorm": Case(lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3), (2, 4, 3, 3), 8),
    # ---------------------------------------------------------------- convolution
    "Conv1d": Case(lambda: nn.Conv1d(3, 4, 3), (2, 3, 10), (2, 4, 8), 4 * 3 * 3 + 4),
    "Conv2d": Case(
        lambda: nn.Conv2d(3, 4, 3, padding=1), (2, 3, 6, 6), (2, 4, 6, 6), 4 * 3 * 9 + 4
    ),
    "Conv2d-strided-groups": Case(
        lambda: nn.Conv2d(4, 6, 3, stride=2, groups=2, bias=False),
        (2, 4, 7, 7),
        (2, 6, 3, 3),
        6 * 2 * 9,
    ),
    # ---------------------------------------------------------------- pooling, resizing
    "MaxPool1d": Case(lambda: nn.MaxPool1d(2), (2, 3, 8), (2, 3, 4), 0),
    "MaxPool2d": Case(lambda: nn.MaxPool2d(2), (2, 3, 6, 6), (2, 3, 3, 3), 0),
    "MaxPool2d-indices": Case(
        lambda: nn.MaxPool2d(3, stride=2, padding=1, return_indices=True),
        (2, 3, 6, 6),
        ((2, 3, 3, 3), (2, 3, 3, 3)),
        0,
    ),
    "AvgPool1d": Case(lambda: nn.AvgPool1d(3, stride=2), (2, 3, 9), (2, 3, 4), 0),
    "AvgPool2d": Case(lambda: nn.AvgPool2d(2), (2, 3, 6, 6), (2, 3, 3, 3), 0),
    "AdaptiveAvgPool1d": Case(lambda: nn.AdaptiveAvgPool1d(3), (2, 3, 7), (2, 3, 3), 0),
    "AdaptiveAvgPool2d": Case(lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 7), (2, 3, 2, 3), 0),
    "Upsample": Case(lambda: nn.Upsample(scale_factor=2), (2, 3, 4, 4), (2, 3, 8, 8), 0),
    "Upsample-1d-size": Case(lambda: nn.Upsample(size=5), (2, 3, 3), (2, 3, 5), 0),
    "Upsample-bicubic": Case(
        lambda: nn.Upsample(size=(3, 5), mode="bicubic"), (2, 3, 4, 4), (2, 3, 3, 5), 0
    ),
    "UpsamplingNearest2d": Case(
        lambda: nn.UpsamplingNearest2d(scale_factor=2), (2, 3, 4, 4), (2, 3, 8, 8), 0
    ),
    "UpsamplingBilinear2d": Case(
        lambda: nn.UpsamplingBilinear2d(size=(5, 3)), (2, 3, 4, 4), (2, 3, 5, 3), 0
    ),
    # ---------------------------------------------------------------- embedding
    "Embedding": Case(
        lambda: nn.Embedding(10, 4), (2, 5), (2, 5, 4), 40, dict(make_input=_indices(10, (2, 5)))
    ),
    "Embedding-padding": Case(
        lambda: nn.Embedding(10, 4, padding_idx=0),
        (3, 4),
        (3, 4, 4),
        40,
        dict(make_input=_indices(10, (3, 4))),
    ),
    # ---------------------------------------------------------------- recurrent
    # parameters: gates * (H * in + H * H + 2 H) per layer and direction
    "RNN": Case(lambda: nn.RNN(4, 5), (7, 2, 4), ((7, 2, 5), (1, 2, 5)), 55),
    "LSTM": Case(lambda: nn.LSTM(4, 5), (7, 2, 4), ((7, 2, 5), ((1, 2, 5), (1, 2, 5))), 220),
    "LSTM-deep-bidirectional": Case(
        lambda: nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True, dropout=0.5),
        (2, 7, 4),
        ((2, 7, 10), ((4, 2, 5), (4, 2, 5))),
        1120,
    ),
    "GRU": Case(lambda: nn.GRU(4, 5), (7, 2, 4), ((7, 2, 5), (1, 2, 5)), 165),
    "GRU-nobias-2layers": Case(
        lambda: nn.GRU(4, 5, num_layers=2, bias=False), (3, 2, 4), ((3, 2, 5), (2, 2, 5)), 285
    ),
    "RNNBase-GRU": Case(lambda: nn.RNNBase("GRU", 4, 5), (3, 2, 4), ((3, 2, 5), (1, 2, 5)), 165),
    # a cell gets its state: from zeros, weight_hh would get no gradient in one step
    "RNNCell": Case(
        lambda: nn.RNNCell(4, 5), (3, 4), (3, 5), 55, dict(make_extra_args=_state(3, 5))
    ),
    "LSTMCell": Case(
        lambda: nn.LSTMCell(4, 5),
        (3, 4),
        ((3, 5), (3, 5)),
        220,
        dict(make_extra_args=lambda rng: ((_h(rng, 3, 5), _h(rng, 3, 5)),)),
    ),
    "GRUCell": Case(
        lambda: nn.GRUCell(4, 5), (3, 4), (3, 5), 165, dict(make_extra_args=_state(3, 5))
    ),
    "RNN-relu-h0": Case(
        lambda: nn.RNN(4, 5, nonlinearity="relu"),
        (3, 2, 4),
        ((3, 2, 5), (1, 2, 5)),
        55,
        dict(make_extra_args=lambda rng: (_h(rng, 1, 2, 5),)),
    ),
    # ---------------------------------------------------------------- attention
    # seq2seq attention: query (B, Dq) or (B, T, Dq), then keys (B, S, Dk) [, values]
    "BahdanauAttention": Case(
        lambda: nn.BahdanauAttention(4, 6, 5),
        (2, 4),
        ((2, 6), (2, 3)),
        4 * 5 + 6 * 5 + 5 + 5,
        dict(make_extra_args=_state(2, 3, 6)),
    ),
    "BahdanauAttention-steps-values": Case(
        lambda: nn.BahdanauAttention(4, 6, 5, bias=False),
        (2, 3, 4),
        ((2, 3, 7), (2, 3, 5)),
        4 * 5 + 6 * 5 + 5,
        dict(make_extra_args=lambda rng: (_h(rng, 2, 5, 6), _h(rng, 2, 5, 7))),
    ),
    "LuongAttention-dot": Case(
        lambda: nn.LuongAttention(4, 4),
        (2, 3, 4),
        ((2, 3, 4), (2, 3, 5)),
        0,
        dict(make_extra_args=_state(2, 5, 4)),
    ),
    "LuongAttention-general": Case(
        lambda: nn.LuongAttention(4, 6, "general"),
        (2, 4),
        ((2, 6), (2, 3)),
        24,
        dict(make_extra_args=_state(2, 3, 6)),
    ),
    # multi-head attention: query (L, N, E), then key and value; returns (output, weights)
    "MultiheadAttention": Case(
        lambda: nn.MultiheadAttention(8, 2),
        (4, 2, 8),
        ((4, 2, 8), (2, 4, 5)),
        3 * 64 + 24 + 64 + 8,
        dict(make_extra_args=lambda rng: (_h(rng, 5, 2, 8), _h(rng, 5, 2, 8))),
    ),
    "MultiheadAttention-kvdim-biaskv-batchfirst": Case(
        lambda: nn.MultiheadAttention(
            8,
            2,
            dropout=0.5,
            add_bias_kv=True,
            add_zero_attn=True,
            kdim=3,
            vdim=5,
            batch_first=True,
        ),
        (2, 4, 8),
        ((2, 4, 8), (2, 4, 7)),
        64 + 24 + 40 + 24 + 64 + 8 + 16,
        dict(make_extra_args=lambda rng: (_h(rng, 2, 5, 3), _h(rng, 2, 5, 5))),
    ),
    "MultiheadAttention-self-fused": Case(
        lambda: _SelfAttention(8, 4, dropout=0.5), (4, 2, 8), (4, 2, 8), 3 * 64 + 24 + 64 + 8
    ),
    "PositionalEncoding": Case(
        lambda: nn.PositionalEncoding(6, max_len=10, dropout=0.5), (4, 2, 6), (4, 2, 6), 0
    ),
    "LearnedPositionalEncoding": Case(
        lambda: nn.LearnedPositionalEncoding(6, max_len=10, batch_first=True),
        (2, 4, 6),
        (2, 4, 6),
        60,
    ),
    # ---------------------------------------------------------------- transformer
    # d_model 8, 2 heads, ff 16: an encoder layer is MHA 288 + linears 144 + 136 + norms 32
    "TransformerEncoderLayer": Case(
        lambda: nn.TransformerEncoderLayer(8, 2, 16), (5, 2, 8), (5, 2, 8), 600
    ),
    "TransformerEncoderLayer-prenorm-gelu-bf-nobias": Case(
        lambda: nn.TransformerEncoderLayer(
            8, 2, 16, activation="gelu", batch_first=True, norm_first=True, bias=False
        ),
        (2, 5, 8),
        (2, 5, 8),
        256 + 128 + 128 + 16,
    ),
    "TransformerDecoderLayer": Case(
        lambda: nn.TransformerDecoderLayer(8, 2, 16),
        (4, 2, 8),
        (4, 2, 8),
        2 * 288 + 144 + 136 + 48,
        dict(make_extra_args=_state(5, 2, 8)),
    ),
    "TransformerEncoder": Case(
        lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, nn.LayerNorm(8)),
        (5, 2, 8),
        (5, 2, 8),
        2 * 600 + 16,
    ),
    "TransformerDecoder": Case(
        lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, norm_first=True), 2),
        (4, 2, 8),
        (4, 2, 8),
        2 * 904,
        dict(make_extra_args=_state(5, 2, 8)),
    ),
    "Transformer": Case(
        lambda: nn.Transformer(8, 2, 1, 1, 16),
        (5, 2, 8),
        (4, 2, 8),
        600 + 16 + 904 + 16,
        dict(make_extra_args=_state(4, 2, 8)),
    ),
    # ---------------------------------------------------------------- merging, functional
    "Concatenate": Case(
        lambda: nn.Concatenate(), (2, 3), (2, 7), 0, dict(make_extra_args=_state(2, 4))
    ),
    "Add": Case(lambda: nn.Add(), X, X, 0, dict(make_extra_args=_state(*X))),
    "Subtract": Case(lambda: nn.Subtract(), X, X, 0, dict(make_extra_args=_state(1, 3, 4))),
    "Multiply": Case(lambda: nn.Multiply(), X, X, 0, dict(make_extra_args=_state(*X))),
    "Lambda": Case(lambda: nn.Lambda(lambda x: x.tanh()), X, X, 0),
    "Model": Case(
        _functional_model, (2, 4), ((2, 3), (2, 1)), 25 + 24 + 6, dict(make_extra_args=_state(2, 2))
    ),
    # ---------------------------------------------------------------- more layers (issue 13)
    "ConvTranspose2d": Case(
        lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
        (2, 3, 4, 5),
        (2, 4, 8, 10),
        3 * 4 * 9 + 4,
    ),
    "ConvTranspose1d": Case(lambda: nn.ConvTranspose1d(3, 2, 3), (2, 3, 5), (2, 2, 7), 20),
    "ConvTranspose3d": Case(
        lambda: nn.ConvTranspose3d(2, 3, 2), (2, 2, 2, 2, 2), (2, 3, 3, 3, 3), 51
    ),
    "Conv3d": Case(lambda: nn.Conv3d(2, 3, 2), (2, 2, 3, 3, 3), (2, 3, 2, 2, 2), 51),
    "Bilinear": Case(
        lambda: nn.Bilinear(3, 2, 4), (2, 3), (2, 4), 28, dict(make_extra_args=_state(2, 2))
    ),
    "EmbeddingBag": Case(
        lambda: nn.EmbeddingBag(7, 3, mode="sum"),
        (2, 4),
        (2, 3),
        21,
        dict(make_input=_indices(7, (2, 4))),
    ),
    "AdaptiveLogSoftmaxWithLoss": Case(
        lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0),
        (5, 8),
        ((5,), ()),
        8 * 5 + (8 * 4 + 4 * 3) + (8 * 2 + 2 * 4),
        dict(make_extra_args=lambda rng: (rng.integers(0, 10, (5,)),)),
    ),
    "Unfold": Case(lambda: nn.Unfold(2), (2, 3, 4, 4), (2, 12, 9), 0),
    "Fold": Case(lambda: nn.Fold((4, 4), 2), (2, 12, 9), (2, 3, 4, 4), 0),
    "InstanceNorm1d": Case(lambda: nn.InstanceNorm1d(3, affine=True), (2, 3, 5), (2, 3, 5), 6),
    "InstanceNorm2d": Case(
        lambda: nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
        (2, 3, 4, 4),
        (2, 3, 4, 4),
        6,
    ),
    "InstanceNorm3d": Case(lambda: nn.InstanceNorm3d(3), (2, 3, 2, 2, 2), (2, 3, 2, 2, 2), 0),
    "BatchNorm3d": Case(lambda: nn.BatchNorm3d(3), (2, 3, 2, 2, 2), (2, 3, 2, 2, 2), 6),
    "SyncBatchNorm": Case(lambda: nn.SyncBatchNorm(3), (4, 3, 5), (4, 3, 5), 6),
    "RMSNorm": Case(lambda: nn.RMSNorm(4), X, X, 4),
    "LocalResponseNorm": Case(lambda: nn.LocalResponseNorm(3), (2, 4, 3, 3), (2, 4, 3, 3), 0),
    "CrossMapLRN2d": Case(lambda: nn.CrossMapLRN2d(3), (2, 4, 3, 3), (2, 4, 3, 3), 0),
    "PixelShuffle": Case(lambda: nn.PixelShuffle(2), (2, 8, 3, 3), (2, 2, 6, 6), 0),
    "PixelUnshuffle": Case(lambda: nn.PixelUnshuffle(2), (2, 2, 6, 6), (2, 8, 3, 3), 0),
    "ChannelShuffle": Case(lambda: nn.ChannelShuffle(2), (2, 4, 3, 3), (2, 4, 3, 3), 0),
    "LPPool1d": Case(lambda: nn.LPPool1d(2, 2), (2, 3, 4), (2, 3, 2), 0),
    "LPPool2d": Case(lambda: nn.LPPool2d(2, 2), (2, 3, 4, 4), (2, 3, 2, 2), 0),
    "LPPool3d": Case(lambda: nn.LPPool3d(2, 2), (2, 3, 2, 4, 4), (2, 3, 1, 2, 2), 0),
    "AdaptiveMaxPool1d": Case(lambda: nn.AdaptiveMaxPool1d(3), (2, 3, 7), (2, 3, 3), 0),
    "AdaptiveMaxPool2d": Case(lambda: nn.AdaptiveMaxPool2d(2), (2, 3, 5, 5), (2, 3, 2, 2), 0),
    "AdaptiveMaxPool3d": Case(lambda: nn.AdaptiveMaxPool3d(2), (2, 3, 3, 4, 5), (2, 3, 2, 2, 2), 0),
    "AdaptiveAvgPool3d": Case(lambda: nn.AdaptiveAvgPool3d(2), (2, 3, 3, 4, 5), (2, 3, 2, 2, 2), 0),
    "MaxPool3d": Case(lambda: nn.MaxPool3d(2), (2, 3, 4, 4, 4), (2, 3, 2, 2, 2), 0),
    "AvgPool3d": Case(lambda: nn.AvgPool3d(2), (2, 3, 4, 4, 4), (2, 3, 2, 2, 2), 0),
    "MaxUnpool1d": Case(
        lambda: nn.MaxUnpool1d(2),
        (2, 3, 2),
        (2, 3, 4),
        0,
        dict(make_extra_args=lambda rng: (np.array([[[0, 3]] * 3] * 2),)),
    ),
    "MaxUnpool2d": Case(
        lambda: nn.MaxUnpool2d(2),
        (1, 2, 1, 2),
        (1, 2, 2, 4),
        0,
        dict(make_extra_args=lambda rng: (np.array([[[[4, 3]]] * 2]),)),
    ),
    "MaxUnpool3d": Case(
        lambda: nn.MaxUnpool3d(2),
        (1, 1, 1, 1, 1),
        (1, 1, 2, 2, 2),
        0,
        dict(make_extra_args=lambda rng: (np.array([[[[[5]]]]]),)),
    ),
    "FractionalMaxPool2d": Case(
        lambda: nn.FractionalMaxPool2d(2, output_size=3, _random_samples=ax.rand(2, 3, 2)),
        (2, 3, 7, 7),
        (2, 3, 3, 3),
        0,
    ),
    "FractionalMaxPool3d": Case(
        lambda: nn.FractionalMaxPool3d(2, output_size=2, _random_samples=ax.rand(2, 3, 3)),
        (2, 3, 5, 5, 5),
        (2, 3, 2, 2, 2),
        0,
    ),
    "Dropout1d": Case(lambda: nn.Dropout1d(0.3), (2, 3, 4), (2, 3, 4), 0),
    "Dropout3d": Case(lambda: nn.Dropout3d(0.3), (2, 3, 2, 2, 2), (2, 3, 2, 2, 2), 0),
    "AlphaDropout": Case(lambda: nn.AlphaDropout(0.3), X, X, 0),
    "FeatureAlphaDropout": Case(lambda: nn.FeatureAlphaDropout(0.3), X, X, 0),
    "ZeroPad1d": Case(lambda: nn.ZeroPad1d((1, 2)), X, (2, 3, 7), 0),
    "ZeroPad2d": Case(lambda: nn.ZeroPad2d((1, 0, 2, 1)), (2, 3, 4, 4), (2, 3, 7, 5), 0),
    "ZeroPad3d": Case(lambda: nn.ZeroPad3d(1), (2, 3, 2, 2, 2), (2, 3, 4, 4, 4), 0),
    "ConstantPad1d": Case(lambda: nn.ConstantPad1d(2, 1.5), X, (2, 3, 8), 0),
    "ConstantPad2d": Case(lambda: nn.ConstantPad2d(1, -1.0), (2, 3, 4, 4), (2, 3, 6, 6), 0),
    "ConstantPad3d": Case(lambda: nn.ConstantPad3d(1, 0.5), (2, 3, 2, 2, 2), (2, 3, 4, 4, 4), 0),
    "ReflectionPad1d": Case(lambda: nn.ReflectionPad1d(2), X, (2, 3, 8), 0),
    "ReflectionPad2d": Case(lambda: nn.ReflectionPad2d(1), (2, 3, 4, 4), (2, 3, 6, 6), 0),
    "ReflectionPad3d": Case(lambda: nn.ReflectionPad3d(1), (2, 3, 2, 3, 3), (2, 3, 4, 5, 5), 0),
    "ReplicationPad1d": Case(lambda: nn.ReplicationPad1d(2), X, (2, 3, 8), 0),
    "ReplicationPad2d": Case(lambda: nn.ReplicationPad2d(1), (2, 3, 4, 4), (2, 3, 6, 6), 0),
    "ReplicationPad3d": Case(lambda: nn.ReplicationPad3d(1), (2, 3, 2, 2, 2), (2, 3, 4, 4, 4), 0),
    "CircularPad1d": Case(lambda: nn.CircularPad1d(1), X, (2, 3, 6), 0),
    "CircularPad2d": Case(lambda: nn.CircularPad2d(1), (2, 3, 4, 4), (2, 3, 6, 6), 0),
    "CircularPad3d": Case(lambda: nn.CircularPad3d(1), (2, 3, 2, 2, 2), (2, 3, 4, 4, 4), 0),
    "LazyLinear": Case(lambda: nn.LazyLinear(3), (2, 4), (2, 3), 15),
    "LazyConv1d": Case(lambda: nn.LazyConv1d(2, 3), (2, 3, 5), (2, 2, 3), 20),
    "LazyConv2d": Case(lambda: nn.LazyConv2d(2, 3), (2, 3, 4, 4), (2, 2, 2, 2), 56),
    "LazyConv3d": Case(lambda: nn.LazyConv3d(2, 2), (2, 2, 3, 3, 3), (2, 2, 2, 2, 2), 34),
    "LazyConvTranspose1d": Case(lambda: nn.LazyConvTranspose1d(2, 3), (2, 3, 4), (2, 2, 6), 20),
    "LazyConvTranspose2d": Case(
        lambda: nn.LazyConvTranspose2d(2, 2), (2, 3, 3, 3), (2, 2, 4, 4), 26
    ),
    "LazyConvTranspose3d": Case(
        lambda: nn.LazyConvTranspose3d(2, 2), (2, 2, 2, 2, 2), (2, 2, 3, 3, 3), 34
    ),
    "LazyBatchNorm1d": Case(lambda: nn.LazyBatchNorm1d(), (4, 3), (4, 3), 6),
    "LazyBatchNorm2d": Case(lambda: nn.LazyBatchNorm2d(), (2, 3, 4, 4), (2, 3, 4, 4), 6),
    "LazyBatchNorm3d": Case(lambda: nn.LazyBatchNorm3d(), (2, 3, 2, 2, 2), (2, 3, 2, 2, 2), 6),
    "LazyInstanceNorm1d": Case(lambda: nn.LazyInstanceNorm1d(), (2, 3, 5), (2, 3, 5), 6),
    "LazyInstanceNorm2d": Case(lambda: nn.LazyInstanceNorm2d(), (2, 3, 4, 4), (2, 3, 4, 4), 6),
    "LazyInstanceNorm3d": Case(
        lambda: nn.LazyInstanceNorm3d(), (2, 3, 2, 2, 2), (2, 3, 2, 2, 2), 6
    ),
    "DataParallel": Case(lambda: nn.DataParallel(nn.Linear(4, 3)), (2, 4), (2, 3), 15),
}

# Module subclasses exported by axon.nn that are not layers of their own, each with why.
NOT_LAYERS = {
    "Module": "the base class",
    "RNNCellBase": "abstract base of the recurrent cells (no forward)",
    "Sequential": "container",
    "ModuleList": "container",
    "ModuleDict": "container",
    "ParameterList": "container",
    "ParameterDict": "container",
    "Container": "deprecated container (a Module holding its keyword arguments)",
    "DistributedDataParallel": "needs a process group (tests/distributed run it on MPI)",
    "BCELoss": "loss",
    "BCEWithLogitsLoss": "loss",
    "CrossEntropyLoss": "loss",
    "HuberLoss": "loss",
    "L1Loss": "loss",
    "MSELoss": "loss",
    "MultiMarginLoss": "loss",
    "NLLLoss": "loss",
    "SmoothL1Loss": "loss",
    "CTCLoss": "loss",
    "CosineEmbeddingLoss": "loss",
    "GaussianNLLLoss": "loss",
    "HingeEmbeddingLoss": "loss",
    "KLDivLoss": "loss",
    "MarginRankingLoss": "loss",
    "MultiLabelMarginLoss": "loss",
    "MultiLabelSoftMarginLoss": "loss",
    "NLLLoss2d": "loss",
    "PoissonNLLLoss": "loss",
    "SoftMarginLoss": "loss",
    "TripletMarginLoss": "loss",
    "TripletMarginWithDistanceLoss": "loss",
    "LinearCrossEntropyLoss": "loss (with a linear head: input and target in, a scalar out)",
}


@pytest.mark.parametrize("case_id", list(CASES))
def test_layer_contract(case_id, tmp_path):
    case = CASES[case_id]
    check_layer(
        case.make,
        case.input_shape,
        case.output_shape,
        case.num_params,
        tmp_path=tmp_path,
        **case.options,
    )


@pytest.mark.parametrize("dtype", [ax.float64, ax.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case_id", list(CASES))
def test_layer_on_the_strict_backend(case_id, dtype):
    """The layer moved to "strict" (arrays that refuse NumPy) computes the CPU's outputs,
    gradients and SGD step (float64 to 1e-10, float32 to 1e-5), and its parameters stay
    there."""
    case = CASES[case_id]
    check_layer_on_device(case.make, case.input_shape, "strict", dtype=dtype, **case.options)


def _exported_module_classes() -> dict[str, type]:
    names = set(getattr(nn, "__all__", ())) | {n for n in dir(nn) if not n.startswith("_")}
    out = {}
    for n in sorted(names):
        obj = getattr(nn, n, None)
        if inspect.isclass(obj) and issubclass(obj, nn.Module):
            out[n] = obj
    return out


def test_every_exported_layer_has_a_contract_case():
    covered = {type(case.make()) for case in CASES.values()}
    exported = _exported_module_classes()
    missing = [n for n, cls in exported.items() if cls not in covered and n not in NOT_LAYERS]
    assert not missing, (
        f"axon.nn exports {missing} without a layer-contract case: add one to CASES in "
        f"tests/nn/test_layer_contract.py (or, if it is not a layer, to NOT_LAYERS with why)"
    )
    stale = [n for n in NOT_LAYERS if n not in exported]
    assert not stale, f"NOT_LAYERS names {stale}, which axon.nn no longer exports"
    wrongly_excluded = [n for n in NOT_LAYERS if exported.get(n) in covered]
    assert not wrongly_excluded, (
        f"{wrongly_excluded} have contract cases: drop them from NOT_LAYERS"
    )
