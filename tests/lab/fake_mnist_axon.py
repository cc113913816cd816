"""The ``axon`` command on fake MNIST files, for tests that run it in other processes:
MNIST's table of checksums is replaced by the fake files' (a JSON file named by
``AXON_TEST_MNIST_FILES``), no mirror is tried, and ``--nproc N`` launches this same
script on the ranks, so that they read the fake files too.

    AXON_TEST_MNIST_FILES=files.json python tests/lab/fake_mnist_axon.py run NAME ...
"""

import json
import os
import sys
from pathlib import Path

from axon.cli import main
from axon.data import MNIST
from axon.distributed import launch

table = json.loads(Path(os.environ["AXON_TEST_MNIST_FILES"]).read_text())
MNIST.files = {name: (sha256, size) for name, (sha256, size) in table.items()}
MNIST.mirrors = []
launch.PROGRAM = [sys.executable, str(Path(__file__).resolve())]
sys.exit(main())
