"""The task registry, now `keras_fnet.data.tasks` (kept so that old imports work).

Example:

>>> from keras_fnet.data.registry import get_task
>>> get_task("glue/mnli").eval_splits
('validation_matched', 'validation_mismatched')
"""

from keras_fnet.data.tasks import (  # noqa: F401
    KINDS,
    PreparedTask,
    Task,
    TaskOptions,
    cached,
    get_task,
    register,
    task_names,
)
from keras_fnet.data.tasks.base import _ALIASES, _TASKS  # noqa: F401
