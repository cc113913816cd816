"""The three training paradigms on small problems: supervised, unsupervised, reinforcement.

What differs is the signal the learner gets:

1. Supervised: inputs with the right answers. Logistic regression on the 8x8 digits
   (the ``classic-vs-nn`` experiment has more).
2. Unsupervised: inputs alone; the learner finds structure in them.
   - k-means groups the digit images into k = 10 clusters (it never sees a label; the
     labels are used afterwards only to ask what each cluster holds);
   - an autoencoder 64 -> 32 -> 8 -> 32 -> 64 learns to squeeze each image through 8
     numbers and rebuild it; its reconstruction error is compared with two references:
     predicting the mean image, and PCA with 8 components (the best *linear* map
     through 8 numbers).
3. Reinforcement: no answers, only a reward after each action. An agent in a grid world
   (walls ``#``, goal ``G``) pays -1 per move; an episode ends at the goal. Tabular
   Q-learning keeps an estimate Q(s, a) of the discounted return of action a in state s
   and after every move (s, a, r, s') nudges it toward the one-step target,

       Q(s, a) <- Q(s, a) + alpha (r + gamma max_a' Q(s', a') - Q(s, a))

   (the max term is 0 when s' is the goal). It acts epsilon-greedily (a random action
   with probability epsilon) and starts each episode in a random free cell, so every
   state is tried. Q starts at 0, above every true value, so untried actions look best:
   that too drives exploration. The greedy policy argmax_a Q(s, a) is then checked
   against the oracles: the shortest path lengths from breadth-first search, and the
   optimal values from value iteration.

With ``--device`` the autoencoder trains there; logistic regression (an estimator that
fits on the CPU), k-means and the Q-table are NumPy work and stay on the CPU.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

import axon as ax
from axon import nn, optim
from axon.models.classic import KMeans, LogisticRegression

from .. import plot
from .registry import register
from .shared.base import Config, Result, backup, heading, table
from .shared.digits import split_digits

# ----------------------------------------------------------------------------- grid world
MAZE = (
    "S...#..",
    ".##.#.#",
    ".#.....",
    ".#.###.",
    "...#G..",
)
ACTIONS = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left
ARROWS = "^>v<"
ACTION_NAMES = ("up", "right", "down", "left")


class GridWorld:
    """A maze of rows of characters: ``.`` free, ``#`` wall, ``S`` start, ``G`` goal.

    States are the free cells (S and G included), numbered row by row. A move into a wall
    or off the grid leaves the agent where it is. Every move earns -1; reaching G ends
    the episode.
    """

    def __init__(self, rows: tuple[str, ...] = MAZE) -> None:
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            raise ValueError(f"every row of the maze must have the same length, got {widths}")
        self.rows = rows
        self.shape = (len(rows), len(rows[0]))
        self.cells = [(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch != "#"]
        self.index = {cell: i for i, cell in enumerate(self.cells)}
        found = {
            ch: [(r, c) for r, row in enumerate(rows) for c, x in enumerate(row) if x == ch]
            for ch in "SG"
        }
        if len(found["G"]) != 1 or len(found["S"]) != 1:
            raise ValueError(f"the maze needs exactly one S and one G, got {found}")
        self.start = self.index[found["S"][0]]
        self.goal = self.index[found["G"][0]]
        # next_state[s, a]: where action a leads from state s, (n_states, 4)
        self.next_state = np.array([[self._move(cell, a) for a in range(4)] for cell in self.cells])

    @property
    def n_states(self) -> int:
        return len(self.cells)

    def _move(self, cell: tuple[int, int], a: int) -> int:
        r, c = cell[0] + ACTIONS[a][0], cell[1] + ACTIONS[a][1]
        if (r, c) in self.index:
            return self.index[(r, c)]
        return self.index[cell]

    def step(self, s: int, a: int) -> tuple[int, float, bool]:
        """(next state, reward -1, whether it is the goal)."""
        s2 = int(self.next_state[s, a])
        return s2, -1.0, s2 == self.goal


def shortest_distances(world: GridWorld) -> np.ndarray:
    """The fewest moves from each state to the goal, by breadth-first search back from
    the goal over the moves (the oracle for the greedy policy); -1 where unreachable."""
    dist = np.full(world.n_states, -1)
    dist[world.goal] = 0
    queue = deque([world.goal])
    while queue:
        s = queue.popleft()
        for prev in range(world.n_states):
            if dist[prev] < 0 and s in world.next_state[prev]:
                dist[prev] = dist[s] + 1
                queue.append(prev)
    return dist


def value_iteration(world: GridWorld, gamma: float, tol: float = 1e-12) -> np.ndarray:
    """The optimal values V*(s) = max_a [-1 + gamma V*(s')] (V*(goal) = 0), by repeating
    that update on all states until it changes no value by more than ``tol``."""
    v = np.zeros(world.n_states)
    while True:
        new = (-1.0 + gamma * v[world.next_state]).max(axis=1)  # (n_states,)
        new[world.goal] = 0.0
        if np.abs(new - v).max() <= tol:
            return new
        v = new


@dataclass
class QLearning:
    """What :func:`q_learning` found: the table Q (n_states, 4) and each episode's length."""

    q: np.ndarray
    lengths: list[int]


def q_learning(
    world: GridWorld,
    episodes: int,
    alpha: float = 0.5,
    gamma: float = 0.95,
    epsilon: float = 0.1,
    max_steps: int = 200,
    seed: int = 0,
) -> QLearning:
    """Tabular Q-learning with epsilon-greedy actions (greedy ties: the first action) and
    exploring starts (each episode begins in a random state other than the goal)."""
    rng = np.random.default_rng(seed)
    q = np.zeros((world.n_states, len(ACTIONS)))
    starts = [s for s in range(world.n_states) if s != world.goal]
    lengths = []
    for _ in range(episodes):
        s, moves, done = int(rng.choice(starts)), 0, False
        while not done and moves < max_steps:
            a = int(rng.integers(4)) if rng.random() < epsilon else int(np.argmax(q[s]))
            s2, r, done = world.step(s, a)
            target = r if done else r + gamma * q[s2].max()
            q[s, a] += alpha * (target - q[s, a])
            s, moves = s2, moves + 1
        lengths.append(moves)
    return QLearning(q, lengths)


def greedy_path(world: GridWorld, q: np.ndarray, s: int) -> list[int]:
    """The states visited following argmax_a Q(s, a) from ``s`` until the goal (or until
    a state repeats: a loop, which the caller sees as a path not ending at the goal)."""
    path, seen = [s], {s}
    while s != world.goal:
        s = int(world.next_state[s, int(np.argmax(q[s]))])
        if s in seen:
            break
        path.append(s)
        seen.add(s)
    return path


def policy_grid(world: GridWorld, q: np.ndarray) -> list[str]:
    """The maze with each free cell's greedy action drawn as ^ > v <."""
    lines = []
    for r, row in enumerate(world.rows):
        chars = []
        for c, ch in enumerate(row):
            if ch == "#" or (r, c) == world.cells[world.goal]:
                chars.append(ch)
            else:
                chars.append(ARROWS[int(np.argmax(q[world.index[(r, c)]]))])
        lines.append(" ".join(chars))
    return lines


# ----------------------------------------------------------------------------- autoencoder
def autoencoder(code: int = 8) -> nn.Sequential:
    """64 -> 32 -> tanh -> ``code`` -> 32 -> tanh -> 64: the first half encodes, the
    second decodes (the code layer is linear)."""
    return nn.Sequential(
        nn.Linear(64, 32),
        nn.Tanh(),
        nn.Linear(32, code),  # encoder: (N, 64) -> (N, code)
        nn.Linear(code, 32),
        nn.Tanh(),
        nn.Linear(32, 64),  # decoder: (N, code) -> (N, 64)
    )


def pca_reconstruct(X: np.ndarray, Xt: np.ndarray, k: int) -> np.ndarray:
    """Xt projected onto the top-k principal directions of X and back (X's mean added)."""
    mean = X.mean(axis=0)
    _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
    v = vt[:k]  # (k, D)
    return (Xt - mean) @ v.T @ v + mean


# ----------------------------------------------------------------------------- the run
@register(
    "paradigms",
    "Supervised (logistic regression), unsupervised (k-means, an "
    "autoencoder) and reinforcement learning (Q-learning in a grid world)",
)
def run(config: Config) -> Result:
    result = Result("paradigms")
    train_set, test_set = split_digits(config.seed)
    X, y = train_set.flat().astype(np.float64), train_set.y  # (n, 64)
    Xt, yt = test_set.flat().astype(np.float64), test_set.y
    supervised(result, X, y, Xt, yt, config)
    clusters(result, X, y, config)
    reconstruct(result, X, Xt, test_set, config)
    reinforcement(result, config)
    heading("Three signals")
    table(
        ["paradigm", "learns from", "here", "result"],
        [
            [
                "supervised",
                "inputs and answers",
                "logistic regression",
                f"{result.metrics['supervised_accuracy']:.1%} held-out accuracy",
            ],
            [
                "unsupervised",
                "inputs alone",
                "k-means, autoencoder",
                f"clusters {result.metrics['kmeans_purity']:.0%} pure; reconstruction MSE "
                f"{result.metrics['autoencoder_mse']:.3f}",
            ],
            [
                "reinforcement",
                "rewards for actions",
                "Q-learning",
                f"shortest path from {result.metrics['q_optimal_states']:.0f} of "
                f"{result.metrics['q_states']:.0f} cells",
            ],
        ],
        align="llll",
    )
    return result


def supervised(result: Result, X, y, Xt, yt, config: Config) -> None:
    heading("1. Supervised: images with their labels")
    model = LogisticRegression(C=1.0, max_iter=60 if config.quick else 300, lr=0.05)
    model.fit(X, y)
    acc = model.score(Xt, yt)
    print(
        f"  logistic regression on {len(y):,} labelled digits: {acc:.2%} of "
        f"{len(yt)} held-out images right (cross-entropy {model.loss_curve_[0]:.3f} -> "
        f"{model.loss_curve_[-1]:.3f})"
    )
    result.metrics["supervised_accuracy"] = acc
    result.check(f"supervised: held-out accuracy {acc:.2%} >= 90%", acc >= 0.9)


def clusters(result: Result, X, y, config: Config) -> None:
    heading("2a. Unsupervised: k-means (k = 10) on the images, labels unseen")
    n_init = 2 if config.quick else 10
    km = KMeans(10, init="k-means++", n_init=n_init, random_state=config.seed).fit(X)
    print(
        f"  k-means++ starts, best of {n_init}: inertia {km.inertia_:,.1f} after "
        f"{km.n_iter_} iterations (sum of squared distances to the nearest centre)"
    )
    rows, majority, right = [], [], 0
    for c in range(10):
        members = y[km.labels_ == c]
        counts = np.bincount(members, minlength=10)
        top = int(np.argmax(counts))
        majority.append(top)
        right += int(counts[top])
        share = counts[top] / max(len(members), 1)
        rows.append([c, len(members), top, f"{share:.0%}"])
    table(["cluster", "images", "most common digit", "share"], rows)
    purity = right / len(y)
    missing = sorted(set(range(10)) - set(majority))
    print(
        f"  purity (each image counted right if its cluster's majority is its digit): "
        f"{purity:.1%}; digits leading no cluster: {missing or 'none'}"
    )
    result.metrics.update({"kmeans_inertia": km.inertia_, "kmeans_purity": purity})
    result.check(
        f"k-means: the inertia fell over the iterations "
        f"({km.inertia_curve_[0]:,.0f} -> {km.inertia_:,.0f})",
        km.inertia_ < km.inertia_curve_[0],
    )
    result.check(
        f"k-means finds digit-like groups without labels: purity {purity:.1%} "
        "> 50% (chance about 10%)",
        purity > 0.5,
    )
    kmeans_oracle(result, X, config.seed)

    with plot.style():
        fig, axes = plot.figure(
            ncols=10,
            size=(1.2, 1.45),
            title=f"k-means centres as images (majority digit, share); purity {purity:.1%}",
        )
        plot.images(
            axes,
            [c.reshape(8, 8) for c in km.cluster_centers_],
            [f"{d} ({r[3]})" for d, r in zip(majority, rows, strict=True)],
        )
        result.figures.append(plot.save(fig, config.out / "paradigms_kmeans_centres.png"))


def kmeans_oracle(result: Result, X, seed: int) -> None:
    """axon's k-means against scikit-learn's from the same ten random images."""
    try:
        from sklearn.cluster import KMeans as SkKMeans
    except ImportError:
        print("  (scikit-learn is not installed: the check against its KMeans is skipped)")
        return
    init = X[np.random.default_rng(seed).choice(len(X), 10, replace=False)]
    ours = KMeans(10, init=init).fit(X)
    theirs = SkKMeans(10, init=init, n_init=1).fit(X)
    same = bool(np.array_equal(ours.labels_, theirs.labels_))
    print(
        f"  from the same 10 random images as centres: axon inertia {ours.inertia_:,.4f} "
        f"in {ours.n_iter_} iterations, scikit-learn {theirs.inertia_:,.4f} in "
        f"{theirs.n_iter_}; labels {'identical' if same else 'DIFFERENT'}"
    )
    result.check(
        "k-means equals scikit-learn's KMeans from the same initial centres "
        "(labels identical, inertia within 1e-9 relative)",
        same and abs(ours.inertia_ - theirs.inertia_) <= 1e-9 * theirs.inertia_,
    )


def reconstruct(result: Result, X, Xt, test_set, config: Config) -> None:
    epochs = config.epochs or (5 if config.quick else 60)
    heading(
        f"2b. Unsupervised: an autoencoder through 8 numbers (Adam lr 3e-3, batch 64, "
        f"{epochs} epochs)"
    )
    ax.manual_seed(config.seed)
    model = autoencoder(8).to(config.device)
    x, xt = X.astype(np.float32), Xt.astype(np.float32)
    before = float(((ax.predict(model, xt, batch_size=1000).cpu().numpy() - xt) ** 2).mean())
    history = ax.fit(
        model,
        (x, x),
        loss="mse",
        optimizer=optim.Adam(model.parameters(), lr=3e-3),
        epochs=epochs,
        batch_size=64,
        validation=(xt, xt),
        callbacks=backup(config, "paradigms-autoencoder"),
        verbose=0,
    )
    out = ax.predict(model, xt, batch_size=1000).cpu().numpy()
    mse = float(((out - xt) ** 2).mean())
    mean_mse = float(((X.mean(axis=0) - Xt) ** 2).mean())
    pca = pca_reconstruct(X, Xt, 8)
    pca_mse = float(((pca - Xt) ** 2).mean())
    table(
        ["reconstruction of the held-out images", "MSE per pixel"],
        [
            ["autoencoder before training", f"{before:.4f}"],
            ["the mean training image", f"{mean_mse:.4f}"],
            ["PCA, 8 components (best linear)", f"{pca_mse:.4f}"],
            [f"autoencoder after {epochs} epochs", f"{mse:.4f}"],
        ],
    )
    print(
        f"  (pixels are standardised, so 1.0 is the variance of a pixel; the autoencoder "
        f"is {'below' if mse < pca_mse else 'above'} PCA)"
    )
    result.metrics.update(
        {
            "autoencoder_mse": mse,
            "autoencoder_mse_before": before,
            "pca_mse": pca_mse,
            "mean_image_mse": mean_mse,
        }
    )
    losses = history.history["loss"]
    result.check(
        f"autoencoder: the reconstruction error fell (held-out {before:.3f} -> "
        f"{mse:.3f}; training {losses[0]:.3f} in the first epoch, {losses[-1]:.3f} "
        "in the last)",
        mse < before and losses[-1] < losses[0],
    )
    result.check(
        f"autoencoder: held-out reconstruction {mse:.3f} beats the mean image's {mean_mse:.3f}",
        mse < mean_mse,
    )

    with plot.style():
        fig, axes = plot.figure(
            ncols=11,
            nrows=3,
            size=(1.15, 1.3),
            title="Held-out digits and their reconstructions by the autoencoder and by PCA-8",
        )
        grid = axes[0].get_subplotspec().get_gridspec()
        grid.set_width_ratios([2.6] + [1] * 10)  # the loss curve: one wide panel, three rows
        for a in (axes[0], axes[11], axes[22]):
            a.remove()
        curve_ax = fig.add_subplot(grid[:, 0])
        curve_ax.tick_params(labelsize=plot.SMALL)
        plot.curves(
            curve_ax, {"train": losses, "held-out": history.history["val_loss"]}, ylabel="MSE"
        )
        curve_ax.set_title("autoencoder loss")
        idx = [int(np.flatnonzero(test_set.y == d)[0]) for d in range(10)]
        lo, hi = float(xt.min()), float(xt.max())  # one grey scale for all three rows
        rows = [axes[1:11], axes[12:22], axes[23:33]]
        for row, pics, name in zip(
            rows, (xt, out, pca), ("held-out", "autoencoder", "PCA-8"), strict=True
        ):
            plot.images(row, [])  # no ticks
            row[0].set_ylabel(name)
            for a, i in zip(row, idx, strict=True):
                a.set_axis_on()
                a.imshow(pics[i].reshape(8, 8), cmap="gray", vmin=lo, vmax=hi)
        result.figures.append(plot.save(fig, config.out / "paradigms_autoencoder.png"))


def reinforcement(result: Result, config: Config) -> None:
    world = GridWorld()
    episodes = 600 if config.quick else 2000
    gamma = 0.95
    heading(
        f"3. Reinforcement: Q-learning in a grid world ({episodes} episodes, alpha 0.5, "
        f"gamma {gamma}, epsilon 0.1)"
    )
    print("  the maze (S start, G goal, # wall; -1 per move):")
    for line in world.rows:
        print("    " + " ".join(line))
    run = q_learning(world, episodes, gamma=gamma, seed=config.seed)
    q = run.q
    print("\n  the learned Q-table (state = row, column; the greedy action marked *):")
    rows = []
    for s, cell in enumerate(world.cells):
        best = int(np.argmax(q[s]))
        name = "G (end)" if s == world.goal else ("S" if s == world.start else "")
        rows.append(
            [f"({cell[0]}, {cell[1]}) {name}".rstrip()]
            + [f"{q[s, a]:.2f}{'*' if a == best and s != world.goal else ''}" for a in range(4)]
        )
    table(["state"] + list(ACTION_NAMES), rows, align="lrrrr")
    print("\n  the greedy policy:")
    for line in policy_grid(world, q):
        print("    " + line)

    dist = shortest_distances(world)
    v_star = value_iteration(world, gamma)
    optimal = 0
    for s in range(world.n_states):
        path = greedy_path(world, q, s)
        optimal += int(path[-1] == world.goal and len(path) - 1 == dist[s])
    from_start = greedy_path(world, q, world.start)
    v_gap = float(np.abs(q.max(axis=1) - v_star).max())
    print(
        f"\n  from S the greedy policy takes {len(from_start) - 1} moves; breadth-first "
        f"search's shortest path is {dist[world.start]}"
    )
    print(
        f"  from {optimal} of {world.n_states} cells it reaches G in the fewest moves; "
        f"max_s |max_a Q(s, a) - V*(s)| = {v_gap:.3f} (V* by value iteration)"
    )
    result.metrics.update(
        {"q_optimal_states": optimal, "q_states": world.n_states, "q_value_gap": v_gap}
    )
    result.check(
        f"Q-learning: the greedy policy reaches G by a shortest path (breadth-first "
        f"search) from every cell ({optimal} of {world.n_states})",
        optimal == world.n_states,
    )
    save_gridworld(result, world, run, v_star, config)


@plot.style()
def save_gridworld(
    result: Result, world: GridWorld, run: QLearning, v_star: np.ndarray, config: Config
) -> None:
    """The learned values with the greedy arrows, beside value iteration's; episode lengths."""
    fig, (learned, exact, lengths) = plot.figure(
        ncols=3, size=(4.2, 3.4), title="Q-learning in a grid world"
    )
    for panel, values, title in (
        (learned, run.q.max(axis=1), "max_a Q(s, a) and greedy policy"),
        (exact, v_star, "V* by value iteration"),
    ):
        img = np.full(world.shape, np.nan)
        for s, (r, c) in enumerate(world.cells):
            img[r, c] = values[s]
        image = panel.imshow(img, cmap="viridis")
        panel.set_facecolor("black")  # walls (NaN) show black
        plot.colorbar(image, "value (discounted return)")
        for s, (r, c) in enumerate(world.cells):
            label = (
                "G"
                if s == world.goal
                else (ARROWS[int(np.argmax(run.q[s]))] if panel is learned else f"{values[s]:.1f}")
            )
            light = image.norm(img[r, c]) > 0.6  # dark text on the bright cells
            panel.text(c, r, label, ha="center", va="center", color="k" if light else "white")
        panel.set_xticks([])
        panel.set_yticks([])
        panel.set_title(title)
    window = max(1, len(run.lengths) // 50)
    smooth = np.convolve(run.lengths, np.ones(window) / window, mode="valid")
    plot.curves(
        lengths, {f"moves per episode (mean of {window})": smooth}, xlabel="episode", ylabel="moves"
    )
    lengths.set_title("episode length (random starts)")
    result.figures.append(plot.save(fig, config.out / "paradigms_gridworld.png"))
