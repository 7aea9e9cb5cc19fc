"""Shared pieces of the input pipelines: task descriptions and batching.

This module is part of the data "edge" of the project and uses TensorFlow
(`tf.data`) directly; the batches it produces are plain tensors that
`model.fit` consumes on every Keras backend.

Every pipeline yields `(features, labels)` with

* `features["token_ids"]`: int32 `[B, L]`,
* `features["segment_ids"]`: int32 `[B, L]`,
* `features["padding_mask"]`: int32 `[B, L]`, 1 for real tokens,
* `labels`: int32 `[B]` (classification) or float32 `[B]` (regression).
"""

import dataclasses

import tensorflow as tf

# Ids shared by the byte, pixel and ListOps vocabularies.
PAD_ID = 0
CLS_ID = 1
SEP_ID = 2
# Raw values (bytes 0..255, pixel intensities 0..255) are shifted by this
# amount so that they never collide with the special ids above.
VALUE_OFFSET = 3
BYTE_VOCABULARY_SIZE = 256 + VALUE_OFFSET


@dataclasses.dataclass(frozen=True)
class TaskInfo:
    """What a model needs to know about a task.

    Args:
        name: task name as accepted by `keras_fnet.data.load_task`.
        num_classes: number of output classes; 1 for regression (STS-B).
        vocabulary_size: size of the input vocabulary (ids are in
            `[0, vocabulary_size)`).
        metrics: names of the metrics reported for the task, computed by
            `keras_fnet.data.metrics.compute_metrics`.
        splits: valid split names.
        default_max_length: sequence length used when the caller passes none.
        mask_id: id of the `[MASK]` token (pretraining only).

    Example:

    >>> from keras_fnet.data import task_info
    >>> task_info("listops").num_classes
    10
    """

    name: str
    num_classes: int
    vocabulary_size: int
    metrics: tuple[str, ...]
    splits: tuple[str, ...]
    default_max_length: int
    mask_id: int | None = None

    @property
    def is_regression(self):
        return self.num_classes == 1


def check_split(task_name, split, valid_splits):
    """Raise a clear `ValueError` if `split` is not one of `valid_splits`.

    TFDS slicing syntax is accepted (`"train[:10%]"`); only the part before
    `[` is checked.
    """
    base = split.split("[", 1)[0]
    if base not in valid_splits:
        raise ValueError(
            f"Unknown split {split!r} for task {task_name!r}. "
            f"Valid splits: {', '.join(valid_splits)}."
        )


def pack_single(ids, max_length, add_cls=True):
    """Turn a 1-D int tensor of ids into fixed-length model features.

    Prepends `[CLS]` (if `add_cls`), truncates to `max_length` and pads with
    `PAD_ID`. Works inside `tf.data` maps.

    Args:
        ids: int32 tensor `[n]`.
        max_length: output length.
        add_cls: whether to put `CLS_ID` at position 0.

    Returns:
        dict with `token_ids`, `segment_ids`, `padding_mask`, each int32
        `[max_length]`.
    """
    ids = tf.cast(ids, tf.int32)
    if add_cls:
        ids = tf.concat([[CLS_ID], ids], axis=0)
    ids = ids[:max_length]
    n = tf.shape(ids)[0]
    token_ids = tf.pad(ids, [[0, max_length - n]], constant_values=PAD_ID)
    mask = tf.cast(tf.range(max_length) < n, tf.int32)
    token_ids = tf.ensure_shape(token_ids, [max_length])
    return {
        "token_ids": token_ids,
        "segment_ids": tf.zeros([max_length], tf.int32),
        "padding_mask": tf.ensure_shape(mask, [max_length]),
    }


def pack_pair(ids_a, ids_b, max_length):
    """Pack two id sequences as `[CLS] a [SEP] b [SEP]` with segment ids.

    Each side is truncated to half of the free room (the shorter side gives
    its unused room to the longer one), so that both documents are always
    represented.

    Args:
        ids_a: int32 tensor `[n]`.
        ids_b: int32 tensor `[m]`.
        max_length: output length (at least 3).

    Returns:
        dict with `token_ids`, `segment_ids`, `padding_mask`, each int32
        `[max_length]`.
    """
    room = max_length - 3
    ids_a = tf.cast(ids_a, tf.int32)
    ids_b = tf.cast(ids_b, tf.int32)
    len_a = tf.shape(ids_a)[0]
    len_b = tf.shape(ids_b)[0]
    half = room // 2
    keep_a = tf.minimum(len_a, tf.maximum(half, room - len_b))
    keep_b = tf.minimum(len_b, room - keep_a)
    a = tf.concat([[CLS_ID], ids_a[:keep_a], [SEP_ID]], axis=0)
    b = tf.concat([ids_b[:keep_b], [SEP_ID]], axis=0)
    ids = tf.concat([a, b], axis=0)
    seg = tf.concat(
        [tf.zeros_like(a), tf.ones_like(b)], axis=0
    )
    n = tf.shape(ids)[0]
    pad = [[0, max_length - n]]
    return {
        "token_ids": tf.ensure_shape(tf.pad(ids, pad), [max_length]),
        "segment_ids": tf.ensure_shape(tf.pad(seg, pad), [max_length]),
        "padding_mask": tf.ensure_shape(
            tf.cast(tf.range(max_length) < n, tf.int32), [max_length]
        ),
    }


def finish(
    ds,
    batch_size,
    shuffle=False,
    shuffle_buffer=4096,
    seed=None,
    repeat=False,
    drop_remainder=False,
):
    """Shuffle, repeat, batch and prefetch an example-level dataset.

    Args:
        ds: `tf.data.Dataset` of `(features, labels)` or
            `(features, labels, sample_weights)` examples.
        batch_size: examples per batch.
        shuffle: whether to shuffle (training).
        shuffle_buffer: shuffle buffer size in examples.
        seed: shuffle seed (None: non-deterministic).
        repeat: repeat forever (use with `steps_per_epoch`).
        drop_remainder: drop the last incomplete batch (needed for static
            shapes on TPU and for some distribution strategies).

    Returns:
        The batched, prefetched `tf.data.Dataset`.
    """
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)
