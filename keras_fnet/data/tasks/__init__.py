"""Tasks: one registry (`get_task`, `task_names`), one module per data source.

Modules:

* `base`: `Task`, its typed options `TaskOptions`, `PreparedTask`,
  `register`, `get_task`, the cache of generated data.
* `tfds`: GLUE (`glue/<task>`), `lra_text` (IMDB bytes), `lra_image`
  (CIFAR-10 pixels), and the C4 pipeline, read from TFDS.
* `pretrain`: `pretrain` (alias `c4`): MLM + NSP on C4 or your own corpus.
* `lra`: `listops` and `pathfinder`/`pathfinder64`/`pathfinder128`
  (generated here, cached), `retrieval` (LRA release files).
* `own_files`: `text_classification` on your own `.csv`/`.tsv`/`.jsonl`.
* `sklearn_digits`: `digits`, scikit-learn's 8x8 digits as feature sequences.

A task is entered one way: `get_task(name).prepare(TaskOptions(...))` gives
a `PreparedTask` whose `load(split, batch_size, max_length, ...)` returns
`tf.data` batches. `load_task` and `task_info` are shorthands for it.
Adding a task is one `register(Task(...))` in the module of its source.

This package imports TensorFlow (data edge).

Example:

>>> from keras_fnet.data.tasks import load_task, task_info
>>> info = task_info("listops")
>>> ds = load_task("listops", "train", batch_size=8, max_length=128,
...                mock=True)
>>> features, labels = next(iter(ds))
>>> features["token_ids"].shape, info.num_classes
(TensorShape([8, 128]), 10)
"""

# Registration order is the order of `task_names()` (and of the CLI's list).
from keras_fnet.data.tasks import pretrain  # noqa: F401  isort: skip
from keras_fnet.data.tasks import tfds  # noqa: F401  isort: skip
from keras_fnet.data.tasks import lra  # noqa: F401  isort: skip
from keras_fnet.data.tasks import own_files  # noqa: F401  isort: skip
from keras_fnet.data.tasks import sklearn_digits  # noqa: F401  isort: skip
from keras_fnet.data.tasks.base import (
    COMMON_OPTIONS,
    KINDS,
    PreparedTask,
    Task,
    TaskOptions,
    cached,
    get_task,
    register,
    task_names,
)

TASK_NAMES = task_names()


def prepare(name, options=None):
    """`get_task(name).prepare(options)`: the `PreparedTask` of a task name.

    Args:
        name: a task name of `task_names()` (or an alias such as `c4`).
        options: `TaskOptions` (or a dict of its fields, or None).
    """
    return get_task(name).prepare(options)


def task_info(name, tokenizer=None, vocabulary=None, mock=False):
    """Describe a task: classes, vocabulary size, metrics, splits, length.

    Args:
        name: task name (`task_names()`).
        tokenizer, vocabulary: for `pretrain` and `glue/*`, the vocabulary
            whose size is reported (default: FNet's 32000; with `mock=True`,
            the generated mock vocabulary).
        mock: report the mock vocabulary size.

    Returns:
        `keras_fnet.data.base.TaskInfo`.

    Example:

    >>> task_info("glue/stsb").metrics
    ('pearson', 'spearman')
    """
    return get_task(name).info(TaskOptions(tokenizer=tokenizer, vocabulary=vocabulary,
                                           mock=mock))


def load_task(name, split="train", batch_size=32, max_length=None, data_dir=None, mock=False,
              shuffle=None, seed=0, repeat=False, drop_remainder=False, mock_examples=64,
              **options):
    """Load any task as a batched `tf.data.Dataset` for `model.fit`.

    The same path as a training run: `get_task(name).prepare(TaskOptions(...))`
    then `.load(split, ...)`.

    Args:
        name: task name (`task_names()`).
        split: a split of the task (`task_info(name).splits`).
        batch_size: examples per batch.
        max_length: sequence length (default `task_info(name)
            .default_max_length`).
        data_dir, mock, mock_examples: see `TaskOptions`.
        shuffle: shuffle examples (default: for the train split).
        seed: seed of shuffling and of the generated data.
        repeat: repeat forever (default False; pretraining repeats its train
            split).
        drop_remainder: drop the last incomplete batch.
        **options: the task's other `TaskOptions` fields (`Task.options`),
            e.g. `vocabulary` (`pretrain`, `glue/*`), `num_examples`
            (`listops`, `pathfinder*`), `difficulty` (`pathfinder*`),
            `manual_dir` (`retrieval`), `train_file` (`text_classification`).

    Returns:
        `tf.data.Dataset` of `(features, labels)` batches
        (`(features, labels, sample_weights)` for `pretrain`).

    Raises:
        TypeError: an option the task does not take.

    Example:

    >>> ds = load_task("glue/mrpc", "validation", 4, 64, mock=True)
    >>> sorted(next(iter(ds))[0])
    ['padding_mask', 'segment_ids', 'token_ids']
    """
    task = get_task(name)
    unknown = sorted(set(options) - set(task.accepts()))
    if unknown:
        raise TypeError(f"Unexpected options for task {task.name!r}: {', '.join(unknown)} "
                        f"(it takes {', '.join(task.accepts())}).")
    prepared = task.prepare(TaskOptions(data_dir=data_dir, mock=mock,
                                        mock_examples=mock_examples, seed=seed, **options))
    if max_length is None:
        max_length = prepared.info.default_max_length
    return prepared.load(split, batch_size, max_length, shuffle=shuffle, seed=seed,
                         repeat=repeat, drop_remainder=drop_remainder)


__all__ = ["COMMON_OPTIONS", "KINDS", "TASK_NAMES", "PreparedTask", "Task", "TaskOptions",
           "cached", "get_task", "load_task", "prepare", "register", "task_info", "task_names"]
