"""The task registry: one object per task, and `get_task(name)`.

Each `Task` knows its description (`info`: classes, vocabulary, metrics,
splits), how to load each split, which split(s) the final evaluation reports
(MNLI: matched *and* mismatched), its training defaults (length, learning
rate, generated examples), its loss kind and what to tell the user when its
data is missing. The training script, the studies and the tests ask the
registry; nobody keeps a parallel table. Adding a task is one `register`
call.

A task is used through `task.prepare(options, work_dir)`, which returns a
`PreparedTask` (`info`, `vocabulary` path or None, `load(split, ...)`). The
built-in tasks need no preparation step; a task that must write files first
(e.g. train a vocabulary into the run directory) passes its own `prepare`.

Generated data (ListOps, Pathfinder) is cached in `data_dir` (default
`~/.cache/keras_fnet`); each cache file is written whole (temporary name,
then rename) with a `.json` sidecar holding its example count and SHA-256,
and a file that does not match its sidecar is generated again.

Example:

>>> from keras_fnet.data.registry import get_task
>>> task = get_task("glue/mnli")
>>> task.eval_splits
('validation_matched', 'validation_mismatched')
>>> prepared = task.prepare({"mock": True})
>>> ds = prepared.load("train", batch_size=4, max_length=32)  # doctest: +SKIP
"""

import dataclasses
import hashlib
import json
import os
import tempfile
from typing import Any, Callable, Optional, Tuple

import numpy as np

from keras_fnet.data import base

KINDS = ("classification", "regression", "pretraining")
_LRA_SPLITS = ("train", "validation", "test")
_TASKS = {}
_ALIASES = {}


