"""Write ``cupy_api.json``: the names and keyword arguments CuPy offers, for the strict backend.

Run it where CuPy is installed (no GPU is needed: it only imports and introspects)::

    python tests/backend/snapshot_cupy_api.py

The strict test backend (``strict.py``) loads the file and refuses every name and keyword
the ops use that this CuPy lacks, so the parity suites prove on a CPU that the ops run on
CuPy. What is recorded:

- ``modules``: for ``cupy`` and the submodules the ops reach through ``xp.`` (linalg, fft,
  random, lib, lib.stride_tricks), each public name. A function's entry lists the keyword
  arguments its signature accepts (``inspect.signature`` of Python functions); a ufunc's
  lists those of its ``__call__`` (its docstring's first line, such as
  ``add(x1, x2, /, out=None, *, casting='same_kind', dtype=None)``), which of the
  methods reduce/accumulate/reduceat/at work for it, and the dtypes its ``at`` takes. An
  empty entry is a name whose keywords are not known (a constant, a type, a compiled
  function, ``**kwargs``).
- ``ufunc``: the public attributes of ``cupy.ufunc`` with the keywords of its methods.
- ``ndarray``: the public attributes of ``cupy.ndarray``, with the keywords of each method
  whose docstring header gives its signature
  (``_ndarray_base.max(self, axis=None, out=None, keepdims=False) -> _ndarray_base``).
"""

from __future__ import annotations
import __future__

import inspect
import json
import re
import types
from pathlib import Path

import cupy

OUT = Path(__file__).with_name("cupy_api.json")
SUBMODULES = ("linalg", "fft", "random", "lib", "lib.stride_tricks")
UFUNC_METHODS = ("accumulate", "at", "reduce", "reduceat")
AT_DTYPES = {  # what ufunc.at takes with an integer array in the index: CUDA's atomics
    "add": ["float16", "float32", "float64", "int32", "uint32", "uint64"],
    "subtract": ["int32", "uint32"],
    "maximum": ["float32", "float64", "int32", "uint32", "uint64"],
    "minimum": ["float32", "float64", "int32", "uint32", "uint64"],
    "bitwise_and": ["int32", "int64", "uint32", "uint64"],
    "bitwise_or": ["int32", "int64", "uint32", "uint64"],
    "bitwise_xor": ["int32", "int64", "uint32", "uint64"],
}
"""Read from CuPy's source (``_scatter_op_single`` in ``cupy/_core/_routines_indexing.pyx``,
which raises TypeError for other dtypes): checking it needs a GPU. Other indices (slices, a
boolean mask) take any dtype."""


def header_keywords(doc: str | None) -> list[str] | None:
    """The keyword arguments named by a docstring's first line ``name(params) -> type``;
    None where there is no such header or it takes ``**kwargs``."""
    first = (doc or "").strip().split("\n", 1)[0].replace("\\", "")
    match = re.match(r"[\w.]+\((.*)\)(\s*->.*)?$", first)
    if match is None:
        return None
    params = [p.strip() for p in match.group(1).split(",") if p.strip()]
    if "/" in params:  # the ones before "/" are positional only
        params = params[params.index("/") + 1 :]
    names = []
    for p in params:
        if p.startswith("**"):
            return None
        if p.startswith("*"):  # "*" or "*args": what follows is keyword only
            continue
        name = p.split("=", 1)[0].split()[-1]  # drop Cython's type ("int axis=-1")
        if name != "self":
            names.append(name)
    return sorted(names)


def signature_keywords(fn) -> list[str] | None:
    """The keyword arguments of a Python function; None where unknown or ``**kwargs``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return sorted(p.name for p in params if p.kind in keyword)


class _FakeArray:
    """Stands in for an array to learn which ufunc methods CuPy implements: the working
    ones hand the call to one of these array methods (cumsum for add.accumulate), the
    others raise NotImplementedError before touching the array."""

    def _answer(self, *args, **kwargs):
        return self

    cumsum = cumprod = sum = prod = _add_reduceat = _scatter_op = _answer


def working_methods(uf) -> list[str]:
    """The methods of ``uf`` among reduce/accumulate/reduceat/at that CuPy implements."""
    fake, found = _FakeArray(), []
    for method in UFUNC_METHODS:
        args = (
            (fake, [0], fake)
            if method == "at"
            else (fake, [0])
            if method == "reduceat"
            else (fake,)
        )
        try:
            getattr(uf, method)(*args)
        except NotImplementedError:
            continue
        found.append(method)
    return found


def entry(value) -> dict:
    """What the strict backend needs to know about one name."""
    if isinstance(value, cupy.ufunc):
        out = {"ufunc": working_methods(value)}
        if "at" in out["ufunc"]:
            out["at_dtypes"] = AT_DTYPES[value.__name__.removeprefix("cupy_")]
        keywords = header_keywords(value.__doc__)
        if keywords is not None:
            out["kwargs"] = keywords
        return out
    if callable(value) and not isinstance(value, type):
        keywords = signature_keywords(value)
        return {} if keywords is None else {"kwargs": keywords}
    return {}


def public(obj) -> list[str]:
    """The public names of ``obj``, less the ``from __future__`` features modules leak."""
    return sorted(
        n
        for n in dir(obj)
        if not n.startswith("_") and not isinstance(getattr(obj, n), __future__._Feature)
    )


def module_entries(module: types.ModuleType) -> dict:
    return {name: entry(getattr(module, name)) for name in public(module)}


def method_entries(cls) -> dict:
    out = {}
    for name in public(cls):
        keywords = header_keywords(getattr(cls, name).__doc__)
        out[name] = {} if keywords is None else {"kwargs": keywords}
    return out


def snapshot() -> dict:
    modules = {"cupy": module_entries(cupy)}
    for sub in SUBMODULES:
        module = cupy
        for part in sub.split("."):
            module = getattr(module, part)
        modules[f"cupy.{sub}"] = module_entries(module)
    return {
        "cupy_version": cupy.__version__,
        "modules": modules,
        "ufunc": method_entries(cupy.ufunc),
        "ndarray": method_entries(cupy.ndarray),
    }


def dump(api: dict) -> str:
    """Sorted JSON with one line per name, so a new CuPy's snapshot diffs line by line."""

    def table(entries: dict, indent: str) -> str:
        rows = [
            f"{indent}{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in entries.items()
        ]
        return "{\n" + ",\n".join(rows) + "\n" + indent[:-1] + "}"

    modules = ",\n".join(
        f"  {json.dumps(k)}: {table(v, '   ')}" for k, v in sorted(api["modules"].items())
    )
    return (
        "{\n"
        f' "cupy_version": {json.dumps(api["cupy_version"])},\n'
        f' "modules": {{\n{modules}\n }},\n'
        f' "ndarray": {table(api["ndarray"], "  ")},\n'
        f' "ufunc": {table(api["ufunc"], "  ")}\n'
        "}\n"
    )


if __name__ == "__main__":
    api = snapshot()
    text = dump(api)
    assert json.loads(text) == api
    OUT.write_text(text)
    print(f"wrote {OUT} (CuPy {api['cupy_version']})")
