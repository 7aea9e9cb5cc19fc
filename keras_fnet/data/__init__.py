"""Input pipelines for keras-fnet (the data edge: uses TensorFlow, tf.data
and tensorflow-datasets; the model library itself does not).

Modules, one per concern:

* `registry`: one `Task` object per task (`get_task(name)`): info,
  loaders, evaluation splits, training defaults, loss, missing-data help.
* `tasks`: `load_task(name, split, batch_size, max_length, ...)` and
  `task_info(name)`, thin functions over the registry.
* `base`: `TaskInfo`, special ids, packing and batching helpers.
* `metrics`: numpy metrics (accuracy, F1, MCC, Pearson, Spearman).
* `tokenizer`: FNet SentencePiece tokenizer (keras-hub), vocabulary
  training command, byte ids.
* `pretraining`: NSP + MLM example building.
* `tfds_tasks`: C4, GLUE, IMDB bytes (LRA Text), CIFAR-10 pixels (LRA Image).
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

_FROM_TASKS = ("TASK_NAMES", "load_task", "task_info")
_FROM_REGISTRY = ("get_task",)


def __getattr__(name):
    # Imported on first use, so that `python -m keras_fnet.data.listops` (or
    # `.pathfinder`) does not import its own module twice through `tasks`.
    if name in _FROM_TASKS:
        from keras_fnet.data import tasks

        return getattr(tasks, name)
    if name in _FROM_REGISTRY:
        from keras_fnet.data import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'keras_fnet.data' has no attribute {name!r}")

__all__ = ["TaskInfo", "TASK_NAMES", "compute_metrics", "get_task", "load_task",
           "task_info"]
