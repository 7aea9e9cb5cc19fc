"""keras-hub FNet and BERT presets (`save_to_preset` layout, as `f_net_base_en`).

A preset directory holds `config.json` (class `FNetBackbone` or
`BertBackbone`), `model.weights.h5` (Keras 3 weights) and, with a tokenizer,
`assets/tokenizer/vocabulary.spm` (FNet, SentencePiece) or
`assets/tokenizer/vocabulary.txt` (BERT, WordPiece). Reading uses h5py alone
when the weights file names its layers (recent Keras writes a `name`
attribute on each `vars` group); otherwise it builds the backbone with
keras-hub to read it. Writing uses keras-hub's own `save_to_preset`.

A `BertBackbone` becomes the zoo's `bert` family with keras-hub's choices: the
tanh GELU (`activation="gelu_approximate"`), LayerNorm epsilon 1e-12, no
embedding projection.
"""

import dataclasses
import os
from collections.abc import Callable

import numpy as np

from keras_fnet.convert.common import (
    Checkpoint,
    ConversionError,
    Tensor,
    check_bert,
    check_fnet,
    encoder_config,
    encoder_of,
    model_weights,
    read_json,
    require_dir,
    whole_directory,
)

WEIGHTS_FILE = "model.weights.h5"
SPM_FILE = os.path.join("assets", "tokenizer", "vocabulary.spm")
WORDPIECE_FILE = os.path.join("assets", "tokenizer", "vocabulary.txt")
# Variable order of the Keras layers in the weights file.
_DENSE = ("kernel", "bias")
_NORM = ("gamma", "beta")


def _adder(table):
    def add(ours, theirs, keys):
        table.extend((f"{ours}/{key}", theirs, i) for i, key in enumerate(keys))

    return add


def _fnet_blocks(num_layers):
    table = []
    add = _adder(table)
    add("embeddings/projection", "embedding_projection", _DENSE)
    for i in range(num_layers):
        layer = f"f_net_layer_{i}"
        add(f"block_{i}/mixing_layer_norm", f"{layer}/mixing_layer_norm", _NORM)
        add(f"block_{i}/intermediate", f"{layer}/intermediate_dense", _DENSE)
        add(f"block_{i}/output", f"{layer}/output_dense", _DENSE)
        add(f"block_{i}/output_layer_norm", f"{layer}/output_layer_norm", _NORM)
    return table


def _bert_blocks(num_layers):
    table = []
    add = _adder(table)
    for i in range(num_layers):
        layer, ours = f"transformer_layer_{i}", f"block_{i}"
        attention = f"{layer}/self_attention_layer"
        for name, theirs in (("query", "query"), ("key", "key"), ("value", "value"),
                             ("output", "attention_output")):
            add(f"{ours}/attention/{name}", f"{attention}/{theirs}", _DENSE)
        add(f"{ours}/mixing_layer_norm", f"{layer}/self_attention_layer_norm", _NORM)
        add(f"{ours}/intermediate", f"{layer}/feedforward_intermediate_dense", _DENSE)
        add(f"{ours}/output", f"{layer}/feedforward_output_dense", _DENSE)
        add(f"{ours}/output_layer_norm", f"{layer}/feedforward_layer_norm", _NORM)
    return table


def _fnet_fields(hub):
    return dict(num_segments=hub.get("num_segments", 4))


def _bert_fields(hub):
    return dict(mixing="attention", embedding_projection=False, num_heads=hub.get("num_heads"),
                num_segments=hub.get("num_segments", 2))


@dataclasses.dataclass(frozen=True)
class Architecture:
    """What one keras-hub backbone class looks like.

    Args:
        class_name: the backbone's class (`config.json`'s `class_name`).
        fields: `backbone config -> EncoderConfig fields` beyond the shared
            sizes.
        blocks: `num_layers -> name table` of the weights between the
            embedding LayerNorm and the pooler.
        vocabulary: the tokenizer asset of the preset.
        check: `(EncoderConfig, target) -> None`, raising what the backbone
            cannot hold.
    """

    class_name: str
    fields: Callable
    blocks: Callable
    vocabulary: str
    check: Callable


ARCHITECTURES = {
    "FNetBackbone": Architecture(
        "FNetBackbone", _fnet_fields, _fnet_blocks, SPM_FILE,
        lambda config, target: check_fnet(config, target, allow_epsilon=False)),
    "BertBackbone": Architecture(
        "BertBackbone", _bert_fields, _bert_blocks, WORDPIECE_FILE,
        lambda config, target: check_bert(config, target, activations=("gelu_approximate",),
                                          allow_epsilon=False)),
}
# `config.json` class names (current and older registrations) -> class.
_CLASS_NAMES: dict[str, str] = {
    f"{package}{name}": name
    for name in ARCHITECTURES
    for package in ("", "keras_hub>", "keras_nlp>")
}


