"""Optimizers (PyTorch's names, defaults and update rules) and learning-rate schedules.

``axon.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)``;
``axon.optim.lr_scheduler.StepLR(optimizer, step_size=30)``.
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]

# more optimizers (torch.optim's names)
from .adadelta import Adadelta  # noqa: E402
from .adamax import Adamax  # noqa: E402
from .nadam import NAdam  # noqa: E402
from .radam import RAdam  # noqa: E402

__all__ += ["Adadelta", "Adamax", "NAdam", "RAdam"]
from .lbfgs import LBFGS  # noqa: E402

__all__ += ["LBFGS"]
from .asgd import ASGD  # noqa: E402
from .rprop import Rprop  # noqa: E402

__all__ += ["ASGD", "Rprop"]
from . import swa_utils  # noqa: E402

__all__ += ["swa_utils"]
