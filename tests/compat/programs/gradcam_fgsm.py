"""Looking inside a trained CNN, the way the tutorials do: Grad-CAM with a tensor hook
(register_hook) on the last feature map, channel weights from the pooled gradients,
relu and bilinear upsampling of the map; a vanilla saliency map from input.grad; and an
FGSM attack (data.grad.data.sign(), torch.clamp) measured on accuracy per epsilon."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 8, 3, padding=1),
            nn.ReLU(),
        )
        self.classifier = nn.Linear(8, 2)
        self.gradients = None

    def activations_hook(self, grad):
        self.gradients = grad

    def forward(self, x, hook=False):
        x = self.features(x)
        if hook:
            x.register_hook(self.activations_hook)
        x = F.adaptive_avg_pool2d(x, 1).view(x.size(0), -1)
        return self.classifier(x)

    def get_activations_gradient(self):
        return self.gradients

    def get_activations(self, x):
        return self.features(x)


def fgsm_attack(image, epsilon, data_grad):
    sign_data_grad = data_grad.sign()
    perturbed_image = image + epsilon * sign_data_grad
    return torch.clamp(perturbed_image, 0, 1)


def run(initial=None):
    torch.manual_seed(0)
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, size=32)
    images = 0.3 * rng.random((32, 1, 8, 8))
    images[labels == 1, 0, 2:6, 2:6] += 0.6  # class 1: a bright square in the middle
    x = torch.tensor(images, dtype=torch.float32)
    y = torch.tensor(labels)
    model = CNN()
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(12):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()

    # Grad-CAM for the first image of class 1
    img = x[labels == 1][:1]
    pred = model(img, hook=True)
    cls = pred.argmax(dim=1).item()
    pred[:, cls].backward()
    gradients = model.get_activations_gradient()
    pooled_gradients = torch.mean(gradients, dim=[0, 2, 3])
    activations = model.get_activations(img).detach()
    for i in range(activations.size(1)):
        activations[:, i, :, :] *= pooled_gradients[i]
    heatmap = torch.mean(activations, dim=1).squeeze()
    heatmap = F.relu(heatmap)
    heatmap /= torch.max(heatmap)
    upsampled = F.interpolate(
        heatmap[None, None], size=(8, 8), mode="bilinear", align_corners=False
    )[0, 0]

    # saliency: |d score / d input|, max over channels
    inp = img.clone().requires_grad_()
    model.zero_grad()
    model(inp)[0, cls].backward()
    saliency, _ = torch.max(inp.grad.data.abs(), dim=1)

    # FGSM on every image, for a few epsilons
    accuracies = []
    for epsilon in (0.0, 0.05, 0.2):
        data = x.clone()
        data.requires_grad = True
        output = model(data)
        loss = F.nll_loss(F.log_softmax(output, dim=1), y)
        model.zero_grad()
        loss.backward()
        data_grad = data.grad.data
        perturbed = fgsm_attack(data, epsilon, data_grad)
        with torch.no_grad():
            final_pred = model(perturbed).max(1, keepdim=True)[1]
        accuracies.append(final_pred.eq(y.view_as(final_pred)).sum().item() / len(y))
    return {
        "initial": start,
        "losses": losses,
        "cls": cls,
        "heatmap": heatmap.numpy(),
        "upsampled": upsampled.numpy(),
        "saliency": saliency.numpy(),
        "accuracies": accuracies,
        "grad_shape": tuple(gradients.shape),
    }
