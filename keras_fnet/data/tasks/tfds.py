"""Tasks whose data comes from TFDS: GLUE, IMDB bytes (LRA Text), CIFAR-10
pixels (LRA Image), and the C4 pipeline of `pretrain`.

Nothing is downloaded unless `download=True` is passed: the datasets must be
prepared in `data_dir` beforehand (`tfds build glue/cola --data_dir DIR`,
which needs internet access). `mock=True` replaces the data with
`tfds.testing.mock_data` (random examples with the right structure), so the
whole pipeline can run offline.

This module imports TensorFlow, tensorflow-datasets and keras-hub (data edge).

Example:

>>> from keras_fnet.data.tasks import tfds
>>> ds = tfds.glue("glue/sst2", "train", 8, 128, mock=True)  # doctest: +SKIP
>>> features, labels = next(iter(ds))  # doctest: +SKIP
"""

import contextlib

import tensorflow as tf

from keras_fnet.data import base
from keras_fnet.data.tasks.base import Task, fixed_info, register

# GLUE task -> (text features, number of classes, splits). The order of the
# text features is the order of the packed segments.
_STANDARD_SPLITS = ("train", "validation", "test")
GLUE_TASKS = {
    "glue/cola": (("sentence",), 2, _STANDARD_SPLITS),
    "glue/sst2": (("sentence",), 2, _STANDARD_SPLITS),
    "glue/mrpc": (("sentence1", "sentence2"), 2, _STANDARD_SPLITS),
    "glue/qqp": (("question1", "question2"), 2, _STANDARD_SPLITS),
    "glue/stsb": (("sentence1", "sentence2"), 1, _STANDARD_SPLITS),
    "glue/mnli": (
        ("premise", "hypothesis"),
        3,
        ("train", "validation_matched", "validation_mismatched",
         "test_matched", "test_mismatched"),
    ),
    "glue/qnli": (("question", "sentence"), 2, _STANDARD_SPLITS),
    "glue/rte": (("sentence1", "sentence2"), 2, _STANDARD_SPLITS),
}
C4_NAME = "c4/en"
C4_SPLITS = ("train", "validation")
IMDB_SPLITS = ("train", "test")
CIFAR_SPLITS = ("train", "test")


def _load(name, split, data_dir, shuffle_files, mock, mock_examples,
          download):
    """`tfds.load` with a clear error when the data is not prepared."""
    import tensorflow_datasets as tfds

    if mock:
        ctx = tfds.testing.mock_data(
            num_examples=mock_examples,
            policy=tfds.testing.MockPolicy.USE_CODE,
        )
    else:
        ctx = contextlib.nullcontext()
        if not download:
            builder = tfds.builder(name, data_dir=data_dir)
            if not builder.is_prepared():
                where = data_dir or "~/tensorflow_datasets"
                raise FileNotFoundError(
                    f"TFDS dataset {name!r} is not prepared in {where}. "
                    f"Prepare it on a machine with internet access with "
                    f"`tfds build {name} --data_dir {where}` (C4 needs the "
                    f"manual Common Crawl steps of the TFDS c4 page) and copy "
                    f"the directory here, pass download=True, or use "
                    f"mock=True for a test run."
                )
    with ctx:
        return tfds.load(name, split=split, data_dir=data_dir,
                         shuffle_files=shuffle_files, download=download)


def _sanitize(text):
    """Replace invalid UTF-8 so SentencePiece never fails half-way."""
    return tf.strings.unicode_transcode(text, "UTF-8", "UTF-8",
                                        errors="replace")


def resolve_tokenizer(tokenizer=None, vocabulary=None, mock=False):
    """Return an `FNetTokenizer` from an object, a vocabulary file, or (mock)
    a small generated vocabulary."""
    from keras_fnet.data import tokenizer as tk

    if tokenizer is not None:
        return tokenizer
    if vocabulary is not None:
        return tk.load_tokenizer(vocabulary)
    if mock:
        return tk.load_tokenizer(tk.mock_vocabulary())
    raise ValueError(
        "This task needs a SentencePiece vocabulary: pass vocabulary=PATH "
        "(e.g. the f_net_base_en vocabulary.spm, or one trained with "
        "`python -m keras_fnet.data.tokenizer`) or tokenizer=..."
    )


