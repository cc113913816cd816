"""Fuzzing ``axon.load``: thousands of mutated weights files per run, from a seeded RNG.

Every mutated file axon wrote (checksum included) must either load as exactly the
original object (types, dtypes, shapes and bytes) or raise a ``ValueError`` that names
the file: never another exception, never a hang, never changed values. Files edited and
re-signed (so that the structure decoder, not the checksum, meets the edit) and files
without a checksum (as other programs write them) must load or raise ``ValueError``;
for the latter, safetensors' own reader is the oracle of what is valid and what it holds.

The slow suite adds a coverage-guided fuzzer (atheris) running the loader on bytes.
"""

import faulthandler
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
from collections import Counter, OrderedDict

import numpy as np
import pytest

import axon
from axon import serialization
from axon.serialization import CHECKSUM_KEY, STRUCTURE_KEY, load, save

safetensors_numpy = pytest.importorskip("safetensors.numpy")

SEED = 20261207
CODES = [
    "BOOL",
    "U8",
    "I8",
    "U16",
    "I16",
    "F16",
    "BF16",
    "U32",
    "I32",
    "F32",
    "U64",
    "I64",
    "F64",
    "F8_E4M3",
    "C64",
    "X9",
    "",
    "f32",
]


def _originals():
    """A flat state dict (every dtype axon stores, a 0-d and an empty tensor) and a
    nested checkpoint (a structure with tuples, int keys, NaN, bytes, shared tensors)."""
    rng = np.random.default_rng(SEED)
    flat = {
        "w": axon.from_numpy(rng.standard_normal((4, 3)).astype(np.float32)),
        "b": rng.standard_normal(3),
        "i": np.arange(-3, 3, dtype=np.int64),
        "mask": np.array([True, False, True]),
        "u8": np.array([0, 255, 7], np.uint8),
        "h": np.array([1.5, -2.0], np.float16),
        "i32": np.array([[1, -2]], np.int32),
        "scalar": np.array(2.5, np.float32),
        "empty": np.zeros((0, 2), np.float32),
    }
    w = axon.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    nested = {
        "epoch": 3,
        "loss": float("nan"),
        "name": "run \u2713",
        "model": OrderedDict(
            [
                ("0.weight", axon.nn.Parameter(rng.standard_normal((2, 3)))),
                ("0.bias", axon.zeros(2)),
            ]
        ),
        "optimizer": {
            "state": {0: {"step": 5, "exp_avg": w}, 1: {"exp_avg": w}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1]}],
        },
        "counter": Counter([1, 1, 2]),
        "raw": b"\x00\xff",
        "pair": (np.int64(4), None),
    }
    return [("flat", flat), ("nested", nested)]


def _encode(obj):
    buffer = io.BytesIO()
    save(obj, buffer)
    return buffer.getvalue()


def _same(got, want) -> bool:
    """Exactly the same object: types all the way down, arrays bit for bit (NaN too)."""
    if type(got) is not type(want):
        return False
    if isinstance(want, axon.Tensor | np.ndarray | np.generic):
        g = np.asarray(got.array if isinstance(got, axon.Tensor) else got)
        w = np.asarray(want.array if isinstance(want, axon.Tensor) else want)
        return (
            (g.dtype, g.shape) == (w.dtype, w.shape)
            and g.tobytes() == w.tobytes()
            and getattr(got, "requires_grad", None) == getattr(want, "requires_grad", None)
        )
    if isinstance(want, dict):
        return list(got) == list(want) and all(_same(got[k], want[k]) for k in want)
    if isinstance(want, list | tuple):
        return len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, float) and np.isnan(want):
        return np.isnan(got)
    return got == want


def _same_tensors(loaded, original: bytes) -> bool:
    """``loaded`` is ``{name: Tensor}`` of exactly the tensors the original file holds (as
    a file without axon's metadata loads), per safetensors' own reader."""
    theirs = safetensors_numpy.load(original)
    return sorted(loaded) == sorted(theirs) and all(
        type(loaded[k]) is axon.Tensor
        and (loaded[k].array.dtype, loaded[k].shape, loaded[k].array.tobytes())
        == (v.dtype, v.shape, v.tobytes())
        for k, v in theirs.items()
    )


# ----------------------------------------------------------------------------- mutations
def _split(data: bytes):
    (n,) = struct.unpack("<Q", data[:8])
    return n, json.loads(data[8 : 8 + n]), data[8 + n :]


def _join(header, payload: bytes, *, raw: bytes | None = None) -> bytes:
    text = raw if raw is not None else json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + payload


