"""MNIST: the course's small fully connected network, and LeNet-5.

``axon run mnist-mlp``: the 784-16-16-10 network with sigmoid hidden units (the one drawn
in the lecture: 28x28 pixels in, two hidden layers of 16, ten digits out),

    h1 = sigma(W1 x + b1),  h2 = sigma(W2 h1 + b2),  logits = W3 h2 + b3,

with 784*16 + 16 + 16*16 + 16 + 16*10 + 10 = 13,002 weights and biases, trained with the
cross-entropy loss. It reaches at least 93% on the test set (93.7% in a full run on
the 54,000 training images below).

``axon run lenet``: LeNet-5 (two 5x5 convolutions with max pooling, then 120-84-10 fully
connected; ReLU) trained with Adam, a cosine learning-rate schedule and random shifts of
up to 2 pixels, reaches at least 99.0% test accuracy. The figures add the first layer's
six filters and the feature maps they make of a test digit.

Both follow the course's pipeline: they train on 54,000 of MNIST's 60,000 training
images; the other 6,000 (a seeded 10% of each digit) are the validation split on which
the curves are drawn; the 10,000 test images are scored once, after training, for the
numbers reported.
"""

from __future__ import annotations

import axon as ax
from axon import models, optim
from axon.data import MNIST
from axon.data.transforms import RandomShift

from .registry import register
from .shared.base import Config, Result, heading, load_weights
from .shared.vision_common import (
    check_learning,
    load_idx_splits,
    print_per_class,
    report,
    save_feature_maps,
    save_figures,
    save_weights,
    train,
)

MLP_SIZES = [784, 16, 16, 10]
MLP_PARAMETERS = 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10  # 13,002
LENET_CLAIM = 0.990


@register(
    "mnist-mlp",
    "MNIST with the course's 784-16-16-10 sigmoid network (13,002 "
    "parameters): >= 93% test accuracy",
)
def run_mlp(config: Config) -> Result:
    result = Result("mnist-mlp")
    heading("MNIST")
    splits = load_idx_splits(MNIST, config)
    result.splits = splits.sizes()

    heading("The network: 784-16-16-10, sigmoid hidden units")
    ax.manual_seed(config.seed)
    model = models.mlp(MLP_SIZES, activation="sigmoid").to(config.device)
    print("  " + repr(model).replace("\n", "\n  "))
    n = model.num_parameters()
    print(
        f"  parameters: 784*16 + 16 + 16*16 + 16 + 16*10 + 10 = {MLP_PARAMETERS:,}; counted: {n:,}"
    )
    result.check(
        f"the 784-16-16-10 network has {MLP_PARAMETERS:,} weights and biases (counted {n:,})",
        n == MLP_PARAMETERS,
    )

    epochs = config.epochs or (5 if config.quick else 15)
    lr = 1e-2
    heading("Training")
    print(f"  Adam lr {lr:g} with a cosine decay, batch 32, {epochs} epochs, cross-entropy")
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loaded = load_weights(config, model, "the 784-16-16-10 MLP")
    run = train(
        model,
        splits,
        optimizer=opt,
        epochs=epochs,
        batch_size=32,
        scheduler=sched,
        flatten=True,
        config=config,
        tag="mnist-mlp",
        loaded=loaded,
    )

    heading("Test set (scored once, after training), per class")
    matrix = print_per_class(splits.test, run.predictions)
    report(result, "784-16-16-10 MLP", run, n)
    check_learning(result, run, config, claim=None if config.quick else 0.93)
    save_weights(model, config.out / "mnist_mlp.safetensors")
    title = "MNIST, 784-16-16-10 MLP"
    save_figures(result, "mnist_mlp", title, run, splits.test, matrix, config.out)
    return result


@register("lenet", "LeNet-5 on MNIST: >= 99.0% test accuracy; first-layer filters and feature maps")
def run_lenet(config: Config) -> Result:
    result = Result("lenet")
    heading("MNIST")
    splits = load_idx_splits(MNIST, config)
    result.splits = splits.sizes()

    heading("LeNet-5")
    ax.manual_seed(config.seed)
    model = models.lenet5().to(config.device)
    ax.summary(
        model, input_shape=(1, 1, 28, 28), print_fn=lambda s: print("  " + s.replace("\n", "\n  "))
    )
    n = model.num_parameters()

    epochs = config.epochs or (2 if config.quick else 12)
    lr = 2e-3
    heading("Training")
    print(f"  Adam lr {lr:g} with a cosine decay to 0, batch 64, {epochs} epochs;")
    print("  each training image shifted at random by up to 2 pixels each way, per batch")
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    augment = RandomShift(2, fill=splits.train.background)
    loaded = load_weights(config, model, "LeNet-5")
    run = train(
        model,
        splits,
        optimizer=opt,
        epochs=epochs,
        batch_size=64,
        scheduler=sched,
        augment=augment,
        config=config,
        tag="lenet",
        loaded=loaded,
    )

    heading("Test set (scored once, after training), per class")
    matrix = print_per_class(splits.test, run.predictions)
    report(result, "LeNet-5", run, n)
    check_learning(result, run, config, claim=LENET_CLAIM)
    save_weights(model, config.out / "lenet.safetensors")
    save_figures(result, "lenet", "MNIST, LeNet-5", run, splits.test, matrix, config.out)
    save_feature_maps(result, model, splits.test, "LeNet-5", config.out / "lenet_feature_maps.png")
    return result
