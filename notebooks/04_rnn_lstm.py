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
# # 4. Recurrent networks: why the LSTM
#
# A recurrent network reads a sequence one step at a time and carries what it has seen in a
# hidden state, $h_t = \tanh(W_{ih} x_t + W_{hh} h_{t-1} + b)$. To learn from an input many
# steps back, the gradient has to travel back through every step, multiplied each time by
# $W_{hh}$ and the tanh's slope: it shrinks geometrically (the vanishing gradient). The
# LSTM adds a cell state $c_t = f_t \odot c_{t-1} + i_t \odot g_t$ that a forget gate
# $f_t$ can keep unchanged, a path along which the gradient survives.
#
# A task that needs memory: the first step of each sequence is +1 or -1, the other steps are
# noise; the label is the sign of that first step, read at the end of the sequence.
#
# One more ingredient (Gers et al., 2000; Jozefowicz et al., 2015): the forget gate starts
# nearly open. With the default initialisation $f_t \approx \sigma(0) = 0.5$, the cell keeps
# only $0.5^{60}$ of its first input after 60 steps, and the LSTM forgets as fast as the RNN;
# a forget bias of 5 ($\sigma(5) \approx 0.99$) keeps most of it from the start.

# %%
import matplotlib.pyplot as plt
import numpy as np

import axon as ax
from axon import nn, optim
from axon.train.callbacks import LivePlot

ax.manual_seed(0)
rng = np.random.default_rng(0)
T = 60  # steps between the first input and the answer


def make(n):
    x = rng.normal(size=(n, T, 1)).astype(np.float32)  # (N, T, 1): noise...
    first = rng.integers(0, 2, n)
    x[:, 0, 0] = 2 * first - 1  # ...and the first step, +1 or -1
    return x, first.astype(np.int64)


x_train, y_train = make(1500)
x_val, y_val = make(500)
print(x_train.shape, y_train[:10])

# %% [markdown]
# One model for both cells: the recurrent layer reads the sequence, a linear layer scores the
# two classes from the last hidden state.


# %%
class LastStep(nn.Module):
    def __init__(self, cell: str, hidden: int = 32):
        super().__init__()
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM}[cell]
        self.rnn = layer(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2)
        if cell == "lstm":  # the gates' rows are i, f, g, o (PyTorch's order): f is the 2nd
            with ax.no_grad():
                self.rnn.bias_ih_l0[hidden : 2 * hidden] = 2.5
                self.rnn.bias_hh_l0[hidden : 2 * hidden] = 2.5  # the forget bias: 2.5 + 2.5

    def forward(self, x):  # x: (N, T, 1)
        outputs, _ = self.rnn(x)  # (N, T, hidden)
        return self.head(outputs[:, -1])  # (N, 2): from the last step only


def train(cell, callbacks=(), verbose=0):
    ax.manual_seed(0)
    model = LastStep(cell)
    return ax.fit(
        model,
        (x_train, y_train),
        loss="cross_entropy",
        optimizer=optim.Adam(model.parameters(), lr=1e-2),
        epochs=8,
        batch_size=50,
        validation=(x_val, y_val),
        metrics=["accuracy"],
        callbacks=list(callbacks),
        verbose=verbose,
    )


# %% [markdown]
# ## The LSTM, watched live

# %%
lstm = train("lstm", callbacks=[LivePlot(metrics=["accuracy"])], verbose=1)

# %% [markdown]
# ## The plain RNN, on the same data

# %%
rnn = train("rnn")
print(
    f"validation accuracy after {len(rnn.epoch)} epochs: RNN {rnn['val_accuracy'][-1]:.2f}, "
    f"LSTM {lstm['val_accuracy'][-1]:.2f} (chance: 0.5)"
)

# %%
fig, axes = plt.subplots(figsize=(5, 3.5), layout="constrained")
for name, history in (("LSTM", lstm), ("RNN", rnn)):
    epochs = np.arange(1, len(history.epoch) + 1)
    axes.plot(epochs, history["val_accuracy"], marker="o", label=name)
axes.axhline(0.5, color="grey", linestyle=":", label="chance")
axes.set(xlabel="epoch", ylabel="validation accuracy", title=f"remembering {T} steps back")
axes.legend()
plt.show()
