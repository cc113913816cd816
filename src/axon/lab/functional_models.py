"""Models that are not a stack, built with the functional API (``nn.Input``, ``nn.Model``).

1. One model, two targets, mixed inputs. Made-up flats (generated here, seeded): four
   numbers (log floor area, rooms, age, distance to the centre) and a category, the
   district (one of eight, each with its own hidden price level and building stock).
   The district goes through an ``nn.Embedding`` (a learned vector per district), is
   joined to the numbers, and a shared trunk feeds two heads: the (standardised) log
   price, a regression trained with the squared error, and the energy class A/B/C, a
   classification trained with cross-entropy. ``fit`` takes a loss per output and loss
   weights, and reports each output's loss and metric. The flats are split 65% / 15% /
   20% into training, validation (the curves) and test (scored once, at the end) parts.
   Baselines: the training mean for the price, the most common class for the energy
   class.
2. A siamese model on scikit-learn's 8x8 digits (shipped with axon): one encoder (a
   small MLP) is called on both images of a pair, so both branches share its weights;
   ``|a - b|`` and ``a * b`` of the two codes are joined and a small head says whether
   the two images show the same digit. Pairs are half same-digit, half not (baseline
   50%), drawn from the training images for training, from the validation images carved
   from them (a seeded 10% of each digit) for the curves, and from the test images for
   the score. The head is symmetric, so swapping the images cannot change the answer.
"""

from __future__ import annotations

import time

import numpy as np

import axon as ax
from axon import nn, optim
from axon.train.metrics import BinaryAccuracy

from .. import plot
from .registry import register
from .shared.base import Config, Result, backup, heading, table
from .shared.digits import split_digits
from .shared.vision_common import carve_validation

DISTRICTS = [
    "old town",
    "harbour",
    "university",
    "riverside",
    "station",
    "hillside",
    "industrial",
    "suburbs",
]
PREMIUM = np.array([0.45, 0.30, 0.10, 0.25, -0.05, 0.15, -0.35, -0.20])  # log-price shift
EFFICIENCY = np.array([-0.8, 0.2, 0.6, 0.0, 0.3, -0.2, -0.6, 0.9])  # energy-score shift
CENTRE_KM = np.array([0.5, 2.0, 3.0, 2.5, 1.5, 6.0, 8.0, 12.0])  # typical distance
ENERGY_CLASSES = ["A", "B", "C"]
VAL, TEST = 0.15, 0.2  # the flats' validation and test shares


