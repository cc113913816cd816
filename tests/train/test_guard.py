"""FiniteGuard: non-finite loss, gradients, buffers and parameters are caught and named,
restore() gives back the state before the failing step bit for bit, finite training is
never flagged (and not changed), and watch_loss warns once on a diverging loss."""

import warnings

import numpy as np
import pytest

import axon
from axon import nn, optim
from axon.train.guard import FiniteGuard, _sum_of_squares
from tests.helpers import assert_equal


# ----------------------------------------------------------------------------- helpers
def bn_net(seed: int = 0) -> nn.Module:
    axon.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def snapshot(model) -> dict:
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def assert_state_is(model, snap: dict) -> None:
    """Every parameter and buffer finite and equal to ``snap`` bit for bit."""
    state = model.state_dict()
    assert state.keys() == snap.keys()
    for k, v in state.items():
        assert_equal(v.numpy(), snap[k], msg=k)


def guarded_step(model, guard, opt, loss_fn, x, y, epoch: int, step: int):
    """One step of the documented loop; returns (loss, problem)."""
    guard.remember()
    opt.zero_grad()
    loss = loss_fn(model(axon.from_numpy(x)), axon.from_numpy(y))
    loss.backward()
    lv = float(loss.item())
    problem = guard.check(lv, epoch, step)
    if problem is None:
        opt.step()
        problem = guard.check_params(epoch, step)
    if problem is not None:
        guard.restore()
    return lv, problem


def batches(n_steps: int, seed: int = 0, features: int = 4, classes: int = 2):
    rng = np.random.default_rng(seed)
    for _ in range(n_steps):
        yield (rng.standard_normal((16, features), dtype=np.float32), rng.integers(0, classes, 16))


