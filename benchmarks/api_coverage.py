"""How much of torch's public API axon has, area by area (names, not behaviour).

    python benchmarks/api_coverage.py            # the table
    python benchmarks/api_coverage.py --missing  # also the names axon lacks

A name counts when axon has an attribute of that name in the matching place. Behaviour is
what the parity tests check; this script only measures reach. Names from the areas axon
leaves out on purpose (sparse, complex, quantized, compile/jit, distributed, CUDA-only,
FFT) are listed apart, not counted as missing.
"""

from __future__ import annotations

import argparse
import re

import torch

import axon

# names torch exposes for features axon leaves out on purpose (see the README)
DELIBERATE = re.compile(
    r"sparse|complex|quantiz|qint|quint|^q_|_q$|fbgemm|mkldnn|cudnn|miopen|^fft|stft|"
    r"^jit|compile|^fx$|^onnx_|^vmap|^func$|distributed|^cuda|nested|^hub$|^mps|xpu|mtia|"
    r"fake_quant|^conj|^real$|^imag$|^angle$|^polar$|^view_as_real|^view_as_complex|"
    r"^is_conj|^resolve_|^chalf|^cfloat|^cdouble|^bfloat16|^BFloat|float8|^uint[1-7]$|"
    r"^int[1-7]$|^bits|storage|Storage|^_|^segment_reduce|^native_|^fused_|^batch_norm_|"
    r"^cudnn_|^miopen_|^mkldnn_|^to_padded|^package|^export|^library|^profiler|^testing|"
    r"^utils$|^backends$|^overrides|^masked|^signal|^monitor|^accelerator|^ao$|^nn$|^optim$"
)


def public(obj) -> set[str]:
    return {n for n in dir(obj) if not n.startswith("_")}


def areas():
    """(area, torch object, axon object) for each part of the API a program touches."""
    import torch.nn.functional as TF
    import torch.utils.data as TD

    import axon.nn.functional as AF

    return [
        ("torch.*", torch, axon),
        ("Tensor methods", torch.Tensor, axon.Tensor),
        ("torch.nn", torch.nn, axon.nn),
        ("torch.nn.functional", TF, AF),
        ("torch.nn.init", torch.nn.init, axon.nn.init),
        ("torch.optim", torch.optim, axon.optim),
        ("torch.optim.lr_scheduler", torch.optim.lr_scheduler, axon.optim.lr_scheduler),
        ("torch.utils.data", TD, axon.data),
        ("torch.linalg", torch.linalg, axon.linalg),
        ("torch.special", torch.special, axon.special),
        ("torch.autograd", torch.autograd, axon.autograd),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missing", action="store_true", help="list the names axon lacks")
    args = parser.parse_args()
    print("| area | torch names | axon has | share | left out on purpose |")
    print("|---|---:|---:|---:|---:|")
    missing = {}
    for area, theirs, ours in areas():
        names = public(theirs)
        left_out = {n for n in names if DELIBERATE.search(n)}
        counted = names - left_out
        have = {n for n in counted if hasattr(ours, n)}
        missing[area] = sorted(counted - have)
        print(f"| {area} | {len(counted)} | {len(have)} | {len(have) / len(counted):.0%} "
              f"| {len(left_out)} |")
    if args.missing:
        for area, names in missing.items():
            print(f"\n{area} ({len(names)} missing):\n  " + " ".join(names))


if __name__ == "__main__":
    main()
