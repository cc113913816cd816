"""The 8x8 digits: a fully connected network against a small CNN on a held-out test split.

scikit-learn's digits (1,797 images of 8x8 pixels, values 0-16, ten classes; a copy ships
with axon, so nothing is downloaded) are split at random into 80% for training and 20%
for testing, and a seeded 10% of each class of the training part is carved off as the
validation split (the curves are drawn on it). Both networks are trained the same way
(Adam, cross-entropy, same epochs and batches) and scored once on the test images, side
by side:

- MLP: 64 -> 64 -> ReLU -> 10, every pixel connected to every hidden unit;
- CNN: two 3x3 convolutions with 2x2 max pooling (8x8 -> 4x4 -> 2x2), then 128 -> 10:
  the same small filter slides over the whole image, so it has far fewer weights per
  feature and knows that neighbouring pixels belong together.
"""

from __future__ import annotations

import axon as ax
from axon import models, nn, optim

from .registry import register
from .shared.base import Config, Result, heading, table
from .shared.digits import digits_cnn, split_digits
from .shared.vision_common import (
    CHANCE,
    QUICK_MARGIN,
    SUMMARY_HEADER,
    Trained,
    carve_validation,
    check_learning,
    print_per_class,
    save_feature_maps,
    save_figures,
    save_weights,
    summary_line,
    train,
)

DIGITS_CLAIM = 0.95


@register("digits", "8x8 digits (no download): an MLP against a small CNN on a held-out split")
def run(config: Config) -> Result:
    result = Result("digits")
    heading("The 8x8 digits")
    splits = carve_validation(*split_digits(config.seed), config.seed)
    result.splits = splits.sizes()
    test_set = splits.test
    print(
        f"  {sum(splits.sizes().values()):,} images of 8x8, values 0-16: "
        f"{splits.describe()} (seed {config.seed})"
    )

    epochs = config.epochs or (8 if config.quick else 40)
    lr = 3e-3
    runs: dict[str, tuple[nn.Module, Trained, int]] = {}
    for label, make, flatten in [
        ("MLP 64-64-10", lambda: models.mlp([64, 64, 10]), True),
        ("CNN", digits_cnn, False),
    ]:
        heading(f"{label}: Adam lr {lr:g}, cosine decay, batch 32, {epochs} epochs")
        ax.manual_seed(config.seed)
        model = make().to(config.device)
        print("  " + repr(model).replace("\n", "\n  "))
        opt = optim.Adam(model.parameters(), lr=lr)
        sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        run = train(
            model,
            splits,
            optimizer=opt,
            epochs=epochs,
            batch_size=32,
            scheduler=sched,
            flatten=flatten,
            verbose=0,
            config=config,
            tag="digits-" + ("mlp" if flatten else "cnn"),
        )
        runs[label] = (model, run, model.num_parameters())

    heading("Side by side, on the validation and the test images")
    table(SUMMARY_HEADER, [summary_line(label, run, n) for label, (_, run, n) in runs.items()])
    wrong = [run.predictions != test_set.y for _, run, _ in runs.values()]
    wrong_both = int((wrong[0] & wrong[1]).sum())
    counts = [int(w.sum()) for w in wrong]
    print(
        f"  test images wrong: MLP {counts[0]}, CNN {counts[1]}, both {wrong_both} "
        f"(one image is {1 / len(test_set):.2%} of the {len(test_set)})"
    )

    for label, (model, run, n) in runs.items():
        key = "mlp" if label.startswith("MLP") else "cnn"
        heading(f"{label}, per class (test images)")
        matrix = print_per_class(test_set, run.predictions)
        claim = None if config.quick else DIGITS_CLAIM
        if config.quick:
            print(f"  (quick: accuracy must beat chance {CHANCE:.0%} by {QUICK_MARGIN:.0%})")
        check_learning(result, run, config, claim, model=label)
        result.metrics.update(
            {
                f"{key}_val_accuracy": run.val_accuracy,
                f"{key}_test_accuracy": run.test_accuracy,
                f"{key}_parameters": n,
                f"{key}_seconds": run.seconds,
            }
        )
        save_weights(model, config.out / f"digits_{key}.safetensors")
        save_figures(
            result, f"digits_{key}", f"8x8 digits, {label}", run, test_set, matrix, config.out
        )
    save_feature_maps(
        result,
        runs["CNN"][0],
        test_set,
        "8x8 digits CNN",
        config.out / "digits_cnn_feature_maps.png",
    )
    return result
