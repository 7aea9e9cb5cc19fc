"""The task registry: `Task`, its typed options `TaskOptions`, `get_task(name)`.

Each `Task` knows its description (`info`: classes, vocabulary, metrics,
splits), how to load each split, which split(s) the final evaluation reports
(MNLI: matched *and* mismatched), its training defaults (length, learning
rate, generated examples), its kind (classification, regression or
pretraining: what the loss is) and what to tell the user when its data is
missing. The training script, the studies and the tests ask the registry;
nobody keeps a parallel table. Adding a task is one `register` call in the
module of its source.

A task is used one way: `task.prepare(options)` returns a `PreparedTask`
(`info`, `vocabulary` path or None, `load(split, ...)`). A task whose data is
read straight from its loader needs no preparation step of its own; a task
that must write files first (train a vocabulary into the run directory)
passes its own `prepare_fn`.

Example:

>>> from keras_fnet.data.tasks import TaskOptions, get_task
>>> task = get_task("glue/mnli")
>>> task.eval_splits
('validation_matched', 'validation_mismatched')
>>> prepared = task.prepare(TaskOptions(mock=True))
>>> ds = prepared.load("train", batch_size=4, max_length=32)  # doctest: +SKIP
"""

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

from keras_fnet import fileio

KINDS = ("classification", "regression", "pretraining")
_TASKS = {}
_ALIASES = {}


@dataclasses.dataclass(frozen=True)
class TaskOptions:
    """The options of a run that reach its task (one typed set for every task).

    Each task reads the fields it names in `Task.options`, plus the common
    ones (`data_dir`, `mock`, `mock_examples`, `seed`, `work_dir`); the others
    are ignored.

    Args:
        data_dir: TFDS data directory; also the cache of generated
            ListOps/Pathfinder data (default `~/.cache/keras_fnet`).
        mock: offline test run: TFDS tasks read `tfds.testing.mock_data`,
            generated tasks make `mock_examples` examples in memory,
            Retrieval reads small random files.
        mock_examples: number of examples in mock mode.
        seed: seed of generated data (and of a corpus's held-out split).
        work_dir: the run directory, where a task may write files (a
            trained vocabulary); a file already there is reused.
        vocabulary: SentencePiece model (path or bytes) of `pretrain`,
            `glue/*` and own files.
        tokenizer: an `FNetTokenizer` instead of `vocabulary`.
        download: let TFDS download and prepare its data.
        max_predictions: `pretrain`: masked positions per sequence.
        stats: `pretrain`, `retrieval`: a dict filled with counters.
        num_examples: generated tasks: an int (train) or a dict split -> int.
        min_length, generation_max_length, keep_parentheses: `listops`
            tree lengths and tokens.
        difficulty: `pathfinder*`: "easy", "intermediate" or "hard".
        add_cls: `lra_image`, `pathfinder*`: put `[CLS]` at position 0.
        manual_dir: `retrieval`: the release files
            (default `<data_dir>/lra_retrieval`).
        train_file, validation_file, test_file: `text_classification`: your
            own `.csv`/`.tsv`/`.jsonl` files.
        text_column, text_pair_column, label_column: `text_classification`:
            the columns of those files.
        corpus, corpus_validation: `pretrain`: your own plain-text files or
            directories instead of C4, and its held-out documents.
        vocab_size: size of the vocabulary trained when none is given.

    Example:

    >>> TaskOptions(mock=True, num_examples=8).replace(seed=1).seed
    1
    >>> TaskOptions.from_dict({"mock": True, "colour": "red"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: Unknown task options: colour. Valid options: data_dir, mock, ...
    """

    data_dir: str | None = None
    mock: bool = False
    mock_examples: int = 64
    seed: int = 0
    work_dir: str | None = None
    vocabulary: Any = None
    tokenizer: Any = None
    download: bool = False
    max_predictions: int | None = None
    stats: dict | None = None
    num_examples: int | dict | None = None
    min_length: int | None = None
    generation_max_length: int | None = None
    keep_parentheses: bool = False
    difficulty: str | None = None
    add_cls: bool = True
    manual_dir: str | None = None
    train_file: str | None = None
    validation_file: str | None = None
    test_file: str | None = None
    text_column: str = "text"
    text_pair_column: str | None = None
    label_column: str = "label"
    corpus: tuple[str, ...] | None = None
    corpus_validation: tuple[str, ...] | None = None
    vocab_size: int | None = None

    @classmethod
    def names(cls):
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, values):
        """`TaskOptions` from a dict; a `TypeError` names any unknown key."""
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise TypeError(f"Unknown task options: {', '.join(unknown)}. Valid options: "
                            f"{', '.join(cls.names())}.")
        return cls(**values)

    @classmethod
    def coerce(cls, options):
        """`options` as `TaskOptions` (None: the defaults; a dict: its fields)."""
        if options is None:
            return cls()
        if isinstance(options, cls):
            return options
        if isinstance(options, dict):
            return cls.from_dict(options)
        raise TypeError(f"Expected TaskOptions or a dict, got {type(options).__name__}.")

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def given(self, names):
        """`{name: value}` of the fields in `names` that are set (not None)."""
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}


