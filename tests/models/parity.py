"""Checks shared by the zoo's tests: an axon model against its torch twin."""

from __future__ import annotations

import numpy as np
import torch

import axon
from tests.helpers import assert_close

from .torch_reference import numpy_state_dict


def shapes(state: dict) -> list[tuple[str, tuple]]:
    """(key, shape) pairs in state-dict order."""
    return [(k, tuple(v.shape)) for k, v in state.items()]


def n_params(model) -> int:
    """Number of parameters (axon and torch modules alike)."""
    return sum(p.numel() for p in model.parameters())


def assert_same_layout(model, ref) -> None:
    """Same state-dict keys, in the same order, with the same shapes."""
    ours, theirs = shapes(model.state_dict()), shapes(ref.state_dict())
    assert [k for k, _ in ours] == [k for k, _ in theirs]
    assert ours == theirs


def assert_same_repr(model, ref) -> None:
    """Same printed structure: every layer's type, name and hyperparameters (kernel,
    stride, padding, inplace, dropout p, ...) as PyTorch prints them."""
    assert repr(model) == repr(ref)


def assert_same_output(model, ref, input_shape, rtol=1e-4, atol=1e-4, seed=0) -> None:
    """Load ``ref``'s weights into ``model`` and compare eval-mode outputs on one input.

    ``atol`` is relative to the largest output (logits of fresh models range from 0.03
    for AlexNet to 100 for a ResNet-34 with random batch-norm statistics).
    """
    model.load_state_dict(numpy_state_dict(ref))
    model.eval()
    ref.eval()
    x = np.random.default_rng(seed).standard_normal(input_shape).astype(np.float32)
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    with axon.no_grad():
        out = model(axon.tensor(x))
    assert out.shape == expected.shape
    scale = float(np.abs(expected).max())
    assert scale > 0
    assert_close(out, expected, rtol=rtol, atol=atol * scale)