def _resign(header: dict, payload: bytes) -> dict:
    """``header`` with the checksum a save would write for it (so an edit reaches the
    decoder): axon's own digest of the table it describes."""
    entries = [
        serialization._Entry(k, v["dtype"], tuple(v["shape"]), *v["data_offsets"])
        for k, v in header.items()
        if k != "__metadata__"
    ]
    meta = header["__metadata__"]
    meta[CHECKSUM_KEY] = serialization._digest(entries, meta, payload)
    return header


def _tensor_names(header):
    return [k for k in header if k != "__metadata__"]


def _flip(rng, data, lo, hi):
    if hi <= lo:
        return data
    out = bytearray(data)
    out[int(rng.integers(lo, hi))] ^= 1 << int(rng.integers(8))
    return bytes(out)


def _shape_edit(rng, shape):
    choices = [
        lambda s: s[::-1],
        lambda s: [*s, 1],
        lambda s: s[:-1],
        lambda s: [],
        lambda s: [d + 1 for d in s],
        lambda s: [-1, *s],
        lambda s: [2.0, *s],
        lambda s: ["3"],
        lambda s: [2**62, 0],
        lambda s: [1] * 70,
        lambda s: 5,
        lambda s: [True, *s],
        lambda s: [2**70],
    ]
    return choices[int(rng.integers(len(choices)))](list(shape))


def _structure_edit(rng, text: str) -> str:
    edits = [
        lambda t: t.replace('"tensor"', '"ndarray"', 1),
        lambda t: t.replace('"ndarray"', '"scalar"', 1),
        lambda t: t.replace('"tuple"', '"dict"', 1),
        lambda t: t.replace('"dict"', '"tuple"', 1),
        lambda t: t.replace('"dict"', '"Counter"', 1),
        lambda t: t.replace('"float"', '"bytes"', 1),
        lambda t: t.replace('"bytes"', '"float"', 1),
        lambda t: t.replace("]]", "]", 1),
        lambda t: t[: int(rng.integers(len(t)))],
        lambda t: "[" * 600 + t + "]" * 600,
        lambda t: '{"dict": ' * 300 + t + "}" * 300,
        lambda t: "[" * 100_000 + "]" * 100_000,
        lambda t: '{"tensor": "nope"}',
        lambda t: '{"tensor": ["w"]}',
        lambda t: '{"tensor": "i", "requires_grad": true}',
        lambda t: '{"tensor": "i", "parameter": true, "requires_grad": true}',
        lambda t: '{"scalar": "w"}',
        lambda t: '{"bytes": "!!!"}',
        lambda t: '{"float": "1e999999"}',
        lambda t: '{"dict": [[["unhashable"], 1]]}',
        lambda t: '{"dict": 7}',
        lambda t: '{"a": 1, "b": 2}',
        lambda t: "{}",
        lambda t: "NaN",
        lambda t: t.replace(":", "", 1),
        lambda t: t.replace('"', "'", 1),
    ]
    return edits[int(rng.integers(len(edits)))](text)


