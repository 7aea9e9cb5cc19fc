"""One entry point for every task: `load_task(name, ...)` and `task_info(name)`.

Task names:

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

import os
import tempfile

import numpy as np

from keras_fnet.data import base
from keras_fnet.data import listops
from keras_fnet.data import metrics
from keras_fnet.data import pathfinder
from keras_fnet.data import retrieval as retrieval_lib

_ALIASES = {"c4": "pretrain", "pathfinder32": "pathfinder"}
_PATHFINDER_RESOLUTION = {"pathfinder": 32, "pathfinder64": 64,
                          "pathfinder128": 128}
_GENERATED_SIZES = {
    "listops": {"train": 96000, "validation": 2000, "test": 2000},
    "pathfinder": {"train": 160000, "validation": 20000, "test": 20000},
}
_LRA_SPLITS = ("train", "validation", "test")


def _canonical(name):
    name = _ALIASES.get(name, name)
    if name.startswith("glue/"):
        from keras_fnet.data import tfds_tasks

        if name not in tfds_tasks.GLUE_TASKS:
            raise ValueError(f"Unknown GLUE task {name!r}; choose from "
                             f"{', '.join(tfds_tasks.GLUE_TASKS)}.")
    elif name not in TASK_NAMES:
        raise ValueError(f"Unknown task {name!r}; choose from "
                         f"{', '.join(TASK_NAMES)} or glue/<task>.")
    return name


TASK_NAMES = ("pretrain", "listops", "lra_text", "lra_image", "pathfinder",
              "pathfinder64", "pathfinder128", "retrieval")


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
    name = _canonical(name)
    if name == "pretrain" or name.startswith("glue/"):
        from keras_fnet.data import tfds_tasks
        from keras_fnet.data import tokenizer as tk

        if tokenizer is None and vocabulary is None and not mock:
            vocab, mask_id = tk.F_NET_VOCABULARY_SIZE, None
        else:
            tok = tfds_tasks.resolve_tokenizer(tokenizer, vocabulary, mock)
            vocab, mask_id = int(tok.vocabulary_size()), tok.mask_token_id
        if name == "pretrain":
            return base.TaskInfo(
                name, num_classes=2, vocabulary_size=vocab,
                metrics=("mlm_accuracy", "nsp_accuracy"),
                splits=tfds_tasks.C4_SPLITS, default_max_length=512,
                mask_id=mask_id,
            )
        _, num_classes, splits = tfds_tasks.GLUE_TASKS[name]
        return base.TaskInfo(name, num_classes, vocab,
                             metrics.metric_names(name), splits, 512)
    if name == "listops":
        return base.TaskInfo(name, listops.NUM_CLASSES,
                             listops.VOCABULARY_SIZE, ("accuracy",),
                             _LRA_SPLITS, 2048)
    if name == "lra_text":
        return base.TaskInfo(name, 2, base.BYTE_VOCABULARY_SIZE,
                             ("accuracy",), ("train", "test"), 4096)
    if name == "lra_image":
        return base.TaskInfo(name, 10, base.BYTE_VOCABULARY_SIZE,
                             ("accuracy",), ("train", "test"), 1025)
    if name in _PATHFINDER_RESOLUTION:
        r = _PATHFINDER_RESOLUTION[name]
        return base.TaskInfo(name, 2, base.BYTE_VOCABULARY_SIZE,
                             ("accuracy",), _LRA_SPLITS, r * r + 1)
    return base.TaskInfo("retrieval", 2, base.BYTE_VOCABULARY_SIZE,
                         ("accuracy",), tuple(retrieval_lib.SPLIT_FILES),
                         8192)


def _cache_dir(data_dir):
    return data_dir or os.path.join(os.path.expanduser("~"), ".cache",
                                    "keras_fnet")


def _split_size(kind, split, num_examples):
    sizes = dict(_GENERATED_SIZES[kind])
    if isinstance(num_examples, int):
        return num_examples
    sizes.update(num_examples or {})
    return sizes[split]


def _listops_data(split, max_length, data_dir, mock, mock_examples,
                  num_examples, min_length, generation_max_length, seed):
    gen_max = generation_max_length or min(2000, max_length - 1)
    gen_min = min_length or min(500, gen_max // 4)
    split_seed = seed * 10 + _LRA_SPLITS.index(split)
    if mock:
        rows = listops.generate(mock_examples, gen_min, gen_max, split_seed)
        return [r[0] for r in rows], [r[1] for r in rows]
    n = _split_size("listops", split, num_examples)
    path = os.path.join(_cache_dir(data_dir), "listops",
                        f"len{gen_min}-{gen_max}_seed{seed}", f"{split}_{n}.tsv")
    if not os.path.exists(path):
        print(f"listops: generating {n} {split} examples of length "
              f"{gen_min}..{gen_max} into {path}")
        listops.write_tsv(
            listops.generate(n, gen_min, gen_max, split_seed, verbose=True),
            path)
    sources, targets = listops.read_tsv(path)
    return sources, targets


def _pathfinder_data(split, resolution, difficulty, data_dir, mock,
                     mock_examples, num_examples, seed):
    split_seed = seed * 10 + _LRA_SPLITS.index(split)
    if mock:
        return pathfinder.generate(mock_examples, resolution, difficulty,
                                   split_seed)
    n = _split_size("pathfinder", split, num_examples)
    path = os.path.join(_cache_dir(data_dir), "pathfinder",
                        f"{resolution}_{difficulty}_seed{seed}",
                        f"{split}_{n}.npz")
    if not os.path.exists(path):
        print(f"pathfinder: generating {n} {split} images into {path}")
        images, labels = pathfinder.generate(n, resolution, difficulty,
                                             split_seed, verbose=True)
        pathfinder.save_npz(path, images, labels)
    return pathfinder.load_npz(path)


def _mock_retrieval_dir(num_rows, seed=0):
    """Write small random release-format files; return their directory."""
    rng = np.random.default_rng(seed)
    directory = tempfile.mkdtemp(prefix="keras_fnet_mock_retrieval_")
    words = np.array(["paper", "cite", "model", "graph", "neural", "text"])
    for split_file in retrieval_lib.SPLIT_FILES.values():
        with open(os.path.join(directory, split_file), "w") as f:
            for i in range(num_rows):
                t1 = " ".join(rng.choice(words, rng.integers(5, 60)))
                t2 = " ".join(rng.choice(words, rng.integers(5, 60)))
                f.write(f"{i % 2}.0\tid{i}a\tid{i}b\t{t1}\t{t2}\n")
    return directory


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
            `pathfinder*`: `difficulty` ("hard"), `num_examples`.
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
    name = _canonical(name)
    info = task_info(name) if not name.startswith("glue/") and \
        name != "pretrain" else None
    if info is not None:
        base.check_split(name, split, info.splits)
    if max_length is None:
        max_length = (info.default_max_length if info is not None else 512)
    common = dict(shuffle=shuffle, seed=seed, repeat=repeat,
                  drop_remainder=drop_remainder)
    if name in ("pretrain",) or name.startswith("glue/"):
        from keras_fnet.data import tfds_tasks

        text_kwargs = {k: kwargs.pop(k) for k in
                       ("tokenizer", "vocabulary", "download") if k in kwargs}
        if name == "pretrain":
            extra = {k: kwargs.pop(k) for k in ("max_predictions", "stats")
                     if k in kwargs}
            _no_extra(name, kwargs)
            return tfds_tasks.c4(
                split, batch_size, max_length, data_dir=data_dir,
                seed=seed, repeat=(repeat or None),
                drop_remainder=drop_remainder, mock=mock,
                mock_examples=mock_examples, **text_kwargs, **extra)
        _no_extra(name, kwargs)
        return tfds_tasks.glue(name, split, batch_size, max_length,
                               data_dir=data_dir, mock=mock,
                               mock_examples=mock_examples, **text_kwargs,
                               **common)
    if shuffle is None:
        common["shuffle"] = split.startswith("train")
    if name == "listops":
        keep = kwargs.pop("keep_parentheses", False)
        gen = {k: kwargs.pop(k, None) for k in
               ("num_examples", "min_length", "generation_max_length")}
        _no_extra(name, kwargs)
        sources, targets = _listops_data(
            split, max_length, data_dir, mock, mock_examples,
            gen["num_examples"], gen["min_length"],
            gen["generation_max_length"], seed)
        return listops.make_dataset(sources, targets, max_length, batch_size,
                                    keep_parentheses=keep, **common)
    if name in ("lra_text", "lra_image"):
        from keras_fnet.data import tfds_tasks

        download = kwargs.pop("download", False)
        if name == "lra_text":
            _no_extra(name, kwargs)
            return tfds_tasks.imdb_bytes(
                split, batch_size, max_length, data_dir=data_dir, mock=mock,
                mock_examples=mock_examples, download=download, **common)
        add_cls = kwargs.pop("add_cls", True)
        _no_extra(name, kwargs)
        if max_length == info.default_max_length and not add_cls:
            max_length -= 1
        return tfds_tasks.cifar10_pixels(
            split, batch_size, max_length, add_cls=add_cls,
            data_dir=data_dir, mock=mock, mock_examples=mock_examples,
            download=download, **common)
    if name in _PATHFINDER_RESOLUTION:
        difficulty = kwargs.pop("difficulty", "hard")
        add_cls = kwargs.pop("add_cls", True)
        num_examples = kwargs.pop("num_examples", None)
        _no_extra(name, kwargs)
        r = _PATHFINDER_RESOLUTION[name]
        images, labels = _pathfinder_data(split, r, difficulty, data_dir,
                                          mock, mock_examples, num_examples,
                                          seed)
        if max_length == info.default_max_length and not add_cls:
            max_length -= 1
        return pathfinder.make_dataset(images, labels, batch_size,
                                       max_length, add_cls=add_cls, **common)
    # retrieval
    manual_dir = kwargs.pop("manual_dir", None)
    stats = kwargs.pop("stats", None)
    _no_extra(name, kwargs)
    if mock:
        manual_dir = _mock_retrieval_dir(mock_examples, seed)
    return retrieval_lib.retrieval(split, batch_size, max_length,
                                   manual_dir=manual_dir, data_dir=data_dir,
                                   stats=stats, **common)


def _no_extra(name, kwargs):
    if kwargs:
        raise TypeError(f"Unexpected options for task {name!r}: "
                        f"{', '.join(sorted(kwargs))}.")
