"""axon's CUDA kernels, compiled for the CPU: their C++ bodies run here on NumPy arrays.

``cupy.ElementwiseKernel(in_params, out_params, operation, name, preamble=)`` wraps a
C++ body in a loop over the elements ``i``: a plain parameter is the element ``i`` of its
array (a reference for outputs), a ``raw`` one the whole array indexed by hand, a scalar a
value. :class:`ElementwiseKernel` here does the same with g++ and ctypes, so the bodies in
``axon/backend/cupy/kernels.py`` are compiled, called through the ops' own call sites and
compared with the ops' NumPy path on a machine without a GPU. What this cannot check is
CUDA itself (launches, the GPU's arithmetic): ``test_gpu.py`` does, on a GPU.

Arrays must be C-contiguous (the kernels index raw arrays by their flat position, which is
their memory position only then): a strided view raises here.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

_CTYPES = {np.dtype("float64"): "double", np.dtype("float32"): "float"}
_FIXED = {"int32": ("int", ctypes.c_int32), "float64": ("double", ctypes.c_double)}
_BUILD = Path(tempfile.mkdtemp(prefix="axon-cpu-kernels-"))


def compiler() -> str | None:
    """The C++ compiler, or None (the tests skip)."""
    return shutil.which("g++")


def _parse(spec: str) -> list[tuple[bool, str, str]]:
    """``"int32 H, raw T c"`` as [(raw, type, name), ...]."""
    out = []
    for part in spec.split(","):
        words = part.split()
        raw = words[0] == "raw"
        typ, name = words[1:] if raw else words
        out.append((raw, typ, name))
    return out


class ElementwiseKernel:
    """A CPU stand-in for ``cupy.ElementwiseKernel`` (float32 and float64 ``T``)."""

    def __init__(self, in_params, out_params, operation, name, preamble="") -> None:
        self.params = _parse(in_params) + _parse(out_params)
        self.n_in = len(_parse(in_params))
        self.operation, self.name, self.preamble = operation, name, preamble
        self._built: dict = {}

    def _source(self, t: str) -> str:
        args, binds = [], []
        for k, (raw, typ, name) in enumerate(self.params):
            ctype = t if typ == "T" else _FIXED[typ][0]
            if raw:
                args.append(f"{ctype}* {name}")
            elif self._arrays[k]:
                args.append(f"{ctype}* p_{name}, ptrdiff_t per_{name}")
                ref = "&" if k >= self.n_in else ""
                at = f"p_{name}[i / per_{name}]"  # per > 1: broadcast along the last axis
                binds.append(f"{'const ' if not ref else ''}{ctype} {ref}{name} = {at};")
            else:
                args.append(f"{ctype} {name}")
        return f"""#include <cmath>
#include <cstddef>
using namespace std;
#define __device__
typedef {t} T;
{self.preamble}
extern "C" void {self.name}({", ".join(args)}, ptrdiff_t size) {{
  for (ptrdiff_t i = 0; i < size; ++i) {{
    {" ".join(binds)}
    {self.operation};  // CuPy ends the operation with ';' too
  }}
}}
"""

    def _function(self, t: str):
        key = (t, tuple(self._arrays))
        if key not in self._built:
            self._built[key] = _compile(self.name, self._source(t))
        return self._built[key]

    def __call__(self, *args, size=None):
        if len(args) == self.n_in:  # no outputs given: a new array of the inputs' shape
            shape = np.broadcast_shapes(*(a.shape for a in args if isinstance(a, np.ndarray)))
            dt = next(a.dtype for a in args if isinstance(a, np.ndarray))
            args = (*args, np.empty(shape, dt))
        if len(args) != len(self.params):
            raise TypeError(f"{self.name}: {len(self.params)} arguments, got {len(args)}")
        self._arrays = [isinstance(a, np.ndarray) for a in args]
        dtypes = {a.dtype for a in args if isinstance(a, np.ndarray)}
        if len(dtypes) != 1:
            raise TypeError(f"{self.name}: one T wanted, got {dtypes}")
        (dt,) = dtypes
        t = _CTYPES[dt]
        if size is None:
            size = max(a.size for a in args if isinstance(a, np.ndarray))
        c_args = []
        for (raw, typ, name), a in zip(self.params, args, strict=True):
            if isinstance(a, np.ndarray):
                if not a.flags.c_contiguous:
                    raise ValueError(f"{self.name}: {name} is not C-contiguous")
                c_args.append(a.ctypes.data_as(ctypes.c_void_p))
                if not raw:
                    c_args.append(ctypes.c_ssize_t(_per(a, size, name, self.name)))
            elif typ == "T":
                c_args.append((ctypes.c_double if t == "double" else ctypes.c_float)(a))
            else:
                c_args.append(_FIXED[typ][1](a))
        self._function(t)(*c_args, ctypes.c_ssize_t(size))
        return args[-1] if len(args) > self.n_in else None


def _per(a: np.ndarray, size: int, name: str, kernel: str) -> int:
    """How many consecutive elements share one of ``a``'s: 1 for a full array, the last
    axis's length for an array of shape (..., 1) broadcast along it."""
    if a.size == size:
        return 1
    if a.shape[-1] == 1 and a.size and size % a.size == 0:
        return size // a.size
    raise ValueError(f"{kernel}: {name} of shape {a.shape} does not broadcast to {size} values")


