"""The tests never write into the user's cache: ``tests/conftest.py`` points the per-user
cache at a folder of the session's own, for this process and the ones it starts."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from axon.data import datadir

REAL_CACHE = Path.home() / ".cache" / "axon"  # where the markers went before


def test_a_run_with_no_data_dir_writes_nowhere_under_the_real_home(tmp_path, monkeypatch):
    """With no data folder given, a dataset file is downloaded into the per-user cache
    and its checksum remembered there: both land in the session's cache."""
    monkeypatch.delenv(datadir.ENV_VAR, raising=False)
    source = tmp_path / "upstream.txt"
    source.write_bytes(b"a dataset file\n")
    name = f"h2-{os.getpid()}-{tmp_path.name}.txt"  # found nowhere else
    sha = hashlib.sha256(source.read_bytes()).hexdigest()

    path = datadir.ensure_file(name, "user-cache-test", [source.as_uri()], sha)
    datadir._verified_in_process.clear()  # check it again: the marker is read or written
    assert datadir.verify_file(path, sha) == path

    cache = datadir.cache_dir()
    home = Path.home()
    assert path == cache / "user-cache-test" / name and path.read_bytes() == b"a dataset file\n"
    assert os.environ["XDG_CACHE_HOME"] == str(cache.parent)
    assert not cache.is_relative_to(home) and home not in cache.parents
    assert list((cache / "verified").glob(f"{name}.*")), "the checksum was not remembered"
    assert not (REAL_CACHE / "user-cache-test" / name).exists()
    assert not list((REAL_CACHE / "verified").glob(f"{name}.*"))


def test_the_processes_the_tests_start_get_the_same_cache():
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.environ['XDG_CACHE_HOME'])"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) / "axon" == datadir.cache_dir() != REAL_CACHE