def architecture_of(config):
    """The `Architecture` that holds a zoo model of `EncoderConfig` `config`."""
    return ARCHITECTURES["BertBackbone" if config.mixing == "attention" else "FNetBackbone"]


def name_table(num_layers, class_name="FNetBackbone"):
    """(our name, keras-hub layer path, variable index) of every weight.

    Example:

    >>> name_table(1)[0]
    ('embeddings/token_embedding', 'token_embedding', 0)
    >>> name_table(1, "BertBackbone")[5]
    ('block_0/attention/query/kernel', 'transformer_layer_0/self_attention_layer/query', 0)
    """
    table = [
        ("embeddings/token_embedding", "token_embedding", 0),
        ("embeddings/segment_embedding", "segment_embedding", 0),
        ("embeddings/position_embedding", "position_embedding", 0),
    ]
    add = _adder(table)
    add("embeddings/layer_norm", "embeddings_layer_norm", _NORM)
    table += ARCHITECTURES[class_name].blocks(num_layers)
    add("pooler", "pooled_dense", _DENSE)
    return table


def read_config(preset_dir):
    """(backbone class, backbone config) of a keras-hub preset, checked to be an FNet or BERT."""
    require_dir(preset_dir, "a keras-hub preset directory (config.json + model.weights.h5)")
    path = os.path.join(preset_dir, "config.json")
    if not os.path.exists(path):
        raise ConversionError(f"{preset_dir!r} is not a keras-hub preset: no config.json.")
    config = read_json(path)
    class_name = config.get("class_name") or config.get("registered_name")
    if class_name not in _CLASS_NAMES:
        raise ConversionError(
            f"{preset_dir!r} is not an FNet or BERT preset: config.json has class "
            f"{class_name!r}, expected one of {', '.join(map(repr, ARCHITECTURES))}."
        )
    if not isinstance(config.get("config"), dict):
        raise ConversionError(f"{path}: no backbone config (a 'config' object).")
    return _CLASS_NAMES[class_name], config["config"]


def _read_h5_by_name(path):
    """Layer path (from the `name` attributes) + '/' + index -> array, or None."""
    import h5py

    arrays = {}
    with h5py.File(path, "r") as f:
        if "layers" not in f:
            return None

        def visit(group, names):
            for key, child in group.items():
                if key != "layers" and not isinstance(child, h5py.Group):
                    continue
                if key == "vars":
                    continue
                if key == "layers":
                    visit(child, names)
                    continue
                variables = child.get("vars")
                if variables is None:
                    continue
                if "name" not in variables.attrs:
                    raise LookupError(key)  # An older file: fall back to keras-hub.
                name = variables.attrs["name"]
                name = name.decode() if isinstance(name, bytes) else str(name)
                for index, value in variables.items():
                    arrays["/".join(names + [name, index])] = np.asarray(value)
                visit(child, names + [name])

        try:
            visit(f["layers"], [])
        except LookupError:
            return None
    return arrays


def hub_variables(backbone):
    """`"layer path/index"` (as `name_table`) -> variable of a keras-hub backbone.

    Built from the public `Variable.path` (`"layer/sublayer/name"`): the
    index is the variable's position among its layer's variables.
    """
    table, counts = {}, {}
    for variable in backbone.weights:
        layer = variable.path.rsplit("/", 1)[0]
        index = counts.get(layer, 0)
        counts[layer] = index + 1
        table[f"{layer}/{index}"] = variable
    return table


def _read_with_keras_hub(preset_dir, class_name):
    try:
        import keras_hub
    except ImportError as error:
        raise ConversionError(
            f"{preset_dir!r}: this weights file does not name its layers, so reading it "
            "needs keras-hub (`pip install keras-hub`)."
        ) from error
    import keras

    backbone = getattr(keras_hub.models, class_name).from_preset(preset_dir)
    return {key: keras.ops.convert_to_numpy(v) for key, v in hub_variables(backbone).items()}


