"""``axon.data.text``'s English-French reader: normalisation and tokenization, the length
and prefix filters, the hash split, the missing-file message and the download that cuts
the file from the upstream archive (all on tiny files written in the real format)."""

import hashlib
import zipfile
from pathlib import Path

import pytest

from axon.data import text
from axon.data.datadir import ChecksumError
from axon.data.text import eng_fra_file, eng_fra_pairs, translation_tokenize


@pytest.fixture(autouse=True)
def _no_data_dirs(tmp_path, monkeypatch):
    """Only ``root=`` is searched: no AXON_DATA_DIR, and an empty per-user cache."""
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


OFFLINE = dict(download=False, verify=False)

# the real file's first lines: narrow no-break spaces (U+202F) before "!" and "?"
LINES = [
    "Go.\tVa\u202f!",
    "Run!\tCours\u202f!",
    "Run!\tCourez\u202f!",
    "Help!\t\u00c0 l'aide\u202f!",
    "I won!\tJ\u2019ai gagn\u00e9\u202f!",
    "I am cold.\tJ'ai froid.",
    "I'm tired.\tJe suis fatigu\u00e9e.",
    "He is a very old man indeed.\tC'est un homme tr\u00e8s vieux en effet, vraiment.",
    "Got it?\tPig\u00e9\u00a0?\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272",
]


def _write(root: Path, lines, name: str = "fra.head80000.txt") -> Path:
    folder = root / "eng-fra"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return path


def _all(pairs: dict) -> list:
    return [p for split in ("train", "valid", "test") for p in pairs[split]]


def test_translation_tokenize_normalises_spaces_apostrophes_and_accents():
    assert translation_tokenize("J\u2019ai gagn\u00e9\u202f!") == ["j'ai", "gagné", "!"]
    decomposed = "Gagne\u0301 \u00abvite\u00bb\u00a0?"  # e + combining acute accent
    assert translation_tokenize(decomposed) == ["gagné", "«", "vite", "»", "?"]
    assert translation_tokenize("ÇA VA, Élodie ?") == ["ça", "va", ",", "élodie", "?"]
    assert translation_tokenize("Arrête-toi.") == ["arrête-toi", "."]


def test_pairs_are_tokenized_and_filtered_by_length_and_prefix(tmp_path):
    _write(tmp_path, LINES)
    every = _all(eng_fra_pairs(tmp_path, max_length=None, **OFFLINE))
    assert len(every) == len(LINES)
    assert (["i", "won", "!"], ["j'ai", "gagné", "!"]) in every
    assert (["got", "it", "?"], ["pigé", "?"]) in every  # the third column is ignored
    short = _all(eng_fra_pairs(tmp_path, max_length=4, **OFFLINE))
    assert len(short) == len(LINES) - 1  # the long sentence (7 and 11 tokens) is dropped
    assert all(len(e) <= 4 and len(f) <= 4 for e, f in short)
    picked = _all(eng_fra_pairs(tmp_path, prefixes=["I am", "i'm"], **OFFLINE))
    assert picked == [
        (["i", "am", "cold", "."], ["j'ai", "froid", "."]),
        (["i'm", "tired", "."], ["je", "suis", "fatiguée", "."]),
    ]


def test_the_split_follows_the_english_sentence(tmp_path):
    lines = [f"Sentence number {i}.\tPhrase {i} ." for i in range(400)]
    lines += [f"Sentence number {i}.\tPhrase numéro {i} ." for i in range(400)]
    _write(tmp_path, lines)
    pairs = eng_fra_pairs(tmp_path, **OFFLINE)
    sizes = {k: len(v) for k, v in pairs.items()}
    assert sum(sizes.values()) == 800
    assert sizes["train"] > 600 and sizes["valid"] > 0 and sizes["test"] > 0
    for split, items in pairs.items():  # both translations of a sentence share its split
        english = [" ".join(e) for e, _ in items]
        assert all(english.count(s) == 2 for s in english), split
    assert eng_fra_pairs(tmp_path, "valid", **OFFLINE) == pairs["valid"]
    # the filters do not move a pair to another split
    short = eng_fra_pairs(tmp_path, "test", max_length=5, **OFFLINE)
    assert short == [p for p in pairs["test"] if len(p[1]) <= 5]


def test_bad_arguments_and_lines_raise(tmp_path):
    _write(tmp_path, ["Go.\tVa !", "no tab here"])
    with pytest.raises(ValueError, match="line 2: expected 'english<TAB>french'"):
        eng_fra_pairs(tmp_path, **OFFLINE)
    with pytest.raises(ValueError, match="split must be one of"):
        eng_fra_pairs(tmp_path, "dev", **OFFLINE)
    with pytest.raises(ValueError, match="max_length must be positive"):
        eng_fra_pairs(tmp_path, max_length=0, **OFFLINE)


def test_missing_file_says_where_to_put_it_and_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="eng-fra/fra.head80000.txt was not found") as e:
        eng_fra_pairs(tmp_path, download=False)
    message = str(e.value)
    assert str(tmp_path / "eng-fra" / "fra.head80000.txt") in message
    assert "AXON_DATA_DIR" in message and "head -n 80000 fra.txt" in message


def test_checksums_are_checked_by_default(tmp_path):
    _write(tmp_path, LINES)
    with pytest.raises(ChecksumError, match="size is"):
        eng_fra_pairs(tmp_path, download=False)


def test_download_cuts_the_head_of_the_upstream_archive(tmp_path, monkeypatch):
    body = "Go.\tVa !\r\nRun!\tCours !\nWow!\tÇa alors !\n".encode()
    head = b"Go.\tVa !\r\nRun!\tCours !\n"  # two lines, bytes (and line ends) unchanged
    archive = tmp_path / "upstream" / "fra-eng.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("_about.txt", "x")
        z.writestr("fra.txt", body)
    url = archive.resolve().as_uri()
    fake = text._File(
        "eng-fra",
        "fra.head80000.txt",
        hashlib.sha256(head).hexdigest(),
        len(head),
        archives=((url, "fra.txt"),),
    )
    monkeypatch.setattr(text, "_ENG_FRA", fake)
    monkeypatch.setattr(text, "_ENG_FRA_LINES", 2)
    root = tmp_path / "data"
    assert eng_fra_file(root).read_bytes() == head
    assert [p.name for p in (root / "eng-fra").iterdir()] == ["fra.head80000.txt"]
    assert _all(eng_fra_pairs(root)) == [(["go", "."], ["va", "!"]), (["run", "!"], ["cours", "!"])]
    wrong = text._File("eng-fra", "fra.head80000.txt", "0" * 64, len(head), archives=fake.archives)
    monkeypatch.setattr(text, "_ENG_FRA", wrong)
    with pytest.raises(FileNotFoundError, match="upstream archive failed too") as e:
        eng_fra_file(tmp_path / "other")
    assert "SHA-256" in str(e.value)
    assert not (tmp_path / "other" / "eng-fra" / "fra.head80000.txt").exists()


SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # ../shared/data


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED / "eng-fra").is_dir(), reason="no ../shared/data beside the checkout"
)
def test_the_real_pairs():
    pairs = eng_fra_pairs(SHARED, max_length=None, download=False)
    assert sum(map(len, pairs.values())) == 80_000
    assert {k: len(v) for k, v in pairs.items()} == {"train": 71_815, "valid": 4_189, "test": 3_996}
    assert pairs["train"][0] == (["go", "."], ["va", "!"])
    assert len(eng_fra_pairs(SHARED, "train", download=False)) == 71_213  # max_length 10
