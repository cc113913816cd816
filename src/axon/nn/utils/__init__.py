"""``torch.nn.utils``: gradient clipping (``clip_grad``), parameters to and from one vector
(``convert_parameters``), and packed sequences for recurrent layers (``rnn``)."""

from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]
from . import rnn  # noqa: E402,F401  (pack_padded_sequence, pad_packed_sequence, ...)
