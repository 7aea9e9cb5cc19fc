"""`PreprocessorMixin`: a model that carries its preprocessor, as keras-hub's
`Task` does.

A model with `self.preprocessor` set takes raw inputs in `fit`, `evaluate`
and `predict`: strings (a list, a numpy array, a tuple of two for text
pairs) or a `tf.data.Dataset` of them. They are batched with `tf.data` and
mapped through the preprocessor there (on every backend: Keras feeds
`tf.data` to JAX and PyTorch too), so the model itself only ever sees
integer tensors. Inputs that hold no strings (the integer feature dicts of
the task pipelines) go to the model untouched. Text and labels given as lists
or arrays are checked first: an item that is not a str/bytes, an empty list, a
pair of unequal lengths, a label that is not a class name or a class id of the
model raise `TextInputError` naming the item.

The preprocessor is part of the model's config (`preprocessor_config`), so a
`.keras` file restores it, its tokenizer's vocabulary (an asset) and its
label names.

This module imports only keras; TensorFlow is imported when strings arrive.
"""

import keras
import numpy as np


def holds_strings(data):
    """Whether any leaf of `data` (arrays, lists, tensors, a dataset) is text."""
    if hasattr(data, "element_spec"):
        specs = keras.tree.flatten(data.element_spec)
        return any(getattr(s, "dtype", None) is not None and s.dtype.name == "string"
                   for s in specs)
    if isinstance(data, (tuple, dict)):
        values = data.values() if isinstance(data, dict) else data
        return any(holds_strings(v) for v in values)
    if isinstance(data, (str, bytes)):
        return True
    if isinstance(data, list):
        return any(isinstance(v, (str, bytes)) or holds_strings(v) for v in data)
    dtype = getattr(data, "dtype", None)
    if isinstance(data, np.ndarray):
        return dtype.kind in "USO"
    return dtype is not None and "string" in str(dtype)


class TextInputError(ValueError):
    """Text (or labels) that a model's preprocessor cannot take; the message names the item."""


_TEXT_TYPES = (str, bytes, np.str_, np.bytes_)


def check_texts(x, name="x"):
    """`x` as a list of texts, or a tuple of two lists (pairs), every item a str or bytes.

    Tensors pass unchecked (their dtype says what they hold). Raises `TextInputError`
    naming the first item that is not a text, an empty list, or a pair of unequal lengths.
    """
    if isinstance(x, tuple):
        if len(x) not in (1, 2) or any(isinstance(s, _TEXT_TYPES) for s in x):
            raise TextInputError(f"{name}: a tuple is a text pair, two lists of texts of one "
                                 f"length; got a tuple of {len(x)} "
                                 f"{', '.join(sorted({type(s).__name__ for s in x}))}.")
        parts = tuple(check_texts(s, f"{name}[{i}]") for i, s in enumerate(x))
        lengths = [len(p) for p in parts if isinstance(p, list)]
        if len(set(lengths)) > 1:
            raise TextInputError(f"{name}: the texts of a pair have {lengths[0]} and "
                                 f"{lengths[1]} items; give both the same number.")
        return parts
    if isinstance(x, _TEXT_TYPES):
        raise TextInputError(f"{name}: one text {x[:20]!r}; pass a list of texts.")
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise TextInputError(f"{name}: an array of shape {x.shape}; texts are one list.")
        x = x.tolist()
    if not isinstance(x, list):
        return x
    if not x:
        raise TextInputError(f"{name}: no texts (an empty list).")
    for i, value in enumerate(x):
        if not isinstance(value, _TEXT_TYPES):
            raise TextInputError(f"{name}[{i}] is {type(value).__name__} {value!r:.40}; every "
                                 "text must be a str or bytes.")
    return x


def check_labels(y, label_names=None, num_classes=None, name="y"):
    """Class labels as a list: strings among `label_names`, or integers in
    `[0, num_classes)` (regression, `num_classes=1`: any finite numbers). Raises
    `TextInputError` naming the first label that is neither; tensors pass unchecked."""
    if y is None or not isinstance(y, (list, tuple, np.ndarray)):
        return y
    values = np.asarray(y, dtype=object).ravel().tolist()
    if not values:
        raise TextInputError(f"{name}: no labels (an empty list).")
    for i, value in enumerate(values):
        if isinstance(value, _TEXT_TYPES):
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            if label_names is None or text not in label_names:
                hint = (f"one of {label_names}" if label_names else
                        "a class id (the preprocessor has no label_names)")
                raise TextInputError(f"{name}[{i}] {value!r:.40} is not a class name; use "
                                     f"{hint}.")
        elif isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float,
                                                                           np.number)):
            raise TextInputError(f"{name}[{i}] is {type(value).__name__} {value!r:.40}; a "
                                 "label is a class name or a class id.")
        elif num_classes == 1:
            if not np.isfinite(value):
                raise TextInputError(f"{name}[{i}] is {value}; a regression target is finite.")
        elif not np.isfinite(value) or value != int(value):
            raise TextInputError(f"{name}[{i}] is {value}; a class id is an integer.")
        elif num_classes and not 0 <= value < num_classes:
            raise TextInputError(f"{name}[{i}] is {int(value)}; class ids of this model are 0 "
                                 f"to {num_classes - 1}.")
    kinds = [isinstance(v, _TEXT_TYPES) for v in values]
    if any(kinds) and not all(kinds):
        i = kinds.index(not kinds[0])
        raise TextInputError(f"{name}[{i}] {values[i]!r:.40}: labels are all class names or "
                             "all class ids, not both.")
    return y


