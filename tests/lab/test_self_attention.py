"""The ``self-attention`` experiment in quick mode: a masked LM trained here (on a tiny
SST-2 or the built-in corpus) or loaded from ``masked-lm``'s output, its attention maps
drawn, and the claims that hold by construction checked."""

import numpy as np
import pytest

from axon.lab import Config, self_attention
from tests.lab.test_masked_lm import data  # noqa: F401  (the tiny SST-2 fixture)

PNG = b"\x89PNG\r\n\x1a\n"


def check_run(result, out):
    assert result.passed, result.claims
    n, quick = 12, self_attention.TRAIN_QUICK
    m = result.metrics
    assert m["row_sum_error"] < 1e-5 and m["padding_weight"] == 0.0
    for layer in range(1, quick["layers"] + 1):
        for h in range(1, quick["nhead"] + 1):
            assert 0.0 <= m[f"it_to_animal_l{layer}h{h}"] <= 1.0
    heads = [v for k, v in m.items() if k.startswith("it_to_animal_l")]
    assert m["max_it_to_animal"] == max(heads)
    for name in ("self_attention_heads.png", "self_attention_it.png"):
        assert out / name in result.figures and (out / name).read_bytes()[:8] == PNG
    assert len(self_attention.tokenize(self_attention.SENTENCE)) == n


def test_quick_run_trains_on_sst2_from_the_data_dir(data, tmp_path, capsys):  # noqa: F811
    result = self_attention.run(Config(out=tmp_path, quick=True, data_dir=data))
    check_run(result, tmp_path)
    printed = capsys.readouterr().out
    assert "training a masked LM here on SST-2" in printed
    assert "top 3 words for 'it'" in printed
    assert any("learned something" in t for t, _ in result.claims)
    assert (tmp_path / "self_attention.safetensors").exists()


def test_without_sst2_it_falls_back_to_the_built_in_corpus(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    empty = tmp_path / "nodata"
    empty.mkdir()
    result = self_attention.run(Config(out=tmp_path / "out", quick=True, data_dir=empty))
    check_run(result, tmp_path / "out")
    printed = capsys.readouterr().out
    assert "built-in synthetic corpus" in printed
    assert "read as <unk>" not in printed  # the corpus has every word of the sentence


# that it reuses the weights masked-lm saved is tested with masked-lm's quick run, in
# tests/lab/test_masked_lm.py, which saves them


@pytest.mark.parametrize(
    "sentence, words",
    [
        ("The animal didn't cross the street.", "the animal did n't cross the street ."),
        ("Hi, it's fine! We'd go.", "hi , it 's fine ! we 'd go ."),
    ],
)
def test_tokenize_like_sst2(sentence, words):
    assert self_attention.tokenize(sentence) == words.split()


def test_synthetic_corpus_is_reproducible_and_covers_the_sentence():
    a, b = self_attention.synthetic_corpus(50, 3), self_attention.synthetic_corpus(50, 3)
    assert a == b and len(a) == 50
    words = set(" ".join(self_attention.synthetic_corpus(500)).split())
    assert set(self_attention.tokenize(self_attention.SENTENCE)) <= words
    assert np.mean([" it " in s for s in a]) == 1.0


def test_position_profile_reads_the_offsets():
    n = 4
    prev = np.eye(n, k=-1)
    prev[0, 0] = 1.0  # the first word has no previous one: it reads itself
    maps = np.stack([prev, np.eye(n), np.eye(n, k=1)])  # (3, n, n)
    profile = self_attention.position_profile(maps)
    assert profile.shape == (3, 3)
    np.testing.assert_allclose(profile[0], [3 / 4, 1 / 4, 0])
    np.testing.assert_allclose(profile[1], [0, 1, 0])
    np.testing.assert_allclose(profile[2], [0, 0, 3 / 4])
