"""keras-hub FNet presets (`FNetBackbone.save_to_preset` layout, as `f_net_base_en`).

A preset directory holds `config.json` (class `FNetBackbone`),
`model.weights.h5` (Keras 3 weights) and, with a tokenizer,
`assets/tokenizer/vocabulary.spm`. Reading uses h5py alone when the weights
file names its layers (recent Keras writes a `name` attribute on each `vars`
group); otherwise it builds the backbone with keras-hub to read it. Writing
uses keras-hub's own `save_to_preset`.
"""

import os

import numpy as np

from keras_fnet.convert.common import (
    Checkpoint,
    ConversionError,
    Tensor,
    check_fnet,
    encoder_config,
    encoder_of,
    model_weights,
    read_json,
    require_dir,
    whole_directory,
)

SPM_FILE = os.path.join("assets", "tokenizer", "vocabulary.spm")
WEIGHTS_FILE = "model.weights.h5"
# Variable order of the Keras layers in the weights file.
_DENSE = ("kernel", "bias")
_NORM = ("gamma", "beta")


def name_table(num_layers):
    """(our name, keras-hub layer path, variable index) of every weight.

    Example:

    >>> name_table(1)[0]
    ('embeddings/token_embedding', 'token_embedding', 0)
    """
    table = [
        ("embeddings/token_embedding", "token_embedding", 0),
        ("embeddings/segment_embedding", "segment_embedding", 0),
        ("embeddings/position_embedding", "position_embedding", 0),
    ]

    def add(ours, theirs, keys):
        table.extend((f"{ours}/{key}", theirs, i) for i, key in enumerate(keys))

    add("embeddings/layer_norm", "embeddings_layer_norm", _NORM)
    add("embeddings/projection", "embedding_projection", _DENSE)
    for i in range(num_layers):
        layer = f"f_net_layer_{i}"
        add(f"block_{i}/mixing_layer_norm", f"{layer}/mixing_layer_norm", _NORM)
        add(f"block_{i}/intermediate", f"{layer}/intermediate_dense", _DENSE)
        add(f"block_{i}/output", f"{layer}/output_dense", _DENSE)
        add(f"block_{i}/output_layer_norm", f"{layer}/output_layer_norm", _NORM)
    add("pooler", "pooled_dense", _DENSE)
    return table


def read_config(preset_dir):
    """The backbone config of a keras-hub preset, checked to be an FNet."""
    require_dir(preset_dir, "a keras-hub preset directory (config.json + model.weights.h5)")
    path = os.path.join(preset_dir, "config.json")
    if not os.path.exists(path):
        raise ConversionError(f"{preset_dir!r} is not a keras-hub preset: no config.json.")
    config = read_json(path)
    class_name = config.get("class_name") or config.get("registered_name")
    if class_name not in ("FNetBackbone", "keras_hub>FNetBackbone", "keras_nlp>FNetBackbone"):
        raise ConversionError(
            f"{preset_dir!r} is not an FNet preset: config.json has class "
            f"{class_name!r}, expected 'FNetBackbone'."
        )
    if not isinstance(config.get("config"), dict):
        raise ConversionError(f"{path}: no backbone config (a 'config' object).")
    return config["config"]


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


def _hub_variable(backbone, layer_path, index):
    """The variable of a keras-hub backbone at (layer path, index) of `name_table`."""
    outer, _, inner = layer_path.partition("/")
    layer = backbone.get_layer(outer)
    if inner:
        layer = getattr(layer, "_" + inner)
    return layer.weights[index]


def _read_with_keras_hub(preset_dir, num_layers):
    try:
        import keras_hub
    except ImportError as error:
        raise ConversionError(
            f"{preset_dir!r}: this weights file does not name its layers, so reading it "
            "needs keras-hub (`pip install keras-hub`)."
        ) from error
    import keras

    backbone = keras_hub.models.FNetBackbone.from_preset(preset_dir)
    return {
        f"{layer}/{index}": keras.ops.convert_to_numpy(_hub_variable(backbone, layer, index))
        for _, layer, index in name_table(num_layers)
    }