def _slices(data):
    """Leaves as numpy (strings stay lists), tuples/dicts kept as structure."""
    if data is None or isinstance(data, list):
        return data
    if isinstance(data, tuple):
        return tuple(_slices(d) for d in data)
    if isinstance(data, dict):
        return {k: _slices(v) for k, v in data.items()}
    if isinstance(data, np.ndarray) or "string" in str(getattr(data, "dtype", "")):
        return data
    return keras.ops.convert_to_numpy(data)


class PreprocessorMixin:
    """Adds a `preprocessor` to a `keras.Model`: fit/evaluate/predict on text.

    Use as the first base class; the model's `__init__` calls
    `self.set_preprocessor(preprocessor)` and its `get_config` adds
    `**self.preprocessor_config()`.

    Example (with a `Classifier`, which has this mixin):

    >>> clf = keras_fnet.build_classifier(  # doctest: +SKIP
    ...     "fnet_tiny", num_classes=2, preprocessor=ClassifierPreprocessor(tokenizer, 128))
    >>> clf.fit(x=["a great movie", "a dull one"], y=[1, 0])  # doctest: +SKIP
    >>> clf.predict(["what a film"])  # doctest: +SKIP
    """

    preprocessor = None

    def set_preprocessor(self, preprocessor):
        """Attach (or, with None, detach) a preprocessor layer or its config."""
        if isinstance(preprocessor, dict):
            # A saved preprocessor: its classes register when their modules
            # load (they import TensorFlow and keras-hub, so only now).
            from keras_fnet.preprocessing import classifier, pretraining  # noqa: F401

            preprocessor = keras.layers.deserialize(preprocessor)
        # Not tracked as a sublayer (it holds no weights and stays out of
        # `model.layers`); saving still finds it as an attribute.
        object.__setattr__(self, "preprocessor", preprocessor)

    def preprocessor_config(self):
        if self.preprocessor is None:
            return {}
        return {"preprocessor": keras.layers.serialize(self.preprocessor)}

    def _dataset(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False):
        """Batches of `(x, y, sample_weight)` mapped through the preprocessor;
        arrays are shuffled (each epoch anew) when `shuffle`, as Keras does."""
        import tensorflow as tf

        if isinstance(x, tf.data.Dataset):
            if y is not None or sample_weight is not None or batch_size is not None:
                raise ValueError("Pass `y`, `sample_weight` and `batch_size` inside "
                                 "the dataset, not beside it.")
            ds = x
        else:
            x = check_texts(x)
            y = check_labels(y, getattr(self.preprocessor, "label_names", None),
                             getattr(self, "num_classes", None))
            data = keras.utils.pack_x_y_sample_weight(
                _slices(x), _slices(y), _slices(sample_weight))
            ds = tf.data.Dataset.from_tensor_slices(data)
            if shuffle:
                ds = ds.shuffle(ds.cardinality(), reshuffle_each_iteration=True)
            ds = ds.batch(batch_size or 32)

        def preprocess(x, y=None, sample_weight=None):
            return self.preprocessor(x, y=y, sample_weight=sample_weight)

        return ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
            tf.data.AUTOTUNE)

    def _needs_preprocessing(self, x):
        # The model's own inputs are a dict of arrays, so with a preprocessor a list or a
        # tuple can only be text (`_dataset` checks its items).
        if self.preprocessor is None:
            return False
        return isinstance(x, (list, tuple)) or holds_strings(x)

    def fit(self, x=None, y=None, batch_size=None, sample_weight=None,
            validation_data=None, **kwargs):
        if validation_data is not None and self._needs_preprocessing(validation_data):
            if hasattr(validation_data, "element_spec"):
                validation_data = self._dataset(validation_data)
            else:
                vx, vy, vw = keras.utils.unpack_x_y_sample_weight(validation_data)
                validation_data = self._dataset(vx, vy, vw, batch_size)
        if self._needs_preprocessing(x):
            x = self._dataset(x, y, sample_weight, batch_size, kwargs.pop("shuffle", True))
            y = sample_weight = batch_size = None
            kwargs["shuffle"] = False  # done above (a dataset is not reshuffled by Keras)
        return super().fit(x, y, batch_size=batch_size, sample_weight=sample_weight,
                           validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, sample_weight=None, **kwargs):
        if self._needs_preprocessing(x):
            x = self._dataset(x, y, sample_weight, batch_size)
            y = sample_weight = batch_size = None
        return super().evaluate(x, y, batch_size=batch_size, sample_weight=sample_weight,
                                **kwargs)

    def predict(self, x, batch_size=None, **kwargs):
        if self._needs_preprocessing(x):
            x = self._dataset(x, batch_size=batch_size)
            batch_size = None
        return super().predict(x, batch_size=batch_size, **kwargs)

    def predict_labels(self, x, batch_size=None, **kwargs):
        """Predicted class names (the preprocessor's `label_names`) of `x`.

        Returns a numpy array of strings, or of class ids when the
        preprocessor has no label names.
        """
        ids = np.argmax(self.predict(x, batch_size=batch_size, **kwargs), axis=-1)
        names = getattr(self.preprocessor, "label_names", None)
        return ids if names is None else np.asarray(names)[ids]
