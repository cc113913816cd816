# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Sequence to sequence, with attention
#
# An encoder RNN reads the source sequence; a decoder RNN writes the output one token at a
# time, each step fed the token before it. Without attention the decoder sees the source
# only through the encoder's last state, one vector for the whole sentence. With attention
# (Bahdanau et al., 2015) each decoder step scores every encoder position, turns the scores
# into weights with a softmax, and reads their weighted sum: it looks back at the source
# where it needs to.
#
# The task, small enough for a minute on a laptop: write a string of digits backwards.
# `3 1 4 1 5` becomes `5 1 4 1 3`: the first output needs the last input, the hardest
# distance for a plain encoder-decoder.

# %%
import matplotlib.pyplot as plt
import numpy as np

import axon as ax
import axon.nn.functional as F
from axon import optim
from axon.models import AttentionDecoder, Encoder, Seq2Seq
from axon.train.callbacks import LivePlot

ax.manual_seed(0)
rng = np.random.default_rng(0)
PAD, BOS, EOS = 0, 1, 2  # token ids; the digits 0-9 are the ids 3-12
VOCAB = 13


def make(n, shortest=4, longest=8):
    """Padded sources, their lengths, the decoder's inputs (<bos> + reversed) and targets
    (reversed + <eos>)."""
    src = np.full((n, longest), PAD, np.int64)
    tgt_in = np.full((n, longest + 1), PAD, np.int64)
    tgt_out = np.full((n, longest + 1), PAD, np.int64)
    lengths = rng.integers(shortest, longest + 1, n)
    for i, length in enumerate(lengths):
        digits = rng.integers(0, 10, length) + 3
        src[i, :length] = digits
        tgt_in[i, : length + 1] = [BOS, *digits[::-1]]
        tgt_out[i, : length + 1] = [*digits[::-1], EOS]
    return src, lengths, tgt_in, tgt_out


train_data, val_data = make(4000), make(300)
print(
    "source:", train_data[0][0], " decoder input:", train_data[2][0], " target:", train_data[3][0]
)

# %% [markdown]
# The model from `axon.models`: a GRU encoder, a GRU decoder with additive attention. `fit`
# calls it as `model(src, lengths, tgt_in)` (a batch's items before the last are the
# inputs) and scores its logits (B, T, V) against the targets (B, T), padding ignored.

# %%
model = Seq2Seq(
    Encoder(VOCAB, embedding_dim=32, hidden_size=64),
    AttentionDecoder(VOCAB, embedding_dim=32, hidden_size=64, memory_size=64),
    bos_index=BOS,
    eos_index=EOS,
)


def sequence_loss(logits, target):  # logits (B, T, V), target (B, T)
    return F.cross_entropy(logits.reshape(-1, VOCAB), target.reshape(-1), ignore_index=PAD)


history = ax.fit(
    model,
    train_data,
    loss=sequence_loss,
    optimizer=optim.Adam(model.parameters(), lr=3e-3),
    epochs=4,
    batch_size=64,
    validation=val_data,
    callbacks=[LivePlot()],
)

# %% [markdown]
# ## Decoding
#
# At test time there is no target to feed: the decoder is fed its own previous output
# (greedy search), until it writes `<eos>`.

# %%
src, lengths, _, tgt_out = val_data
outputs = model.generate(ax.tensor(src), ax.tensor(lengths), max_length=10)
exact = [out == list(tgt_out[i, : lengths[i]]) for i, out in enumerate(outputs)]
print(f"validation sequences reversed exactly: {np.mean(exact):.0%}")
for i in range(3):
    print(src[i, : lengths[i]] - 3, "->", np.array(outputs[i]) - 3)

# %% [markdown]
# ## Where the decoder looked
#
# The attention weights of one example: row t is the decoder's step t, column s a source
# position. Reversing, the decoder reads the source from its end: an anti-diagonal.

# %%
i = int(np.argmax(lengths))
with ax.no_grad():
    model.eval()
    _, weights = model(
        ax.tensor(src[i : i + 1]),
        ax.tensor(lengths[i : i + 1]),
        ax.tensor(val_data[2][i : i + 1]),
        return_attention=True,
    )
n = int(lengths[i])
fig, axes = plt.subplots(figsize=(4, 4), layout="constrained")
image = axes.imshow(weights.numpy()[0, : n + 1, :n], cmap="viridis", vmin=0, vmax=1)
axes.set(xlabel="source position", ylabel="decoder step", title="attention weights")
axes.set_xticks(range(n), src[i, :n] - 3)
axes.set_yticks(range(n + 1), [*(tgt_out[i, :n] - 3), "<eos>"])
fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
plt.show()
