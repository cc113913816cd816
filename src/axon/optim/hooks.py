"""Optimizer hooks, as in torch: functions run before and after every ``step`` and around
``state_dict``/``load_state_dict`` (what EMA helpers, loggers and gradient tools attach).

``optimizer.register_step_pre_hook(hook)`` calls ``hook(optimizer, args, kwargs)`` before
each step, ``args`` starting with the optimizer itself as in torch (returning ``(new_args,
new_kwargs)`` replaces the step's arguments);
``register_step_post_hook`` calls it after. ``register_optimizer_step_pre_hook`` and
``register_optimizer_step_post_hook`` register hooks for every optimizer. Each returns a
handle whose ``remove()`` takes the hook away.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from itertools import chain
from typing import Any

from ..nn.module import RemovableHandle

__all__ = ["register_optimizer_step_post_hook", "register_optimizer_step_pre_hook"]

_global_pre_hooks: dict[int, Callable] = {}
_global_post_hooks: dict[int, Callable] = {}


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` before the step of every optimizer."""
    return _add(_global_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` after the step of every optimizer."""
    return _add(_global_post_hooks, hook)


def _add(hooks: dict, hook: Callable, prepend: bool = False) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:  # move it first, keeping the others' order
        for key in [k for k in hooks if k != handle.id]:
            hooks[key] = hooks.pop(key)
    return handle


def hooked_step(step: Callable) -> Callable:
    """``step`` wrapped to run the step hooks around it, once per call (a subclass's step
    that calls ``super().step()`` runs them only in the outer call)."""

    @functools.wraps(step)
    def wrapper(*args, **kwargs):  # args[0] is the optimizer, and hooks see it there
        self = args[0]
        hooks = self.__dict__.get("_step_hooks")
        if hooks is None or self.__dict__.get("_in_step", False):
            return step(*args, **kwargs)
        for pre_hook in chain(_global_pre_hooks.values(), hooks["pre"].values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        f"{step} must return None or a tuple of (new_args, new_kwargs), but "
                        f"got {result}."
                    )
                args, kwargs = result
        self._in_step = True
        try:
            out = step(*args, **kwargs)
        finally:
            self._in_step = False
        for post_hook in chain(hooks["post"].values(), _global_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out

    wrapper.hooked = True
    return wrapper


class OptimizerHooks:
    """The hook registries of an optimizer (mixed into :class:`~axon.optim.Optimizer`)."""

    def _init_hooks(self) -> None:
        self._step_hooks: dict[str, dict[int, Callable]] = {"pre": {}, "post": {}}
        self._state_dict_hooks: dict[str, dict[int, Callable]] = {
            "pre": {},
            "post": {},
            "load_pre": {},
            "load_post": {},
        }

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each step; it may return
        ``(new_args, new_kwargs)``."""
        return _add(self._step_hooks["pre"], hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each step."""
        return _add(self._step_hooks["post"], hook)

    def register_state_dict_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(optimizer)`` before ``state_dict`` packs the state."""
        return _add(self._state_dict_hooks["pre"], hook, prepend)

    def register_state_dict_post_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` on the packed state dict; a returned dict
        replaces it."""
        return _add(self._state_dict_hooks["post"], hook, prepend)

    def register_load_state_dict_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` before loading; a returned dict is loaded
        instead."""
        return _add(self._state_dict_hooks["load_pre"], hook, prepend)

    def register_load_state_dict_post_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(optimizer)`` after loading."""
        return _add(self._state_dict_hooks["load_post"], hook, prepend)

    def _run_state_dict_hooks(self, kind: str, state_dict: dict[str, Any] | None = None):
        """Run one kind of state-dict hook; returns the (possibly replaced) state dict."""
        for hook in list(self._state_dict_hooks[kind].values()):
            if state_dict is None:
                hook(self)
            else:
                state_dict = hook(self, state_dict) or state_dict
        return state_dict
