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
# # 6. Transformers: attention is all it takes to sort
#
# A Transformer encoder layer lets every position look at every other one at once
# (self-attention: each position's query is scored against every key, the softmax of the
# scores weighs the values), then passes each position through the same small feed-forward
# network. Stacked, with a learned embedding of the positions added to the tokens' (attention
# alone does not know the order), such layers read a whole sequence in parallel, with no
# recurrence.
#
# The task: sort a list of 8 digits. The output at position t is the t-th smallest digit,
# which depends on every input: position t must count, for each digit, how many smaller
# ones there are. Self-attention can; an RNN reading left to right could not answer early
# positions before seeing the end.

# %%
import numpy as np

import axon as ax
import axon.nn.functional as F
from axon import nn, optim
from axon.models import TransformerEncoderModel
from axon.train.callbacks import LivePlot

ax.manual_seed(0)
rng = np.random.default_rng(0)
LENGTH = 8


def make(n):
    digits = rng.integers(0, 10, (n, LENGTH))
    return digits + 1, np.sort(digits, axis=1)  # token ids 1-10 (0 is padding); sorted digits


x_train, y_train = make(4000)
x_val, y_val = make(500)
print("input:", x_train[0] - 1, " sorted:", y_train[0])

# %% [markdown]
# The encoder from `axon.models` (token and position embeddings, 2 pre-norm encoder layers,
# 4 heads), and one linear layer that reads each position's vector as scores for the 10
# digits.


# %%
class Sorter(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = TransformerEncoderModel(
            vocab_size=11, d_model=32, nhead=4, num_layers=2, dim_feedforward=64,
            dropout=0.0, max_len=LENGTH,
        )  # fmt: skip
        self.head = nn.Linear(32, 10)

    def forward(self, ids):  # ids (B, T)
        return self.head(self.encoder(ids))  # (B, T, 10)


def per_position_loss(scores, target):  # scores (B, T, 10), target (B, T)
    return F.cross_entropy(scores.reshape(-1, 10), target.reshape(-1))


model = Sorter()
table = ax.summary(model, input_data=ax.tensor(x_train[:1]))  # printed; also an object

# %%
history = ax.fit(
    model,
    (x_train, y_train),
    loss=per_position_loss,
    optimizer=optim.Adam(model.parameters(), lr=3e-3),
    epochs=8,
    batch_size=64,
    validation=(x_val, y_val),
    callbacks=[LivePlot()],
)

# %% [markdown]
# ## How well it sorts

# %%
predicted = ax.predict(model, x_val).numpy().argmax(axis=-1)  # (N, T)
print(
    f"digits in the right place: {(predicted == y_val).mean():.1%}; "
    f"lists sorted exactly: {(predicted == y_val).all(axis=1).mean():.1%}"
)
for i in range(3):
    print(x_val[i] - 1, "->", predicted[i])

# %% [markdown]
# ## The whole training, as `fit` returned it

# %%
history.plot()