# Options every loader takes (`Task.loader`'s keyword arguments).
COMMON_OPTIONS = ("data_dir", "mock", "mock_examples", "seed", "work_dir")


@dataclasses.dataclass(frozen=True)
class PreparedTask:
    """A task ready to load: its `info`, vocabulary file and loader.

    Args:
        info: `keras_fnet.data.base.TaskInfo`.
        vocabulary: path of the SentencePiece model the data is tokenized
            with, or None (byte/pixel/ListOps vocabularies).
        load: `load(split, batch_size, max_length, shuffle=None, seed=0,
            repeat=False, drop_remainder=False)` -> `tf.data.Dataset`.
        eval_splits: split(s) of the final evaluation.
        validation_split: split evaluated during training.
        preprocessor: optional `preprocessor(max_length)` -> the preprocessor
            layer the exported model carries (so it predicts on strings).
        model_overrides: `EncoderConfig` fields the data needs (e.g. a
            feature input of a given width and length), or None.
    """

    info: Any
    vocabulary: str | None
    load: Callable[..., Any]
    eval_splits: tuple[str, ...] = ("test",)
    validation_split: str = "validation"
    preprocessor: Callable[[int], Any] | None = None
    model_overrides: dict | None = None


@dataclasses.dataclass(frozen=True)
class Task:
    """One task of the registry.

    Args:
        name: the name users pass (`--task`).
        describe: `describe(options) -> TaskInfo` (`options`: `TaskOptions`);
            call it through `task.info(options)`.
        loader: `loader(split, batch_size, max_length, data_dir=..., mock=...,
            mock_examples=..., seed=..., shuffle=..., repeat=...,
            drop_remainder=..., **options)` -> `tf.data.Dataset`, where
            `options` are the fields of `options` below that are set. Tasks
            with their own `prepare_fn` need none (None).
        kind: "classification", "regression" or "pretraining" (what the loss
            is; the losses themselves are built by the training code).
        eval_splits: split(s) of the final evaluation, all reported.
        validation_split: split evaluated during training.
        max_length: default sequence length for training (short, so that a
            CPU run takes minutes; `info.default_max_length` is the task's
            full length).
        min_length: the shortest sequence the task's packing can hold.
        learning_rate: default peak learning rate.
        train_examples: default number of generated training examples
            (generated tasks only).
        data_help: what to do when the data is missing.
        options: the `TaskOptions` fields the task reads besides
            `COMMON_OPTIONS`.
        prepare_fn: optional `prepare_fn(task, options) -> PreparedTask` for
            tasks that write files before loading.
    """

    name: str
    describe: Callable[[TaskOptions], Any]
    loader: Callable[..., Any] | None = None
    kind: str = "classification"
    eval_splits: tuple[str, ...] = ("test",)
    validation_split: str = "validation"
    max_length: int | None = None
    min_length: int = 4
    learning_rate: float = 1e-3
    train_examples: int | None = None
    data_help: str = ""
    options: tuple[str, ...] = ()
    prepare_fn: Callable[..., PreparedTask] | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Task {self.name}: kind must be one of {KINDS}, got {self.kind!r}.")
        unknown = sorted(set(self.options) - set(TaskOptions.names()))
        if unknown:
            raise ValueError(f"Task {self.name}: unknown options {unknown}; they must be "
                             "fields of TaskOptions.")
        if self.loader is None and self.prepare_fn is None:
            raise ValueError(f"Task {self.name}: give a `loader` or a `prepare_fn`.")

    def info(self, options=None):
        """The task's `TaskInfo` under `options` (`TaskOptions`, a dict or None)."""
        return self.describe(TaskOptions.coerce(options))

    def default_max_length(self, info):
        return self.max_length or info.default_max_length

    def accepts(self):
        """Names of the `TaskOptions` fields this task reads."""
        return COMMON_OPTIONS + tuple(self.options)

    def prepare(self, options=None, work_dir=None):
        """Resolve the task for a run: `PreparedTask`.

        Args:
            options: `TaskOptions` (or a dict of its fields, or None).
            work_dir: shorthand for `options.work_dir`.
        """
        options = TaskOptions.coerce(options)
        if work_dir is not None:
            options = options.replace(work_dir=work_dir)
        if self.prepare_fn is not None:
            return self.prepare_fn(self, options)
        kwargs = options.given(self.options)

        def load(split, batch_size, max_length, shuffle=None, seed=0, repeat=False,
                 drop_remainder=False):
            return self.loader(split, batch_size, max_length, data_dir=options.data_dir,
                               mock=options.mock, mock_examples=options.mock_examples,
                               shuffle=shuffle, seed=seed, repeat=repeat,
                               drop_remainder=drop_remainder, **kwargs)

        return PreparedTask(self.info(options), options.vocabulary, load, self.eval_splits,
                            self.validation_split)


