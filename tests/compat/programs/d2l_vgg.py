"""A d2l-style CNN: LeNet-ish VGG blocks in nn.Sequential with nn.Flatten and
AdaptiveAvgPool2d, weights set by net.apply(init_fn) with kaiming_normal_ and
xavier_uniform_, SGD with momentum under CosineAnnealingLR, accuracy as
(y_hat.argmax(dim=1) == y).float().mean(), evaluation under torch.no_grad()."""

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def vgg_block(num_convs, in_channels, out_channels):
    layers = []
    for _ in range(num_convs):
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
        layers.append(nn.ReLU())
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def vgg(conv_arch, num_classes):
    conv_blks = []
    in_channels = 1
    for num_convs, out_channels in conv_arch:
        conv_blks.append(vgg_block(num_convs, in_channels, out_channels))
        in_channels = out_channels
    return nn.Sequential(
        *conv_blks,
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(in_channels, 16),
        nn.ReLU(),
        nn.Dropout(0.0),
        nn.Linear(16, num_classes),
    )


def init_weights(m):
    if type(m) == nn.Conv2d:  # noqa: E721 (d2l's idiom)
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(m.bias)
    elif type(m) == nn.Linear:  # noqa: E721
        nn.init.xavier_uniform_(m.weight)
        nn.init.constant_(m.bias, 0.01)


def accuracy(y_hat, y):
    return (y_hat.argmax(dim=1) == y).float().mean()


def evaluate_accuracy(net, data_iter):
    net.eval()
    correct, total = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += accuracy(net(X), y).item() * y.numel()
            total += y.numel()
    return correct / total


def run(initial=None):
    torch.manual_seed(42)
    rng = np.random.default_rng(42)
    labels = rng.integers(0, 3, size=60)
    images = rng.normal(size=(60, 1, 12, 12)).astype(np.float32)
    images[:, 0, :4, :4] += 2.0 * (labels == 0)[:, None, None]
    images[:, 0, -4:, -4:] += 2.0 * (labels == 1)[:, None, None]
    X, y = torch.from_numpy(images), torch.from_numpy(labels)
    train_iter = DataLoader(TensorDataset(X[:48], y[:48]), batch_size=16)
    test_iter = DataLoader(TensorDataset(X[48:], y[48:]), batch_size=16)

    net = vgg(((1, 4), (2, 8)), num_classes=3)
    net.apply(init_weights)
    if initial is not None:
        net.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    num_epochs = 4
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=num_epochs, eta_min=1e-3
    )
    loss = nn.CrossEntropyLoss()
    train_losses, train_accs, test_accs, lrs = [], [], [], []
    for _epoch in range(num_epochs):
        net.train()
        metric = [0.0, 0.0, 0]
        for X_batch, y_batch in train_iter:
            optimizer.zero_grad()
            y_hat = net(X_batch)
            l = loss(y_hat, y_batch)
            l.backward()
            optimizer.step()
            with torch.no_grad():
                metric[0] += l.item() * X_batch.shape[0]
                metric[1] += accuracy(y_hat, y_batch).item() * X_batch.shape[0]
                metric[2] += X_batch.shape[0]
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
        train_losses.append(metric[0] / metric[2])
        train_accs.append(metric[1] / metric[2])
        test_accs.append(evaluate_accuracy(net, test_iter))
    shapes = []
    x = torch.zeros(1, 1, 12, 12)
    for layer in net:
        x = layer(x)
        shapes.append((layer.__class__.__name__, tuple(x.shape)))
    return {
        "initial": start,
        "losses": train_losses,
        "train_accs": train_accs,
        "test_accs": test_accs,
        "lrs": lrs,
        "shapes": shapes,
        "init_std": float(start["0.0.weight"].std()),
    }
