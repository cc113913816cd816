"""Shared test setup: a fixed seed per test, grad mode restored, the ``slow`` marker, and
a per-user cache of the session's own."""

import os

import numpy as np
import pytest

import axon
from axon.autograd.grad_mode import grad_mode

try:  # torch is the oracle: one thread keeps its many tiny calls fast on a busy 2-core box
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - the test extra installs torch
    pass

# NumPy asks the kernel for transparent huge pages on every array of 4 MB or more
# (madvise); on this suite's VMs that made the first touch of new memory about 10x slower
# (a 520 MB array: 2.8-5 s against 0.3 s). The values are the same either way.
try:
    from numpy._core.multiarray import _set_madvise_hugepage
except ImportError:  # pragma: no cover - NumPy 1.26
    from numpy.core.multiarray import _set_madvise_hugepage
_set_madvise_hugepage(False)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolate():
    """Each test starts seeded and with grad enabled, and cannot leak either."""
    axon.manual_seed(0)
    np.random.seed(0)
    grad_mode.enabled = True
    yield
    grad_mode.enabled = True


@pytest.fixture(autouse=True, scope="session")
def _private_user_cache(tmp_path_factory):
    """The per-user cache (``$XDG_CACHE_HOME``, where axon keeps its checksum markers and
    its default data folder, :func:`axon.data.datadir.cache_dir`) is a folder of the
    session's own, for this process and every process it starts: the tests never write
    into the user's ``~/.cache``. ``AXON_DATA_DIR`` stays as the tests set it."""
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if saved is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = saved
