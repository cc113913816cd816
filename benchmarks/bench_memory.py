"""Memory benchmark: peak resident memory of axon against PyTorch (CPU), side by side.

Measures, each in a FRESH subprocess per framework (so no allocator cache, no earlier
peak and no other framework's memory counts):
  1. building VGG-16 (torchvision's modules and initialisation; 138,357,544 parameters),
     with its wall time;
  2. building ResNet-18 (11,689,512 parameters);
  3. ResNet-18 forward + backward (cross-entropy, two steps, gradients set to None
     between them as torch's ``zero_grad`` does) on a batch of 8 3x224x224 images,
     measured from after the model and the batch were made (the activations, the saved
     arrays and the gradients: what a training step adds).

The peak is the process's peak resident set size (``VmHWM`` in ``/proc/self/status``)
minus its resident size at the start of the measurement, after the imports (and for 3,
after the model was built). Where the kernel allows it (Linux >= 4.0), the high-water
mark is reset at that point by writing 5 to ``/proc/self/clear_refs``, so the imports'
own transient peak does not count; otherwise the baseline is the high-water mark
reached so far. Ratios are axon / torch: at most 1.0 is the goal for all three.

torch has no torchvision here, so its VGG-16 and ResNet-18 are written below with
torchvision's layers and initialisation. Both frameworks get the same thread count
(BLAS/OpenMP environment variables, and ``torch.set_num_threads``).

    python benchmarks/bench_memory.py [--threads 2] [--only vgg16_build,...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_engine import set_threads  # noqa: E402

CASES = ("vgg16_build", "resnet18_build", "resnet18_step")
BATCH = 8
_VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


# ------------------------------------------------------------------ /proc/self/status
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _start_measure() -> int:
    """The baseline (KiB) the peak is measured from; resets the high-water mark if the
    kernel lets us, so that only what follows counts."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kib("VmRSS")
    except OSError:
        return _status_kib("VmHWM")


def _peak_mib(base_kib: int) -> float:
    return (_status_kib("VmHWM") - base_kib) / 1024


# ------------------------------------------------------------------ torch models
def _torch_vgg16():
    from torch import nn

    layers, c = [], 3
    for v in _VGG16:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v

    class VGG(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096),
                nn.ReLU(True),
                nn.Dropout(),
                nn.Linear(4096, 4096),
                nn.ReLU(True),
                nn.Dropout(),
                nn.Linear(4096, 1000),
            )
            for m in self.modules():  # torchvision's _initialize_weights
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

        def forward(self, x):
            return self.classifier(self.avgpool(self.features(x)).flatten(1))

    return VGG()


def torch_resnet18():
    """torchvision's ResNet-18 (its module names, so axon.models.resnet18's state-dict keys,
    and its initialisation), written here so that the benchmarks need no torchvision."""
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(out + identity)

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            stages, c = [], 64
            for i, width in enumerate((64, 128, 256, 512)):
                stride = 1 if i == 0 else 2
                stages.append(nn.Sequential(Block(c, width, stride), Block(width, width, 1)))
                c = width
            self.layer1, self.layer2, self.layer3, self.layer4 = stages
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, 1000)
            for m in self.modules():  # torchvision's initialisation
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet18()


# ------------------------------------------------------------------ one measurement
def child(framework: str, case: str, threads: int) -> dict:
    """Run ``case`` once in this (fresh) process; its peak MiB and seconds."""
    import numpy as np

    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.manual_seed(0)
        vgg16, resnet18 = _torch_vgg16, torch_resnet18
        tensor = torch.from_numpy
        loss_fn = torch.nn.functional.cross_entropy
    else:
        import axon as ax
        from axon import models

        ax.manual_seed(0)
        vgg16, resnet18 = models.vgg16, models.resnet18
        tensor = ax.tensor
        loss_fn = ax.nn.functional.cross_entropy
    rng = np.random.default_rng(0)
    if case == "resnet18_step":
        model = resnet18()
        x = tensor(rng.standard_normal((BATCH, 3, 224, 224), dtype=np.float32))
        y = tensor(rng.integers(0, 1000, BATCH))
    base = _start_measure()
    t0 = time.perf_counter()
    if case == "vgg16_build":
        model = vgg16()
    elif case == "resnet18_build":
        model = resnet18()
    else:
        for _ in range(2):
            for p in model.parameters():
                p.grad = None
            loss_fn(model(x), y).backward()
    seconds = time.perf_counter() - t0
    return {"peak_mib": _peak_mib(base), "seconds": seconds}


def measure(framework: str, case: str, threads: int) -> dict:
    """``child`` in a fresh interpreter (the same environment: ``PYTHONPATH`` picks the
    axon measured, e.g. an older worktree's ``src``)."""
    out = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--child",
            framework,
            case,
            "--threads",
            str(threads),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{framework} {case} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--only", default=",".join(CASES), help="comma-separated cases among " + ", ".join(CASES)
    )
    parser.add_argument("--child", nargs=2, metavar=("FRAMEWORK", "CASE"), help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    set_threads(args.threads)
    if args.child:
        print(json.dumps(child(*args.child, args.threads)))
        return
    cases = [c for c in args.only.split(",") if c]
    for c in cases:
        if c not in CASES:
            parser.error(f"unknown case {c!r}; the cases are {', '.join(CASES)}")
    results = {}
    print(
        f"threads: {args.threads}   peak RSS over the baseline, MiB "
        f"(ratio = axon / torch; <= 1 is the goal)"
    )
    for case in cases:
        a = measure("axon", case, args.threads)
        t = measure("torch", case, args.threads)
        results[case] = {"axon": a, "torch": t}
        line = (
            f"{case:<16} axon {a['peak_mib']:8.1f}  torch {t['peak_mib']:8.1f}  "
            f"ratio {a['peak_mib'] / max(t['peak_mib'], 1e-9):5.2f}"
        )
        if case == "vgg16_build":
            line += (
                f"   time axon {a['seconds']:.2f} s  torch {t['seconds']:.2f} s  "
                f"ratio {a['seconds'] / t['seconds']:.2f}"
            )
        print(line, flush=True)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