def register(task, aliases=()):
    """Add `task` to the registry (and its alias names); returns it."""
    _TASKS[task.name] = task
    for alias in aliases:
        _ALIASES[alias] = task.name
    return task


def task_names():
    """Registered task names, in registration order."""
    return tuple(_TASKS)


def get_task(name):
    """The registered `Task` called `name` (or an alias such as `c4`).

    Raises:
        ValueError: unknown name; the message lists the valid ones.
    """
    task = _TASKS.get(_ALIASES.get(name, name))
    if task is None:
        raise ValueError(f"Unknown task {name!r}; choose from {', '.join(_TASKS)}.")
    return task


def fixed_info(name, num_classes, vocabulary_size, splits, length, metrics=("accuracy",)):
    """A `describe` function for a task whose info does not depend on its options."""
    from keras_fnet.data.base import TaskInfo

    info = TaskInfo(name, num_classes, vocabulary_size, metrics, splits, length)
    return lambda options: info


def own_vocabulary(options, filename):
    """The vocabulary to use: the given one, or the run's own (trained once, then reused);
    None when there is neither (the task trains one into `options.work_dir`)."""
    if options.vocabulary:
        return options.vocabulary
    if options.work_dir is None:
        return None
    existing = os.path.join(options.work_dir, filename)
    return existing if os.path.isfile(existing) else None


def require_work_dir(task, options):
    """A clear error when a task must train a vocabulary but has nowhere to write it."""
    if not options.vocabulary and options.work_dir is None:
        raise ValueError(f"task {task.name} trains its vocabulary when none is given: pass "
                         "`vocabulary` or a `work_dir` to write it to.")


# ---- The cache of generated data ----------------------------------------------


def cache_dir(data_dir):
    return data_dir or os.path.join(os.path.expanduser("~"), ".cache", "keras_fnet")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached(path, count, generate, save, read, log=print):
    """Read the cache file `path` of `count` examples, (re)generating it if needed.

    The file is trusted only when its sidecar `path.json` records the same
    example count and SHA-256; a missing, truncated or damaged file is
    generated again. Each file is written whole (temporary name, then rename).

    Args:
        path: the cache file.
        count: the number of examples it must hold.
        generate: `() -> data` to build the examples.
        save: `save(data, path)` writes them.
        read: `read(path) -> (data, number of examples)`.
        log: where the messages go.

    Returns:
        The data as returned by `read`.
    """
    sidecar = path + ".json"
    try:
        with open(sidecar) as f:
            expected = json.load(f)
        if expected.get("count") == count and expected.get("sha256") == _sha256(path):
            data, n = read(path)
            if n == count:
                return data
        log(f"cache {path} does not match its checksum or count: generating it again")
    except (OSError, ValueError):
        if os.path.exists(path):
            log(f"cache {path} has no valid checksum file: generating it again")
    data = generate()
    with fileio.whole_file(path) as tmp:
        save(data, tmp)
    fileio.write_file(sidecar, json.dumps({"count": count, "sha256": _sha256(path)}))
    data, n = read(path)
    if n != count:
        raise RuntimeError(f"{path}: wrote {count} examples but read back {n}.")
    return data
