"""``Embedding``: a learned lookup table from integer ids to vectors (PyTorch's layout);
``EmbeddingBag``: the sum, mean or maximum of each bag of looked-up vectors."""

from __future__ import annotations

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from . import functional as F
from . import init
from ._factory import factory_dtype, place
from .module import Module, Parameter


def _padding_index(padding_idx: int | None, num_embeddings: int) -> int | None:
    """``padding_idx`` as a row number in [0, V); negative values count from the end."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(
            f"padding_idx must be within num_embeddings ({num_embeddings}), got {padding_idx}"
        )
    return padding_idx + num_embeddings if padding_idx < 0 else padding_idx


class Embedding(Module):
    """out = weight[input]: row ``i`` of the (num_embeddings, embedding_dim) ``weight`` for
    every integer ``i`` in ``input``, which may have any shape; the output has shape
    ``input.shape + (embedding_dim,)``.

    Equivalent to ``one_hot(input) @ weight`` without building the one-hot matrix. The
    weight gradient adds the output gradients of every position that picked a row (a
    row picked twice gets both).

    Args:
        num_embeddings: the vocabulary size V.
        embedding_dim: the vector size D.
        padding_idx: a row that stays as it is: initialised to zeros and never given a
            gradient (its output positions still look it up). Negative counts from the end.
        max_norm: if given, every row that is looked up is first rescaled in place to a
            ``norm_type``-norm of at most ``max_norm`` (as PyTorch does).
        norm_type: the p of that norm.
        scale_grad_by_freq: divide each row's gradient by how often its index occurs in
            the mini-batch.
        sparse: sparse gradients are not supported (must be False).

    The weight starts as N(0, 1) draws, as in PyTorch, with the padding row zeroed.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight=None,
        _freeze: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if sparse:
            raise NotImplementedError("axon.nn.Embedding: sparse gradients are not supported")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = False
        dt = factory_dtype(device, dtype)
        if _weight is None:
            self.weight = Parameter(
                B.xp.empty((num_embeddings, embedding_dim), dtype=dt), requires_grad=not _freeze
            )
            self.reset_parameters()
        else:
            data = _weight.array if isinstance(_weight, Tensor) else B.xp.asarray(_weight)
            if data.shape != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Shape of weight {tuple(data.shape)} does not match num_embeddings and "
                    f"embedding_dim ({num_embeddings}, {embedding_dim})"
                )
            self.weight = Parameter(data, requires_grad=not _freeze)
        place(self, device)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.array[self.padding_idx] = 0

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    @classmethod
    def from_pretrained(
        cls,
        embeddings,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (a 2-D Tensor or array of shape
        (V, D), used as given: the padding row is not zeroed). ``freeze=True`` (the
        default) makes it constant: ``weight.requires_grad = False``."""
        data = embeddings.array if isinstance(embeddings, Tensor) else B.xp.asarray(embeddings)
        if data.ndim != 2:
            raise ValueError(
                f"Embeddings parameter is expected to be 2-dimensional, got "
                f"shape {tuple(data.shape)}"
            )
        rows, cols = data.shape
        return cls(
            rows,
            cols,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
            _weight=data,
            _freeze=freeze,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2.0:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        return s


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embedding rows, without the (bag, length, D)
    lookup in between (a bag-of-words text encoder in one layer).

    ``forward(input, offsets=None, per_sample_weights=None)``: a 2-D input (B, L) holds
    B bags of L indices; a 1-D input holds the bags one after the other, bag b starting
    at ``offsets[b]`` (with ``include_last_offset`` the last offset ends the last bag).
    ``mode``: 'sum', 'mean' (the default) or 'max'; ``per_sample_weights`` scale each
    row in 'sum' mode. Entries equal to ``padding_idx`` are left out of their bag (the
    row stays zero and gets no gradient); an empty bag gives zeros. The weight
    (num_embeddings, embedding_dim) starts as N(0, 1) draws, as in PyTorch.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight=None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if sparse:
            raise NotImplementedError("axon.nn.EmbeddingBag: sparse gradients are not supported")
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"mode has to be one of sum, mean or max, got {mode!r}")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, False
        self.include_last_offset = include_last_offset
        self.padding_idx = _padding_index(padding_idx, num_embeddings)
        dt = factory_dtype(device, dtype)
        if _weight is None:
            self.weight = Parameter(B.xp.empty((num_embeddings, embedding_dim), dtype=dt))
            self.reset_parameters()
        else:
            data = _weight.array if isinstance(_weight, Tensor) else B.xp.asarray(_weight)
            if data.shape != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Shape of weight {tuple(data.shape)} does not match num_embeddings and "
                    f"embedding_dim ({num_embeddings}, {embedding_dim})"
                )
            self.weight = Parameter(data)
        place(self, device)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.array[self.padding_idx] = 0

    def forward(
        self, input: Tensor, offsets: Tensor | None = None, per_sample_weights: Tensor | None = None
    ) -> Tensor:
        return F.embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    @classmethod
    def from_pretrained(
        cls,
        embeddings,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An EmbeddingBag whose weight is the 2-D ``embeddings`` (used as given);
        ``freeze=True`` (the default) makes it constant."""
        data = embeddings.array if isinstance(embeddings, Tensor) else B.xp.asarray(embeddings)
        if data.ndim != 2:
            raise ValueError(
                f"Embeddings parameter is expected to be 2-dimensional, got "
                f"shape {tuple(data.shape)}"
            )
        bag = cls(
            data.shape[0],
            data.shape[1],
            max_norm,
            norm_type,
            scale_grad_by_freq,
            mode,
            sparse,
            data,
            include_last_offset,
            padding_idx,
        )
        bag.weight.requires_grad = not freeze
        return bag

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
