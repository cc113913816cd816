"""``axon.models``, the model zoo, one family a file: vision (LeNet, AlexNet, VGG, ResNet), MLPs,
sequence models (seq2seq, Transformer, word2vec, ``decoding``), classic ML and Naive Bayes.

The vision models (AlexNet, VGG, ResNet) have torchvision's module names, layer order and
state-dict keys, so a torchvision ``state_dict`` converted to NumPy loads unchanged::

    model = axon.models.resnet18()
    model.load_state_dict({k: v.numpy() for k, v in tv_model.state_dict().items()})

``get_model("lenet5", activation="tanh")`` builds any of them by name;
``list_models()`` gives the names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from .. import nn
from .alexnet import AlexNet, alexnet
from .lenet import LeNet5, lenet5
from .mlp import make_activation, mlp
from .resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
)
from .vgg import (
    CFGS,
    VGG,
    make_layers,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)

_REGISTRY: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp,
    "lenet5": lenet5,
    "lenet5_classic": partial(lenet5, activation="tanh", pooling="avg"),  # 1998: tanh, avg
    "alexnet": alexnet,
    "vgg11": vgg11,
    "vgg11_bn": vgg11_bn,
    "vgg13": vgg13,
    "vgg13_bn": vgg13_bn,
    "vgg16": vgg16,
    "vgg16_bn": vgg16_bn,
    "vgg19": vgg19,
    "vgg19_bn": vgg19_bn,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "resnet152": resnet152,
}


def list_models() -> list[str]:
    """The names :func:`get_model` knows, sorted."""
    return sorted(_REGISTRY)


def register_model(name: str, constructor: Callable[..., nn.Module]) -> None:
    """Make ``get_model(name, **kw)`` call ``constructor(**kw)``."""
    key = name.lower()
    if key in _REGISTRY and _REGISTRY[key] is not constructor:
        raise ValueError(f"a model named {name!r} is already registered")
    _REGISTRY[key] = constructor


def get_model(name: str, **kwargs) -> nn.Module:
    """Build the model registered as ``name`` (case-insensitive) with ``kwargs``:
    ``get_model("resnet18", num_classes=10)``, ``get_model("mlp", sizes=[784, 10])``."""
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return _REGISTRY[key](**kwargs)


__all__ = [
    "CFGS",
    "VGG",
    "AlexNet",
    "BasicBlock",
    "Bottleneck",
    "LeNet5",
    "ResNet",
    "alexnet",
    "get_model",
    "lenet5",
    "list_models",
    "make_activation",
    "make_layers",
    "mlp",
    "register_model",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]

# decoding for every sequence model: greedy search, beam search, sampling (step protocol)
from .decoding import (
    BeamTrace,
    Hypothesis,
    beam_search,
    filter_log_probs,
    gather_state,
    greedy_search,
    print_trace,
    sample,
    score_sequence,
)

__all__ += [
    "BeamTrace",
    "Hypothesis",
    "beam_search",
    "filter_log_probs",
    "gather_state",
    "greedy_search",
    "print_trace",
    "sample",
    "score_sequence",
]

# sequence to sequence: encoder-decoder RNNs, plain and with Bahdanau attention
from .seq2seq import (
    AttentionDecoder,
    Decoder,
    DecoderState,
    Encoder,
    Seq2Seq,
    padding_mask,
    reverse_padded,
    seq2seq,
)

register_model("seq2seq", seq2seq)
__all__ += [
    "AttentionDecoder",
    "Decoder",
    "DecoderState",
    "Encoder",
    "Seq2Seq",
    "padding_mask",
    "reverse_padded",
    "seq2seq",
]

# the Transformer encoder-decoder for translation (same step protocol)
from .seq2seq import TransformerSeq2Seq, TransformerState

__all__ += ["TransformerSeq2Seq", "TransformerState"]

# classic machine learning: multinomial Naive Bayes on bag-of-words counts
from .naive_bayes import CountVectorizer, MultinomialNB

__all__ += ["CountVectorizer", "MultinomialNB"]

# word2vec: skip-gram with negative sampling, its samplers, neighbours and analogies
from .word2vec import (
    NegativeSampler,
    SkipGram,
    analogy,
    keep_probabilities,
    most_similar,
    sgns_loss,
    skipgram_pairs,
    subsample,
)

__all__ += [
    "NegativeSampler",
    "SkipGram",
    "analogy",
    "keep_probabilities",
    "most_similar",
    "sgns_loss",
    "skipgram_pairs",
    "subsample",
]

# Transformer language models: decoder-only (GPT-style) and a BERT-style encoder with its heads
from .transformer import (
    IGNORE_INDEX,
    MaskedLM,
    TransformerClassifier,
    TransformerEncoderModel,
    TransformerLM,
    causal_mask,
    mask_tokens,
)

register_model("transformer_lm", TransformerLM)
register_model("transformer_encoder", TransformerEncoderModel)
__all__ += [
    "IGNORE_INDEX",
    "MaskedLM",
    "TransformerClassifier",
    "TransformerEncoderModel",
    "TransformerLM",
    "causal_mask",
    "mask_tokens",
]

# classic machine learning in axon: logistic regression, linear SVM, k-NN, k-means
from .classic import KMeans, KNeighborsClassifier, LinearSVM, LogisticRegression

__all__ += ["KMeans", "KNeighborsClassifier", "LinearSVM", "LogisticRegression"]
