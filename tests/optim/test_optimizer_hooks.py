"""Optimizer hooks behave as torch's: step pre/post hooks (per optimizer and global), in
order, able to replace the step's arguments, removable; state-dict hooks around saving
and loading; a subclass's step that calls ``super().step()`` runs the hooks once."""

from __future__ import annotations

import pytest
import torch
from torch.optim import optimizer as torch_optimizer

import axon as ax
from axon.optim import optimizer as axon_optimizer
from tests.helpers import assert_close


def _record(lib, name="SGD"):
    p = lib.ones(2, requires_grad=True)
    p.grad = lib.ones(2)
    opt = getattr(lib.optim, name)([p], lr=0.1)
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt)))
    handle = opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", len(args))))
    return opt, calls, handle


@pytest.mark.parametrize("name", ["SGD", "Adam", "NAdam"])
def test_step_hooks_run_in_order_and_can_be_removed(name):
    results = []
    for lib in (ax, torch):
        opt, calls, handle = _record(lib, name)
        opt.step()
        handle.remove()
        opt.step()
        results.append(calls)
    assert results[0] == results[1] == [("pre", True), ("post", 1), ("pre", True)]


def _global_hooks_run(lib, hooks):
    seen = []
    pre = hooks.register_optimizer_step_pre_hook(lambda o, a, k: seen.append("pre"))
    post = hooks.register_optimizer_step_post_hook(lambda o, a, k: seen.append("post"))
    opt, calls, _ = _record(lib)
    opt.step()
    pre.remove()
    post.remove()
    opt.step()
    return seen, calls


def test_global_step_hooks_see_every_optimizer():
    got = _global_hooks_run(ax, axon_optimizer)
    assert got == _global_hooks_run(torch, torch_optimizer)
    assert got[0] == ["pre", "post"]


def test_a_pre_hook_can_replace_the_closure():
    for lib in (ax, torch):
        opt, _, _ = _record(lib)
        opt.register_step_pre_hook(lambda o, args, kwargs: ((o,), {"closure": lambda: 7.0}))
        assert opt.step() == 7.0
        opt.register_step_pre_hook(lambda o, args, kwargs: "bad")
        with pytest.raises(RuntimeError, match="must return None or a tuple"):
            opt.step()


def test_a_subclass_calling_super_step_runs_the_hooks_once():
    """(torch runs them twice here, once per patched class on the way, when the parent
    class has been instantiated before: axon runs them once, in the outer call.)"""

    class Logged(ax.optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    p = ax.ones(2, requires_grad=True)
    p.grad = ax.ones(2)
    opt = Logged([p], lr=0.1)
    calls = []
    opt.register_step_post_hook(lambda o, a, k: calls.append(1))
    ax.optim.SGD([ax.ones(1, requires_grad=True)])  # the parent class is in use too
    opt.step()
    assert calls == [1]
    assert_close(p, [0.9, 0.9], rtol=1e-7)


def _state_dict_hooks_run(lib):
    opt, _, _ = _record(lib, "Adam")
    opt.step()
    calls = []
    opt.register_state_dict_pre_hook(lambda o: calls.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    opt.register_load_state_dict_pre_hook(
        lambda o, sd: calls.append(sorted(sd)) or {k: v for k, v in sd.items() if k != "extra"}
    )
    opt.register_load_state_dict_post_hook(lambda o: calls.append("loaded"))
    saved = opt.state_dict()
    assert saved["extra"] == 1
    opt.load_state_dict(saved)
    return calls


def test_state_dict_hooks_around_saving_and_loading():
    got = _state_dict_hooks_run(ax)
    assert got == _state_dict_hooks_run(torch)
    assert got == ["pre", ["extra", "param_groups", "state"], "loaded"]
