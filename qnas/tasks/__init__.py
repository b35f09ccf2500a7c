"""Tasks a candidate is scored on: classification datasets, VQE Hamiltonians, target states.

Build one with `make_task(name, **kwargs)` or `make_task(task.config())`; see TASK_NAMES.
"""

from qnas.tasks.base import Task
from qnas.tasks.classification import ClassificationTask
from qnas.tasks.registry import TASK_NAMES, make_task, task_kwargs
from qnas.tasks.state_prep import StatePrepTask
from qnas.tasks.vqe import VQETask

__all__ = ["Task", "ClassificationTask", "VQETask", "StatePrepTask", "make_task", "task_kwargs", "TASK_NAMES"]
