"""``torch.nn.modules`` in axon: the layers under the submodule names PyTorch code imports
them from (``nn.modules.batchnorm._BatchNorm``, ``nn.modules.conv._ConvNd``,
``nn.modules.utils._pair``, ...). Every name is the class itself, so ``isinstance`` checks
written against those paths hold.
"""

from .. import (  # noqa: F401  (the layers, as torch.nn.modules has them at its top)
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveLogSoftmaxWithLoss,
    AdaptiveMaxPool1d, AdaptiveMaxPool2d, AdaptiveMaxPool3d, AlphaDropout, AvgPool1d,
    AvgPool2d, AvgPool3d, BatchNorm1d, BatchNorm2d, BatchNorm3d, Bilinear, ChannelShuffle,
    CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d,
    Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, CrossMapLRN2d,
    Dropout, Dropout1d, Dropout2d, Dropout3d, Embedding, EmbeddingBag, FeatureAlphaDropout,
    Flatten, Fold, FractionalMaxPool2d, FractionalMaxPool3d, GroupNorm, GRU, GRUCell,
    Identity, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, LayerNorm, LazyBatchNorm1d,
    LazyBatchNorm2d, LazyBatchNorm3d, LazyConv1d, LazyConv2d, LazyConv3d,
    LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d, LazyInstanceNorm1d,
    LazyInstanceNorm2d, LazyInstanceNorm3d, LazyLinear, Linear, LocalResponseNorm, LPPool1d,
    LPPool2d, LPPool3d, LSTM, LSTMCell, MaxPool1d, MaxPool2d, MaxPool3d, MaxUnpool1d,
    MaxUnpool2d, MaxUnpool3d, Module, MultiheadAttention, PixelShuffle, PixelUnshuffle,
    ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,
    ReplicationPad3d, RMSNorm, RNN, RNNBase, RNNCell, RNNCellBase, SyncBatchNorm,
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
    TransformerEncoderLayer, Unflatten, Unfold, Upsample, ZeroPad1d, ZeroPad2d, ZeroPad3d,
)
from . import (  # noqa: F401
    activation, adaptive, batchnorm, channelshuffle, container, conv, distance, dropout,
    flatten, fold, instancenorm, lazy, linear, loss, module, normalization, padding,
    pixelshuffle, pooling, rnn, sparse, transformer, upsampling, utils,
)