@dataclasses.dataclass(frozen=True)
class PreparedTask:
    """A task ready to load: its `info`, vocabulary file and loader.

    Args:
        info: `base.TaskInfo`.
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

    info: base.TaskInfo
    vocabulary: Optional[str]
    load: Callable[..., Any]
    eval_splits: Tuple[str, ...] = ("test",)
    validation_split: str = "validation"
    preprocessor: Optional[Callable[[int], Any]] = None
    model_overrides: Optional[dict] = None


@dataclasses.dataclass(frozen=True)
class Task:
    """One task of the registry.

    Args:
        name: the name users pass (`--task`).
        info: `info(options) -> base.TaskInfo`; `options` is a dict with
            optional `vocabulary`, `tokenizer`, `mock`.
        loader: `loader(split, batch_size, max_length, **load_kwargs)`, the
            keyword arguments of `keras_fnet.data.load_task`.
        kind: "classification", "regression" or "pretraining" (the loss).
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
        options: `load_task` keyword arguments that a training run passes
            from its options (e.g. `vocabulary`, `num_examples`).
        prepare_fn: optional `prepare_fn(task, options, work_dir) ->
            PreparedTask` for tasks that write files before loading.
    """

    name: str
    info: Callable[[dict], base.TaskInfo]
    loader: Callable[..., Any]
    kind: str = "classification"
    eval_splits: Tuple[str, ...] = ("test",)
    validation_split: str = "validation"
    max_length: Optional[int] = None
    min_length: int = 4
    learning_rate: float = 1e-3
    train_examples: Optional[int] = None
    data_help: str = ""
    options: Tuple[str, ...] = ()
    prepare_fn: Optional[Callable[..., PreparedTask]] = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Task {self.name}: kind must be one of {KINDS}, got {self.kind!r}.")

    def default_max_length(self, info):
        return self.max_length or info.default_max_length

    def loss(self, info):
        """`(loss, metrics, weighted_metrics)` for `model.compile`."""
        import keras

        if self.kind == "pretraining":
            import keras_fnet

            return keras_fnet.pretraining_losses()
        if self.kind == "regression":
            return keras.losses.MeanSquaredError(), [], None
        sce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return sce, [keras.metrics.SparseCategoricalAccuracy(name="accuracy")], None

    def prepare(self, options=None, work_dir=None):
        """Resolve the task for a run: `PreparedTask`.

        Args:
            options: dict of run options: `data_dir`, `mock`, `vocabulary`,
                `num_examples` (dict split -> int or an int for train), own
                data (`train_file`, ..., `corpus`, `vocab_size`) ...
            work_dir: the run directory, for tasks that write files (a
                trained vocabulary); a file already there from the same run
                is reused.
        """
        options = dict(options or {})
        if self.prepare_fn is not None:
            return self.prepare_fn(self, options, work_dir)
        info = self.info(options)
        kwargs = {k: options[k] for k in self.options if options.get(k) is not None}

        def load(split, batch_size, max_length, shuffle=None, seed=0, repeat=False,
                 drop_remainder=False):
            return self.loader(split, batch_size, max_length, data_dir=options.get("data_dir"),
                               mock=options.get("mock", False), shuffle=shuffle, seed=seed,
                               repeat=repeat, drop_remainder=drop_remainder, **kwargs)

        return PreparedTask(info, options.get("vocabulary"), load, self.eval_splits,
                            self.validation_split)


def register(task, aliases=()):
    """Add `task` to the registry (and its alias names)."""
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


# ---- Loaders of the built-in tasks -------------------------------------------


def _cache_dir(data_dir):
    return data_dir or os.path.join(os.path.expanduser("~"), ".cache", "keras_fnet")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_whole(path, write):
    """`write(tmp_path)`, then rename to `path` (same directory)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = os.path.join(os.path.dirname(path),
                       f".tmp-{os.getpid()}-{os.path.basename(path)}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def cached(path, count, generate, save, read, log=print):
    """Read the cache file `path` of `count` examples, (re)generating it if needed.

    The file is trusted only when its sidecar `path.json` records the same
    example count and SHA-256; a missing, truncated or damaged file is
    generated again.

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
    _write_whole(path, lambda tmp: save(data, tmp))
    stamp = {"count": count, "sha256": _sha256(path)}
    _write_whole(sidecar, lambda tmp: _dump_json(stamp, tmp))
    data, n = read(path)
    if n != count:
        raise RuntimeError(f"{path}: wrote {count} examples but read back {n}.")
    return data


def _dump_json(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f)


def _split_size(sizes, split, num_examples):
    sizes = dict(sizes)
    if isinstance(num_examples, int):
        return num_examples
    sizes.update(num_examples or {})
    return sizes[split]


def _split_seed(seed, split):
    return seed * 10 + _LRA_SPLITS.index(split)


def _check_count(name, n):
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name}: the number of examples must be an integer >= 1, got {n!r}.")


def _load_listops(split, batch_size, max_length, data_dir=None, mock=False, mock_examples=64,
                  num_examples=None, min_length=None, generation_max_length=None,
                  keep_parentheses=False, seed=0, shuffle=None, **common):
    from keras_fnet.data import listops

    base.check_split("listops", split, _LRA_SPLITS)
    gen_max = generation_max_length or min(2000, max_length - 1)
    gen_min = min_length or min(500, gen_max // 4)
    if mock:
        rows = listops.generate(mock_examples, gen_min, gen_max, _split_seed(seed, split))
        sources, targets = [r[0] for r in rows], [r[1] for r in rows]
    else:
        n = _split_size(listops.LRA_SPLIT_SIZES, split, num_examples)
        _check_count("listops", n)
        path = os.path.join(_cache_dir(data_dir), "listops",
                            f"len{gen_min}-{gen_max}_seed{seed}", f"{split}_{n}.tsv")

        def generate():
            print(f"listops: generating {n} {split} examples of length "
                  f"{gen_min}..{gen_max} into {path}")
            return listops.generate(n, gen_min, gen_max, _split_seed(seed, split), verbose=True)

        def read(p):
            data = listops.read_tsv(p)
            return data, len(data[1])

        sources, targets = cached(path, n, generate, listops.write_tsv, read)
    shuffle = split.startswith("train") if shuffle is None else shuffle
    return listops.make_dataset(sources, targets, max_length, batch_size,
                                keep_parentheses=keep_parentheses, shuffle=shuffle, seed=seed,
                                **common)


_PATHFINDER_SIZES = {"train": 160000, "validation": 20000, "test": 20000}


def _pathfinder_loader(resolution):
    def load(split, batch_size, max_length, data_dir=None, mock=False, mock_examples=64,
             difficulty=None, add_cls=True, num_examples=None, seed=0, shuffle=None,
             **common):
        from keras_fnet.data import pathfinder

        difficulty = difficulty or pathfinder.DEFAULT_DIFFICULTY
        base.check_split(f"pathfinder{resolution}", split, _LRA_SPLITS)
        if mock:
            images, labels = pathfinder.generate(mock_examples, resolution, difficulty,
                                                 _split_seed(seed, split))
        else:
            n = _split_size(_PATHFINDER_SIZES, split, num_examples)
            _check_count("pathfinder", n)
            path = os.path.join(_cache_dir(data_dir), "pathfinder",
                                f"{resolution}_{difficulty}_seed{seed}", f"{split}_{n}.npz")

            def generate():
                print(f"pathfinder: generating {n} {split} images into {path}")
                return pathfinder.generate(n, resolution, difficulty, _split_seed(seed, split),
                                           verbose=True)

            def read(p):
                data = pathfinder.load_npz(p)
                return data, len(data[1])

            images, labels = cached(path, n, generate,
                                    lambda data, p: pathfinder.save_npz(p, *data), read)
        needed = resolution * resolution + 1
        if max_length == needed and not add_cls:
            max_length -= 1
        shuffle = split.startswith("train") if shuffle is None else shuffle
        return pathfinder.make_dataset(images, labels, batch_size, max_length, add_cls=add_cls,
                                       shuffle=shuffle, seed=seed, **common)

    return load


def _mock_retrieval_dir(num_rows, seed=0):
    """Write small random release-format files; return their directory."""
    from keras_fnet.data import retrieval

    rng = np.random.default_rng(seed)
    directory = tempfile.mkdtemp(prefix="keras_fnet_mock_retrieval_")
    words = np.array(["paper", "cite", "model", "graph", "neural", "text"])
    for split_file in retrieval.SPLIT_FILES.values():
        with open(os.path.join(directory, split_file), "w") as f:
            for i in range(num_rows):
                t1 = " ".join(rng.choice(words, rng.integers(5, 60)))
                t2 = " ".join(rng.choice(words, rng.integers(5, 60)))
                f.write(f"{i % 2}.0\tid{i}a\tid{i}b\t{t1}\t{t2}\n")
    return directory


def _load_retrieval(split, batch_size, max_length, data_dir=None, mock=False, mock_examples=64,
                    manual_dir=None, stats=None, seed=0, shuffle=None, **common):
    from keras_fnet.data import retrieval

    base.check_split("retrieval", split, tuple(retrieval.SPLIT_FILES))
    if mock:
        manual_dir = _mock_retrieval_dir(mock_examples, seed)
    shuffle = split.startswith("train") if shuffle is None else shuffle
    return retrieval.retrieval(split, batch_size, max_length, manual_dir=manual_dir,
                               data_dir=data_dir, stats=stats, shuffle=shuffle, seed=seed,
                               **common)


def _load_imdb(split, batch_size, max_length, seed=0, shuffle=None, **kwargs):
    from keras_fnet.data import tfds_tasks

    shuffle = split.startswith("train") if shuffle is None else shuffle
    return tfds_tasks.imdb_bytes(split, batch_size, max_length, seed=seed, shuffle=shuffle,
                                 **kwargs)


def _load_cifar(split, batch_size, max_length, add_cls=True, seed=0, shuffle=None, **kwargs):
    from keras_fnet.data import tfds_tasks

    if max_length == 1025 and not add_cls:
        max_length -= 1
    shuffle = split.startswith("train") if shuffle is None else shuffle
    return tfds_tasks.cifar10_pixels(split, batch_size, max_length, add_cls=add_cls, seed=seed,
                                     shuffle=shuffle, **kwargs)


def _load_c4(split, batch_size, max_length, repeat=False, shuffle=None, **kwargs):
    from keras_fnet.data import tfds_tasks

    del shuffle  # C4 shuffles its train split itself.
    return tfds_tasks.c4(split, batch_size, max_length, repeat=(repeat or None), **kwargs)


def _glue_loader(name):
    def load(split, batch_size, max_length, **kwargs):
        from keras_fnet.data import tfds_tasks

        return tfds_tasks.glue(name, split, batch_size, max_length, **kwargs)

    return load


def _vocabulary_size(options):
    """(size, mask id) of the SentencePiece vocabulary of a text task."""
    from keras_fnet.data import tfds_tasks
    from keras_fnet.data import tokenizer as tk

    if options.get("tokenizer") is None and options.get("vocabulary") is None \
            and not options.get("mock"):
        return tk.F_NET_VOCABULARY_SIZE, None
    tok = tfds_tasks.resolve_tokenizer(options.get("tokenizer"), options.get("vocabulary"),
                                       options.get("mock", False))
    return int(tok.vocabulary_size()), tok.mask_token_id


def _fixed_info(name, num_classes, vocabulary_size, splits, length, metrics=("accuracy",)):
    info = base.TaskInfo(name, num_classes, vocabulary_size, metrics, splits, length)
    return lambda options: info


def _pretrain_info(options):
    from keras_fnet.data import tfds_tasks

    vocab, mask_id = _vocabulary_size(options)
    return base.TaskInfo("pretrain", num_classes=2, vocabulary_size=vocab,
                         metrics=("mlm_accuracy", "nsp_accuracy"), splits=tfds_tasks.C4_SPLITS,
                         default_max_length=512, mask_id=mask_id)


def _glue_info(name):
    def info(options):
        from keras_fnet.data import metrics
        from keras_fnet.data import tfds_tasks

        vocab, _ = _vocabulary_size(options)
        _, num_classes, splits = tfds_tasks.GLUE_TASKS[name]
        return base.TaskInfo(name, num_classes, vocab, metrics.metric_names(name), splits, 512)

    return info


# ---- The built-in tasks ------------------------------------------------------

_TFDS_HELP = ("{dataset} comes from TFDS: on a machine with internet run `tfds build {dataset} "
              "--data_dir DIR`, copy DIR here and pass --data-dir DIR.")
_TEXT_OPTIONS = ("vocabulary", "tokenizer")

def _own_vocabulary(options, work_dir, filename):
    """The vocabulary to use: the given one, or the run's own (trained once, then reused)."""
    if options.get("vocabulary"):
        return options["vocabulary"]
    existing = os.path.join(work_dir, filename)
    return existing if os.path.isfile(existing) else None


def _prepare_pretrain(task, options, work_dir):
    """C4 from TFDS, or the user's own corpus (`options["corpus"]`)."""
    if not options.get("corpus"):
        return Task.prepare(dataclasses.replace(task, prepare_fn=None), options, work_dir)
    from keras_fnet.data import corpus

    data = corpus.CorpusPretrainingData.from_paths(
        options["corpus"], vocabulary=_own_vocabulary(options, work_dir,
                                                      corpus.VOCABULARY_FILENAME),
        vocab_size=options.get("vocab_size") or corpus.DEFAULT_VOCAB_SIZE, work_dir=work_dir,
        seed=options.get("seed", 0), validation_paths=options.get("corpus_validation"))

    def load(split, batch_size, max_length, shuffle=None, seed=0, repeat=False,
             drop_remainder=False):
        return data.load(split, batch_size, max_length, seed=seed,
                         repeat=repeat or split == "train", drop_remainder=drop_remainder)

    return PreparedTask(data.info, data.vocabulary_path, load, ("validation",), "validation")


def _load_own_files(split, batch_size, max_length, **kwargs):
    raise ValueError("this task loads through `get_task(name).prepare(options, work_dir)"
                     ".load(...)`.")


def _prepare_text_classification(task, options, work_dir):
    """The user's own `.csv`/`.tsv`/`.jsonl` files (see `keras_fnet.data.text_files`)."""
    from keras_fnet.data import text_files

    for option in ("train_file", "validation_file"):
        if not options.get(option):
            raise ValueError(f"--{option.replace('_', '-')} is required.")
    data = text_files.TextClassificationData.from_files(
        options["train_file"], options["validation_file"], options.get("test_file"),
        text_column=options.get("text_column") or "text",
        text_pair_column=options.get("text_pair_column"),
        label_column=options.get("label_column") or "label",
        vocabulary=_own_vocabulary(options, work_dir, text_files.VOCABULARY_FILENAME),
        vocab_size=options.get("vocab_size") or text_files.DEFAULT_VOCAB_SIZE,
        work_dir=work_dir)

    def load(split, batch_size, max_length, shuffle=None, seed=0, repeat=False,
             drop_remainder=False):
        return data.load(split, batch_size, max_length, shuffle=bool(shuffle), seed=seed,
                         repeat=repeat, drop_remainder=drop_remainder)

    evals = ("test",) if options.get("test_file") else ("validation",)
    return PreparedTask(data.info, data.vocabulary_path, load, evals, "validation",
                        data.preprocessor)


register(Task(
    "pretrain", _pretrain_info, _load_c4, kind="pretraining", eval_splits=("validation",),
    max_length=128, min_length=8, learning_rate=1e-4, options=_TEXT_OPTIONS,
    prepare_fn=_prepare_pretrain,
    data_help="C4 comes from TFDS: `tfds build c4/en --data_dir DIR` (see the TFDS c4 page for "
    "the manual Common Crawl steps); pass --data-dir DIR and --vocabulary (a SentencePiece "
    "model, e.g. f_net_base_en's vocabulary.spm)."), aliases=("c4",))


def _register_glue():
    from keras_fnet.data import tfds_tasks

    for name, (_, num_classes, splits) in tfds_tasks.GLUE_TASKS.items():
        evals = tuple(s for s in splits if s.startswith("validation"))
        register(Task(
            name, _glue_info(name), _glue_loader(name),
            kind="regression" if num_classes == 1 else "classification", eval_splits=evals,
            validation_split=evals[0], max_length=128, min_length=4, learning_rate=5e-5,
            options=_TEXT_OPTIONS,
            data_help=_TFDS_HELP.format(dataset=name) + " Pass --vocabulary too."))


_register_glue()

register(Task(
    "listops", _fixed_info("listops", 10, 20, _LRA_SPLITS, 2048), _load_listops,
    max_length=256, min_length=16, train_examples=20000, options=("num_examples",)))
register(Task(
    "lra_text", _fixed_info("lra_text", 2, base.BYTE_VOCABULARY_SIZE, ("train", "test"), 4096),
    _load_imdb, validation_split="test", max_length=1024,
    data_help=_TFDS_HELP.format(dataset="imdb_reviews")))
register(Task(
    "lra_image", _fixed_info("lra_image", 10, base.BYTE_VOCABULARY_SIZE, ("train", "test"), 1025),
    _load_cifar, validation_split="test", min_length=1025,
    data_help=_TFDS_HELP.format(dataset="cifar10")))
for _resolution, _names in ((32, ("pathfinder", ("pathfinder32",))),
                            (64, ("pathfinder64", ())), (128, ("pathfinder128", ()))):
    _length = _resolution * _resolution + 1
    register(Task(
        _names[0], _fixed_info(_names[0], 2, base.BYTE_VOCABULARY_SIZE, _LRA_SPLITS, _length),
        _pathfinder_loader(_resolution), min_length=_length, train_examples=160000,
        options=("num_examples",)), aliases=_names[1])
register(Task(
    "retrieval", _fixed_info("retrieval", 2, base.BYTE_VOCABULARY_SIZE,
                             ("train", "validation", "test"), 8192),
    _load_retrieval, max_length=1024, min_length=8,
    data_help="Download the LRA release (lra_release.gz from "
    "github.com/google-research/long-range-arena), and put "
    "lra_release/tsv_data/new_aan_pairs.{train,eval,test}.tsv in DIR/lra_retrieval; "
    "pass --data-dir DIR."))
register(Task(
    "text_classification",
    lambda options: base.TaskInfo("text_classification", 2, 0, ("accuracy",),
                                  ("train", "validation", "test"), 128),
    _load_own_files, eval_splits=("validation",), max_length=128, min_length=4, learning_rate=1e-3,
    prepare_fn=_prepare_text_classification,
    data_help="Pass --train-file and --validation-file (.csv, .tsv or .jsonl with a header "
    "row / JSON keys), and --text-column, --text-pair-column, --label-column as needed."))


def _prepare_digits(task, options, work_dir):
    """scikit-learn's 8x8 digits as sequences of pixel rows (`keras_fnet.data.digits`)."""
    import tensorflow as tf

    from keras_fnet.data import digits

    described = digits.info()
    overrides = described["model_overrides"]
    info = base.TaskInfo("digits", digits.NUM_CLASSES, 1, ("accuracy",), digits.SPLITS,
                         overrides["max_sequence_length"])

    def load(split, batch_size, max_length, shuffle=None, seed=0, repeat=False,
             drop_remainder=False):
        ds = tf.data.Dataset.from_tensor_slices(digits.arrays(split))
        if shuffle:
            ds = ds.shuffle(described["splits"][split], seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

    return PreparedTask(info, None, load, ("test",), "validation", model_overrides=overrides)


register(Task(
    "digits", _fixed_info("digits", 10, 1, ("train", "validation", "test"), 8),
    _load_own_files, min_length=8, max_length=8, prepare_fn=_prepare_digits,
    data_help="scikit-learn ships the digits (`pip install scikit-learn`, in the `data` extra); "
    "nothing is downloaded."))
