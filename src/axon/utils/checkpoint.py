"""``torch.utils.checkpoint``: activation checkpointing's interface. torch recomputes the
checkpointed part during backward to save memory; axon runs it once and keeps its graph,
so the results and gradients are the same and only the memory saving is absent."""

from __future__ import annotations

import warnings

__all__ = ["checkpoint", "checkpoint_sequential"]


def _check_reentrant(use_reentrant) -> None:
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed "
            "explicitly (axon ignores it: its checkpoint keeps the graph).",
            UserWarning,
            stacklevel=3,
        )


def checkpoint(
    function,
    *args,
    use_reentrant: bool | None = None,
    context_fn=None,
    determinism_check: str = "default",
    debug: bool = False,
    preserve_rng_state: bool = True,
    **kwargs,
):
    """``function(*args, **kwargs)``, differentiable as usual."""
    _check_reentrant(use_reentrant)
    return function(*args, **kwargs)


def checkpoint_sequential(
    functions, segments: int, input, use_reentrant: bool | None = None, **kwargs
):
    """The modules of ``functions`` (a Sequential or a list) applied in turn to ``input``."""
    _check_reentrant(use_reentrant)
    for fn in functions.children() if hasattr(functions, "children") else functions:
        input = fn(input)
    return input
