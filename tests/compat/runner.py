"""Run a PyTorch program on torch, and on axon with only its import lines changed.

Each file in ``programs/`` is an ordinary PyTorch program written for these tests (none is
copied from anywhere), with a ``run(initial=None)`` function that returns a dict of
results. ``as_axon`` rewrites exactly the import lines a user would change; nothing else
of the program is touched, so a program that runs here runs for the user.
"""

from __future__ import annotations

import re
import types
from pathlib import Path

PROGRAMS = Path(__file__).parent / "programs"

# the import lines a PyTorch user changes, and nothing else
IMPORTS = [
    (r"^import torch$", "import axon as torch"),
    (r"^from torch\.utils\.data import (.*)$", r"from axon.data import \1"),
    (r"^import torch\.utils\.data as (\w+)$", r"import axon.data as \1"),
    (r"^import torch\.([\w.]+) as (\w+)$", r"import axon.\1 as \2"),
    (r"^from torch import (.*)$", r"from axon import \1"),
    (r"^from torch\.([\w.]+) import (.*)$", r"from axon.\1 import \2"),
]


def source(name: str) -> str:
    return (PROGRAMS / f"{name}.py").read_text()


def as_axon(text: str) -> str:
    """The program with its torch imports turned into axon's (only ``import`` lines)."""
    out = []
    for line in text.splitlines():
        for pattern, repl in IMPORTS:
            if re.match(pattern, line):
                line = re.sub(pattern, repl, line)
                break
        assert not re.match(r"^(import|from) torch\b", line), f"an import left on torch: {line}"
        out.append(line)
    return "\n".join(out) + "\n"


def load(name: str, library: str) -> types.ModuleType:
    """Program ``name`` as a module running on ``library`` ("torch" or "axon")."""
    text = source(name)
    if library == "axon":
        text = as_axon(text)
        changed = [
            a for a, b in zip(source(name).splitlines(), text.splitlines(), strict=True) if a != b
        ]
        assert all(line.startswith(("import ", "from ")) for line in changed), changed
    module = types.ModuleType(f"compat_{name}_{library}")
    module.__file__ = str(PROGRAMS / f"{name}.py")
    exec(compile(text, module.__file__, "exec"), module.__dict__)
    return module
