"""Where does "it" look? The attention weights of a small BERT, head by head.

The course's sentence: "The animal didn't cross the street because it was too tired".
In a Transformer encoder layer each head h turns every word into a query q_i, a key k_j
and a value v_j, and word i takes the weighted mean of the values with the weights

    a_ij = softmax_j(q_i . k_j / sqrt(d)),   sum_j a_ij = 1,   a_ij = 0 at padding,

so row i of a head's (n x n) attention map says which words word i reads. This
experiment draws those maps for every layer and head of a masked language model
(``masked-lm``'s pretrained encoder: the file given with ``--weights``, with the
vocabulary and sizes masked-lm writes beside it, or its weights in ``--out``; else a small one
trained here for about two minutes on SST-2 text from the data directory, or on a tiny
built-in corpus when there is none) and prints, for the query "it", the words each head
weights most.

What it shows: what holds by construction (every row a distribution; padded keys get
weight 0; adding padding changes no real row), and what this model's heads actually do,
reported as measured: the words "it" reads in each head, and which heads follow position
(reading mostly the previous word, the word itself or the next one). A famous picture of
this sentence shows a head of a large trained model linking "it" to "animal"; a model of
this size, trained for minutes to fill in missing words, need not have any such head, and
the run says plainly whether it does.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import axon as ax
from axon.data.text import Vocab, sst2
from axon.models.transformer import MaskedLM

from .registry import register
from .shared.base import Config, Result, WeightsError, heading, table
from .shared.mlm import (
    ARCH,
    PAD,
    build_vocab,
    encode,
    masked_batches,
    mlm_loss,
    new_encoder,
    pretrain,
)
from .shared.text_common import finish, unigram_entropy

SENTENCE = "The animal didn't cross the street because it was too tired"
QUERY = "it"
CANDIDATES = ("animal", "street")

TRAIN_FULL = dict(
    d_model=128,
    nhead=4,
    layers=2,
    ff=256,
    max_len=64,
    vocab_size=10_000,
    batch=128,
    lr=2e-3,
    warmup=100,
    steps=3000,
    steps_per_epoch=200,
    budget=120.0,
)
TRAIN_QUICK = dict(
    d_model=32,
    nhead=2,
    layers=2,
    ff=64,
    max_len=32,
    vocab_size=None,
    batch=32,
    lr=3e-3,
    warmup=10,
    steps=100,
    steps_per_epoch=50,
    budget=None,
)


def tokenize(sentence: str) -> list[str]:
    """SST-2's tokenization of an English sentence: lowercase, ``n't`` and the clitics
    ``'s 're 've 'll 'd 'm`` split off (``didn't`` -> ``did n't``, ``it's`` -> ``it 's``),
    punctuation apart."""
    s = re.sub(r"(n't|'s|'re|'ve|'ll|'d|'m)\b", r" \1", sentence.lower())
    for p in ",.!?;:":
        s = s.replace(p, f" {p} ")
    return s.split()


def synthetic_corpus(n: int, seed: int = 0) -> list[str]:
    """Sentences built from a few templates around the course's sentence, the fallback
    when the data directory has no SST-2."""
    rng = np.random.default_rng(seed)
    beings = ["the animal", "the dog", "the cat", "the horse", "the child", "the old man"]
    places = ["the street", "the road", "the river", "the bridge", "the field"]
    verbs = ["cross", "enter", "leave", "reach"]
    tired = ["tired", "scared", "slow", "lazy", "small"]
    wide = ["wide", "busy", "long", "dark", "wet"]
    out = []
    for _ in range(n):
        b, p, v = rng.choice(beings), rng.choice(places), rng.choice(verbs)
        if rng.random() < 0.5:
            out.append(f"{b} did n't {v} {p} because it was too {rng.choice(tired)} .")
        else:
            out.append(f"{b} did n't {v} {p} because it was too {rng.choice(wide)} .")
    return out


def _load_pretrained(out: Path, weights: Path | None = None) -> tuple[MaskedLM, Vocab] | None:
    """The masked-lm experiment's model and vocabulary: from ``weights`` (``--weights``:
    the vocabulary and sizes read beside it, a :class:`WeightsError` if they are missing
    or do not fit), else from ``out`` if all three files are there and fit together."""
    folder = Path(weights).parent if weights is not None else out
    weights = Path(weights) if weights is not None else out / "masked_lm.safetensors"
    vocab_file, sizes = folder / "masked_lm_vocab.json", folder / "masked_lm_config.json"
    given = weights != out / "masked_lm.safetensors"
    if given and not weights.is_file():
        raise FileNotFoundError(f"--weights {weights}: no such file")
    if not (weights.exists() and vocab_file.exists() and sizes.exists()):
        if given:
            raise WeightsError(
                f"--weights {weights}: masked-lm's {vocab_file.name} and {sizes.name} must "
                f"be beside it (they are written with the weights)"
            )
        return None
    vocab = Vocab.load(vocab_file)
    hp = json.loads(sizes.read_text())
    if any(k not in hp for k in ARCH):
        if given:
            raise WeightsError(f"--weights {weights}: {sizes} lacks {', '.join(ARCH)}")
        return None
    model = MaskedLM(new_encoder(len(vocab), hp, 0.0))
    try:
        model.load_state_dict(ax.load(weights))
    except (KeyError, ValueError, RuntimeError, TypeError) as err:
        raise WeightsError(f"--weights {weights} does not fit the masked LM: {err}") from None
    return model, vocab


def _corpus(config: Config) -> tuple[str, list[str], list[str]]:
    """(name, training sentences, held-out sentences): SST-2 from the data directory
    (never downloaded here), else the built-in synthetic corpus."""
    try:
        data = sst2(config.data_dir, download=False)
        return (
            "SST-2 (training phrases, labels unused)",
            [s for s, _ in data["train"]],
            [s for s, _ in data["dev"]],
        )
    except FileNotFoundError:
        n = 400 if config.quick else 5000
        return (
            "a built-in synthetic corpus (no SST-2 in the data directory)",
            synthetic_corpus(n, config.seed),
            synthetic_corpus(n // 10, config.seed + 1),
        )


def position_profile(maps: np.ndarray) -> np.ndarray:
    """Mean weight each head puts on the word just before the query, on the query itself
    and on the word just after it: ``maps`` (..., n, n) -> (..., 3)."""
    n = maps.shape[-1]
    return np.stack(
        [np.diagonal(maps, offset=k, axis1=-2, axis2=-1).sum(-1) / n for k in (-1, 0, 1)], axis=-1
    )


def _plot_heads(maps: list[np.ndarray], words: list[str], path: Path) -> Path:
    from axon import plot

    layers, heads = len(maps), maps[0].shape[0]
    fig, axes = plot.figure(
        ncols=heads,
        nrows=layers,
        size=(3.4, 3.4),
        title="Self-attention per head (row: query word, column: key word)",
    )
    n = len(words)
    for layer in range(layers):
        for h in range(heads):
            a = axes[layer * heads + h]
            a.imshow(maps[layer][h], cmap="viridis", vmin=0.0, vmax=1.0)
            a.set_xticks(range(n), words, rotation=90, fontsize=7)
            a.set_yticks(range(n), words, fontsize=7)
            a.set_title(f"layer {layer + 1}, head {h + 1}", fontsize=9)
    return plot.save(fig, path)


def _plot_query(maps: list[np.ndarray], words: list[str], q: int, path: Path) -> Path:
    from axon import plot

    layers, heads = len(maps), maps[0].shape[0]
    fig, axes = plot.figure(
        ncols=1,
        nrows=layers,
        size=(0.55 * len(words) + 1.5, 0.4 * heads + 1.2),
        title=f"Where {words[q]!r} looks, per head",
    )
    for layer in range(layers):
        a = axes[layer]
        rows = np.stack([maps[layer][h][q] for h in range(heads)])  # (heads, n)
        a.imshow(rows, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        for h in range(heads):
            for j in range(len(words)):
                a.text(
                    j,
                    h,
                    f"{rows[h, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if rows[h, j] < 0.5 else "black",
                )
        a.set_xticks(range(len(words)), words, rotation=45, ha="right", fontsize=8)
        a.set_yticks(range(heads), [f"head {h + 1}" for h in range(heads)], fontsize=8)
        a.set_title(f"layer {layer + 1}", fontsize=9)
    return plot.save(fig, path)


@register(
    "self-attention",
    "Which words each attention head of a small masked LM reads, "
    "for 'The animal didn't cross the street because it was too tired'",
)
def run(config: Config) -> Result:
    result = Result("self-attention")
    ax.manual_seed(config.seed)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)

    heading("1. The model")
    loaded = _load_pretrained(out, config.weights)
    if loaded is not None:
        loaded[0].to(config.device)
        lm = _measure_loaded(config, out, *loaded)
    else:
        lm = _train_here(config, out)
    encoder = lm.model.encoder
    encoder.eval()

    heading(f"2. The sentence: {SENTENCE!r}")
    sentence = _sentence_maps(lm.model, lm.vocab)
    heading(f"3. Where {QUERY!r} looks")
    q, prefer, best = _where_it_looks(sentence, result)
    heading("4. What the heads do, by position")
    _by_position(sentence.stacked, result)

    result.figures.append(
        _plot_heads(sentence.maps, sentence.words, out / "self_attention_heads.png")
    )
    result.figures.append(
        _plot_query(sentence.maps, sentence.words, q, out / "self_attention_it.png")
    )
    result.metrics.update(
        {
            "row_sum_error": sentence.row_err,
            "padding_weight": sentence.pad_weight,
            "padding_change": sentence.pad_change,
            "heads_preferring_animal": prefer["animal"],
            "max_it_to_animal": best,
        }
    )
    _check(sentence, lm, result)
    if lm.history is not None:
        finish(result, config, lm.model, lm.history, "self_attention")
    return result


@dataclass
class LanguageModel:
    """The masked LM whose attention is read, with its vocabulary; its held-out loss and
    the unigram entropy when measured; its training history when trained here."""

    model: MaskedLM
    vocab: Vocab
    held_loss: float | None = None
    h_uni: float | None = None
    history: object = None  # the pretraining's History


@dataclass
class SentenceMaps:
    """The sentence's tokens and every head's attention map over them, with the checks
    that hold by construction: rows sum to 1, padding is ignored."""

    words: list[str]
    maps: list[np.ndarray]  # per layer, (heads, n, n)
    stacked: np.ndarray  # (layers, heads, n, n)
    row_err: float
    pad_weight: float
    pad_change: float


def _measure_loaded(config: Config, out: Path, model: MaskedLM, vocab: Vocab) -> LanguageModel:
    """Step 1 with masked-lm's weights: they are used as they are, and measured on SST-2's
    dev sentences when that is the corpus."""
    held_loss = h_uni = None
    source = config.weights or out / "masked_lm.safetensors"
    print(f"  the encoder pretrained by masked-lm ({source}), {len(vocab):,} words")
    name, train_text, held_text = _corpus(config)
    if name.startswith("SST-2"):  # measure it on the text it was trained for
        max_len = model.encoder.max_len
        train_ids = [encode(vocab, s, max_len) for s in train_text]
        h_uni = unigram_entropy(np.concatenate(train_ids), len(vocab))
        held = [encode(vocab, s, max_len) for s in held_text]
        held_loss = mlm_loss(model, masked_batches(held, len(vocab), 128, config.seed + 1))
        print(
            f"  its masked-word loss on SST-2's dev sentences: {held_loss:.3f} nats "
            f"(unigram entropy {h_uni:.3f})"
        )
    return LanguageModel(model, vocab, held_loss, h_uni)


def _train_here(config: Config, out: Path) -> LanguageModel:
    """Step 1 without masked-lm's weights: a masked LM pretrained here, its output bias
    started at the log unigram prior."""
    hp = dict(TRAIN_QUICK if config.quick else TRAIN_FULL, pre_dropout=0.0)
    name, train_text, held_text = _corpus(config)
    vocab = build_vocab(train_text, hp["vocab_size"])
    train_ids = [encode(vocab, s, hp["max_len"]) for s in train_text]
    held_ids = [encode(vocab, s, hp["max_len"]) for s in held_text]
    h_uni = unigram_entropy(np.concatenate(train_ids), len(vocab))
    model = MaskedLM(new_encoder(len(vocab), hp, 0.0))
    counts = np.bincount(np.concatenate(train_ids), minlength=len(vocab)) + 0.5
    with ax.no_grad():  # the output bias starts at the log unigram prior
        model.decoder.bias.array[:] = np.log(counts / counts.sum())
    model.to(config.device)  # --device: pretrained there
    print(
        f"  no masked-lm weights in {out}: training a masked LM here on {name}: "
        f"{len(train_ids):,} sentences, {len(vocab):,} words, {hp['layers']} layers x "
        f"{hp['nhead']} heads, {hp['steps']:,} updates"
        + (f" or {hp['budget'] / 60:.0f} minutes" if hp["budget"] else "")
    )
    held_out = masked_batches(held_ids, len(vocab), 128, seed=config.seed + 1)
    start = time.perf_counter()
    history = pretrain(model, train_ids, held_out, hp, seed=config.seed)
    held_loss = history["val_loss"][-1]
    print(
        f"  trained in {time.perf_counter() - start:.0f} s: held-out masked-word loss "
        f"{held_loss:.3f} nats against a unigram entropy of {h_uni:.3f}"
    )
    return LanguageModel(model, vocab, held_loss, h_uni, history)


def _sentence_maps(model: MaskedLM, vocab: Vocab) -> SentenceMaps:
    """Step 2: the sentence's tokens and attention maps, and what holds by construction
    (rows sum to 1; three padding tokens appended get no weight and change none)."""
    words = tokenize(SENTENCE)
    ids = vocab.encode(words)
    unknown = [w for w, i in zip(words, ids, strict=True) if i == vocab.unk_index]
    print(f"  {len(words)} tokens: {' '.join(words)}")
    if unknown:
        print(f"  read as <unk> (not in the vocabulary): {', '.join(unknown)}")
    encoder = model.encoder
    maps = [m[0] for m in encoder.attention_maps(ids[None])]  # layers x (heads, n, n)
    L, H, n = len(maps), maps[0].shape[0], len(words)

    # what holds by construction
    stacked = np.stack(maps)  # (L, H, n, n)
    row_err = float(np.abs(stacked.sum(-1) - 1.0).max())
    padded = np.concatenate([ids, np.full(3, PAD)])[None]  # three padding tokens after
    pmaps = np.stack([m[0] for m in encoder.attention_maps(padded)])  # (L, H, n+3, n+3)
    pad_weight = float(np.abs(pmaps[..., :n, n:]).max())
    pad_change = float(np.abs(pmaps[..., :n, :n] - stacked).max())
    print(
        f"  {L} layers x {H} heads, each an {n} x {n} map; largest |row sum - 1| = "
        f"{row_err:.1e}; with 3 padding tokens appended: largest weight on a padded key "
        f"{pad_weight:.1e}, largest change of a real weight {pad_change:.1e}"
    )
    return SentenceMaps(words, maps, stacked, row_err, pad_weight, pad_change)


def _where_it_looks(sentence: SentenceMaps, result: Result) -> tuple[int, dict[str, int], float]:
    """Step 3: per head, the words :data:`QUERY` attends to most and its weight on each
    candidate; returns the query's position, the heads' preferences and the largest
    weight any head gives 'animal'."""
    words, maps, stacked = sentence.words, sentence.maps, sentence.stacked
    L, H, n = len(maps), maps[0].shape[0], len(words)
    q = words.index(QUERY)
    cand = {c: words.index(c) for c in CANDIDATES}
    rows, prefer = [], {"animal": 0, "street": 0, "tie": 0}
    for layer in range(L):
        for h in range(H):
            a = maps[layer][h][q]
            top = np.argsort(-a)[:3]
            weights = {c: float(a[j]) for c, j in cand.items()}
            diff = weights["animal"] - weights["street"]
            prefer["tie" if abs(diff) < 0.005 else "animal" if diff > 0 else "street"] += 1
            result.metrics[f"it_to_animal_l{layer + 1}h{h + 1}"] = weights["animal"]
            result.metrics[f"it_to_street_l{layer + 1}h{h + 1}"] = weights["street"]
            rows.append(
                [
                    f"{layer + 1}",
                    f"{h + 1}",
                    ", ".join(f"{words[j]} {a[j]:.2f}" for j in top),
                    f"{weights['animal']:.2f}",
                    f"{weights['street']:.2f}",
                ]
            )
    table(["layer", "head", f"top 3 words for {QUERY!r}", "animal", "street"], rows, align="rrlrr")
    uniform = 1.0 / n
    best_layer, best_head = np.unravel_index(np.argmax(stacked[:, :, q, cand["animal"]]), (L, H))
    best = float(stacked[best_layer, best_head, q, cand["animal"]])
    print(
        f"\n  {prefer['animal']} of {L * H} heads weight 'animal' above 'street', "
        f"{prefer['street']} the other way, {prefer['tie']} alike (within 0.005). The most "
        f"'animal'-minded head (layer "
        f"{best_layer + 1}, head {best_head + 1}) gives it {best:.2f}; a head spreading "
        f"evenly would give every word {uniform:.2f}."
    )
    if best < 2 * uniform:
        print(
            "  No head singles out 'animal': this small model, trained only to fill in "
            "missing words, has not learned to resolve 'it' here."
        )
    else:
        print(
            "  That head gives 'animal' over twice the even share; one sentence is not "
            "evidence of coreference, but it is what this head does here."
        )
    return q, prefer, best


def _by_position(stacked: np.ndarray, result: Result) -> None:
    """Step 4: each head's mean weight on the previous word, itself and the next word."""
    L, H = stacked.shape[:2]
    offsets = position_profile(stacked)  # (L, H, 3): mean weight on word i-1, i, i+1
    names = ("the previous word", "itself", "the next word")
    rows = []
    for layer in range(L):
        for h in range(H):
            k = int(np.argmax(offsets[layer, h]))
            kind = names[k] if offsets[layer, h, k] > 0.5 else "-"
            rows.append(
                [f"{layer + 1}", f"{h + 1}", *(f"{v:.2f}" for v in offsets[layer, h]), kind]
            )
            result.metrics[f"offset_weights_l{layer + 1}h{h + 1}"] = float(offsets[layer, h].max())
    table(["layer", "head", "i-1", "i", "i+1", "mostly reads (> 0.5)"], rows, align="rrrrrl")
    print(
        "  (mean attention weight of word i on the word before it, on itself and on the word "
        "after it: heads that follow position, not meaning)"
    )


