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
# # 1. Automatic differentiation
#
# Training a network means following the gradient of a loss down to a minimum. axon computes
# gradients as PyTorch does: every operation on a tensor that `requires_grad` is recorded in a
# graph, and `backward()` walks that graph from the output back to the inputs, applying the
# chain rule at each node (reverse-mode automatic differentiation).

# %%
import numpy as np

import axon as ax
from axon import nn, optim

ax.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## One variable
#
# $y = x^3 + 2x$ has the derivative $dy/dx = 3x^2 + 2$, which is 14 at $x = 2$.

# %%
x = ax.tensor(2.0, requires_grad=True)
y = x**3 + 2 * x
y.backward()
print(f"y = {y.item()}, dy/dx = {x.grad.item()} (by hand: {3 * 2.0**2 + 2})")

# %% [markdown]
# ## Many variables: the gradient of a loss
#
# The mean squared error of a linear model, $L(w) = \frac{1}{n}\lVert Xw - y\rVert^2$, has the
# gradient $\nabla L = \frac{2}{n} X^\top (Xw - y)$. `backward()` finds the same vector, and
# a finite difference, $(L(w + \epsilon e_i) - L(w - \epsilon e_i)) / 2\epsilon$, checks it
# once more.

# %%
X = rng.normal(size=(100, 3))
true_w = np.array([2.0, -1.0, 0.5])
y_data = X @ true_w + 0.1 * rng.normal(size=100)

w = ax.tensor(np.zeros(3), requires_grad=True)  # float64, for a precise comparison
loss = ((ax.tensor(X) @ w - ax.tensor(y_data)) ** 2).mean()
loss.backward()

by_hand = 2 / len(X) * X.T @ (X @ np.zeros(3) - y_data)


def mse(weights):
    return np.mean((X @ weights - y_data) ** 2)


eps = 1e-6
numeric = [(mse(eps * e) - mse(-eps * e)) / (2 * eps) for e in np.eye(3)]
print("autograd:          ", w.grad.numpy())
print("by hand:           ", by_hand)
print("finite differences:", np.array(numeric))

# %% [markdown]
# ## Gradient descent, by hand
#
# Step against the gradient, clear it, repeat. The gradient is computed with the graph
# recorded; the update itself is done under `no_grad()`, so it is not recorded.

# %%
w = ax.tensor(np.zeros(3), requires_grad=True)
inputs, targets = ax.tensor(X), ax.tensor(y_data)
for _ in range(100):
    loss = ((inputs @ w - targets) ** 2).mean()
    loss.backward()
    with ax.no_grad():
        w -= 0.1 * w.grad
    w.grad = None
print(f"after 100 steps: loss {loss.item():.4f}, w = {w.detach().numpy().round(3)}")
print(f"the true weights:               w = {true_w}")

# %% [markdown]
# ## The same with `fit`
#
# `nn.Linear` holds the weights, an optimizer makes the steps, and `fit` runs the loop:
# batches, epochs, the loss per epoch. It returns the `History`, whose `plot()` draws it.

# %%
model = nn.Linear(3, 1)
history = ax.fit(
    model,
    (X.astype(np.float32), y_data.astype(np.float32).reshape(-1, 1)),
    loss="mse",
    optimizer=optim.SGD(model.parameters(), lr=0.1),
    epochs=8,
    batch_size=20,
)
print("learned weights:", model.weight.detach().numpy().round(3))

# %%
history.plot()
