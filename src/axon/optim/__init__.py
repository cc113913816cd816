"""Optimizers with PyTorch's names, defaults and update rules: the base in ``optimizer.py``, one
file per optimizer; learning-rate schedules in ``lr_scheduler``, weight averaging in ``swa_utils``.

``axon.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)``;
``axon.optim.lr_scheduler.StepLR(optimizer, step_size=30)``;
``axon.optim.LBFGS(params).step(closure)``.
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from . import swa_utils  # noqa: I001  (after the optimizers: it builds on lr_scheduler)

__all__ = [
    "ASGD",
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "Rprop",
    "lr_scheduler",
    "swa_utils",
]

from .adafactor import Adafactor  # noqa: E402

__all__ += ["Adafactor"]
