"""Presets: a model (and its vocabulary) as a directory, in keras-hub's layout.

A preset directory written by `model.save_to_preset(dir)` holds:

    config.json                     the Encoder, serialized (keras-hub: the backbone)
    metadata.json                   versions, parameter count, date, compatible tasks
    model.weights.h5                the Encoder's weights
    task.json, task.weights.h5      for a Classifier or Pretrainer: the task's
                                    config and the weights outside the Encoder
    assets/tokenizer/vocabulary.spm the SentencePiece vocabulary, when known

`from_preset(preset)` loads such a directory, and also a keras-hub FNet or
BERT preset (`save_to_preset`, e.g. `f_net_base_en`) or a Hugging Face FNet
or BERT directory (`save_pretrained`), told apart by their `config.json`;
those two are read by the readers that `keras_fnet.convert` registers
(`register_format`), so the model is the one `python -m keras_fnet.convert`
writes. `preset` may also be a name or an `hf://` / `kaggle://` handle,
which `keras_fnet.hub` resolves to a local directory (downloading it into
the client's cache when needed; see `keras_fnet.hub.list_presets`). The returned model's `spm_path`
attribute is the vocabulary that came with the preset (None if none did).

`Classifier.from_preset(dir, num_classes=N)` puts a fresh head on the
preset's encoder (compiled as `build_classifier`); `Pretrainer.from_preset`
likewise adds MLM/NSP heads to an encoder preset; `Encoder.from_preset` takes
the encoder of any preset.

A directory is written whole: into a temporary sibling, then renamed; an
existing non-empty directory is replaced only with `overwrite=True`.

Example:

>>> clf = keras_fnet.build_classifier("fnet_tiny", num_classes=2)  # doctest: +SKIP
>>> clf.save_to_preset("my_fnet", vocabulary="spm.model")  # doctest: +SKIP
>>> keras_fnet.from_preset("my_fnet").num_classes  # doctest: +SKIP
2
>>> keras_fnet.Classifier.from_preset("my_fnet", num_classes=5)  # doctest: +SKIP
>>> keras_fnet.Encoder.from_preset("f_net_base_en")  # doctest: +SKIP
"""

import datetime
import json
import os
import shutil

import keras

from keras_fnet import fileio, hub, keras_compat
from keras_fnet.version import __version__

CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
TASK_CONFIG_FILE = "task.json"
TASK_WEIGHTS_FILE = "task.weights.h5"
VOCABULARY_FILE = os.path.join("assets", "tokenizer", "vocabulary.spm")
# Tasks that can be put on an Encoder preset (keras-hub's metadata "tasks").
TASKS = ("Classifier", "Pretrainer")


class PresetError(ValueError):
    """A preset directory that cannot be read or written."""


# ----------------------------------------------------------------------------
# Writing


def _serialized(obj):
    """`serialize_keras_object` without compile/build configs (as keras-hub)."""
    config = keras.saving.serialize_keras_object(obj)

    def strip(node):
        if isinstance(node, dict):
            for key in ("compile_config", "build_config"):
                node.pop(key, None)
            for value in node.values():
                strip(value)

    strip(config)
    return config


def _write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=4)


def _tokenizer_of(model):
    """The tokenizer of a model's attached preprocessor, or None."""
    return getattr(getattr(model, "preprocessor", None), "tokenizer", None)


def _encoder_layers(encoder):
    """The layers whose weights are in `model.weights.h5`, skipped in the task's file."""
    return keras_compat.sublayers(encoder)


def _is_zoo(model, class_name):
    """Whether `model` is an instance of keras_fnet's registered class `class_name`."""
    return any(keras.saving.get_registered_name(k) == f"keras_fnet>{class_name}"
               for k in type(model).__mro__)


