"""LRA Retrieval (ACL Anthology Network pairs) from the LRA release files.

LRA distributes the task as `lra_release/tsv_data/new_aan_pairs.{train,eval,
test}.tsv`, tab-separated without header: `label, id1, id2, text1, text2`
(label 1 when one paper cites the other). Download
`https://storage.googleapis.com/long-range-arena/lra_release.gz` on a machine
with internet access, extract it and put the three files in a manual
directory (default `<data_dir>/lra_retrieval/`).

Each pair is packed byte-level as `[CLS] text1 [SEP] text2 [SEP]` with
segment ids 0/1, each document getting half of the sequence (LRA encodes
the two documents separately, 4K bytes each, in a two-tower model).
Malformed rows (not 5 fields, bad label) are skipped and counted.

This module imports TensorFlow (data edge).
"""

import os
import sys

import tensorflow as tf

from keras_fnet.data import base

SPLIT_FILES = {
    "train": "new_aan_pairs.train.tsv",
    "validation": "new_aan_pairs.eval.tsv",
    "test": "new_aan_pairs.test.tsv",
}


def split_path(manual_dir, split):
    """Path of the release file of `split`, with a clear error if absent."""
    base.check_split("retrieval", split, tuple(SPLIT_FILES))
    path = os.path.join(manual_dir, SPLIT_FILES[split.split("[")[0]])
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"LRA Retrieval file {path} not found. Download "
            f"https://storage.googleapis.com/long-range-arena/lra_release.gz, "
            f"extract it and copy lra_release/tsv_data/new_aan_pairs."
            f"{{train,eval,test}}.tsv into {manual_dir}."
        )
    return path


def read_rows(path, stats=None):
    """Yield `(label, text1, text2)` from a release file; bad rows counted."""
    stats = stats if stats is not None else {}
    stats.setdefault("rows", 0)
    stats.setdefault("skipped", 0)
    with open(path, "rb") as f:
        for line in f:
            fields = line.rstrip(b"\r\n").split(b"\t")
            try:
                if len(fields) != 5:
                    raise ValueError
                label = int(float(fields[0]))
                if label not in (0, 1):
                    raise ValueError
            except ValueError:
                stats["skipped"] += 1
                continue
            stats["rows"] += 1
            yield label, fields[3], fields[4]
    if stats["skipped"]:
        print(f"retrieval: skipped {stats['skipped']} malformed rows in "
              f"{path}", file=sys.stderr)


def retrieval(split, batch_size, max_length=4096, manual_dir=None,
              data_dir=None, shuffle=None, seed=None, repeat=False,
              drop_remainder=False, stats=None):
    """LRA Retrieval as `(features, labels)` batches.

    Args:
        split: "train", "validation" (the release's eval file) or "test".
        batch_size: examples per batch.
        max_length: packed length of the pair.
        manual_dir: directory with the release files (default
            `<data_dir>/lra_retrieval`).
        data_dir: used to find the default `manual_dir`.
        shuffle: shuffle (default: for train).
        seed, repeat, drop_remainder: see `base.finish`.
        stats: optional dict filled with row counts.

    Returns:
        `tf.data.Dataset` of `(features, labels)` batches.

    Example:

    >>> ds = retrieval("test", 8, manual_dir="lra_release/tsv_data")  # doctest: +SKIP
    """
    if manual_dir is None:
        if data_dir is None:
            raise ValueError("Pass manual_dir (or data_dir) for Retrieval.")
        manual_dir = os.path.join(data_dir, "lra_retrieval")
    path = split_path(manual_dir, split)
    ds = tf.data.Dataset.from_generator(
        lambda: read_rows(path, stats),
        output_signature=(
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.string),
            tf.TensorSpec([], tf.string),
        ),
    )

    def preprocess(label, text1, text2):
        a = tf.cast(tf.io.decode_raw(text1, tf.uint8), tf.int32)
        b = tf.cast(tf.io.decode_raw(text2, tf.uint8), tf.int32)
        features = base.pack_pair(a + base.VALUE_OFFSET,
                                  b + base.VALUE_OFFSET, max_length)
        return features, label

    training = split.startswith("train")
    shuffle = training if shuffle is None else shuffle
    ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    return base.finish(ds, batch_size, shuffle=shuffle, seed=seed,
                       repeat=repeat, drop_remainder=drop_remainder)