def glue(name, split, batch_size, max_length=512, tokenizer=None,
         vocabulary=None, data_dir=None, shuffle=None, seed=None,
         repeat=False, drop_remainder=False, mock=False, mock_examples=64,
         download=False):
    """A GLUE task as `(features, labels)` batches.

    Segments are packed as `[CLS] a [SEP] b [SEP]` with keras-hub's
    `MultiSegmentPacker` (round-robin truncation to `max_length`). Labels are
    int32 class ids, float32 scores for STS-B; GLUE test splits have label -1.

    Args:
        name: "glue/cola", "glue/sst2", "glue/mrpc", "glue/qqp", "glue/stsb",
            "glue/mnli", "glue/qnli" or "glue/rte".
        split: a split of the task (MNLI: validation_matched, ...).
        batch_size: examples per batch.
        max_length: sequence length.
        tokenizer: an `FNetTokenizer`; or give `vocabulary`.
        vocabulary: path/bytes of a SentencePiece model.
        data_dir: TFDS data directory.
        shuffle: shuffle examples (default: for train splits).
        seed: shuffle seed.
        repeat: repeat forever.
        drop_remainder: drop the last incomplete batch.
        mock: use `tfds.testing.mock_data` (offline test run).
        mock_examples: number of mock examples.
        download: allow TFDS to download and prepare the data.

    Returns:
        `tf.data.Dataset` of `(features, labels)` batches.
    """
    import keras_hub

    if name not in GLUE_TASKS:
        raise ValueError(f"Unknown GLUE task {name!r}; choose from "
                         f"{', '.join(GLUE_TASKS)}.")
    keys, num_classes, splits = GLUE_TASKS[name]
    base.check_split(name, split, splits)
    tokenizer = resolve_tokenizer(tokenizer, vocabulary, mock)
    training = split.startswith("train")
    shuffle = training if shuffle is None else shuffle
    ds = _load(name, split, data_dir, shuffle_files=shuffle, mock=mock,
               mock_examples=mock_examples, download=download)
    cls_id = tokenizer.cls_token_id
    sep_id = tokenizer.sep_token_id
    pad_id = tokenizer.pad_token_id
    packer = keras_hub.layers.MultiSegmentPacker(
        sequence_length=max_length, start_value=cls_id, end_value=sep_id,
        pad_value=pad_id, truncate="round_robin",
    )
    label_dtype = tf.float32 if num_classes == 1 else tf.int32

    def preprocess(batch):
        segments = tuple(tokenizer(_sanitize(batch[k])) for k in keys)
        token_ids, segment_ids = packer(segments)
        token_ids = tf.cast(token_ids, tf.int32)
        features = {
            "token_ids": token_ids,
            "segment_ids": tf.cast(segment_ids, tf.int32),
            "padding_mask": tf.cast(token_ids != pad_id, tf.int32),
        }
        return features, tf.cast(batch["label"], label_dtype)

    if shuffle:
        ds = ds.shuffle(4096, seed=seed)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def c4(split, batch_size, max_length=512, tokenizer=None, vocabulary=None,
       data_dir=None, max_predictions=80, seed=0, repeat=None,
       drop_remainder=True, mock=False, mock_examples=64, download=False,
       stats=None):
    """C4 pretraining batches (MLM + NSP), see `pretraining.py`.

    Args:
        split: "train" or "validation".
        batch_size, max_length, max_predictions, seed: see
            `pretraining.pretraining_dataset`.
        tokenizer, vocabulary, data_dir, mock, mock_examples, download: see
            `glue`.
        repeat: repeat forever (default: for train).
        drop_remainder: drop the last incomplete batch (default True).
        stats: optional dict filled with counters (documents, examples,
            skipped empty lines, truncated lines).

    Returns:
        `tf.data.Dataset` of `(features, labels, sample_weights)` batches.
    """
    from keras_fnet.data import pretraining

    base.check_split("pretrain", split, C4_SPLITS)
    tokenizer = resolve_tokenizer(tokenizer, vocabulary, mock)
    training = split.startswith("train")
    repeat = training if repeat is None else repeat
    ds = _load(C4_NAME, split, data_dir, shuffle_files=training, mock=mock,
               mock_examples=mock_examples, download=download)
    documents = ds.map(lambda ex: ex["text"])
    return pretraining.pretraining_dataset(
        documents, tokenizer, batch_size, max_length=max_length,
        max_predictions=max_predictions, seed=seed,
        shuffle_buffer=1024 if training else 0,
        drop_remainder=drop_remainder, repeat=repeat, stats=stats,
        # Mock documents are single random lines: the official pairing would
        # drop every one of them, so a dry run splits them instead.
        pairing="truncate" if mock else "official",
    )


def imdb_bytes(split, batch_size, max_length=4096, data_dir=None,
               shuffle=None, seed=None, repeat=False, drop_remainder=False,
               mock=False, mock_examples=64, download=False):
    """LRA Text: IMDB reviews as byte sequences (`[CLS]` + bytes + 3).

    Reviews longer than `max_length - 1` bytes are truncated (LRA: 4K).

    Args:
        split: "train" or "test".
        Others: see `glue`.

    Returns:
        `tf.data.Dataset` of `(features, labels)` batches, 2 classes.
    """
    from keras_fnet.data import tokenizer as tk

    base.check_split("lra_text", split, IMDB_SPLITS)
    training = split.startswith("train")
    shuffle = training if shuffle is None else shuffle
    ds = _load("imdb_reviews", split, data_dir, shuffle_files=shuffle,
               mock=mock, mock_examples=mock_examples, download=download)

    def preprocess(ex):
        ids = tk.byte_ids(ex["text"])
        return (base.pack_single(ids, max_length),
                tf.cast(ex["label"], tf.int32))

    ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    return base.finish(ds, batch_size, shuffle=shuffle, seed=seed,
                       repeat=repeat, drop_remainder=drop_remainder)