def save(model, preset_dir, vocabulary=None, overwrite=False):
    """Write a zoo model as a preset directory (see the module docstring).

    Args:
        model: a `keras_fnet` Encoder, Classifier or Pretrainer.
        preset_dir: the directory to write.
        vocabulary: a SentencePiece model file to store as
            `assets/tokenizer/vocabulary.spm`; default: the model's
            `spm_path` (set by `from_preset`), else the vocabulary of its
            preprocessor's tokenizer, if any.
        overwrite: replace an existing non-empty directory.

    Returns:
        `preset_dir`.

    Raises:
        PresetError: a model that is not a zoo model, a missing vocabulary
            file, or a target that exists (without `overwrite`).
    """
    if _is_zoo(model, "Encoder"):
        encoder, task = model, None
    elif any(_is_zoo(model, name) for name in TASKS):
        encoder, task = model.encoder, model
    else:
        raise PresetError(
            f"save_to_preset needs a keras_fnet Encoder, Classifier or Pretrainer, "
            f"got {type(model).__name__}."
        )
    vocabulary = vocabulary or getattr(model, "spm_path", None)
    if vocabulary is not None and not os.path.isfile(vocabulary):
        raise PresetError(f"Vocabulary file {vocabulary!r} not found.")
    with fileio.whole_directory(preset_dir, overwrite=overwrite, error=PresetError) as tmp:
        _write_json(os.path.join(tmp, CONFIG_FILE), _serialized(encoder))
        _write_json(os.path.join(tmp, METADATA_FILE), {
            "keras_version": keras.version(),
            "keras_fnet_version": __version__,
            "parameter_count": encoder.count_params(),
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "tasks": list(TASKS),
        })
        encoder.save_weights(os.path.join(tmp, WEIGHTS_FILE))
        if task is not None:
            _write_json(os.path.join(tmp, TASK_CONFIG_FILE), _serialized(task))
            optimizer = getattr(task, "optimizer", None)
            skip = _encoder_layers(encoder) + ([optimizer] if optimizer else [])
            keras.saving.save_weights(task, os.path.join(tmp, TASK_WEIGHTS_FILE),
                                      objects_to_skip=skip)  # no optimizer state
        assets = os.path.join(tmp, os.path.dirname(VOCABULARY_FILE))
        if vocabulary is not None:
            os.makedirs(assets)
            shutil.copyfile(vocabulary, os.path.join(tmp, VOCABULARY_FILE))
        elif _tokenizer_of(model) is not None:
            os.makedirs(assets)
            _tokenizer_of(model).save_assets(assets)
    return preset_dir


# ----------------------------------------------------------------------------
# Reading


def _read_json(path):
    return fileio.read_json(path, error=PresetError)


def detect_format(preset_dir):
    """`"keras_fnet"`, `"keras-hub"` or `"transformers"`, from `config.json`.

    Example:

    >>> detect_format("fnet-base-hf")  # doctest: +SKIP
    'transformers'
    """
    if not os.path.isdir(preset_dir):
        raise PresetError(f"Preset {preset_dir!r} is not a directory.")
    path = os.path.join(preset_dir, CONFIG_FILE)
    if not os.path.exists(path):
        raise PresetError(
            f"{preset_dir!r} is not a preset: no {CONFIG_FILE} (expected a keras_fnet or "
            "keras-hub preset, or a Hugging Face FNet directory)."
        )
    config = _read_json(path)
    if "model_type" in config:
        return "transformers"
    name = str(config.get("registered_name") or config.get("class_name") or "")
    if name.startswith("keras_fnet>"):
        return "keras_fnet"
    if name:
        return "keras-hub"
    raise PresetError(
        f"{path}: neither a Keras object (no class_name) nor a Hugging Face config "
        "(no model_type)."
    )


def _load_weights(target, path, **kwargs):
    if not os.path.exists(path):
        raise PresetError(f"Preset weights {path} are missing.")
    try:
        keras.saving.load_weights(target, path, **kwargs)
    except Exception as error:  # h5py/Keras raise many kinds for a bad file.
        raise PresetError(f"{path}: cannot load weights ({type(error).__name__}: "
                          f"{str(error).splitlines()[0] if str(error) else ''}).") from None


def _keras_class(config, path):
    name = config.get("registered_name") or config.get("class_name")
    klass = keras.saving.get_registered_object(name)
    if klass is None:
        raise PresetError(f"{path}: unknown class {name!r}.")
    return klass


def _with_dtype(config, dtype):
    """A saved config, with `dtype` replacing the saved policy when given."""
    return config if dtype is None else {**config, "dtype": dtype}


def _read_ours(preset_dir, dtype):
    """(model as saved, vocabulary path or None) of a keras_fnet preset."""
    path = os.path.join(preset_dir, CONFIG_FILE)
    config = _read_json(path)
    encoder_class = _keras_class(config, path)
    if keras.saving.get_registered_name(encoder_class) != "keras_fnet>Encoder":
        raise PresetError(f"{path}: expected a keras_fnet Encoder config.")
    try:
        encoder = encoder_class(**_with_dtype(config["config"], dtype))
    except (KeyError, TypeError, ValueError) as error:
        raise PresetError(f"{path}: not a valid Encoder config ({error}).") from None
    _load_weights(encoder, os.path.join(preset_dir, WEIGHTS_FILE))
    model = encoder
    task_path = os.path.join(preset_dir, TASK_CONFIG_FILE)
    if os.path.exists(task_path):
        task_config = _read_json(task_path)
        klass = _keras_class(task_config, task_path)
        try:
            model = klass(**_with_dtype({**task_config["config"], "encoder": encoder}, dtype))
        except (KeyError, TypeError, ValueError) as error:
            raise PresetError(f"{task_path}: not a valid task config ({error}).") from None
        _load_weights(model, os.path.join(preset_dir, TASK_WEIGHTS_FILE),
                      objects_to_skip=_encoder_layers(encoder))
    vocabulary = os.path.join(preset_dir, VOCABULARY_FILE)
    if not os.path.exists(vocabulary):
        return model, None
    if _tokenizer_of(model) is not None:  # saved with its preprocessor
        _tokenizer_of(model).load_assets(os.path.dirname(vocabulary))
    return model, vocabulary


