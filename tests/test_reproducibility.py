"""Bit-exact reproducibility: the same seed gives the same weights, bit for bit, whatever
the thread count and whatever else the process is doing (issue 14).

The network is a LeNet with a wider first fully connected layer, trained on batches of
32: both convolutions then split their batch over two threads (more than 1 MB of
im2col columns), the first runs in cache-sized chunks, the second's weight gradient is
deferred to the helper thread, and the wide layer's products are split in two halves by
``threads.matmul`` (its threshold lowered for them). Every path that depends on whether
a split ran is on the way.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import axon as ax
from axon import nn
from axon.backend.numpy import threads
from tests.helpers import assert_equal

STEPS, BATCH = 3, 32


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 512),
        nn.ReLU(),
        nn.Linear(512, 10),
    )


def train(steps: int = STEPS) -> list[np.ndarray]:
    """The seeded LeNet after ``steps`` SGD steps (momentum, so the steps compound)."""
    ax.manual_seed(0)
    net = lenet()
    opt = ax.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x = ax.tensor(rng.standard_normal((BATCH, 1, 28, 28), dtype=np.float32))
        y = ax.tensor(rng.integers(0, 10, BATCH))
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.detach().numpy().copy() for p in net.parameters()]


def assert_same_bits(actual: list, expected: list, what: str) -> None:
    """Equal values (NaN fails) and equal bytes (a -0.0 for a 0.0 fails too)."""
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert_equal(a, e, msg=f"{what}: parameter {i}")
        assert a.tobytes() == e.tobytes(), f"{what}: parameter {i} differs in its bytes"


@pytest.fixture
def thread_count():
    """Gives the thread count back after the test."""
    before = ax.get_num_threads()
    yield
    ax.set_num_threads(before)


class Rival(threading.Thread):
    """A Python thread that splits until stopped (a convolution's forward, a product
    split in halves, a deferred product), so the trainer's splits are refused whenever
    the rival holds the split: at moments that change from run to run. It records no
    graph and runs no backward (axon's grad mode is one switch for the whole process:
    the engine's ``no_grad`` would stop the trainer's recording) and draws its data from
    its own generator (not the global one the trainer seeds)."""

    def __init__(self) -> None:
        super().__init__(name="rival", daemon=True)
        self.stop = threading.Event()
        self.rounds = 0
        self.error = None
        rng = np.random.default_rng(1)
        self.x = ax.tensor(rng.standard_normal((BATCH, 6, 14, 14), dtype=np.float32))
        self.w = ax.tensor(rng.standard_normal((16, 6, 5, 5), dtype=np.float32))
        self.a = rng.standard_normal((64, 400), dtype=np.float32)
        self.b = rng.standard_normal((400, 512), dtype=np.float32)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                nn.functional.conv2d(self.x, self.w)
                threads.matmul(self.a, self.b)
                threads.defer(lambda: self.a @ self.b).result()
                self.rounds += 1
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.join(timeout=60)
        assert not self.is_alive(), "the rival thread did not stop"
        assert self.error is None, f"the rival thread failed: {self.error!r}"


@pytest.fixture
def split_products(monkeypatch):
    """threads.matmul splits the wide layer's products (6.5M multiply-adds) in halves."""
    monkeypatch.setattr(threads, "small_product", 2_000_000)


def test_same_weights_at_one_and_two_threads_and_beside_a_rival_thread(
    thread_count, split_products
):
    ax.set_num_threads(2)
    reference = train()
    assert all(np.isfinite(p).all() for p in reference)

    ax.set_num_threads(1)  # every split refused by the setting: the halves in turn
    assert_same_bits(train(), reference, "1 thread")

    ax.set_num_threads(2)
    with threads._busy:  # every split refused by the lock, as when another thread splits
        assert_same_bits(train(), reference, "the split lock held")

    with Rival() as rival:  # refused at moments that change from run to run
        beside = train()
    assert rival.rounds >= 1
    assert_same_bits(beside, reference, "beside a rival thread")

    assert_same_bits(train(), reference, "2 threads again")