# ----------------------------------------------------------------------------- the fast check
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_of_squares_sees_every_nan_and_inf_position(dtype):
    """The one-dot fast path must be non-finite whatever the position (SIMD bodies and
    tails of the BLAS kernel) and sign of the bad value, and finite otherwise."""
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 67, 1000, 20001):
        a = rng.standard_normal(n).astype(dtype)
        assert np.isfinite(_sum_of_squares(a))
        for i in {0, n // 2, n - 1}:
            for bad in (np.nan, np.inf, -np.inf):
                b = a.copy()
                b[i] = bad
                assert not np.isfinite(_sum_of_squares(b)), (n, i, bad)
                assert not np.isfinite(_sum_of_squares(b.reshape(1, n)[:, ::-1])), (n, i, bad)


def test_check_does_not_flag_huge_finite_values():
    """Values near 1e20 overflow the float32 sum of squares: the exact search then finds
    nothing wrong and the step goes on."""
    model = nn.Linear(3, 2)
    guard = FiniteGuard(model)
    guard.remember()
    for p in model.parameters():
        p.grad = axon.from_numpy(np.full(p.shape, 1e20, dtype=np.float32))
    assert guard.check(1e30, 0, 0) is None
    assert guard.check_params(0, 0) is None


# ----------------------------------------------------------------------------- buffers
def test_buffer_going_non_finite_is_named_and_restored_bit_for_bit():
    """The issue's case: activations too large make BatchNorm's running_var infinite;
    the check names that buffer (the parameters and running_mean are still finite), and
    restore() gives back the state after the last good step, buffers included."""
    model = bn_net()
    guard = FiniteGuard(model)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for step, (x, y) in enumerate(batches(3)):
        assert guarded_step(model, guard, opt, loss_fn, x, y, 0, step)[1] is None
    before = snapshot(model)
    x, y = next(batches(1, seed=1))
    x[:, 0] = np.where(np.arange(16) % 2, 1e20, -1e20)  # finite, but squares overflow
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, problem = guarded_step(model, guard, opt, loss_fn, x, y, 1, 4)
    assert problem.startswith(
        "Training stopped at epoch 2, step 5: the buffer '1.running_var' contains Inf ("
    )
    assert "of 8 values) (loss = " in problem and problem.endswith("unit size.")
    assert_state_is(model, before)  # num_batches_tracked too: the forward advanced it
    assert all(p.grad is None for p in model.parameters())


def test_after_restore_training_goes_on_as_if_the_bad_step_never_ran():
    """restore() then the next good batches: the same bits as a run that never saw the
    bad batch (parameters, buffers and the optimizer untouched by the failed step)."""
    data = list(batches(5))
    bad = data[2][0].copy()
    bad[:, 1] = np.float32(3e38)

    def run(with_bad: bool) -> dict:
        model = bn_net()
        guard = FiniteGuard(model)
        opt = optim.Adam(model.parameters(), lr=1e-2)
        loss_fn = nn.CrossEntropyLoss()
        for step, (x, y) in enumerate(data):
            if with_bad and step == 2:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    assert guarded_step(model, guard, opt, loss_fn, bad, y, 0, step)[1]
            assert guarded_step(model, guard, opt, loss_fn, x, y, 0, step)[1] is None
        return snapshot(model)

    straight, recovered = run(False), run(True)
    for k in straight:
        assert_equal(recovered[k], straight[k], msg=k)


# ----------------------------------------------------------------------------- gradients, loss
class SqrtGate(nn.Module):
    """d sqrt(s)/ds is infinite at s = 0: a non-finite gradient under a finite loss (Inf,
    or NaN when the sqrt is multiplied by 0: 0 * Inf in the backward)."""

    def __init__(self, factor: float):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.scale = nn.Parameter(axon.zeros(1))
        self.factor = factor

    def forward(self, x):
        return self.fc(x).sum() + (self.scale.sqrt() * self.factor).sum()


@pytest.mark.parametrize("factor, what", [(1.0, "Inf"), (0.0, "NaN")])
def test_non_finite_gradient_is_named_and_nothing_changes(factor, what):
    axon.manual_seed(0)
    model = SqrtGate(factor)
    guard = FiniteGuard(model)
    before = snapshot(model)
    guard.remember()
    with np.errstate(all="ignore"):
        loss = model(axon.ones(4, 3))
        loss.backward()
    lv = float(loss.item())
    problem = guard.check(lv, 0, 0)
    assert problem == (
        "Training stopped at epoch 1, step 1: the gradient of 'scale' contains "
        f"{what} (1 of 1 values) (loss = {lv:.4g}). Try a lower learning rate "
        "or gradient clipping."
    )
    guard.restore()
    assert_state_is(model, before)
    assert model.scale.grad is None and model.fc.weight.grad is None


def test_non_finite_loss_is_named_before_the_gradients_it_caused():
    model = bn_net()
    guard = FiniteGuard(model)
    x, y = next(batches(1))
    guard.remember()
    loss = nn.CrossEntropyLoss()(model(axon.from_numpy(x)), axon.from_numpy(y)) * float("nan")
    loss.backward()
    problem = guard.check(float(loss.item()), 2, 6)
    assert problem.startswith("Training stopped at epoch 3, step 7: the loss is nan. Try ")


def test_parameter_non_finite_before_the_step_comes_first():
    """A NaN weight explains the NaN loss and gradients: the weight is named."""
    model = bn_net()
    model[3].weight.array[1, 2] = np.nan
    guard = FiniteGuard(model)
    x, y = next(batches(1))
    guard.remember()
    loss = nn.CrossEntropyLoss()(model(axon.from_numpy(x)), axon.from_numpy(y))
    loss.backward()
    problem = guard.check(float(loss.item()), 0, 0)
    assert (
        "step 1: the parameter '3.weight' contains NaN (1 of 16 values) (it was not "
        "finite when the step began"
        in problem
        and "(loss = nan)" in problem
    )


# ----------------------------------------------------------------------------- the step
def test_parameter_overflowing_in_the_step_is_caught_and_restored():
    """Finite gradients, finite weights, and SGD at lr=1e38 in float32: the update
    overflows to Inf. check() lets the step go, check_params() names the weight, and
    restore() puts back the weights and buffers from before that step, bit for bit."""
    model = bn_net()
    guard = FiniteGuard(model)
    opt = optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    for step, (x, y) in enumerate(batches(2)):
        assert guarded_step(model, guard, opt, loss_fn, x, y, 0, step)[1] is None
    before = snapshot(model)
    opt.param_groups[0]["lr"] = 1e38
    x, y = next(batches(1, seed=3))
    guard.remember()
    opt.zero_grad()
    loss = loss_fn(model(axon.from_numpy(x)), axon.from_numpy(y)) * 1e3  # gradients > 3.4
    loss.backward()
    assert guard.check(float(loss.item()), 0, 2) is None  # all finite before the step
    with np.errstate(over="ignore", invalid="ignore"):
        opt.step()
    assert not np.isfinite(model[0].weight.array).all()
    problem = guard.check_params(0, 2)
    assert problem.startswith(
        "Training stopped at epoch 1, step 3: the parameter '0.weight' contains "
    )
    assert "after the optimizer step. Try a lower learning rate" in problem
    guard.restore()
    assert_state_is(model, before)


class Lookup(nn.Module):
    """An embedding row used at one step and not the next: a value the step made
    infinite there leaves the next loss and gradients finite."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(4, 3)
        self.fc = nn.Linear(3, 1)

    def forward(self, idx):
        return self.fc(self.emb(idx)).sum()


def test_without_check_params_check_still_verifies_the_parameters_after_a_step():
    """A loop that never calls check_params: the next check() must look at the
    parameters itself (a step ran since they were last verified), name the row the
    step broke, and restore() must give back the weights from before that step."""
    axon.manual_seed(0)
    model = Lookup()
    model.fc.requires_grad_(False)
    guard = FiniteGuard(model)
    opt = optim.SGD(model.emb.parameters(), lr=1.0)
    before = snapshot(model)
    for step, (idx, lr) in enumerate([([0, 0], 1e38), ([1, 2], 1.0)]):
        opt.param_groups[0]["lr"] = lr
        guard.remember()
        opt.zero_grad()
        loss = model(axon.tensor(idx)) * 1e3  # gradients well above 3.4: 1e38 g overflows
        loss.backward()
        problem = guard.check(float(loss.item()), 0, step)
        if problem is None:
            with np.errstate(over="ignore"):
                opt.step()
    assert np.isinf(model.emb.weight.array[0]).all() and np.isfinite(float(loss.item()))
    assert problem.startswith(
        "Training stopped at epoch 1, step 2: the parameter "
        "'emb.weight' contains Inf (3 of 12 values) (loss = "
    )
    guard.restore()
    assert_state_is(model, before)


def test_frozen_parameters_are_not_copied_or_restored():
    """Only what the step can change (parameters with a gradient) is copied before it."""
    model = bn_net()
    model[0].requires_grad_(False)
    guard = FiniteGuard(model)
    opt = optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    x, y = next(batches(1))
    assert guarded_step(model, guard, opt, nn.CrossEntropyLoss(), x, y, 0, 0)[1] is None
    names = [guard.params[i][0] for i in guard._stepped]
    assert names == ["1.weight", "1.bias", "3.weight", "3.bias"]


# ----------------------------------------------------------------------------- finite training
def test_finite_training_is_never_flagged_and_not_changed():
    """60 steps with BatchNorm, dropout and Adam: no check fires, no warning, and the
    weights are bit for bit those of the same loop without the guard."""

    def run(guarded: bool) -> dict:
        axon.manual_seed(1)
        model = nn.Sequential(
            nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3)
        )
        guard = FiniteGuard(model)
        opt = optim.Adam(model.parameters(), lr=1e-2)
        loss_fn = nn.CrossEntropyLoss()
        for step, (x, y) in enumerate(batches(60, seed=2, classes=3)):
            if guarded:
                lv, problem = guarded_step(model, guard, opt, loss_fn, x, y, step // 20, step % 20)
                assert problem is None
                assert guard.watch_loss(lv, step // 20, step % 20) is None
            else:
                opt.zero_grad()
                loss_fn(model(axon.from_numpy(x)), axon.from_numpy(y)).backward()
                opt.step()
        return snapshot(model)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        guarded = run(True)
    plain = run(False)
    for k in plain:
        assert_equal(guarded[k], plain[k], msg=k)


def test_copies_are_allocated_once():
    model = bn_net()
    guard = FiniteGuard(model)
    opt = optim.SGD(model.parameters(), lr=0.1)
    ids = None
    for step, (x, y) in enumerate(batches(3)):
        guarded_step(model, guard, opt, nn.CrossEntropyLoss(), x, y, 0, step)
        now = [id(a) for a in guard._saved_params + guard._saved_buffers]
        assert ids is None or now == ids
        ids = now


# ----------------------------------------------------------------------------- divergence
def regression(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 5), dtype=np.float32)
    w = rng.standard_normal((5, 1), dtype=np.float32)
    y = x @ w + 0.1 * rng.standard_normal((64, 1), dtype=np.float32)
    return x, y.astype(np.float32)


def test_adam_at_a_huge_learning_rate_warns_within_a_few_steps():
    """The issue's case: Adam at lr=1e6 trained on at losses of 1e20 without a word."""
    x, y = regression()
    axon.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))
    guard = FiniteGuard(model)
    opt = optim.Adam(model.parameters(), lr=1e6)
    messages = []
    with pytest.warns(RuntimeWarning, match="diverging") as caught:
        for step in range(5):
            lv, problem = guarded_step(model, guard, opt, nn.MSELoss(), x, y, 0, step)
            assert problem is None and np.isfinite(lv)  # finite: only watch_loss can tell
            messages.append(guard.watch_loss(lv, 0, step))
    warned = [m for m in messages if m is not None]
    assert len(warned) == 1 and len(caught) == 1  # once
    assert str(caught[0].message) == warned[0]
    assert warned[0].startswith("The training loss is diverging at epoch 1, step ")
    assert "Try a lower learning rate" in warned[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ordinary_noisy_training_never_warns(seed):
    """Minibatch SGD on a noisy regression (losses bounce around from batch to batch)."""
    x, y = regression(seed)
    axon.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))
    guard = FiniteGuard(model)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for step in range(150):
            idx = rng.choice(64, 8, replace=False)
            lv, problem = guarded_step(model, guard, opt, nn.MSELoss(), x[idx], y[idx], 0, step)
            assert problem is None
            assert guard.watch_loss(lv, 0, step) is None