class ReductionKernel:
    """A CPU stand-in for ``cupy.ReductionKernel``, reducing over the last axis with
    ``keepdims`` (the one way axon calls it): ``map_expr`` per element, combined with
    ``reduce_expr`` (in ``a`` and ``b``) from ``identity``, then ``post_map_expr``."""

    def __init__(
        self, in_params, out_params, map_expr, reduce_expr, post_map_expr, identity, name,
        preamble="",
    ):  # fmt: skip
        self.inputs = [name for _, _, name in _parse(in_params)]
        ((_, _, self.out),) = _parse(out_params)
        self.name, self.preamble = name, preamble
        self.loop = f"""
    T a = T({identity});
    for (ptrdiff_t i = r * n; i < (r + 1) * n; ++i) {{
      BINDS
      const T b = {map_expr};
      a = {reduce_expr};
    }}
    T &{self.out} = p_{self.out}[r];
    {post_map_expr};"""
        self._built: dict = {}

    def _source(self, t: str) -> str:
        params = [f"{t}* p_{x}, ptrdiff_t per_{x}" for x in self.inputs]
        binds = " ".join(f"const T {x} = p_{x}[i / per_{x}];" for x in self.inputs)
        return f"""#include <cmath>
#include <cstddef>
using namespace std;
#define __device__
typedef {t} T;
{self.preamble}
extern "C" void {self.name}({", ".join(params)}, {t}* p_{self.out}, ptrdiff_t rows,
                            ptrdiff_t n) {{
  for (ptrdiff_t r = 0; r < rows; ++r) {{{self.loop.replace("BINDS", binds)}
  }}
}}
"""

    def __call__(self, *args, axis=None, keepdims=False):
        x = args[0]
        if axis not in (-1, x.ndim - 1) or not keepdims:
            raise ValueError(f"{self.name}: the stand-in reduces the last axis with keepdims")
        t = _CTYPES[x.dtype]
        if t not in self._built:
            self._built[t] = _compile(self.name, self._source(t))
        out = np.empty((*x.shape[:-1], 1), x.dtype)
        c_args = []
        for name, a in zip(self.inputs, args, strict=True):
            if not a.flags.c_contiguous:
                raise ValueError(f"{self.name}: {name} is not C-contiguous")
            per = _per(a, x.size, name, self.name)
            c_args += [a.ctypes.data_as(ctypes.c_void_p), ctypes.c_ssize_t(per)]
        rows, n = ctypes.c_ssize_t(out.size), ctypes.c_ssize_t(x.shape[-1])
        self._built[t](*c_args, out.ctypes.data_as(ctypes.c_void_p), rows, n)
        return out


def _compile(name: str, source: str):
    """``source`` built into a shared library with g++; its function ``name``."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    cpp, lib = _BUILD / f"{name}_{digest}.cpp", _BUILD / f"{name}_{digest}.so"
    cpp.write_text(source)
    done = subprocess.run(
        [compiler(), "-O1", "-shared", "-fPIC", "-o", str(lib), str(cpp)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"{name} does not compile:\n{done.stderr}\n{source}")
    return getattr(ctypes.CDLL(str(lib)), name)


def load_kernels():
    """``axon.backend.cupy.kernels.Kernels()`` built on :class:`ElementwiseKernel`."""
    fake = types.ModuleType("cupy")
    fake.ElementwiseKernel = ElementwiseKernel
    fake.ReductionKernel = ReductionKernel
    saved = sys.modules.get("cupy")
    sys.modules["cupy"] = fake
    try:
        import axon.backend as backend_pkg

        path = Path(backend_pkg.__file__).parent / "cupy" / "kernels.py"
        spec = importlib.util.spec_from_file_location("axon_cpu_kernels", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            sys.modules.pop("cupy", None)
        else:
            sys.modules["cupy"] = saved
    return module.Kernels()