@pytest.mark.slow
def test_same_weights_over_many_runs_beside_a_rival_thread(thread_count, split_products):
    """The fast test's rival run, repeated: each run is refused at other moments."""
    ax.set_num_threads(2)
    reference = train()
    for run in range(10):
        ax.set_num_threads(1 + run % 2)
        with Rival():
            assert_same_bits(train(), reference, f"run {run} beside a rival thread")


def test_tensor_matmul_gives_the_same_bits_at_one_and_two_threads(thread_count):
    """``a @ w`` of 2-D tensors (a hand-written layer), forward and both gradients."""
    rng = np.random.default_rng(2)
    a0 = rng.standard_normal((128, 784), dtype=np.float32)
    w0 = rng.standard_normal((784, 256), dtype=np.float32)
    g0 = rng.standard_normal((128, 256), dtype=np.float32)
    results = []
    for n in (2, 1):
        ax.set_num_threads(n)
        a, w = ax.tensor(a0, requires_grad=True), ax.tensor(w0, requires_grad=True)
        y = a @ w
        y.backward(ax.tensor(g0))
        results.append([y.detach().numpy().copy(), a.grad.numpy().copy(), w.grad.numpy().copy()])
    assert_same_bits(results[1], results[0], "1 thread against 2")


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU, nn.RNN])
def test_recurrent_layers_give_the_same_bits_at_one_and_two_threads(thread_count, kind):
    """A two-layer recurrent net (hidden 256, batch 20: per-step products big enough for
    OpenBLAS to use both its threads, whose bits differ from one thread's), 2 Adam steps."""
    results = []
    for n in (2, 1):
        ax.set_num_threads(n)
        ax.manual_seed(0)
        rnn, head = kind(32, 256, num_layers=2), nn.Linear(256, 20)
        params = list(rnn.parameters()) + list(head.parameters())
        opt = ax.optim.Adam(params, lr=1e-3)
        rng = np.random.default_rng(3)
        for _ in range(2):
            x = ax.tensor(rng.standard_normal((12, 20, 32), dtype=np.float32))
            y = ax.tensor(rng.integers(0, 20, 12 * 20))
            out, _ = rnn(x)
            loss = nn.functional.cross_entropy(head(out).reshape(-1, 20), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        results.append([p.detach().numpy().copy() for p in params])
    assert_same_bits(results[1], results[0], f"{kind.__name__}: 1 thread against 2")


def test_a_transformer_gives_the_same_bits_at_one_and_two_threads(thread_count):
    """A causal encoder LM (embedding, attention's batched products, the head), 2 AdamW
    steps: the embedding's one-hot product and the attention products ran on OpenBLAS's
    threads, whose bits differ from one thread's."""
    results = []
    for n in (2, 1):
        ax.set_num_threads(n)
        ax.manual_seed(0)
        layer = nn.TransformerEncoderLayer(64, 4, 256, dropout=0.1, batch_first=True)
        encoder, emb, head = (
            nn.TransformerEncoder(layer, 2),
            nn.Embedding(100, 64),
            nn.Linear(64, 100),
        )
        params = [*encoder.parameters(), *emb.parameters(), *head.parameters()]
        opt = ax.optim.AdamW(params, lr=1e-3)
        rng = np.random.default_rng(4)
        mask = nn.Transformer.generate_square_subsequent_mask(48)
        for _ in range(2):
            x = ax.tensor(rng.integers(0, 100, (16, 48)))
            y = ax.tensor(rng.integers(0, 100, 16 * 48))
            out = head(encoder(emb(x), mask=mask, is_causal=True)).reshape(-1, 100)
            loss = nn.functional.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        results.append([p.detach().numpy().copy() for p in params])
    assert_same_bits(results[1], results[0], "transformer: 1 thread against 2")