# ----------------------------------------------------------------------------- 1. houses
def make_flats(n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` made-up flats: the raw features, the district, the log price and the energy
    score (before it is cut into classes)."""
    rng = np.random.default_rng(seed)
    district = rng.integers(0, len(DISTRICTS), n)
    area = np.exp(rng.normal(np.log(75.0), 0.35, n))  # m^2
    rooms = np.clip(np.round(area / 25.0 + rng.normal(0.0, 0.7, n)), 1, 7)
    age = np.clip(rng.uniform(0.0, 90.0, n) + 30.0 * (district == 0), 0.0, 120.0)  # years
    distance = CENTRE_KM[district] * np.exp(rng.normal(0.0, 0.4, n))  # km
    log_price = (
        np.log(area)
        + PREMIUM[district]
        - 0.03 * distance
        - 0.004 * age
        + 0.05 * rooms
        + rng.normal(0.0, 0.08, n)
    )
    energy = -0.025 * age + EFFICIENCY[district] + 0.003 * (area - 75.0) + rng.normal(0, 0.3, n)
    return {
        "features": np.stack([np.log(area), rooms, age, distance], axis=1),
        "district": district,
        "log_price": log_price,
        "energy": energy,
    }


def split_flats(flats: dict[str, np.ndarray], seed: int):
    """Training, validation and test splits (``VAL`` and ``TEST`` of the flats, at random)
    as ``(inputs, targets)`` dicts of arrays: the numbers and the price standardised with
    the training split's statistics, the energy score cut into three classes at the
    training split's tertiles (A: the best third)."""
    n = len(flats["district"])
    order = np.random.default_rng(seed + 1).permutation(n)
    n_test, n_val = int(TEST * n), int(VAL * n)
    test, val, train = np.split(order, [n_test, n_test + n_val])
    mu, sd = flats["features"][train].mean(0), flats["features"][train].std(0)
    p_mu, p_sd = flats["log_price"][train].mean(), flats["log_price"][train].std()
    cuts = np.quantile(flats["energy"][train], [1 / 3, 2 / 3])

    def part(idx):
        x = {
            "numbers": ((flats["features"][idx] - mu) / sd).astype(np.float32),
            "district": flats["district"][idx].astype(np.int64),
        }
        energy_class = 2 - np.searchsorted(cuts, flats["energy"][idx])  # high score: A = 0
        y = {
            "price": ((flats["log_price"][idx] - p_mu) / p_sd).astype(np.float32)[:, None],
            "energy": energy_class.astype(np.int64),
        }
        return x, y

    return part(train), part(val), part(test)


def houses_model() -> nn.Model:
    """numbers (N, 4) and district (N,) -> [numbers, embedding (N, 3)] -> 32 -> 32 ->
    price (N, 1) and energy (N, 3)."""
    numbers = nn.Input((4,), name="numbers")
    district = nn.Input((), dtype=ax.int64, name="district")
    place = nn.Embedding(len(DISTRICTS), 3)(district, name="district_embedding")
    h = nn.Concatenate()(numbers, place)  # (None, 7)
    h = nn.ReLU()(nn.Linear(7, 32)(h, name="trunk_1"))
    h = nn.ReLU()(nn.Linear(32, 32)(h, name="trunk_2"))
    price = nn.Linear(32, 1)(h, name="price")
    energy = nn.Linear(32, len(ENERGY_CLASSES))(h, name="energy")
    return nn.Model(
        {"numbers": numbers, "district": district},
        {"price": price, "energy": energy},
        name="houses",
    )


def run_houses(config: Config, result: Result) -> None:
    n = 1500 if config.quick else 4000
    epochs = config.epochs or (12 if config.quick else 40)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = split_flats(
        make_flats(n, config.seed), config.seed
    )
    heading("1. One model, two targets, mixed inputs: made-up flats")
    print(
        f"  {n:,} flats: numbers (log area, rooms, age, distance) and a district (one of "
        f"{len(DISTRICTS)}); {len(y_train['energy']):,} for training, "
        f"{len(y_val['energy']):,} for validation, {len(y_test['energy']):,} for testing"
    )
    print(
        "  targets: the log price (standardised; squared error) and the energy class "
        "A/B/C (cross-entropy)"
    )
    ax.manual_seed(config.seed)
    model = houses_model().to(config.device)
    ax.summary(model, print_fn=lambda text: print("  " + text.replace("\n", "\n  ")))

    weights = {"price": 1.0, "energy": 0.5}
    print(
        f"\n  fit: loss = {weights['price']} x price_loss + {weights['energy']} x "
        f"energy_loss; Adam lr 3e-3, batch 64, {epochs} epochs"
    )
    start = time.perf_counter()
    history = ax.fit(
        model,
        (x_train, y_train),
        loss={"price": "mse", "energy": "cross_entropy"},
        loss_weights=weights,
        metrics={"price": ["mae"], "energy": ["accuracy"]},
        optimizer=optim.Adam(model.parameters(), lr=3e-3),
        epochs=epochs,
        batch_size=64,
        validation=(x_val, y_val),
        callbacks=backup(config, "functional-houses"),
        verbose=0,
    )
    seconds = time.perf_counter() - start
    print(f"  History keys: {', '.join(history.history)}")
    last = {k: v[-1] for k, v in history.history.items()}
    table(
        ["epoch", "loss", "price_loss", "energy_loss", "val_price_loss", "val_energy_accuracy"],
        [
            [
                e + 1,
                *(
                    f"{history.history[k][e]:.4f}"
                    for k in (
                        "loss",
                        "price_loss",
                        "energy_loss",
                        "val_price_loss",
                        "val_energy_accuracy",
                    )
                ),
            ]
            for e in sorted({0, epochs // 2, epochs - 1})
        ],
    )

    val_price = ax.predict(model, x_val, batch_size=512)["price"].cpu().numpy()
    val_r2 = 1.0 - float(((val_price - y_val["price"]) ** 2).mean()) / float(
        ((y_train["price"].mean() - y_val["price"]) ** 2).mean()
    )
    out = ax.predict(model, x_test, batch_size=512)
    mse = float(((out["price"].cpu().numpy() - y_test["price"]) ** 2).mean())
    base_mse = float(((y_train["price"].mean() - y_test["price"]) ** 2).mean())
    accuracy = float((out["energy"].cpu().numpy().argmax(1) == y_test["energy"]).mean())
    majority = int(np.bincount(y_train["energy"]).argmax())
    base_acc = float((y_test["energy"] == majority).mean())
    r2 = 1.0 - mse / base_mse
    heading("Test split (scored once, after training): each head against its baseline")
    table(
        ["head", "model", "baseline", "baseline is"],
        [
            ["price (squared error)", f"{mse:.4f}", f"{base_mse:.4f}", "the training mean"],
            [
                "energy (accuracy)",
                f"{accuracy:.3f}",
                f"{base_acc:.3f}",
                f"always class {ENERGY_CLASSES[majority]}",
            ],
        ],
    )
    print(
        f"  test price R^2 = 1 - {mse:.4f} / {base_mse:.4f} = {r2:.3f} (validation R^2 "
        f"{val_r2:.3f}); trained in {seconds:.1f} s"
    )
    r2_claim, acc_margin = (0.5, 0.1) if config.quick else (0.9, 0.3)
    result.check(
        f"the price head beats the training mean on test flats: R^2 {r2:.3f} >= {r2_claim}",
        r2 >= r2_claim,
    )
    result.check(
        f"the energy head beats always answering the most common class: test "
        f"accuracy {accuracy:.3f} >= {base_acc:.3f} + {acc_margin}",
        accuracy >= base_acc + acc_margin,
    )
    result.metrics.update(
        {
            "price_test_mse": mse,
            "price_baseline_test_mse": base_mse,
            "price_test_r2": r2,
            "price_val_r2": val_r2,
            "energy_test_accuracy": accuracy,
            "energy_baseline_test_accuracy": base_acc,
            "houses_val_loss": last.get("val_loss", float("nan")),
            "houses_seconds": seconds,
        }
    )
    result.figures.append(save_houses_curves(history, config.out / "functional_houses_history.png"))


def save_houses_curves(history: ax.History, path):
    """The houses model's curves, 2 x 2: the weighted loss and each head's loss and
    metric, the training split's beside the validation split's."""
    fig, axes = plot.figure(
        ncols=2, nrows=2, size=(4.5, 3.2), title="Flats: training curves (val = validation split)"
    )
    for panel, key in zip(
        axes, ("loss", "price_loss", "energy_loss", "energy_accuracy"), strict=True
    ):
        plot.curves(
            panel,
            {"train": history[key], "val": history["val_" + key]},
            ylabel=key.replace("_", " "),
        )
    return plot.save(fig, path)


# ----------------------------------------------------------------------------- 2. siamese
def make_pairs(
    labels: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` pairs of indices (i, j), i != j, half of the same digit; and the targets
    (1.0 same, 0.0 not), (n, 1)."""
    by_digit = [np.flatnonzero(labels == d) for d in range(10)]
    i = rng.integers(0, len(labels), n)
    same = rng.random(n) < 0.5
    j = np.empty(n, dtype=np.int64)
    for k in range(n):
        digit = labels[i[k]]
        if not same[k]:
            digit = (digit + rng.integers(1, 10)) % 10  # any other digit
        choices = by_digit[digit]
        j[k] = choices[rng.integers(0, len(choices))]
        while j[k] == i[k]:
            j[k] = choices[rng.integers(0, len(choices))]
    return i, j, same.astype(np.float32)[:, None]


def siamese_model() -> tuple[nn.Model, nn.Module]:
    """left, right (N, 64) -> one encoder 64 -> 64 -> 32 on each -> [|a - b|, a * b]
    (N, 64) -> 32 -> 1 logit "same digit?". Returns the model and its encoder."""
    left, right = nn.Input((64,), name="left"), nn.Input((64,), name="right")
    encoder = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32))
    a, b = encoder(left, name="encoder"), encoder(right)  # one layer, two calls
    distance = nn.Lambda(lambda u, v: (u - v).abs())(a, b, name="distance")
    both = nn.Multiply()(a, b, name="product")
    h = nn.ReLU()(nn.Linear(64, 32)(nn.Concatenate()(distance, both), name="head"))
    same = nn.Linear(32, 1)(h, name="same")
    return nn.Model([left, right], same, name="siamese"), encoder


def run_siamese(config: Config, result: Result) -> None:
    heading("2. A shared layer: a siamese model on the 8x8 digits")
    splits = carve_validation(*split_digits(config.seed), config.seed)
    train_set, val_set, test_set = splits.train, splits.val, splits.test
    x_train, x_val, x_test = train_set.flat(), val_set.flat(), test_set.flat()  # (N, 64)
    rng = np.random.default_rng(config.seed + 2)
    n_train, n_val, n_test = (2000, 300, 600) if config.quick else (8000, 1000, 2000)
    i, j, y = make_pairs(train_set.y, n_train, rng)
    vi, vj, vy = make_pairs(val_set.y, n_val, rng)
    ti, tj, ty = make_pairs(test_set.y, n_test, rng)
    print(f"  {splits.describe()}")
    print(
        f"  {n_train:,} training, {n_val:,} validation and {n_test:,} test pairs, each "
        f"from its split's images; {y.mean():.0%} / {vy.mean():.0%} / {ty.mean():.0%} "
        f"same-digit"
    )
    ax.manual_seed(config.seed)
    model, encoder = siamese_model()
    model.to(config.device)
    ax.summary(model, print_fn=lambda text: print("  " + text.replace("\n", "\n  ")))

    epochs = config.epochs or (6 if config.quick else 20)
    print(f"\n  fit: binary cross-entropy on the logit; Adam lr 2e-3, batch 64, {epochs} epochs")
    accuracy = BinaryAccuracy(threshold=0.0, name="accuracy")  # logits: > 0 means "same"
    test_pairs = ({"left": x_test[ti], "right": x_test[tj]}, ty)
    start = time.perf_counter()
    history = ax.fit(
        model,
        ({"left": x_train[i], "right": x_train[j]}, y),
        loss=nn.BCEWithLogitsLoss(),
        metrics=[accuracy],
        optimizer=optim.Adam(model.parameters(), lr=2e-3),
        epochs=epochs,
        batch_size=64,
        validation=({"left": x_val[vi], "right": x_val[vj]}, vy),
        callbacks=backup(config, "functional-siamese"),
        verbose=0,
    )
    seconds = time.perf_counter() - start
    logits = ax.predict(model, test_pairs[0], batch_size=500).cpu().numpy()
    flipped = {"left": x_test[tj], "right": x_test[ti]}
    swapped = ax.predict(model, flipped, batch_size=500).cpu().numpy()
    acc = float(((logits > 0) == (ty > 0.5)).mean())
    print(
        f"  trained in {seconds:.1f} s; train accuracy {history['accuracy'][-1]:.3f}, "
        f"val pair accuracy {history['val_accuracy'][-1]:.3f}, test pair accuracy "
        f"{acc:.3f} (baseline {max(ty.mean(), 1 - ty.mean()):.3f})"
    )

    calls = [n for n in model.nodes if n.module is encoder]
    n_encoder = encoder.num_parameters()
    n_head = sum(model.get_layer(name).num_parameters() for name in ("head", "same"))
    n_model = model.num_parameters()
    encoder_keys = [k for k in model.state_dict() if k.startswith("encoder.")]
    print(
        f"  the encoder is called {len(calls)} times and registered once: {n_encoder:,} "
        f"weights ({', '.join(encoder_keys)}); the model has {n_model:,} = {n_encoder:,} "
        f"+ {n_head:,} (head); two separate encoders would need {2 * n_encoder:,}"
    )
    gap = float(np.abs(logits - swapped).max())
    print(f"  swapping left and right changes the logits by at most {gap:.2g}")
    floor = 0.65 if config.quick else 0.9
    baseline = float(max(ty.mean(), 1 - ty.mean()))
    result.check(
        f"the siamese model beats the {baseline:.0%} baseline on test pairs: "
        f"accuracy {acc:.3f} >= {floor}",
        acc >= floor,
    )
    result.check(
        f"the siamese model shares exactly one set of encoder weights: called "
        f"{len(calls)} times, {n_model:,} parameters = {n_encoder:,} (encoder) + "
        f"{n_head:,} (head)",
        len(calls) == 2
        and model.layers.count(encoder) == 1
        and n_model == n_encoder + n_head
        and len(encoder_keys) == len(encoder.state_dict()),
    )
    result.check(
        f"swapping the two images leaves the prediction unchanged (max change {gap:.2g} <= 1e-6)",
        gap <= 1e-6,
    )
    result.metrics.update(
        {
            "siamese_val_accuracy": history["val_accuracy"][-1],
            "siamese_test_accuracy": acc,
            "siamese_baseline_test_accuracy": baseline,
            "siamese_parameters": n_model,
            "encoder_parameters": n_encoder,
            "siamese_seconds": seconds,
        }
    )
    result.figures.append(
        save_pairs(test_set, ti, tj, ty, logits, config.out / "functional_siamese_pairs.png")
    )
    path = config.out / "functional_siamese_history.png"
    history.plot(path)
    result.figures.append(path)


def save_pairs(test_set, ti, tj, ty, logits, path):
    """Eight test pairs, four of the same digit and four not, each image titled with
    the model's p(same) and the truth."""
    same = np.flatnonzero(ty[:, 0] > 0.5)[:4]
    differ = np.flatnonzero(ty[:, 0] < 0.5)[:4]
    pictures, titles = [], []
    for k in [*same, *differ]:
        p = 1.0 / (1.0 + np.exp(-float(logits[k, 0])))
        pictures += [test_set.pictures(ti[k]), test_set.pictures(tj[k])]
        titles += [f"p(same) {p:.2f}", "same" if ty[k, 0] > 0.5 else "different"]
    fig = plot.image_grid(pictures, titles, ncols=8, title="Test pairs")
    return plot.save(fig, path)


@register(
    "functional",
    "The functional API: one model predicting a price and a class from "
    "numbers and a category; a siamese model sharing one encoder",
)
def run(config: Config) -> Result:
    result = Result("functional")
    run_houses(config, result)
    run_siamese(config, result)
    return result