def _check(sentence: SentenceMaps, lm: LanguageModel, result: Result) -> None:
    """The claims: the maps' shape, rows summing to 1, padding ignored; and, when
    measured, a held-out masked-word loss below the unigram entropy."""
    stacked, row_err = sentence.stacked, sentence.row_err
    pad_weight, pad_change = sentence.pad_weight, sentence.pad_change
    L, H, n = len(sentence.maps), sentence.maps[0].shape[0], len(sentence.words)
    result.check(
        f"the maps have shape (layers, heads, n, n) = ({L}, {H}, {n}, {n})",
        stacked.shape == (L, H, n, n),
    )
    result.check(f"every row of every map sums to 1 (largest error {row_err:.1e})", row_err < 1e-5)
    result.check(
        f"padded keys get weight 0 (largest {pad_weight:.1e}) and padding changes no "
        f"real weight (largest change {pad_change:.1e})",
        pad_weight == 0.0 and pad_change < 1e-5,
    )
    held_loss, h_uni = lm.held_loss, lm.h_uni
    if held_loss is not None:
        result.metrics.update({"held_out_mlm_loss": held_loss, "unigram_entropy": h_uni})
        result.check(
            f"the model has learned something: held-out masked-word loss "
            f"{held_loss:.3f} < unigram entropy {h_uni:.3f}",
            held_loss < h_uni,
        )
