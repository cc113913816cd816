"""``axon.data.text``: tokenizers, Vocab, the corpus readers (on tiny files written in the
real formats), upstream-archive downloads, LM batching and padding."""

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

import axon as ax
from axon.data import DataLoader, text
from axon.data.datadir import ChecksumError
from axon.data.text import (
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


@pytest.fixture(autouse=True)
def _no_data_dirs(tmp_path, monkeypatch):
    """Only ``root=`` is searched: no AXON_DATA_DIR, and an empty per-user cache."""
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _write(root, subdir, name, content: str | bytes):
    folder = root / subdir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


OFFLINE = dict(download=False, verify=False)

# ----------------------------------------------------------------------------- tokenizers


def test_tokenizers():
    assert char_tokenize("Hi !\n") == ["H", "i", " ", "!", "\n"]
    assert word_tokenize("Don't stop, state-of-the-art 2 go!") == [
        "Don't",
        "stop",
        ",",
        "state-of-the-art",
        "2",
        "go",
        "!",
    ]
    assert word_tokenize("The END.", lower=True) == ["the", "end", "."]
    assert word_tokenize("  \n ") == []


# ----------------------------------------------------------------------------- Vocab


def test_vocab_orders_specials_then_frequency_with_alphabetical_ties():
    v = Vocab.from_tokens("b a c a b a d".split())
    assert v.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c", "d"]
    assert v.stoi["a"] == 4 and len(v) == 8
    assert v["zzz"] == v.unk_index == 1  # unknown -> <unk>
    assert "a" in v and "zzz" not in v
    assert v.encode(["a", "zzz", "d"]).tolist() == [4, 1, 7]
    assert v.encode(["a"]).dtype == np.int64
    assert v.decode(np.array([[4, 5], [3, 0]])) == ["a", "b", "<eos>", "<pad>"]
    assert v.decode(ax.tensor(np.array([6]))) == ["c"]
    with pytest.raises(IndexError, match="id 8 is out of range"):
        v.decode([8])


def test_vocab_min_freq_max_size_and_sentences():
    sentences = [["x", "y", "y"], ["y", "z", "x"], ["w"]]
    v = Vocab.from_tokens(sentences, min_freq=2, specials=("<unk>",))
    assert v.itos == ["<unk>", "y", "x"]
    capped = Vocab.from_tokens(sentences, max_size=3, specials=("<pad>", "<unk>"))
    assert capped.itos == ["<pad>", "<unk>", "y"] and len(capped) == 3
    with pytest.raises(ValueError, match="no room"):
        Vocab.from_tokens(sentences, max_size=1, specials=("<pad>", "<unk>"))


def test_vocab_from_counter_keeps_specials_once_and_sorts_by_token():
    counts = {"<unk>": 50, "b": 3, "a": 1, "c": 3}
    v = Vocab.from_counter(counts, specials=("<unk>", "<eos>"))
    assert v.itos == ["<unk>", "<eos>", "b", "c", "a"]
    chars = Vocab.from_tokens("hello", specials=(), unk_token=None, sort_by="token")
    assert chars.itos == ["e", "h", "l", "o"] and chars.unk_index is None
    assert "".join(chars.decode(chars.encode("hello"))) == "hello"
    with pytest.raises(KeyError, match="no unknown token"):
        chars.encode("help")
    with pytest.raises(ValueError, match="unique"):
        Vocab(["a", "b", "a"])
    with pytest.raises(ValueError, match="sort_by"):
        Vocab.from_counter(counts, sort_by="length")


def test_vocab_json_round_trip(tmp_path):
    v = Vocab.from_tokens(["été", "naïve", "été", "\n"], specials=("<pad>", "<unk>"))
    v.save(tmp_path / "vocab.json")
    w = Vocab.load(tmp_path / "vocab.json")
    assert w == v and w.stoi == v.stoi and w.unk_index == 1
    assert "été" in (tmp_path / "vocab.json").read_text(encoding="utf-8")
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match="not a vocabulary"):
        Vocab.load(tmp_path / "other.json")


# ----------------------------------------------------------------------------- readers


def test_tiny_shakespeare_splits_90_10(tmp_path):
    body = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak.\n"
    _write(tmp_path, "tinyshakespeare", "input.txt", body)
    got = tiny_shakespeare(tmp_path, **OFFLINE)
    cut = int(len(body) * 0.9)
    assert got == {"train": body[:cut], "val": body[cut:]}
    assert tiny_shakespeare(tmp_path, "val", **OFFLINE) == body[cut:]
    with pytest.raises(ValueError, match="split"):
        tiny_shakespeare(tmp_path, "test", **OFFLINE)


