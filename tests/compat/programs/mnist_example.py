"""The shape of pytorch/examples' MNIST script at toy size: Conv2d, Dropout, max_pool2d,
log_softmax with nll_loss, Adadelta under StepLR(gamma=0.7), the train() logging with
str.format over batch_idx * len(data) / len(loader.dataset), and test() summing the
loss with reduction="sum" and counting pred.eq(target.view_as(pred))."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset


class Net(nn.Module):
    def __init__(self, p1=0.25, p2=0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.dropout1 = nn.Dropout(p1)
        self.dropout2 = nn.Dropout(p2)
        self.fc1 = nn.Linear(8 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


class FakeDigits(Dataset):
    """Random 12x12 "digits" whose label is the brightest of ten fixed stripes."""

    def __init__(self, n, seed, transform=None):
        rng = np.random.default_rng(seed)
        self.images = rng.random((n, 12, 12)).astype(np.float32)
        self.targets = rng.integers(0, 10, size=n)
        for i, t in enumerate(self.targets):
            self.images[i, t, :] += 1.0
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img = torch.tensor(self.images[index]).unsqueeze(0)
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.targets[index])


def train(args, model, device, train_loader, optimizer, epoch, log):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args["log_interval"] == 0:
            log.append(
                "Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(  # noqa: UP032
                    epoch,
                    batch_idx * len(data),
                    len(train_loader.dataset),
                    100.0 * batch_idx / len(train_loader),
                    loss.item(),
                )
            )


def test(model, device, test_loader, log):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    log.append(
        "Test set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)".format(  # noqa: UP032
            test_loss, correct, len(test_loader.dataset), 100.0 * correct / len(test_loader.dataset)
        )
    )
    return test_loss, correct


def run(initial=None, dropout=(0.25, 0.5), epochs=3):
    args = {"batch_size": 16, "test_batch_size": 32, "lr": 1.0, "gamma": 0.7, "log_interval": 2}
    torch.manual_seed(1)
    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    train_kwargs = {"batch_size": args["batch_size"]}
    test_kwargs = {"batch_size": args["test_batch_size"]}
    if use_cuda:
        cuda_kwargs = {"num_workers": 1, "pin_memory": True, "shuffle": True}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)
    normalize = lambda t: (t - 0.5) / 0.5  # noqa: E731 (transforms.Normalize's job)
    train_loader = DataLoader(FakeDigits(64, 0, normalize), **train_kwargs)
    test_loader = DataLoader(FakeDigits(32, 1, normalize), **test_kwargs)

    model = Net(*dropout).to(device)
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    optimizer = optim.Adadelta(model.parameters(), lr=args["lr"])
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=args["gamma"])
    log, results = [], []
    for epoch in range(1, epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch, log)
        results.append(test(model, device, test_loader, log))
        scheduler.step()
    return {"initial": start, "log": log, "results": results, "lr": optimizer.param_groups[0]["lr"]}