def read(preset_dir, encoder_only=True):
    """Read a keras-hub FNet or BERT preset into a `Checkpoint` (an encoder).

    Args:
        preset_dir: a directory as `FNetBackbone.save_to_preset` or
            `BertBackbone.save_to_preset` writes it, e.g. a downloaded
            `f_net_base_en` or `bert_base_en_uncased`.
        encoder_only: accepted for symmetry with the other readers; a preset
            is a backbone, so the result is always an encoder.

    Example:

    >>> read("f_net_base_en").config.hidden_dim  # doctest: +SKIP
    768
    """
    del encoder_only
    class_name, hub = read_config(preset_dir)
    arch = ARCHITECTURES[class_name]
    path = os.path.join(preset_dir, WEIGHTS_FILE)
    if not os.path.exists(path):
        raise ConversionError(
            f"{preset_dir!r} has no {WEIGHTS_FILE} (sharded presets are not read).")
    config = encoder_config(
        os.path.join(preset_dir, "config.json"),
        vocabulary_size=hub.get("vocabulary_size"),
        num_layers=hub.get("num_layers"),
        hidden_dim=hub.get("hidden_dim"),
        intermediate_dim=hub.get("intermediate_dim"),
        max_sequence_length=hub.get("max_sequence_length", 512),
        dropout=hub.get("dropout", 0.1),
        **arch.fields(hub),
    )
    arrays = _read_h5_by_name(path)
    if arrays is None:
        arrays = _read_with_keras_hub(preset_dir, class_name)
    tensors = {}
    for ours, layer, index in name_table(config.num_layers, class_name):
        key = f"{layer}/{index}"
        if key not in arrays:
            raise ConversionError(f"{path}: missing tensor {key!r} (for {ours!r}).")
        tensors[ours] = Tensor(key, arrays[key])
    vocabulary = os.path.join(preset_dir, arch.vocabulary)
    vocabulary = vocabulary if os.path.exists(vocabulary) else None
    return Checkpoint(
        config=config,
        tensors=tensors,
        spm_path=vocabulary if arch.vocabulary == SPM_FILE else None,
        wordpiece_path=vocabulary if arch.vocabulary == WORDPIECE_FILE else None,
        source=path,
    )


def write(model, out_dir, spm_path=None, overwrite=False, wordpiece_path=None):
    """Write a zoo FNet or BERT model's encoder as a keras-hub backbone preset.

    An FNet becomes an `FNetBackbone`, a BERT (`mixing="attention"`, no
    embedding projection, tanh GELU) a `BertBackbone`. Heads are not written
    (keras-hub's `FNetMaskedLM` head differs: exact GELU). Needs keras-hub.

    Args:
        model: a `keras_fnet` Encoder, Pretrainer or Classifier that the
            backbone can hold: `embedding_dim == hidden_dim`, LayerNorm
            epsilon 1e-12, and for BERT `activation="gelu_approximate"`.
        out_dir: the preset directory to write.
        spm_path: optional SentencePiece model of an FNet; also writes an
            `FNetTokenizer` into the preset.
        overwrite: replace an existing non-empty `out_dir`.
        wordpiece_path: optional WordPiece `vocab.txt` of a BERT; also
            writes a `BertTokenizer` into the preset.

    Example:

    >>> write(keras_fnet.build_encoder("fnet_tiny"), "fnet-tiny-preset")  # doctest: +SKIP
    >>> keras_hub.models.FNetBackbone.from_preset("fnet-tiny-preset")  # doctest: +SKIP
    """
    encoder = encoder_of(model)
    config = encoder.config
    arch = architecture_of(config)
    arch.check(config, f"keras-hub ({arch.class_name})")
    bert = arch.class_name == "BertBackbone"
    if (spm_path and bert) or (wordpiece_path and not bert):
        raise ConversionError(
            "A BERT takes a WordPiece vocab.txt (wordpiece_path) and an FNet a SentencePiece "
            "model (spm_path)."
        )
    try:
        import keras_hub
    except ImportError as error:
        raise ConversionError("Writing a keras-hub preset needs keras-hub.") from error

    sizes = dict(
        vocabulary_size=config.vocabulary_size,
        num_layers=config.num_layers,
        hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim,
        dropout=config.dropout,
        max_sequence_length=config.max_sequence_length,
        num_segments=config.num_segments,
    )
    if bert:
        backbone = keras_hub.models.BertBackbone(num_heads=config.num_heads, **sizes)
    else:
        backbone = keras_hub.models.FNetBackbone(**sizes)
    weights = model_weights(encoder)
    variables = hub_variables(backbone)
    for ours, layer_path, index in name_table(config.num_layers, arch.class_name):
        variables[f"{layer_path}/{index}"].assign(weights[ours])
    with whole_directory(out_dir, overwrite=overwrite) as tmp:
        backbone.save_to_preset(tmp)
        if spm_path:
            keras_hub.models.FNetTokenizer(proto=spm_path).save_to_preset(tmp)
        if wordpiece_path:
            keras_hub.models.BertTokenizer(vocabulary=wordpiece_path).save_to_preset(tmp)
    return out_dir