def test_penn_treebank_appends_eos_at_each_line_end(tmp_path):
    for split, body in [
        ("train", " the cat <unk> \n a N b \n"),
        ("valid", " x y \n"),
        ("test", " z \n"),
    ]:
        _write(tmp_path, "ptb", f"ptb.{split}.txt", body)
    got = penn_treebank(tmp_path, **OFFLINE)
    assert got["train"] == ["the", "cat", "<unk>", "<eos>", "a", "N", "b", "<eos>"]
    assert got["valid"] == ["x", "y", "<eos>"] and got["test"] == ["z", "<eos>"]
    assert penn_treebank(tmp_path, "test", **OFFLINE) == ["z", "<eos>"]


def test_sst2_reads_the_glue_tsv(tmp_path):
    _write(
        tmp_path,
        "sst2",
        "train.tsv",
        "sentence\tlabel\nhide new secretions from the parental units \t0\n"
        "the greatest musicians \t1\n",
    )
    _write(tmp_path, "sst2", "dev.tsv", "sentence\tlabel\nit 's a charming journey . \t1\n")
    got = sst2(tmp_path, **OFFLINE)
    assert got["train"] == [
        ("hide new secretions from the parental units", 0),
        ("the greatest musicians", 1),
    ]
    assert got["dev"] == [("it 's a charming journey .", 1)]
    _write(tmp_path, "sst2", "dev.tsv", "text\tlabel\na\t1\n")
    with pytest.raises(ValueError, match="header"):
        sst2(tmp_path, "dev", **OFFLINE)


CONLLU = """\
# newdoc id = weblog-1
# sent_id = s1
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t3:nsubj\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t4:aux\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t4:advmod\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t0:root\tSpaceAfter=No
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t4:punct\t_

# sent_id = s2
# text = Sue likes coffee and Bill tea
1\tSue\tSue\tPROPN\tNNP\t_\t2\tnsubj\t2:nsubj\t_
2\tlikes\tlike\tVERB\tVBZ\t_\t0\troot\t0:root\t_
3\tcoffee\tcoffee\tNOUN\tNN\t_\t2\tobj\t2:obj\t_
4\tand\tand\tCCONJ\tCC\t_\t5\tcc\t5.1:cc\t_
5\tBill\tBill\tPROPN\tNNP\t_\t3\tconj\t5.1:nsubj\t_
5.1\tlikes\tlike\tVERB\tVBZ\t_\t_\t_\t2:conj:and\tCopyOf=2
6\ttea\ttea\tNOUN\tNN\t_\t5\torphan\t5.1:obj\t_
"""  # no blank line after the last sentence: still read


def test_conllu_skips_comments_multiword_tokens_and_empty_nodes(tmp_path):
    path = _write(tmp_path, "ud-english-ewt", "en_ewt-ud-dev.conllu", CONLLU)
    expected = [
        [("I", "PRON"), ("do", "AUX"), ("n't", "PART"), ("know", "VERB"), (".", "PUNCT")],
        [
            ("Sue", "PROPN"),
            ("likes", "VERB"),
            ("coffee", "NOUN"),
            ("and", "CCONJ"),
            ("Bill", "PROPN"),
            ("tea", "NOUN"),
        ],
    ]
    assert read_conllu(path) == expected
    assert ud_pos(tmp_path, "dev", **OFFLINE) == expected
    with pytest.raises(ValueError, match="split"):
        ud_pos(tmp_path, "valid", **OFFLINE)
    _write(tmp_path, "ud-english-ewt", "en_ewt-ud-test.conllu", "1\tbroken line\n")
    with pytest.raises(ValueError, match="line 1: expected 10"):
        ud_pos(tmp_path, "test", **OFFLINE)


def test_sms_spam_label_text_pairs(tmp_path):
    _write(
        tmp_path,
        "sms-spam",
        "SMSSpamCollection",
        "ham\tGo until jurong point, crazy..\nspam\tFree entry\tin 2 a wkly comp\n"
        "ham\tOk lar... Joking wif u oni...\n",
    )
    assert sms_spam(tmp_path, **OFFLINE) == [
        ("ham", "Go until jurong point, crazy.."),
        ("spam", "Free entry\tin 2 a wkly comp"),
        ("ham", "Ok lar... Joking wif u oni..."),
    ]


