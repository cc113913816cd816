"""Shape ops vs torch: reshape/view, transpose, permute, T, expand, squeeze, unsqueeze,
flatten, repeat, flip, cat, stack, split, chunk and constant padding (negative crops)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import axon as ax
from axon.autograd import ops
from tests.autograd.parity import helper_test_exception, helper_test_op

# name -> (input shape, function working on both libraries)
MOVEMENT = {
    "reshape": ((2, 3, 4), lambda x: x.reshape(4, 6)),
    "reshape_tuple_minus1": ((2, 3, 4), lambda x: x.reshape((3, -1))),
    "view": ((2, 3, 4), lambda x: x.view(-1)),
    "view_as": ((2, 3, 4), lambda x: x.view(6, 4).view_as(x)),
    "transpose": ((2, 3, 4), lambda x: x.transpose(0, 2)),
    "transpose_neg": ((2, 3, 4), lambda x: x.transpose(-1, -2)),
    "permute": ((2, 3, 4), lambda x: x.permute(2, 0, 1)),
    "permute_neg": ((2, 3, 4), lambda x: x.permute(-1, 0, -2)),
    "T": ((3, 4), lambda x: x.T),
    "mT": ((2, 3, 4), lambda x: x.mT),
    "t": ((3, 4), lambda x: x.t()),
    "expand": ((3, 1), lambda x: x.expand(2, 3, 4)),
    "expand_minus1": ((3, 1), lambda x: x.expand(-1, 5)),
    "expand_as": (
        (1, 4),
        lambda x: (
            x.expand_as(torch.zeros(3, 4))
            if isinstance(x, torch.Tensor)
            else x.expand_as(ax.zeros(3, 4))
        ),
    ),
    "squeeze_all": ((1, 3, 1, 4), lambda x: x.squeeze()),
    "squeeze_dim": ((1, 3, 1, 4), lambda x: x.squeeze(2)),
    "squeeze_tuple": ((1, 3, 1, 4), lambda x: x.squeeze((0, 2))),
    "squeeze_noop": ((1, 3, 1, 4), lambda x: x.squeeze(1)),
    "unsqueeze": ((3, 4), lambda x: x.unsqueeze(1)),
    "unsqueeze_neg": ((3, 4), lambda x: x.unsqueeze(-1)),
    "flatten": ((2, 3, 4), lambda x: x.flatten()),
    "flatten_range": ((2, 3, 4, 5), lambda x: x.flatten(1, 2)),
    "flatten_start": ((2, 3, 4), lambda x: x.flatten(1)),
    "unflatten": ((2, 12), lambda x: x.unflatten(1, (3, 4))),
    "repeat": ((2, 3), lambda x: x.repeat(2, 1, 3)),
    "flip": ((2, 3, 4), lambda x: x.flip(0, 2)),
    "narrow": ((5, 4), lambda x: x.narrow(0, 1, 3)),
    "select": ((5, 4), lambda x: x.select(1, 2)),
    "unbind": ((3, 4), lambda x: x.unbind(1)),
    "clone": ((3, 4), lambda x: x.clone() * 2),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", MOVEMENT)
def test_movement(name, dtype):
    shape, fn = MOVEMENT[name]
    helper_test_op([shape], fn, dtype=dtype)


@pytest.mark.parametrize("name", MOVEMENT)
def test_movement_non_contiguous(name):
    shape, fn = MOVEMENT[name]
    helper_test_op([shape], fn, layout="transposed")
    helper_test_op([shape], fn, layout="strided")


def test_functional_forms():
    helper_test_op(
        [(2, 3, 4)], lambda x: torch.permute(x, (1, 2, 0)), lambda x: ax.permute(x, (1, 2, 0))
    )
    helper_test_op([(2, 3, 4)], lambda x: torch.flatten(x, 1), lambda x: ax.flatten(x, 1))
    helper_test_op([(2, 1, 4)], lambda x: torch.squeeze(x, 1), lambda x: ax.squeeze(x, 1))


# ------------------------------------------------------------------ joining and splitting


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(dim):
    shapes = [(2, 3, 4), (2, 3, 4), (2, 3, 4)]
    shapes = [s[: dim % 3] + (k + 1,) + s[dim % 3 + 1 :] for k, s in enumerate(shapes)]
    helper_test_op(shapes, lambda *xs: torch.cat(xs, dim), lambda *xs: ax.cat(xs, dim))


def test_cat_with_a_constant_input_and_float32():
    helper_test_op(
        [(2, 3), (4, 3)],
        lambda a, b: torch.cat([a, b]),
        lambda a, b: ax.cat([a, b]),
        requires_grad=[False, True],
        dtype=np.float32,
        layout="transposed",
    )


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack(dim):
    helper_test_op(
        [(2, 3)] * 3,
        lambda *xs: torch.stack(xs, dim),
        lambda *xs: ax.stack(xs, dim),
        layout="strided",
    )


@pytest.mark.parametrize(
    "arg, dim", [(2, 0), (2, 1), (3, -1), ([1, 4], 1), ((2, 2, 1), 1), (5, 1)], ids=str
)
def test_split(arg, dim):
    helper_test_op([(4, 5)], lambda x: x.split(arg, dim))
    helper_test_op([(4, 5)], lambda x: torch.split(x, arg, dim), lambda x: ax.split(x, arg, dim))


@pytest.mark.parametrize("chunks, dim", [(2, 0), (3, 1), (4, 1), (5, 0)], ids=str)
def test_chunk(chunks, dim):
    # uneven: 5 columns in 3 chunks is 2 + 2 + 1; 5 columns in 4 is 2 + 2 + 1 (3 chunks)
    helper_test_op([(4, 5)], lambda x: x.chunk(chunks, dim))


def test_only_some_pieces_of_a_split_used():
    helper_test_op([(6, 3)], lambda x: x.split(2)[1] * 3)


PADS = {
    "last": ((1, 2), 0.0),
    "last_two": ((1, 0, 2, 1), 0.0),
    "value": ((2, 2), -1.5),
    "negative_crop": ((-1, 2, 1, -2), 0.0),
    "both_negative": ((-1, -1), 0.0),
    "three_dims": ((1, 1, 0, 2, 1, 0), 3.0),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", PADS)
def test_pad(name, dtype):
    pad, value = PADS[name]
    helper_test_op(
        [(2, 3, 4)],
        lambda x: F.pad(x, pad, value=value),
        lambda x: ops.Pad.apply(x, pad, value),
        dtype=dtype,
    )


# ------------------------------------------------------------------ errors


def test_bad_shapes_name_the_op_and_the_shapes():
    helper_test_exception(
        [(2, 3)], lambda x: x.reshape(4, 2), match=["reshape", "(4, 2)", "(2, 3)"]
    )
    helper_test_exception([(3, 2)], lambda x: x.expand(3, 4), match=["expand", "(3, 2)"])
    helper_test_exception(
        [(2, 3), (2, 4)],
        lambda a, b: torch.cat([a, b]),
        lambda a, b: ax.cat([a, b]),
        match=["cat", "(2, 3)", "(2, 4)"],
    )
    helper_test_exception(
        [(2, 3), (2, 4)],
        lambda a, b: torch.stack([a, b]),
        lambda a, b: ax.stack([a, b]),
        match=["stack", "(2, 3)", "(2, 4)"],
    )
    helper_test_exception([(2, 3)], lambda x: x.permute(0, 0), match=["permute", "(2, 3)"])
    helper_test_exception([(2, 3)], lambda x: x.split([1, 1], 1), match=["split"])