def _attach_preprocessor(model, vocabulary):
    """Give a Classifier without a preprocessor one for the preset's vocabulary.

    Needs the preprocessing layers (the `data` extra: TensorFlow, keras-hub);
    without them the vocabulary stays available as `model.spm_path` only.
    """
    if (vocabulary is None or not _is_zoo(model, "Classifier")
            or model.preprocessor is not None):
        return
    try:
        from keras_fnet.preprocessing import ClassifierPreprocessor, Tokenizer
    except ImportError:
        return
    model.set_preprocessor(ClassifierPreprocessor(
        Tokenizer(vocabulary), sequence_length=model.encoder.config.max_sequence_length))


# How each format of `detect_format` is read: `reader(preset_dir, dtype)` returns
# `(model, vocabulary path or None)`. keras_fnet's own is here; `keras_fnet.convert`
# registers the converted ones.
READERS = {"keras_fnet": _read_ours}


def register_format(name, reader):
    """Register `reader(preset_dir, dtype) -> (model, vocabulary or None)` for a format.

    Args:
        name: a format `detect_format` returns (`"keras-hub"`, `"transformers"`).
        reader: the function that reads such a directory.
    """
    READERS[name] = reader


def _as_class(model, cls, num_classes):
    """The preset's model as `cls` (None: as saved), with fresh heads where needed."""
    cls = cls or type(model)
    if num_classes is not None and keras.saving.get_registered_name(cls) != "keras_fnet>Classifier":
        raise PresetError("num_classes applies only to Classifier.from_preset.")
    if isinstance(model, cls) and num_classes in (None, getattr(model, "num_classes", None)):
        return model
    encoder = model if _is_zoo(model, "Encoder") else model.encoder
    if keras.saving.get_registered_name(cls) == "keras_fnet>Classifier" and num_classes is None:
        raise PresetError(
            "This preset has no classification head; pass num_classes to "
            "Classifier.from_preset to put a fresh one on its encoder."
        )
    return cls.from_encoder(encoder, num_classes=num_classes)


def load(preset, dtype=None):
    """`(model as saved, vocabulary path or None)` of a preset directory, name or handle.

    Args:
        preset: a preset directory, or a name / handle of `keras_fnet.hub`.
        dtype: optional dtype policy.
    """
    try:
        preset_dir = hub.resolve(preset)
    except hub.HubError as error:
        raise PresetError(str(error)) from None
    fmt = detect_format(preset_dir)
    if fmt not in READERS:
        raise PresetError(f"{preset_dir}: a {fmt} directory, which needs keras_fnet.convert "
                          "(import keras_fnet).")
    return READERS[fmt](preset_dir, dtype)


def from_preset(preset, cls=None, num_classes=None, dtype=None):
    """Load a preset: keras_fnet, keras-hub FNet/BERT, or Hugging Face FNet/BERT.

    Args:
        preset: a directory written by `save_to_preset`, a keras-hub
            `FNetBackbone` / `BertBackbone` preset, or a transformers FNet or
            BERT directory; or a name of `keras_fnet.hub.PRETRAINED` (e.g.
            `"f_net_base_en"`), or an `hf://OWNER/REPO` or
            `kaggle://OWNER/MODEL/FRAMEWORK/VARIATION[/VERSION]` handle,
            resolved by `keras_fnet.hub` (downloaded into the client's cache).
        cls: the class to return (`Encoder`, `Classifier`, `Pretrainer`);
            None returns the model as saved.
        num_classes: with `cls=Classifier`: a fresh head of this many classes
            on the preset's encoder, unless the preset is a classifier with
            that many classes already.
        dtype: optional dtype policy.

    Returns:
        The model, with `spm_path` set to the preset's vocabulary (or None).
        A `Classifier` with a vocabulary carries a `ClassifierPreprocessor`
        (its own if it was saved with one, else one for the vocabulary at
        the encoder's `max_sequence_length`), so `fit`/`predict` take strings.
        A model with fresh heads comes compiled as `build_classifier` /
        `build_pretrainer` compile; a model loaded as saved is not compiled
        (as `load_model(..., compile=False)`): `compile` it to train it.

    Raises:
        PresetError, ConversionError: a directory that is not a preset, a
            damaged one (the message names the file), or a name or handle
            that cannot be resolved (offline: one that is not cached).

    Example:

    >>> model = from_preset("my_fnet")  # doctest: +SKIP
    >>> model = from_preset("hf://google/fnet-base")  # doctest: +SKIP
    """
    model, vocabulary = load(preset, dtype)
    model = _as_class(model, cls, num_classes)
    _attach_preprocessor(model, vocabulary)
    model.spm_path = vocabulary
    return model
