"""`load_task(name, ...)` and `task_info(name)`: thin functions over the registry.

Task names (`keras_fnet.data.registry.task_names()`):

| name                  | data                                   | classes |
|-----------------------|----------------------------------------|---------|
| `pretrain` (`c4`)     | TFDS `c4/en`, MLM + NSP                | -       |
| `glue/<task>`         | TFDS GLUE (cola sst2 mrpc qqp stsb mnli qnli rte) | 2 / 3 / 1 (STS-B) |
| `listops`             | generated locally (cached in data_dir) | 10      |
| `lra_text`            | TFDS `imdb_reviews`, bytes             | 2       |
| `lra_image`           | TFDS `cifar10`, grayscale pixels       | 10      |
| `pathfinder` (`pathfinder32`, `pathfinder64`, `pathfinder128`) | generated locally | 2 |
| `retrieval`           | LRA release files in a manual dir      | 2       |

This module imports TensorFlow (data edge).

Example:

>>> from keras_fnet.data import load_task, task_info
>>> info = task_info("listops")
>>> ds = load_task("listops", "train", batch_size=8, max_length=128,
...                mock=True)
>>> features, labels = next(iter(ds))
>>> features["token_ids"].shape, info.num_classes
(TensorShape([8, 128]), 10)
"""

import inspect

from keras_fnet.data import registry

TASK_NAMES = registry.task_names()


def task_info(name, tokenizer=None, vocabulary=None, mock=False):
    """Describe a task: classes, vocabulary size, metrics, splits, length.

    Args:
        name: task name (see the module docstring).
        tokenizer, vocabulary: for `pretrain` and `glue/*`, the vocabulary
            whose size is reported (default: FNet's 32000; with `mock=True`,
            the generated mock vocabulary).
        mock: report the mock vocabulary size.

    Returns:
        `base.TaskInfo`.

    Example:

    >>> task_info("glue/stsb").metrics
    ('pearson', 'spearman')
    """
    return registry.get_task(name).info(
        {"tokenizer": tokenizer, "vocabulary": vocabulary, "mock": mock})


def load_task(name, split="train", batch_size=32, max_length=None,
              data_dir=None, mock=False, shuffle=None, seed=0, repeat=False,
              drop_remainder=False, mock_examples=64, **kwargs):
    """Load any task as a batched `tf.data.Dataset` for `model.fit`.

    Args:
        name: task name (see the module docstring).
        split: a split of the task (`task_info(name).splits`).
        batch_size: examples per batch.
        max_length: sequence length (default `task_info(name)
            .default_max_length`).
        data_dir: TFDS data directory; also the cache of generated
            ListOps/Pathfinder data (default `~/.cache/keras_fnet`).
        mock: offline test run: TFDS tasks read `tfds.testing.mock_data`,
            generated tasks make `mock_examples` examples in memory,
            Retrieval reads small random files.
        shuffle: shuffle examples (default: for the train split).
        seed: seed of shuffling and of the generated data.
        repeat: repeat forever (default False; pretraining repeats its train
            split).
        drop_remainder: drop the last incomplete batch.
        mock_examples: number of examples in mock mode.
        **kwargs: task options:
            `pretrain`/`glue/*`: `tokenizer` or `vocabulary` (SentencePiece
            model path/bytes), `download`; `pretrain`: `max_predictions`
            (80), `stats`.
            `listops`: `num_examples` (int or dict split -> int), `min_length`
            and `generation_max_length` (tree lengths; default
            `min(2000, max_length - 1)` and `min(500, max // 4)`),
            `keep_parentheses`.
            `pathfinder*`: `difficulty` (default `pathfinder.DEFAULT_DIFFICULTY`, "hard"), `num_examples`.
            `lra_image`/`pathfinder*`: `add_cls` (True).
            `retrieval`: `manual_dir` (default `<data_dir>/lra_retrieval`).

    Returns:
        `tf.data.Dataset` of `(features, labels)` batches
        (`(features, labels, sample_weights)` for `pretrain`).

    Example:

    >>> ds = load_task("glue/mrpc", "validation", 4, 64, mock=True)
    >>> sorted(next(iter(ds))[0])
    ['padding_mask', 'segment_ids', 'token_ids']
    """
    task = registry.get_task(name)
    _check_options(task, kwargs)
    if max_length is None:
        max_length = task.info({"mock": mock, **kwargs}).default_max_length
    return task.loader(split, batch_size, max_length, data_dir=data_dir, mock=mock,
                       shuffle=shuffle, seed=seed, repeat=repeat,
                       drop_remainder=drop_remainder, mock_examples=mock_examples, **kwargs)


def _check_options(task, kwargs):
    """A clear `TypeError` for an option the task's loader does not take."""
    parameters = inspect.signature(task.loader).parameters
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        return
    unknown = sorted(set(kwargs) - set(parameters))
    if unknown:
        raise TypeError(f"Unexpected options for task {task.name!r}: {', '.join(unknown)}.")