def _mutate(rng, data: bytes):
    """``(kind, mutated bytes, signed)``: one random mutation; ``signed`` False where the
    file was re-signed on purpose (any loaded object is then allowed)."""
    n, header, payload = _split(data)
    end = 8 + n
    kind = [
        "flip length",
        "flip header",
        "flip payload",
        "cut length",
        "cut header",
        "cut payload",
        "append",
        "overwrite run",
        "dtype",
        "shape",
        "swap offsets",
        "shift offset",
        "bad utf-8",
        "header length",
        "json junk",
        "metadata",
        "structure (re-signed)",
        "drop checksum",
    ][int(rng.integers(18))]
    names = _tensor_names(header)
    pick = names[int(rng.integers(len(names)))] if names else None
    meta = header["__metadata__"]
    if kind == "flip length":
        return kind, _flip(rng, data, 0, 8), True
    if kind == "flip header":
        return kind, _flip(rng, data, 8, end), True
    if kind == "flip payload":
        return kind, _flip(rng, data, end, len(data)), True
    if kind == "cut length":
        return kind, data[: int(rng.integers(0, 8))], True
    if kind == "cut header":
        return kind, data[: int(rng.integers(8, end))], True
    if kind == "cut payload":
        return kind, data[: int(rng.integers(end, len(data)))], True
    if kind == "append":
        return kind, data + rng.bytes(int(rng.integers(1, 64))), True
    if kind == "overwrite run":
        at, k = int(rng.integers(len(data))), int(rng.integers(1, 16))
        return kind, data[:at] + rng.bytes(k) + data[at + k :], True
    if kind == "dtype":  # always another code
        codes = [c for c in CODES if c != header[pick]["dtype"]]
        header[pick]["dtype"] = codes[int(rng.integers(len(codes)))]
    elif kind == "shape":
        header[pick]["shape"] = _shape_edit(rng, header[pick]["shape"])
    elif kind == "swap offsets":  # always two different tensors
        others = [k for k in names if k != pick]
        other = others[int(rng.integers(len(others)))]
        header[pick]["data_offsets"], header[other]["data_offsets"] = (
            header[other]["data_offsets"],
            header[pick]["data_offsets"],
        )
    elif kind == "shift offset":
        header[pick]["data_offsets"][int(rng.integers(2))] += int(rng.integers(-9, 10))
    elif kind == "bad utf-8":
        text = json.dumps(header).encode()
        at = int(rng.integers(1, len(text)))
        bad = [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\x80"][int(rng.integers(5))]
        return kind, _join(None, payload, raw=text[:at] + bad + text[at:]), True
    elif kind == "header length":
        huge = [2**64 - 1, 2**63, 100_000_001, len(data), n + 1, n - 1, 0][int(rng.integers(7))]
        return kind, struct.pack("<Q", huge) + data[8:], True
    elif kind == "json junk":
        text = json.dumps(header)
        junk = [
            text[:-1] + ', "w": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}',
            text[:-1] + ', "__metadata__": {}}',
            text + "tail",
            " " + text,
            text.replace("[", "[NaN, ", 1),
            text.replace(": ", ': Infinity, "x": ', 1),
            "[" + text + "]",
            "null",
            "{",
        ][int(rng.integers(9))]
        return kind, _join(None, payload, raw=junk.encode()), True
    elif kind == "metadata":
        header["__metadata__"] = [
            {"k": 1},
            None,
            [],
            "text",
            {**meta, "extra": 5},
            {**meta, "note": "new"},
        ][int(rng.integers(6))]
    elif kind == "structure (re-signed)":
        meta[STRUCTURE_KEY] = _structure_edit(rng, meta[STRUCTURE_KEY])
        return kind, _join(_resign(header, payload), payload), False
    elif kind == "drop checksum":
        meta.pop(CHECKSUM_KEY, None)
    return kind, _join(header, payload), True


def _outcome(data: bytes, name: str, path=None):
    """``("rejected", None)`` or ``("loaded", obj)``; anything else fails the test."""
    try:
        if path is not None:
            path.write_bytes(data)
            obj = load(path)
        else:
            buffer = io.BytesIO(data)
            buffer.name = name
            obj = load(buffer)
    except ValueError as e:
        assert name in str(e), f"the error does not name the file: {e}"
        return "rejected", None
    return "loaded", obj


def test_thousands_of_mutated_files_load_exactly_or_raise_a_clear_value_error(tmp_path):
    faulthandler.dump_traceback_later(600, exit=True)  # a hang fails loudly, not forever
    try:
        rng = np.random.default_rng(SEED)
        counts = Counter()
        for source, obj in _originals():
            data = _encode(obj)
            for i in range(1600):
                kind, mutated, signed = _mutate(rng, data)
                name = f"fuzz-{source}-{i}.safetensors"
                path = tmp_path / name if i % 25 == 0 else None  # some through real files
                result, loaded = _outcome(mutated, name if path is None else str(path), path)
                if path is not None:
                    path.unlink()
                if result == "loaded" and signed:
                    if _same(loaded, obj):
                        result = "identical"
                    else:  # the whole metadata gone: a plain file of the same tensors
                        assert _same_tensors(loaded, data), (kind, i)
                        result = "plain tensors"
                counts[kind, result] += 1
    finally:
        faulthandler.cancel_dump_traceback_later()
    total = sum(counts.values())
    print(
        f"\n{total} mutated files: "
        + ", ".join(f"{k[0]}/{k[1]} {v}" for k, v in sorted(counts.items()))
    )
    assert total == 3200
    # a flipped payload bit, a cut, swapped offsets or a relabelled dtype is always
    # caught (the checksum's job where the header still parses)
    for kind in (
        "flip payload",
        "cut payload",
        "cut header",
        "cut length",
        "append",
        "header length",
        "swap offsets",
        "dtype",
    ):
        assert counts[kind, "rejected"] > 100, kind
        assert counts[kind, "identical"] == 0, (kind, counts)
    # files without a checksum still load: exactly what was saved
    assert counts["drop checksum", "identical"] == sum(
        v for (k, _), v in counts.items() if k == "drop checksum"
    )
    # the structure decoder meets its edits and never lets another exception through
    assert counts["structure (re-signed)", "rejected"] > 50
    assert counts["structure (re-signed)", "loaded"] > 20
    assert sum(v for (_, r), v in counts.items() if r == "rejected") > 2500


def test_files_without_a_checksum_agree_with_safetensors(tmp_path):
    """Mutated files as another program writes them (no checksum): whatever axon loads,
    safetensors' reader loads too, with the same names, dtypes, shapes and bytes, and
    what it refuses, axon refuses."""
    rng = np.random.default_rng(SEED + 1)
    state = {
        k: np.asarray(v.array if isinstance(v, axon.Tensor) else v)
        for k, v in _originals()[0][1].items()
    }
    data = safetensors_numpy.save(state, metadata={"note": "other tool"})
    counts = Counter()
    for i in range(800):
        kind, mutated, _ = _mutate_plain(rng, data)
        name = f"plain-{i}.safetensors"
        result, loaded = _outcome(mutated, name)
        try:
            theirs = safetensors_numpy.load(mutated)
        except Exception:  # noqa: BLE001 - any refusal of theirs
            theirs = None
        if loaded is None or theirs is None:
            assert (loaded is None) == (theirs is None), (kind, i, result)
        else:
            assert sorted(loaded) == sorted(theirs), (kind, i)
            for k, v in theirs.items():
                ours = loaded[k].array
                assert (ours.dtype, ours.shape, ours.tobytes()) == (
                    v.dtype,
                    v.shape,
                    v.tobytes(),
                ), (kind, k)
        counts[result] += 1
    print(f"\nwithout a checksum: {dict(counts)}")
    assert counts["rejected"] > 200 and counts["loaded"] > 70


def _mutate_plain(rng, data):
    """:func:`_mutate` for a file without axon's metadata (no structure, no checksum)."""
    n, header, payload = _split(data)
    header.setdefault("__metadata__", {})
    header["__metadata__"][STRUCTURE_KEY] = "null"  # so _mutate's edits apply...
    kind, mutated, signed = _mutate(rng, _join(header, payload))
    try:  # ...and then gone again where the header still parses
        m, h, p = _split(mutated)
        if isinstance(h, dict) and isinstance(h.get("__metadata__"), dict):
            h["__metadata__"].pop(STRUCTURE_KEY, None)
            h["__metadata__"].pop(CHECKSUM_KEY, None)
            mutated = _join(h, p)
    except (ValueError, UnicodeDecodeError, struct.error, TypeError):
        pass
    return kind, mutated, signed


def test_the_structure_decoder_refuses_deep_nesting_with_a_value_error(tmp_path):
    data = _encode({"w": np.ones(2)})
    _, header, payload = _split(data)
    for structure, reason in [
        ("[" * 100_000 + "]" * 100_000, "malformed"),
        ('{"tuple": [' * 300 + "]}" * 300, "levels deep"),
        ('{"dict": [[1, ' * 300 + "2" + "]]}" * 300, "levels deep"),
        ("[" * 900 + "1" + "]" * 900, "levels deep"),
    ]:
        header["__metadata__"][STRUCTURE_KEY] = structure
        path = tmp_path / "deep.safetensors"
        path.write_bytes(_join(_resign(header, payload), payload))
        with pytest.raises(ValueError, match=f"deep.safetensors.*{reason}"):
            load(path)


# ----------------------------------------------------------------------------- atheris
_ATHERIS = textwrap.dedent("""
    import inspect, io, sys
    import atheris
    import axon.serialization as serialization

    # instrument the loader's own code only (all of axon would take long to instrument)
    for obj in list(vars(serialization).values()):
        if getattr(obj, "__module__", None) != serialization.__name__:
            continue
        for f in [obj] if inspect.isfunction(obj) else list(vars(obj).values()):
            if inspect.isfunction(f):
                atheris.instrument_func(f)

    def one_input(data):
        try:
            serialization.load(io.BytesIO(data))
        except (ValueError, TypeError):
            pass

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
""")


@pytest.mark.slow
def test_coverage_guided_fuzzing_of_the_loader(tmp_path):
    """atheris (libFuzzer) mutates from a corpus of real files for a bounded time: any
    exception other than ValueError/TypeError (or a hang, or a crash) fails."""
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, obj in _originals():
        (corpus / name).write_bytes(_encode(obj))
    (corpus / "plain").write_bytes(safetensors_numpy.save({"x": np.arange(3.0)}))
    script = tmp_path / "fuzz.py"
    script.write_text(_ATHERIS)
    seconds = int(os.environ.get("AXON_FUZZ_SECONDS", "20"))
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            f"-max_total_time={seconds}",
            "-timeout=10",
            "-rss_limit_mb=4096",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 240,
        cwd=str(tmp_path),
    )
    log = done.stderr[-4000:]
    assert done.returncode == 0, log
    assert "Done" in log and "runs in" in log, log