@pytest.mark.parametrize(
    "losses, warns_at",
    [
        ([2.3, 1.0, 0.5, 3.0, 0.2], None),  # ordinary noise
        ([1e-3, 1e-9, 1e-2, 5.0], None),  # a solved problem wobbling: under the floor
        ([1e10, 1e8, 5e11], None),  # unscaled targets: judged against themselves
        ([1e10, 1e8, 2e12], 2),
        ([1.0, 0.9, 2e4, 3e8, 1e20], 2),
        ([-50.0, -60.0, 2e4], 2),  # a negative best: the floor alone
        ([1.0, float("nan"), float("inf"), 1.5], None),  # non-finite: check()'s business
    ],
)
def test_divergence_rule(losses, warns_at):
    guard = FiniteGuard(nn.Linear(1, 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = [guard.watch_loss(v, 0, i) for i, v in enumerate(losses)]
    where = [i for i, m in enumerate(got) if m is not None]
    assert where == ([] if warns_at is None else [warns_at])
    assert len(caught) == len(where)
    if warns_at is not None:
        assert f"step {warns_at + 1}: loss = {losses[warns_at]:.4g}" in got[warns_at]


def test_a_lazy_layer_materialised_after_the_guard_is_made():
    """The guard lists the tensors once; a lazy layer keeps them and gets its shapes at
    the first forward: the copies follow, and restore() works on the real shapes."""
    axon.manual_seed(0)
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.Linear(8, 2))
    guard = FiniteGuard(model)
    assert model[0].weight.array.shape == (0,)
    loss_fn = nn.CrossEntropyLoss()
    x, y = next(batches(1))
    with axon.no_grad():
        model(axon.from_numpy(x))  # materialised: (8, 4)
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert guarded_step(model, guard, opt, loss_fn, x, y, 0, 0)[1] is None
    before = snapshot(model)
    opt.param_groups[0]["lr"] = 1e38
    with np.errstate(over="ignore", invalid="ignore"):
        _, problem = guarded_step(model, guard, opt, lambda o, t: loss_fn(o, t) * 1e3, x, y, 0, 1)
    assert problem is not None and "after the optimizer step" in problem
    assert_state_is(model, before)


def test_the_divergence_watch_survives_a_backup_so_a_resumed_run_warns_at_most_once():
    import io

    import axon as ax
    from axon.train import FiniteGuard

    model = ax.nn.Linear(2, 1)
    first = FiniteGuard(model)
    first.watch_loss(0.5, 0, 0)
    with pytest.warns(RuntimeWarning, match="diverging"):
        first.watch_loss(1e9, 0, 1)
    buffer = io.BytesIO()
    ax.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = FiniteGuard(model)
    resumed.load_state_dict(ax.load(buffer))
    assert resumed.state_dict() == first.state_dict() == {"best": [0.5, 0, 0], "warned": True}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resumed.watch_loss(1e12, 0, 2) is None  # warned already, before the backup


def test_step_is_check_update_check_params_then_restore_or_watch():
    import axon as ax

    ax.manual_seed(0)
    model = nn.Linear(3, 2)
    guard = FiniteGuard(model)
    guard.remember()
    before = [p.array.copy() for p in model.parameters()]
    model(ax.ones(4, 3)).sum().backward()

    def overflow():  # a step that makes the weight infinite
        with ax.no_grad():
            model.weight.array[0, 0] = np.inf

    message = guard.step(1.0, 0, 0, overflow)
    assert message is not None and "'weight'" in message
    for p, b in zip(model.parameters(), before, strict=True):
        assert_equal(p.array, b)  # restored
    guard.remember()
    model(ax.ones(4, 3)).sum().backward()
    calls = []
    assert guard.step(1.0, 0, 1, lambda: calls.append(1)) is None and calls == [1]
