"""Neural style transfer in the shape of PyTorch's Gatys tutorial, with a small random CNN
standing in for VGG: ContentLoss / StyleLoss modules that record a loss as they pass the
input through, a Normalization module with view(-1, 1, 1) buffers, the model rebuilt by
walking cnn.children() into nn.Sequential with add_module and trimmed by slicing, a gram
matrix from torch.mm(features, features.t()), model.eval().requires_grad_(False), and
LBFGS over the input image with a closure that clamps it in place under no_grad."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()
        self.loss = F.mse_loss(target, self.target)

    def forward(self, input):
        self.loss = F.mse_loss(input, self.target)
        return input


def gram_matrix(input):
    a, b, c, d = input.size()
    features = input.view(a * b, c * d)
    G = torch.mm(features, features.t())
    return G.div(a * b * c * d)


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        self.target = gram_matrix(target_feature).detach()
        self.loss = F.mse_loss(self.target, self.target)

    def forward(self, input):
        G = gram_matrix(input)
        self.loss = F.mse_loss(G, self.target)
        return input


class Normalization(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


def make_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(inplace=True),
    )


def get_style_model_and_losses(
    cnn,
    mean,
    std,
    style_img,
    content_img,
    content_layers=("conv_3",),
    style_layers=("conv_1", "conv_2", "conv_3"),
):
    normalization = Normalization(mean, std)
    content_losses, style_losses = [], []
    model = nn.Sequential(normalization)
    i = 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = f"conv_{i}"
        elif isinstance(layer, nn.ReLU):
            name = f"relu_{i}"
            layer = nn.ReLU(inplace=False)
        elif isinstance(layer, nn.MaxPool2d):
            name = f"pool_{i}"
        else:
            raise RuntimeError(f"Unrecognized layer: {layer.__class__.__name__}")
        model.add_module(name, layer)
        if name in content_layers:
            target = model(content_img).detach()
            content_loss = ContentLoss(target)
            model.add_module(f"content_loss_{i}", content_loss)
            content_losses.append(content_loss)
        if name in style_layers:
            target_feature = model(style_img).detach()
            style_loss = StyleLoss(target_feature)
            model.add_module(f"style_loss_{i}", style_loss)
            style_losses.append(style_loss)
    for i in range(len(model) - 1, -1, -1):
        if isinstance(model[i], (ContentLoss, StyleLoss)):
            break
    model = model[: (i + 1)]
    return model, style_losses, content_losses


def run(initial=None, num_steps=6, style_weight=1e4, content_weight=1, dtype="float32"):
    dtype = getattr(torch, dtype)
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    cnn = make_cnn()
    if initial is not None:
        cnn.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in cnn.state_dict().items()}
    cnn = cnn.to(dtype).eval()
    yy, xx = np.mgrid[0:12, 0:12] / 11.0
    style_img = torch.tensor(
        np.stack([np.sin(6 * xx), np.cos(6 * yy), xx * yy])[None] * 0.5 + 0.5, dtype=dtype
    )
    content_img = torch.tensor(rng.random((1, 3, 12, 12)), dtype=dtype)
    input_img = content_img.clone()
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

    model, style_losses, content_losses = get_style_model_and_losses(
        cnn, mean, std, style_img, content_img
    )
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = optim.LBFGS([input_img])
    log = []
    run_steps = [0]
    while run_steps[0] <= num_steps:

        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = sum(sl.loss for sl in style_losses) * style_weight
            content_score = sum(cl.loss for cl in content_losses) * content_weight
            loss = style_score + content_score
            loss.backward()
            run_steps[0] += 1
            log.append((style_score.item(), content_score.item()))
            return style_score + content_score

        optimizer.step(closure)
    with torch.no_grad():
        input_img.clamp_(0, 1)
    return {
        "initial": start,
        "log": log,
        "image": input_img.detach().numpy(),
        "names": [name for name, _ in model.named_children()],
        "trainable": sum(p.requires_grad for p in model.parameters()),
    }
