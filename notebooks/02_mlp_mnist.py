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
# # 2. A multilayer perceptron on MNIST
#
# A network of two `Linear` layers with a ReLU between them reads a 28x28 digit as a vector
# of 784 pixels and scores the ten classes; the cross-entropy of those scores against the
# true label is the loss. The course's pipeline: the model is trained on a training set,
# watched on a validation set carved from the training data (curves, early stopping, every
# choice), and measured once, at the end, on the test set.
#
# MNIST is read through `axon.data` from the data directory (`AXON_DATA_DIR`); without it,
# the notebook falls back to the 8x8 digits bundled with axon and says so.

# %%
import numpy as np

import axon as ax
from axon import nn, optim
from axon.data import MNIST, load_digits
from axon.train.callbacks import EarlyStopping, LivePlot

ax.manual_seed(0)
try:
    train_images, train_labels = MNIST(train=True, download=False).arrays()
    test_images, test_labels = MNIST(train=False, download=False).arrays()
    train_images, train_labels = train_images[:12000], train_labels[:12000]  # a quick run
    test_images, test_labels = test_images[:2000], test_labels[:2000]
except FileNotFoundError:
    print("MNIST is not in the data directory (set AXON_DATA_DIR to a folder holding mnist/):")
    print("using the 8x8 digits bundled with axon instead.")
    images, labels = load_digits()
    images = images / 16.0  # pixel values 0-16 -> [0, 1]
    train_images, train_labels = images[:1500], labels[:1500]
    test_images, test_labels = images[1500:], labels[1500:]

# %% [markdown]
# Each image becomes a row of pixels in [0, 1]; the last sixth of the training set is the
# validation set.


# %%
def flat(images):
    images = images.astype(np.float32)
    if images.max() > 1:  # MNIST's bytes 0-255
        images = images / 255.0
    return images.reshape(len(images), -1)  # (N, H*W)


x_train, x_test = flat(train_images), flat(test_images)
n_val = len(x_train) // 6
x_val, y_val = x_train[-n_val:], train_labels[-n_val:]
x_train, y_train = x_train[:-n_val], train_labels[:-n_val]
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")

# %% [markdown]
# ## Training, watched live
#
# `LivePlot` redraws the loss and accuracy curves after every epoch, in place, in this
# cell's output; `EarlyStopping` stops when the validation loss stops improving.

# %%
model = nn.Sequential(nn.Linear(x_train.shape[1], 128), nn.ReLU(), nn.Linear(128, 10))
ax.summary(model, input_shape=(1, x_train.shape[1]))

history = ax.fit(
    model,
    (x_train, y_train),
    loss=nn.CrossEntropyLoss(),
    optimizer=optim.Adam(model.parameters(), lr=2e-3),
    epochs=6,
    batch_size=64,
    validation=(x_val, y_val),
    metrics=["accuracy"],
    callbacks=[LivePlot(), EarlyStopping(patience=2, restore_best_weights=True)],
)

# %% [markdown]
# The whole history, as `fit` returned it:

# %%
history.plot()

# %% [markdown]
# ## The test set, once

# %%
test = ax.evaluate(model, (x_test, test_labels), loss=nn.CrossEntropyLoss(), metrics=["accuracy"])
print(f"test accuracy: {test['accuracy']:.3f} (loss {test['loss']:.3f})")
