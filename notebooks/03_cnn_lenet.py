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
# # 3. A convolutional network: LeNet-5
#
# A convolution slides a small filter over the image, so the same weights look for the same
# pattern everywhere (a stroke, a corner), and pooling keeps the strongest answers of each
# neighbourhood. LeNet-5 (LeCun et al., 1998) stacks two such stages, then three fully
# connected layers: 61,706 weights against the MLP's 100,000, and better accuracy, because
# it knows that pixels have neighbours.
#
# MNIST is read through `axon.data` (`AXON_DATA_DIR`); without it the notebook enlarges the
# bundled 8x8 digits to 28x28 and says so.

# %%
import matplotlib.pyplot as plt
import numpy as np

import axon as ax
from axon import nn, optim
from axon.data import MNIST, load_digits
from axon.models import LeNet5
from axon.train.callbacks import LivePlot

ax.manual_seed(0)
try:
    train_images, train_labels = MNIST(train=True, download=False).arrays()
    test_images, test_labels = MNIST(train=False, download=False).arrays()
    train_images, train_labels = train_images[:4800], train_labels[:4800]  # a quick run
    test_images, test_labels = test_images[:1000], test_labels[:1000]
    train_images, test_images = train_images / 255.0, test_images / 255.0
except FileNotFoundError:
    print("MNIST is not in the data directory (set AXON_DATA_DIR to a folder holding mnist/):")
    print("using the 8x8 digits bundled with axon, each pixel made 3x3 and padded to 28x28.")
    images, labels = load_digits()
    images = np.kron(images / 16.0, np.ones((3, 3)))  # (N, 24, 24)
    images = np.pad(images, ((0, 0), (2, 2), (2, 2)))  # (N, 28, 28)
    train_images, train_labels = images[:1500], labels[:1500]
    test_images, test_labels = images[1500:], labels[1500:]

x_train = train_images.astype(np.float32)[:, None]  # (N, 1, 28, 28): one channel
x_test = test_images.astype(np.float32)[:, None]
n_val = len(x_train) // 6  # the validation set: the last sixth of the training set
x_val, y_val = x_train[-n_val:], train_labels[-n_val:]
x_train, y_train = x_train[:-n_val], train_labels[:-n_val]
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")

# %% [markdown]
# ## The network, layer by layer
#
# Each 5x5 convolution shrinks the image by 4 pixels unless padded; each 2x2 pooling halves
# it: 28 -> 28 (padding 2) -> 14 -> 10 -> 5, so 16 maps of 5x5 = 400 numbers reach the
# classifier.

# %%
model = LeNet5()
table = ax.summary(model, input_shape=(1, 1, 28, 28))  # printed; also kept as an object

# %%
history = ax.fit(
    model,
    (x_train, y_train),
    loss=nn.CrossEntropyLoss(),
    optimizer=optim.Adam(model.parameters(), lr=2e-3),
    epochs=3,
    batch_size=64,
    validation=(x_val, y_val),
    metrics=["accuracy"],
    callbacks=[LivePlot()],
)

# %% [markdown]
# ## What the first layer learned
#
# The six 5x5 filters of the first convolution, drawn as images (red positive, blue
# negative): most look for an edge in one direction.

# %%
weights = model.features[0].weight.detach().numpy()[:, 0]  # (6, 5, 5)
fig, axes = plt.subplots(1, 6, figsize=(7, 1.5), layout="constrained")
for i, (panel, w) in enumerate(zip(axes, weights, strict=True)):
    limit = np.abs(w).max()
    panel.imshow(w, cmap="RdBu_r", vmin=-limit, vmax=limit)
    panel.set_title(f"filter {i}", fontsize=8)
    panel.set_axis_off()
plt.show()

# %% [markdown]
# ## The test set, once

# %%
test = ax.evaluate(model, (x_test, test_labels), loss=nn.CrossEntropyLoss(), metrics=["accuracy"])
print(f"test accuracy: {test['accuracy']:.3f}")
