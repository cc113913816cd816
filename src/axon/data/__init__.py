"""Data: ``Dataset`` and its combinators, the ``DataLoader`` (samplers, collation, workers),
``transforms``, and the vision (``vision``, ``idx``) and text (``text``) datasets it downloads."""

from .dataloader import DataLoader, default_collate
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split

__all__ = [
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "default_collate",
    "random_split",
]

# vision: IDX files, the data directory and downloads, image datasets, transforms
from . import transforms
from .datadir import data_dir, download, ensure_file
from .idx import read_idx, write_idx
from .vision import MNIST, FashionMNIST, load_digits

__all__ += [
    "FashionMNIST",
    "MNIST",
    "data_dir",
    "download",
    "ensure_file",
    "load_digits",
    "read_idx",
    "transforms",
    "write_idx",
]

# text: tokenizers, vocabularies, corpus readers, batching of sequences
from . import text
from .text import (
    BPTTBatches,
    Vocab,
    batchify,
    bptt_batches,
    char_tokenize,
    pad_collate,
    pad_ids,
    penn_treebank,
    read_conllu,
    sms_spam,
    sst2,
    tiny_shakespeare,
    ud_pos,
    word_tokenize,
)

__all__ += [
    "BPTTBatches",
    "Vocab",
    "batchify",
    "bptt_batches",
    "char_tokenize",
    "pad_collate",
    "pad_ids",
    "penn_treebank",
    "read_conllu",
    "sms_spam",
    "sst2",
    "text",
    "tiny_shakespeare",
    "ud_pos",
    "word_tokenize",
]

# torch.utils.data: samplers, iterable datasets, worker processes, collation
from ._worker import WorkerInfo, get_worker_info
from .collate import default_convert
from .dataset import ChainDataset, IterableDataset, StackDataset
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ += [
    "BatchSampler",
    "ChainDataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_convert",
    "get_worker_info",
]

# torchvision's layout: `from axon.data import datasets, transforms` as
# `from torchvision import datasets, transforms` (datasets.MNIST, datasets.FashionMNIST)
from . import vision as datasets  # noqa: E402

__all__ += ["datasets"]

# torch.utils.data.DistributedSampler (and its module path data.distributed)
from . import distributed  # noqa: E402
from .distributed import DistributedSampler  # noqa: E402

__all__ += ["DistributedSampler"]