def cifar10_pixels(split, batch_size, max_length=None, add_cls=True,
                   data_dir=None, shuffle=None, seed=None, repeat=False,
                   drop_remainder=False, mock=False, mock_examples=64,
                   download=False):
    """LRA Image: CIFAR-10 as 1024 grayscale pixel tokens (value + 3).

    Args:
        split: "train" or "test".
        max_length: default 1024 + `add_cls`; must hold the whole image.
        add_cls: put `[CLS]` at position 0.
        Others: see `glue`.

    Returns:
        `tf.data.Dataset` of `(features, labels)` batches, 10 classes.
    """
    base.check_split("lra_image", split, CIFAR_SPLITS)
    needed = 1024 + int(add_cls)
    max_length = needed if max_length is None else max_length
    if max_length < needed:
        raise ValueError(
            f"max_length={max_length} cannot hold a 32x32 image ({needed} "
            f"tokens with add_cls={add_cls})."
        )
    training = split.startswith("train")
    shuffle = training if shuffle is None else shuffle
    ds = _load("cifar10", split, data_dir, shuffle_files=shuffle, mock=mock,
               mock_examples=mock_examples, download=download)

    def preprocess(ex):
        gray = tf.image.rgb_to_grayscale(ex["image"])  # uint8 [32, 32, 1]
        ids = tf.cast(tf.reshape(gray, [-1]), tf.int32) + base.VALUE_OFFSET
        return (base.pack_single(ids, max_length, add_cls=add_cls),
                tf.cast(ex["label"], tf.int32))

    ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    return base.finish(ds, batch_size, shuffle=shuffle, seed=seed,
                       repeat=repeat, drop_remainder=drop_remainder)


# ---- The tasks -----------------------------------------------------------------

_HELP = ("{dataset} comes from TFDS: on a machine with internet run `tfds build {dataset} "
         "--data_dir DIR`, copy DIR here and pass --data-dir DIR.")
TEXT_OPTIONS = ("vocabulary", "tokenizer", "download")


def text_vocabulary(options):
    """(size, mask id) of the SentencePiece vocabulary of a text task (`TaskOptions`)."""
    from keras_fnet.data import tokenizer as tk

    if options.tokenizer is None and options.vocabulary is None and not options.mock:
        return tk.F_NET_VOCABULARY_SIZE, None
    tok = resolve_tokenizer(options.tokenizer, options.vocabulary, options.mock)
    return int(tok.vocabulary_size()), tok.mask_token_id


def _glue_info(name):
    def describe(options):
        from keras_fnet.data import metrics

        vocab, _ = text_vocabulary(options)
        _, num_classes, splits = GLUE_TASKS[name]
        return base.TaskInfo(name, num_classes, vocab, metrics.metric_names(name), splits, 512)

    return describe


def _glue_loader(name):
    def load(split, batch_size, max_length, **kwargs):
        return glue(name, split, batch_size, max_length, **kwargs)

    return load


def _load_imdb(split, batch_size, max_length, seed=0, shuffle=None, **kwargs):
    shuffle = split.startswith("train") if shuffle is None else shuffle
    return imdb_bytes(split, batch_size, max_length, seed=seed, shuffle=shuffle, **kwargs)


def _load_cifar(split, batch_size, max_length, add_cls=True, seed=0, shuffle=None, **kwargs):
    if max_length == 1025 and not add_cls:
        max_length -= 1
    shuffle = split.startswith("train") if shuffle is None else shuffle
    return cifar10_pixels(split, batch_size, max_length, add_cls=add_cls, seed=seed,
                          shuffle=shuffle, **kwargs)


for _name, (_, _num_classes, _splits) in GLUE_TASKS.items():
    _evals = tuple(s for s in _splits if s.startswith("validation"))
    register(Task(
        _name, _glue_info(_name), _glue_loader(_name),
        kind="regression" if _num_classes == 1 else "classification", eval_splits=_evals,
        validation_split=_evals[0], max_length=128, min_length=4, learning_rate=5e-5,
        options=TEXT_OPTIONS, data_help=_HELP.format(dataset=_name) + " Pass --vocabulary too."))

register(Task(
    "lra_text", fixed_info("lra_text", 2, base.BYTE_VOCABULARY_SIZE, IMDB_SPLITS, 4096),
    _load_imdb, validation_split="test", max_length=1024, options=("download",),
    data_help=_HELP.format(dataset="imdb_reviews")))
register(Task(
    "lra_image", fixed_info("lra_image", 10, base.BYTE_VOCABULARY_SIZE, CIFAR_SPLITS, 1025),
    _load_cifar, validation_split="test", min_length=1025, options=("add_cls", "download"),
    data_help=_HELP.format(dataset="cifar10")))