def read(preset_dir, encoder_only=True):
    """Read a keras-hub FNet preset into a `Checkpoint` (an encoder).

    Args:
        preset_dir: a directory as `FNetBackbone.save_to_preset` writes it,
            e.g. a downloaded `f_net_base_en`.
        encoder_only: accepted for symmetry with the other readers; a preset
            is a backbone, so the result is always an encoder.

    Example:

    >>> read("f_net_base_en").config.hidden_dim  # doctest: +SKIP
    768
    """
    del encoder_only
    hub = read_config(preset_dir)
    path = os.path.join(preset_dir, WEIGHTS_FILE)
    if not os.path.exists(path):
        raise ConversionError(f"{preset_dir!r} has no {WEIGHTS_FILE} (sharded presets are not read).")
    config = encoder_config(
        os.path.join(preset_dir, "config.json"),
        vocabulary_size=hub.get("vocabulary_size"),
        num_layers=hub.get("num_layers"),
        hidden_dim=hub.get("hidden_dim"),
        intermediate_dim=hub.get("intermediate_dim"),
        max_sequence_length=hub.get("max_sequence_length", 512),
        num_segments=hub.get("num_segments", 4),
        dropout=hub.get("dropout", 0.1),
    )
    arrays = _read_h5_by_name(path)
    if arrays is None:
        arrays = _read_with_keras_hub(preset_dir, config.num_layers)
    tensors = {}
    for ours, layer, index in name_table(config.num_layers):
        key = f"{layer}/{index}"
        if key not in arrays:
            raise ConversionError(f"{path}: missing tensor {key!r} (for {ours!r}).")
        tensors[ours] = Tensor(key, arrays[key])
    spm = os.path.join(preset_dir, SPM_FILE)
    return Checkpoint(
        config=config,
        tensors=tensors,
        spm_path=spm if os.path.exists(spm) else None,
        source=path,
    )


def write(model, out_dir, spm_path=None, overwrite=False):
    """Write a zoo FNet model's encoder as a keras-hub `FNetBackbone` preset.

    Heads are not written (keras-hub's FNetMaskedLM head differs: exact GELU).
    Needs keras-hub.

    Args:
        model: a `keras_fnet` Encoder, Pretrainer or Classifier of FNet
            architecture with `embedding_dim == hidden_dim` and LayerNorm
            epsilon 1e-12 (what `FNetBackbone` can hold).
        out_dir: the preset directory to write.
        spm_path: optional SentencePiece model; also writes an
            `FNetTokenizer` into the preset.
        overwrite: replace an existing non-empty `out_dir`.

    Example:

    >>> write(keras_fnet.build_encoder("fnet_tiny"), "fnet-tiny-preset")  # doctest: +SKIP
    >>> keras_hub.models.FNetBackbone.from_preset("fnet-tiny-preset")  # doctest: +SKIP
    """
    encoder = encoder_of(model)
    config = encoder.config
    check_fnet(config, "keras-hub (FNetBackbone)", allow_epsilon=False)
    try:
        import keras_hub
    except ImportError as error:
        raise ConversionError("Writing a keras-hub preset needs keras-hub.") from error

    backbone = keras_hub.models.FNetBackbone(
        vocabulary_size=config.vocabulary_size,
        num_layers=config.num_layers,
        hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim,
        dropout=config.dropout,
        max_sequence_length=config.max_sequence_length,
        num_segments=config.num_segments,
    )
    weights = model_weights(encoder)
    for ours, layer_path, index in name_table(config.num_layers):
        _hub_variable(backbone, layer_path, index).assign(weights[ours])
    with whole_directory(out_dir, overwrite=overwrite) as tmp:
        backbone.save_to_preset(tmp)
        if spm_path:
            tokenizer = keras_hub.models.FNetTokenizer(proto=spm_path)
            tokenizer.save_to_preset(tmp)
    return out_dir
