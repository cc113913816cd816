"""The CUDA kernels compile for the GPU: NVRTC (CUDA's runtime compiler, which CuPy uses)
compiles each body wrapped as CuPy wraps it, for float32 and float64, for Hopper
(``compute_90``). NVRTC needs no GPU, only CuPy and its NVRTC library, so this runs on a
machine with CuPy and no GPU too (skipped, with the reason, without them)."""

from __future__ import annotations

import os

import pytest

from tests.cuda import cpu_kernels


def _nvrtc():
    try:
        import cupy
        from cupy.cuda import nvrtc

        nvrtc.getVersion()
    except Exception as e:  # no CuPy, or no NVRTC library
        pytest.skip(f"no NVRTC here ({type(e).__name__}: {e})")
    return cupy, nvrtc


def _cuda_source(kernel, t: str) -> str:
    """The body inside a grid-stride loop over CuPy's CArray parameters."""
    args, binds = [], []
    for k, (raw, typ, name) in enumerate(kernel.params):
        ctype = t if typ == "T" else {"int32": "int", "float64": "double"}[typ]
        if raw:
            args.append(f"CArray<{ctype}, 2, true, true> {name}")
        elif typ == "T":  # an array parameter (or a scalar: both are T here)
            args.append(f"CArray<{ctype}, 1, true, true> _raw_{name}")
            ref = "&" if k >= kernel.n_in else ""
            binds.append(f"{'const ' if not ref else ''}{ctype} {ref}{name} = _raw_{name}[i];")
        else:
            args.append(f"{ctype} {name}")
    return f"""#include <cupy/carray.cuh>
typedef {t} T;
{kernel.preamble}
extern "C" __global__ void {kernel.name}({", ".join(args)}, CIndexer<1> _ind) {{
  CUPY_FOR(i, _ind.size()) {{
    {" ".join(binds)}
    {kernel.operation};
  }}
}}
"""


def _cuda_reduction_source(kernel, t: str) -> str:
    """The reduction's map, reduce and post-map expressions in a one-row-per-thread loop."""
    params = ", ".join(f"const {t}* p_{x}" for x in kernel.inputs)
    binds = " ".join(f"const T {x} = p_{x}[i];" for x in kernel.inputs)
    return f"""typedef {t} T;
{kernel.preamble}
extern "C" __global__ void {kernel.name}({params}, T* p_{kernel.out}, long long n) {{
  const long long r = blockIdx.x * blockDim.x + threadIdx.x;
  {kernel.loop.replace("BINDS", binds)}
}}
"""


def test_every_kernel_compiles_with_nvrtc():
    cupy, nvrtc = _nvrtc()
    include = os.path.join(os.path.dirname(cupy.__file__), "_core", "include")
    kernels = cpu_kernels.load_kernels()
    found = [
        k
        for k in vars(kernels).values()
        if isinstance(k, cpu_kernels.ElementwiseKernel | cpu_kernels.ReductionKernel)
    ]
    assert len(found) == 10
    for kernel in found:
        for t in ("float", "double"):
            if isinstance(kernel, cpu_kernels.ReductionKernel):
                source = _cuda_reduction_source(kernel, t)
            else:
                source = _cuda_source(kernel, t)
            prog = nvrtc.createProgram(source, f"{kernel.name}.cu", [], [])
            try:
                nvrtc.compileProgram(prog, [f"-I{include}", "--std=c++17", "-arch=compute_90"])
            except nvrtc.NVRTCError:
                pytest.fail(f"{kernel.name} ({t}) does not compile:\n{nvrtc.getProgramLog(prog)}")
