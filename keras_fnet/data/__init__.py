"""Input pipelines for keras-fnet (the data edge: uses TensorFlow, tf.data
and tensorflow-datasets; the model library itself does not).

Modules, one per concern:

* `tasks` (a package, one module per data source): one `Task` object per
  task (`get_task(name)`): info, loaders, evaluation splits, training
  defaults, kind, missing-data help; entered one way,
  `get_task(name).prepare(TaskOptions(...))`; `load_task(name, split,
  batch_size, max_length, ...)` and `task_info(name)` are shorthands.
* `base`: `TaskInfo`, special ids, packing and batching helpers.
* `metrics`: numpy metrics (accuracy, F1, MCC, Pearson, Spearman).
* `tokenizer`: FNet SentencePiece tokenizer (keras-hub), vocabulary
  training command, byte ids.
* `pretraining`: NSP + MLM example building.
* `digits`: scikit-learn's 8x8 digits as feature sequences.
* `listops`, `pathfinder`: Long Range Arena generators (+ command lines).
* `retrieval`: LRA Retrieval (AAN) from the release files.
* `tfds_builders`: TFDS builders `lra_listops`, `lra_pathfinder` (import to
  register).

Example:

>>> from keras_fnet.data import load_task, task_info
>>> ds = load_task("lra_image", "train", batch_size=4, mock=True)  # doctest: +SKIP
"""

from keras_fnet.data.base import TaskInfo
from keras_fnet.data.metrics import compute_metrics

_FROM_TASKS = ("TASK_NAMES", "Task", "TaskOptions", "get_task", "load_task", "task_info",
               "task_names")


def __getattr__(name):
    # Imported on first use, so that `python -m keras_fnet.data.listops` (or
    # `.pathfinder`) does not import its own module twice through `tasks`.
    if name in _FROM_TASKS:
        import importlib

        return getattr(importlib.import_module("keras_fnet.data.tasks"), name)
    raise AttributeError(f"module 'keras_fnet.data' has no attribute {name!r}")


__all__ = ["TaskInfo", "TASK_NAMES", "Task", "TaskOptions", "compute_metrics", "get_task",
           "load_task", "task_info", "task_names"]
