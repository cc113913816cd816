"""``torch.multiprocessing``: Python's ``multiprocessing`` with torch's sharing-strategy
switches. axon's arrays reach other processes by pickling (or fork), so the strategy is
recorded and changes nothing."""

from multiprocessing import *  # noqa: F403
from multiprocessing import get_all_start_methods, get_start_method, set_start_method

__all__ = [
    "get_all_sharing_strategies",
    "get_all_start_methods",
    "get_sharing_strategy",
    "get_start_method",
    "set_sharing_strategy",
    "set_start_method",
]

_STRATEGIES = {"file_descriptor", "file_system"}
_strategy = "file_descriptor"


def set_sharing_strategy(new_strategy: str) -> None:
    """Record how tensors would be shared (``"file_descriptor"`` or ``"file_system"``)."""
    global _strategy
    if new_strategy not in _STRATEGIES:
        raise AssertionError(
            f"invalid sharing strategy {new_strategy!r}; expected one of {sorted(_STRATEGIES)}"
        )
    _strategy = new_strategy


def get_sharing_strategy() -> str:
    return _strategy


def get_all_sharing_strategies() -> set:
    return set(_STRATEGIES)
