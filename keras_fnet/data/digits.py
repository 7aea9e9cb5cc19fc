"""scikit-learn's 8x8 handwritten digits as sequences of vectors.

Real data that ships with a package (`sklearn.datasets.load_digits`, 1797
images, 10 classes), so a feature encoder (`input_kind="features"`) can be
trained and compared across families without a download. An image becomes a
sequence by a layout of `LAYOUTS`: its 8 rows of 8 pixels (`"rows"`, the
default) or its four 4x4 patches of 16 pixels (`"patches"`). Pixels (0..16)
are scaled to [-1, 1].

The split is deterministic: a permutation of all images with `SPLIT_SEED`,
then `SPLIT_SIZES` images for validation and test, the rest for training.

Entry points for the `digits` task (`keras_fnet.data.tasks.sklearn_digits`)
and the studies (`benchmarks.digits` trains models on it):

* `info(layout)`: `num_classes`, the split sizes and `model_overrides`, the
  `EncoderConfig` fields a model needs for this data (feature input, its
  width, the sequence length).
* `load(split, batch_size, shuffle, seed, layout)`: a `tf.data.Dataset` of
  `({"features", "padding_mask"}, labels)`.
* `arrays(split, layout)`: the same as NumPy arrays.

Example:

>>> info()["model_overrides"]
{'input_kind': 'features', 'feature_dim': 8, 'max_sequence_length': 8}
>>> x, y = arrays("test")
>>> x["features"].shape, y.shape
((270, 8, 8), (270,))
"""

import numpy as np

NUM_CLASSES = 10
SPLIT_SEED = 0
SPLIT_SIZES = {"validation": 270, "test": 270}  # The rest (1257) is "train".
SPLITS = ("train", "validation", "test")


def _rows(images):
    return images  # [n, 8 rows, 8 pixels]


def _patches(images):
    # [n, 8, 8] -> [n, 2, 4, 2, 4] -> [n, 2, 2, 4, 4] -> [n, 4 patches, 16 pixels]
    grid = images.reshape(-1, 2, 4, 2, 4).transpose(0, 1, 3, 2, 4)
    return grid.reshape(-1, 4, 16)


# Layout name -> (images [n, 8, 8] -> sequences [n, length, features]).
LAYOUTS = {"rows": _rows, "patches": _patches}


def _check(split, layout):
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; valid splits: {', '.join(SPLITS)}.")
    if layout not in LAYOUTS:
        raise ValueError(f"Unknown layout {layout!r}; valid layouts: {', '.join(LAYOUTS)}.")


def arrays(split, layout="rows"):
    """`({"features": float32 [n, length, features], "padding_mask": int32 [n,
    length]}, labels int32 [n])` of one split."""
    _check(split, layout)
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(digits.target))
    validation, test = SPLIT_SIZES["validation"], SPLIT_SIZES["test"]
    index = {
        "validation": order[:validation],
        "test": order[validation : validation + test],
        "train": order[validation + test :],
    }[split]
    images = digits.images[index].astype("float32") / 8.0 - 1.0
    features = LAYOUTS[layout](images).astype("float32")
    mask = np.ones(features.shape[:2], "int32")
    return {"features": features, "padding_mask": mask}, digits.target[index].astype("int32")


def info(layout="rows"):
    """What a model and a trainer need to know about the task."""
    _check("train", layout)
    length, width = LAYOUTS[layout](np.zeros((1, 8, 8), "float32")).shape[1:]
    return {
        "num_classes": NUM_CLASSES,
        "splits": {"train": 1797 - sum(SPLIT_SIZES.values()), **SPLIT_SIZES},
        "model_overrides": {
            "input_kind": "features",
            "feature_dim": int(width),
            "max_sequence_length": int(length),
        },
    }


def load(split, batch_size, shuffle=False, seed=0, layout="rows"):
    """A `tf.data.Dataset` of `({"features", "padding_mask"}, labels)` batches.

    Args:
        split: `"train"`, `"validation"` or `"test"`.
        batch_size: examples per batch (the last batch may be smaller).
        shuffle: reshuffle the split every epoch, from `seed`.
        seed: shuffle seed.
        layout: a name of `LAYOUTS`.
    """
    import tensorflow as tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}.")
    x, y = arrays(split, layout)
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
