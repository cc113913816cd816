"""The lab's layout: experiments found by the registry, none importing another, and the
shared warm-up-then-cosine schedule (torch's LinearLR + CosineAnnealingLR in SequentialLR)."""

import ast
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import axon as ax
from axon import lab, nn, optim
from axon.lab import registry
from axon.lab.shared import schedules, text_common
from axon.lab.shared.schedules import cosine_within_budget, per_update, warmup_cosine
from axon.optim.lr_scheduler import SequentialLR
from axon.train.base import Callback

LAB = Path(lab.__file__).parent


def _lab_imports(path: Path) -> set[str]:
    """The ``axon.lab`` modules that the module at ``path`` imports, as dotted names
    relative to ``axon.lab`` (``shared.base``, ``masked_lm``, ...)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from .x import y / from . import y
                base = node.module or ""
                found |= {f"{base}.{a.name}" if base else a.name for a in node.names}
                if base:
                    found.add(base)
            elif node.level == 0 and (node.module or "").startswith("axon.lab."):
                found.add(node.module.removeprefix("axon.lab."))
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix("axon.lab.")
                for a in node.names
                if a.name.startswith("axon.lab.")
            }
    return found


def test_no_experiment_imports_another():
    experiments = set(registry.experiment_modules())
    assert {"xor", "masked_lm", "worksheets"} <= experiments
    assert not {"registry", "shared", "base"} & experiments
    for module in sorted(experiments):
        imported = {name.split(".")[0] for name in _lab_imports(LAB / f"{module}.py")}
        others = imported & (experiments - {module})
        assert not others, f"lab/{module}.py imports the experiment(s) {sorted(others)}"


def test_shared_helpers_import_no_experiment():
    experiments = set(registry.experiment_modules())
    for path in sorted((LAB / "shared").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 2:  # from .. import x
                names = {node.module} if node.module else {a.name for a in node.names}
                assert not names & experiments, f"shared/{path.name} imports {names}"


def test_every_experiment_module_registers_and_names_are_unique():
    lab.names()  # imports every experiment module
    by_module = {}
    for kind in ("experiment", "worksheet"):
        for entry in lab.entries(kind):
            by_module.setdefault(entry.run.__module__, []).append((kind, entry.name))
    for module in registry.experiment_modules():
        assert by_module.get(f"axon.lab.{module}"), f"lab/{module}.py registers nothing"
    # register refuses a second entry of the same name, so names are unique per kind
    with pytest.raises(ValueError, match="already registered"):
        lab.register("xor", "again")(lambda config: None)


def test_import_axon_lab_imports_no_experiment_and_get_imports_only_its_own():
    code = (
        "import sys, axon.lab as lab\n"
        "mods = lambda: sorted(m for m in sys.modules if m.startswith('axon.lab.') "
        "and not m.startswith(('axon.lab.shared', 'axon.lab.registry')))\n"
        "print(mods()); lab.get('masked-lm'); print(mods())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    before, after = done.stdout.strip().splitlines()
    assert before == "[]"
    assert after == "['axon.lab.masked_lm']"


def test_get_of_a_name_in_a_module_of_another_name_and_of_a_worksheet():
    assert lab.get("lenet").run.__module__ == "axon.lab.mnist"
    assert lab.get("xor", "worksheet").run.__module__ == "axon.lab.worksheets"
    assert lab.get("xor").run.__module__ == "axon.lab.xor"


# ----------------------------------------------------------------------------- the schedule
def _rates(warmup: int, total: int, lr: float = 2.0, floor: float = 0.1) -> list[float]:
    opt = optim.AdamW(nn.Linear(2, 2).parameters(), lr=lr)
    schedule = warmup_cosine(opt, warmup, total, floor)
    rates = []
    for _ in range(total + 1):  # the rate of each update, then one past the end
        rates.append(opt.param_groups[0]["lr"])
        schedule.step()
    assert schedule.last_epoch == total + 1  # counts the updates
    return rates


@pytest.mark.parametrize(("warmup", "total"), [(4, 20), (10, 150), (100, 6000)])
def test_warmup_is_linear_then_the_cosine_ends_at_the_floor(warmup, total):
    rates = _rates(warmup, total)
    ramp = [2.0 * (t + 1) / warmup for t in range(warmup)]  # lr * (t + 1) / warmup
    T = total - warmup
    cosine = [0.2 + 1.8 * (1 + math.cos(math.pi * k / T)) / 2 for k in range(T + 1)]
    np.testing.assert_allclose(rates, ramp + cosine, rtol=1e-12, atol=1e-12)
    assert rates[warmup] == pytest.approx(2.0) and rates[-1] == pytest.approx(0.2)


def test_warmup_of_one_step_is_the_cosine_alone():
    opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    schedule = warmup_cosine(opt, 1, 10, floor=0.0)
    assert not isinstance(schedule, SequentialLR)
    assert opt.param_groups[0]["lr"] == 1.0
    for _ in range(10):
        schedule.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_the_schedule_resumes_from_its_state():
    opt = optim.AdamW(nn.Linear(2, 2).parameters(), lr=1.0)
    straight = warmup_cosine(opt, 5, 30)
    for _ in range(12):
        straight.step()
    state, opt_state, want = straight.state_dict(), opt.state_dict(), []
    for _ in range(10):
        straight.step()
        want.append(opt.param_groups[0]["lr"])
    opt2 = optim.AdamW(nn.Linear(2, 2).parameters(), lr=1.0)
    callback = per_update(warmup_cosine(opt2, 5, 30))
    opt2.load_state_dict(opt_state)  # a backup holds both (the rates live in the optimizer)
    callback.schedule.load_state_dict(state)
    got = []
    for step in range(10):
        callback.on_batch_end(step)
        got.append(opt2.param_groups[0]["lr"])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def _budgeted_run(monkeypatch, seconds, per_update_s=lambda t: 0.5, warmup=4, total=100):
    """fit over ``total`` updates under warmup_cosine and a ``seconds`` budget, with a
    clock that advances ``per_update_s(t)`` at update t; the rate of every update."""
    clock = {"now": 1000.0}
    monkeypatch.setattr(schedules.time, "perf_counter", lambda: clock["now"])
    monkeypatch.setattr(text_common.time, "perf_counter", lambda: clock["now"])
    ax.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.02)
    schedule = warmup_cosine(opt, warmup, total)
    budget = text_common.TimeBudget(seconds)
    rates = []

    class Tick(Callback):
        def on_batch_begin(self, batch, logs=None):
            rates.append(opt.param_groups[0]["lr"])

        def on_batch_end(self, batch, logs=None):
            clock["now"] += per_update_s(len(rates) - 1)

    x = ax.randn(total, 2)
    history = ax.fit(
        model,
        (x, x.sum(1, keepdim=True)),
        loss="mse",
        optimizer=opt,
        batch_size=1,
        shuffle=False,
        callbacks=[Tick(), per_update(schedule), cosine_within_budget(schedule, budget), budget],
        verbose=0,
    )
    history.budget_stopped = budget.stopped
    return rates, schedule, history


def test_the_cosine_ends_with_the_time_budget(monkeypatch):
    # 4 warm-up updates take 2 s of a 10 s budget: 16 more fit, so the cosine lasts 16
    rates, schedule, history = _budgeted_run(monkeypatch, seconds=10.0)
    assert schedule._schedulers[-1].T_max == 16 and history.budget_stopped
    assert len(rates) == 4 + 16  # stopped at the bottom of the cosine, not past it
    cosine = [0.002 + 0.018 * (1 + math.cos(math.pi * k / 16)) / 2 for k in range(16)]
    np.testing.assert_allclose(rates, [0.005, 0.01, 0.015, 0.02] + cosine, rtol=1e-12)
    assert min(rates[4:]) > 0.002 and rates[-1] < 0.0025


def test_without_a_budget_the_cosine_keeps_its_planned_horizon(monkeypatch):
    rates, schedule, history = _budgeted_run(monkeypatch, seconds=None)
    assert schedule._schedulers[-1].T_max == 96 and len(rates) == 100
    assert not history.budget_stopped
    # a budget longer than the planned run changes nothing either
    long_rates, long_schedule, _ = _budgeted_run(monkeypatch, seconds=1e6)
    assert long_schedule._schedulers[-1].T_max == 96
    np.testing.assert_array_equal(long_rates, rates)


def test_a_slower_run_ends_its_cosine_sooner_and_within_the_budget(monkeypatch):
    # the warm-up takes 0.5 s an update, the rest 1 s: the first estimate (16 more) is
    # too long, so the horizon shrinks as the mean grows, and the rate still ends low
    rates, schedule, _ = _budgeted_run(monkeypatch, 10.0, lambda t: 0.5 if t < 4 else 1.0)
    spent = 4 * 0.5 + (len(rates) - 4) * 1.0
    assert spent <= 10.0 and len(rates) == 4 + 8  # every update that fits, no more
    T = schedule._schedulers[-1].T_max
    assert T == 8 and rates[-1] < 0.2 * 0.02  # the last update near the floor (0.002)
    assert all(a > b for a, b in zip(rates[4:], rates[5:], strict=False))  # no climb