def test_missing_file_says_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ptb/ptb.train.txt was not found") as e:
        penn_treebank(tmp_path, "train", download=False)
    assert "AXON_DATA_DIR" in str(e.value) and str(tmp_path / "ptb") in str(e.value)


def test_checksums_are_checked_by_default(tmp_path):
    _write(tmp_path, "tinyshakespeare", "input.txt", "not the real text\n")
    with pytest.raises(ChecksumError, match="size is 18 bytes"):
        tiny_shakespeare(tmp_path, download=False)


def _file_url(path) -> str:
    return path.resolve().as_uri()


def test_download_falls_back_to_the_upstream_archive(tmp_path, monkeypatch):
    body = b"ham\tHello\nspam\tWIN\n"
    sha = hashlib.sha256(body).hexdigest()
    archive = tmp_path / "upstream" / "sms+spam+collection.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme", "x")
        z.writestr("SMSSpamCollection", body)
    fake = text._File(
        "sms-spam",
        "SMSSpamCollection",
        sha,
        len(body),
        (_file_url(tmp_path / "upstream" / "missing.txt"),),
        ((_file_url(archive), "SMSSpamCollection"),),
    )
    monkeypatch.setitem(text.FILES, "sms", fake)
    root = tmp_path / "data"
    assert sms_spam(root) == [("ham", "Hello"), ("spam", "WIN")]
    assert (root / "sms-spam" / "SMSSpamCollection").read_bytes() == body
    assert sorted(
        p.name for p in (root / "sms-spam").iterdir() if not p.name.endswith(".verified")
    ) == ["SMSSpamCollection"]  # the archive and temporary files are gone


def test_tar_archive_member_and_a_wrong_member_checksum(tmp_path, monkeypatch):
    body = b" a b \n"
    archive = tmp_path / "simple-examples.tgz"
    with tarfile.open(archive, "w:gz") as t:
        info = tarfile.TarInfo("./simple-examples/data/ptb.test.txt")
        info.size = len(body)
        t.addfile(info, io.BytesIO(body))
    good = text._File(
        "ptb",
        "ptb.test.txt",
        hashlib.sha256(body).hexdigest(),
        len(body),
        (),
        ((_file_url(archive), "simple-examples/data/ptb.test.txt"),),
    )
    monkeypatch.setitem(text.FILES, "ptb.test", good)
    assert penn_treebank(tmp_path / "a", "test") == ["a", "b", "<eos>"]
    bad = text._File("ptb", "ptb.test.txt", "0" * 64, len(body), (), good.archives)
    monkeypatch.setitem(text.FILES, "ptb.test", bad)
    with pytest.raises(FileNotFoundError, match="upstream archives failed too") as e:
        penn_treebank(tmp_path / "b", "test")
    assert "SHA-256" in str(e.value)
    assert not (tmp_path / "b" / "ptb" / "ptb.test.txt").exists()


def test_every_corpus_file_has_a_sha256_a_size_and_a_source():
    for key, f in text.FILES.items():
        assert len(f.sha256) == 64 and f.size > 0, key
        assert f.urls or f.archives, key
        assert all(u.startswith(("https://", "http://")) for u in f.urls), key


# ----------------------------------------------------------------------------- batching


def test_batchify_makes_contiguous_columns():
    stream = batchify(np.arange(11), 2)
    assert stream.shape == (5, 2) and stream.dtype == np.int64
    assert stream[:, 0].tolist() == [0, 1, 2, 3, 4] and stream[:, 1].tolist() == [5, 6, 7, 8, 9]
    assert batchify(ax.tensor(np.arange(12)), 3).shape == (4, 3)
    assert batchify([1, 2, 3, 4], 2).tolist() == [[1, 3], [2, 4]]
    with pytest.raises(ValueError, match="fewer than 2 time steps"):
        batchify(np.arange(5), 4)


def test_bptt_batches_windows_and_shifted_targets():
    stream = batchify(np.arange(22), 2)  # (11, 2): columns 0..10 and 11..21
    batches = bptt_batches(stream, 4)
    assert len(batches) == 3  # (11 - 1) targets in windows of 4, 4, 2
    got = list(batches)
    assert [tuple(x.shape) for x, _ in got] == [(4, 2), (4, 2), (2, 2)]
    x, y = got[0]
    assert isinstance(x, ax.Tensor) and not x.requires_grad
    assert x.array[:, 0].tolist() == [0, 1, 2, 3] and y.array[:, 0].tolist() == [1, 2, 3, 4]
    assert x.array[:, 1].tolist() == [11, 12, 13, 14] and y.array[:, 1].tolist() == [12, 13, 14, 15]
    x, y = got[2]
    assert x.array[:, 0].tolist() == [8, 9] and y.array[:, 0].tolist() == [9, 10]
    assert len(list(batches)) == 3  # iterable again (another epoch)
    xb, yb = next(iter(bptt_batches(stream, 4, batch_first=True, flat_target=True)))
    assert xb.shape == (2, 4) and xb.array[1].tolist() == [11, 12, 13, 14]
    assert yb.array.tolist() == [1, 2, 3, 4, 12, 13, 14, 15]  # (B, n) flattened
    with pytest.raises(ValueError, match=r"\(T, B\)"):
        bptt_batches(np.arange(5), 2)


def test_pad_ids_and_pad_collate():
    padded, lengths = pad_ids([[5, 6, 7], [8], []], pad_index=0)
    assert padded.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]] and lengths.tolist() == [3, 1, 0]
    time_major, _ = pad_ids([[5, 6], [8]], batch_first=False)
    assert time_major.tolist() == [[5, 8], [6, 0]]
    x, n = pad_collate([np.array([1, 2]), np.array([3])])
    assert x.array.tolist() == [[1, 2], [3, 0]] and n.array.tolist() == [2, 1]
    x, n, y = pad_collate([([1, 2], 1), ([3], 0)], pad_index=9)
    assert x.array.tolist() == [[1, 2], [3, 9]] and y.array.tolist() == [1, 0]
    assert y.dtype == np.int64
    x, n, tags = pad_collate([([1, 2, 3], [4, 5, 6]), ([7], [8])])
    assert tags.array.tolist() == [[4, 5, 6], [8, -100, -100]] and n.array.tolist() == [3, 1]
    with pytest.raises(ValueError, match="one tag per id"):
        pad_collate([([1, 2], [4]), ([7], [8])])


def test_pad_collate_in_a_dataloader_feeds_cross_entropy_ignoring_padding():
    sentences = [([1, 2, 3], [0, 1, 0]), ([4], [1]), ([5, 6], [1, 1])]
    loader = DataLoader(sentences, batch_size=3, collate_fn=pad_collate)
    x, lengths, tags = next(iter(loader))
    assert x.shape == (3, 3) and lengths.array.tolist() == [3, 1, 2]
    logits = ax.tensor(np.zeros((3, 3, 2), np.float32))
    loss = ax.nn.functional.cross_entropy(logits.reshape(-1, 2), tags.reshape(-1))
    assert abs(loss.item() - np.log(2)) < 1e-6  # the 3 padded positions are ignored


# ----------------------------------------------------------------------------- real corpora

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # ../shared/data


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "ptb").is_dir(), reason="no ../shared/data beside the checkout")
def test_the_real_corpora_read_with_their_published_counts():
    root = SHARED
    ts = tiny_shakespeare(root, download=False)
    assert len(ts["train"]) + len(ts["val"]) == 1_115_394 and len(ts["val"]) == 111_540
    chars = Vocab.from_tokens(ts["train"] + ts["val"], specials=(), sort_by="token")
    assert len(chars) == 65 and chars.encode("First").tolist() == [18, 47, 56, 57, 58]
    ptb = penn_treebank(root, download=False)
    assert {k: len(v) for k, v in ptb.items()} == {
        "train": 929_589,
        "valid": 73_760,
        "test": 82_430,
    }
    assert len(Vocab.from_tokens(ptb["train"], specials=())) == 10_000
    s = sst2(root, download=False)
    assert (len(s["train"]), len(s["dev"])) == (67_349, 872)
    assert sum(label for _, label in s["dev"]) == 444
    for split, sentences, words in [
        ("train", 12_544, 204_577),
        ("dev", 2_001, 25_147),
        ("test", 2_077, 25_094),
    ]:
        ud = ud_pos(root, split, download=False)
        assert (len(ud), sum(map(len, ud))) == (sentences, words)
    sms = sms_spam(root, download=False)
    assert len(sms) == 5_574 and sum(label == "spam" for label, _ in sms) == 747
