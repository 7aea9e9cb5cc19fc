"""What every checkpoint format shares: tensor tables, model building, errors.

The zoo's `fnet` and `bert` families are read and written (FNet and BERT
checkpoints of each format).

Each format module reads its files into a `Checkpoint`: an `EncoderConfig`,
the kind of model (`"encoder"`, `"pretrainer"` or `"classifier"`) and a dict
from this project's weight names (`"block_0/intermediate/kernel"`, ...) to the
source `Tensor`s. `build_model` turns a `Checkpoint` into a Keras model, and
`model_weights` gives back a model's weights under the same names, which the
exporters write in their own format.

Weight names (`N` = block index):

    embeddings/token_embedding      [vocabulary, embedding]
    embeddings/segment_embedding    [segments, embedding]
    embeddings/position_embedding   [max_length, embedding]
    embeddings/layer_norm/{gamma,beta}
    embeddings/projection/{kernel,bias}          kernel [embedding, hidden] (not BERT)
    block_N/attention/{query,key,value}/{kernel,bias}  kernel [hidden, heads, head_dim]
    block_N/attention/output/{kernel,bias}       kernel [heads, head_dim, hidden]
    block_N/{mixing_layer_norm,output_layer_norm}/{gamma,beta}
    block_N/{intermediate,output}/{kernel,bias}  kernels [in, out]
    pooler/{kernel,bias}
    mlm_head/{dense/kernel,dense/bias,layer_norm/gamma,layer_norm/beta,bias}
    nsp_head/{kernel,bias}
    logits/{kernel,bias}                         (classifier)
"""

import dataclasses
import os
import shutil

import numpy as np

from keras_fnet import fileio
from keras_fnet.config import EncoderConfig


class ConversionError(ValueError):
    """A checkpoint that cannot be read, or a model that a format cannot hold."""


# How a stored tensor relates to this project's weight of the same role.
SAME = "same"
TRANSPOSE = "transpose"  # A [out, in] matrix (PyTorch Linear, Flax OutputProjection).
LEADING_ONE = "leading_one"  # An extra leading axis of size 1 (Flax position embedding).
# PyTorch Linear layers of attention, whose [out, in] matrices this project
# splits per head (row-major, head-major: feature `h * head_dim + d`).
SPLIT_OUT = "split_out"  # [heads * head_dim, hidden] -> kernel [hidden, heads, head_dim]
SPLIT_IN = "split_in"  # [hidden, heads * head_dim] -> kernel [heads, head_dim, hidden]
SPLIT_BIAS = "split_bias"  # [heads * head_dim] -> bias [heads, head_dim]
_TRANSPOSED = (TRANSPOSE, SPLIT_OUT, SPLIT_IN)


@dataclasses.dataclass
class Tensor:
    """One stored tensor: its name in the source, its value, its layout.

    Args:
        source: the tensor's name in the checkpoint, for error messages.
        value: the stored array (numpy), as stored.
        layout: `SAME`, `TRANSPOSE` or `LEADING_ONE`.
    """

    source: str
    value: np.ndarray
    layout: str = SAME

    def to_model(self, model_shape=None):
        """The value in this project's layout, as float32.

        The split layouts need `model_shape` (the per-head shape); a value
        that does not fit it is returned unsplit, for the caller's shape check.
        """
        value = np.asarray(self.value, dtype="float32")
        if self.layout in _TRANSPOSED:
            value = value.T
        if self.layout == LEADING_ONE:
            return value[0] if value.ndim == 3 and value.shape[0] == 1 else value
        if self.layout in (SPLIT_OUT, SPLIT_IN, SPLIT_BIAS) and model_shape is not None:
            if tuple(np.shape(self.value)) == self.source_shape(model_shape):
                return value.reshape(tuple(model_shape))
        return value

    def source_shape(self, model_shape):
        """The stored shape that a model weight of `model_shape` needs."""
        model_shape = tuple(model_shape)
        if self.layout == TRANSPOSE:
            return model_shape[::-1]
        if self.layout == LEADING_ONE:
            return (1,) + model_shape
        if self.layout == SPLIT_OUT:
            return (int(np.prod(model_shape[1:])), model_shape[0])
        if self.layout == SPLIT_IN:
            return (model_shape[-1], int(np.prod(model_shape[:-1])))
        if self.layout == SPLIT_BIAS:
            return (int(np.prod(model_shape)),)
        return model_shape


def to_source_layout(value, layout):
    """Inverse of `Tensor.to_model`: a model weight in a format's layout."""
    value = np.asarray(value, dtype="float32")
    if layout == TRANSPOSE:
        return np.ascontiguousarray(value.T)
    if layout == SPLIT_OUT:
        return np.ascontiguousarray(value.reshape(value.shape[0], -1).T)
    if layout == SPLIT_IN:
        return np.ascontiguousarray(value.reshape(-1, value.shape[-1]).T)
    if layout == SPLIT_BIAS:
        return value.reshape(-1)
    if layout == LEADING_ONE:
        return value[None]
    return value


@dataclasses.dataclass
class Checkpoint:
    """A checkpoint read into this project's names.

    Args:
        config: the `EncoderConfig` of the encoder.
        tensors: weight name -> `Tensor`.
        kind: `"encoder"`, `"pretrainer"` (MLM + NSP heads) or `"classifier"`.
        num_classes: output classes of a classifier.
        spm_path: the SentencePiece model shipped with the checkpoint, if any.
        source: the file or directory read, for error messages.
        wordpiece_path: the WordPiece vocabulary (`vocab.txt`) of a BERT
            checkpoint, if any.
        untrained: weight names the checkpoint does not hold and the model
            keeps at their initial values (e.g. the pooler of a
            `BertForMaskedLM`, which has none).
    """

    config: EncoderConfig
    tensors: dict[str, Tensor]
    kind: str = "encoder"
    num_classes: int | None = None
    spm_path: str | None = None
    source: str = ""
    wordpiece_path: str | None = None
    untrained: tuple[str, ...] = ()


def _dense(layer):
    return {"kernel": layer.kernel, "bias": layer.bias}


def _norm(layer):
    return {"gamma": layer.gamma, "beta": layer.beta}


def _add(table, prefix, variables):
    for key, variable in variables.items():
        table[f"{prefix}/{key}"] = variable


def model_variables(model):
    """This project's weight name -> `keras.Variable` of a zoo model.

    Args:
        model: a `keras_fnet.Encoder`, `Pretrainer` or `Classifier`.

    Returns:
        A dict keyed by the names of this module's docstring.

    Example:

    >>> import keras_fnet
    >>> names = model_variables(keras_fnet.build_encoder("fnet_tiny"))
    >>> tuple(names["block_0/intermediate/kernel"].shape)
    (128, 512)
    """
    import keras_fnet

    encoder = model if isinstance(model, keras_fnet.Encoder) else getattr(model, "encoder", None)
    if not isinstance(encoder, keras_fnet.Encoder):
        raise ConversionError(
            "Expected a keras_fnet Encoder, Pretrainer or Classifier, got "
            f"{type(model).__name__}."
        )
    table = {}
    embeddings = encoder.get_layer("embeddings")
    table["embeddings/token_embedding"] = embeddings.token_embedding.embeddings
    table["embeddings/segment_embedding"] = embeddings.segment_embedding.embeddings
    table["embeddings/position_embedding"] = embeddings.position_embedding
    _add(table, "embeddings/layer_norm", _norm(embeddings.layer_norm))
    if embeddings.projection is not None:
        _add(table, "embeddings/projection", _dense(embeddings.projection))
    for i in range(encoder.config.num_layers):
        block = encoder.get_layer(f"block_{i}")
        if encoder.config.layer_mixing(i) == "attention":
            for name, layer in (("query", block.mixing.query), ("key", block.mixing.key),
                                ("value", block.mixing.value),
                                ("output", block.mixing.output_dense)):
                _add(table, f"block_{i}/attention/{name}", _dense(layer))
        _add(table, f"block_{i}/mixing_layer_norm", _norm(block.mixing_layer_norm))
        _add(table, f"block_{i}/intermediate", _dense(block.intermediate))
        _add(table, f"block_{i}/output", _dense(block.output_dense))
        _add(table, f"block_{i}/output_layer_norm", _norm(block.output_layer_norm))
    _add(table, "pooler", _dense(encoder.get_layer("pooler")))
    if isinstance(model, keras_fnet.Pretrainer):
        head = model.get_layer("mlm_head")
        _add(table, "mlm_head/dense", _dense(head.dense))
        _add(table, "mlm_head/layer_norm", _norm(head.layer_norm))
        table["mlm_head/bias"] = head.bias
        _add(table, "nsp_head", _dense(model.get_layer("nsp_head")))
    elif isinstance(model, keras_fnet.Classifier):
        _add(table, "logits", _dense(model.get_layer("logits")))
    return table


def model_weights(model):
    """This project's weight name -> numpy array (float32) of a zoo model."""
    import keras

    return {
        name: np.asarray(keras.ops.convert_to_numpy(variable), dtype="float32")
        for name, variable in model_variables(model).items()
    }


def model_kind(model):
    """`"encoder"`, `"pretrainer"` or `"classifier"`."""
    import keras_fnet

    if isinstance(model, keras_fnet.Pretrainer):
        return "pretrainer"
    if isinstance(model, keras_fnet.Classifier):
        return "classifier"
    if isinstance(model, keras_fnet.Encoder):
        return "encoder"
    raise ConversionError(
        "Expected a keras_fnet Encoder, Pretrainer or Classifier, got "
        f"{type(model).__name__}."
    )


def encoder_of(model):
    """The `Encoder` of a zoo model (the model itself for an encoder)."""
    return model if model_kind(model) == "encoder" else model.encoder


def check_fnet(config, target, allow_embedding_dim=False, allow_epsilon=True,
               activations=("gelu_approximate",)):
    """Raise `ConversionError` when `target` cannot hold this architecture.

    Args:
        config: the model's `EncoderConfig`.
        target: the format's name, for the message.
        allow_embedding_dim: whether the format has an embedding width apart
            from `hidden_dim`.
        allow_epsilon: whether the format stores a LayerNorm epsilon.
        activations: the `EncoderConfig.activation` values the format holds.
    """
    problems = []
    if config.mixing != "fourier":
        problems.append(f"mixing is {config.mixing!r}, the format holds only Fourier mixing")
    if config.attention_layers:
        problems.append(
            f"attention_layers={list(config.attention_layers)} (a hybrid), the format "
            "holds no attention layers"
        )
    embedding_dim = config.embedding_dim or config.hidden_dim
    if embedding_dim != config.hidden_dim and not allow_embedding_dim:
        problems.append(
            f"embedding_dim={embedding_dim} differs from hidden_dim={config.hidden_dim}, "
            "the format ties the two"
        )
    if not allow_epsilon and config.layer_norm_epsilon != 1e-12:
        problems.append(
            f"layer_norm_epsilon={config.layer_norm_epsilon}, the format fixes it to 1e-12"
        )
    problems += _common_problems(config)
    if not config.embedding_projection:
        problems.append("embedding_projection=False, the format always projects the embeddings")
    if config.activation not in activations:
        problems.append(
            f"activation={config.activation!r}, the format holds "
            + " or ".join(map(repr, activations))
        )
    if problems:
        raise ConversionError(f"Cannot export this model to {target}: " + "; ".join(problems) + ".")


def _common_problems(config):
    """What no FNet or BERT checkpoint holds: pre-LayerNorm, feature inputs, no positions."""
    problems = []
    if config.norm_first:
        problems.append("norm_first=True, the format holds post-LayerNorm blocks only")
    if config.input_kind != "tokens":
        problems.append(f"input_kind={config.input_kind!r}, the format holds token inputs only")
    if not config.use_position_embedding:
        problems.append("use_position_embedding=False, the format always adds positions")
    return problems


def check_bert(config, target, activations=("gelu_approximate", "gelu"), allow_epsilon=True):
    """Raise `ConversionError` when `target` (a BERT format) cannot hold `config`.

    Args:
        config: the model's `EncoderConfig`.
        target: the format's name, for the message.
        activations: the `EncoderConfig.activation` values the format holds.
        allow_epsilon: whether the format stores a LayerNorm epsilon.
    """
    problems = []
    if not allow_epsilon and config.layer_norm_epsilon != 1e-12:
        problems.append(
            f"layer_norm_epsilon={config.layer_norm_epsilon}, the format fixes it to 1e-12"
        )
    if config.mixing != "attention" or config.attention_layers:
        problems.append(f"mixing is {config.mixing!r}, the format holds only attention (BERT)")
    if config.embedding_projection:
        problems.append("embedding_projection=True, BERT has no embedding projection")
    if config.activation not in activations:
        problems.append(
            f"activation={config.activation!r}, the format holds "
            + " or ".join(map(repr, activations))
        )
    problems += _common_problems(config)
    if problems:
        raise ConversionError(f"Cannot export this model to {target}: " + "; ".join(problems) + ".")


def build_model(checkpoint, dtype=None):
    """Build this project's model from a `Checkpoint` and load its tensors.

    Args:
        checkpoint: a `Checkpoint`.
        dtype: optional dtype policy of the built model.

    Returns:
        An `Encoder`, a `Pretrainer` (with `.encoder`) or a `Classifier`,
        as `checkpoint.kind` says.

    Raises:
        ConversionError: a missing tensor, or a tensor whose shape does not
            fit (naming the tensor and both shapes).
    """
    import keras_fnet

    encoder = keras_fnet.Encoder(checkpoint.config, dtype=dtype)
    if checkpoint.kind == "pretrainer":
        model = keras_fnet.Pretrainer(encoder, dtype=dtype)
    elif checkpoint.kind == "classifier":
        model = keras_fnet.Classifier(encoder, num_classes=checkpoint.num_classes, dtype=dtype)
    else:
        model = encoder
    variables = model_variables(model)
    missing = sorted(set(variables) - set(checkpoint.tensors) - set(checkpoint.untrained))
    if missing:
        raise ConversionError(
            f"{checkpoint.source}: no tensor for {missing[0]!r}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + "."
        )
    for name, variable in variables.items():
        if name not in checkpoint.tensors:
            continue  # One of `checkpoint.untrained`: left as initialized.
        tensor = checkpoint.tensors[name]
        value = tensor.to_model(variable.shape)
        if tuple(value.shape) != tuple(variable.shape):
            raise ConversionError(
                f"{checkpoint.source}: tensor {tensor.source!r} has shape "
                f"{tuple(np.shape(tensor.value))}, but the model needs "
                f"{tensor.source_shape(variable.shape)} for {name!r} "
                f"(config: {_config_summary(checkpoint.config)})."
            )
        variable.assign(value)
    return model


def _config_summary(config):
    return (
        f"vocabulary_size={config.vocabulary_size}, num_layers={config.num_layers}, "
        f"hidden_dim={config.hidden_dim}, intermediate_dim={config.intermediate_dim}, "
        f"embedding_dim={config.embedding_dim or config.hidden_dim}, "
        f"max_sequence_length={config.max_sequence_length}, num_segments={config.num_segments}"
        + (f", num_heads={config.num_heads}" if config.mixing == "attention" else "")
    )


def wordpiece_path_for(keras_path):
    """Where a WordPiece vocabulary travels with `OUT.keras`: `OUT.vocab.txt`.

    Example:

    >>> wordpiece_path_for("models/bert_base.keras")
    'models/bert_base.vocab.txt'
    """
    root = keras_path[: -len(".keras")] if keras_path.endswith(".keras") else keras_path
    return root + ".vocab.txt"


def spm_path_for(keras_path):
    """Where the SentencePiece model travels with `OUT.keras`: `OUT.spm.model`.

    Example:

    >>> spm_path_for("models/fnet_base.keras")
    'models/fnet_base.spm.model'
    """
    root = keras_path[: -len(".keras")] if keras_path.endswith(".keras") else keras_path
    return root + ".spm.model"


def read_json(path, error=None):
    """A JSON object from `path`; a clear one-line error (`ConversionError`) for anything else."""
    return fileio.read_json(path, error=error or ConversionError)


def encoder_config(source, **fields):
    """`EncoderConfig(**fields)`, its errors as `ConversionError` naming `source`."""
    try:
        return EncoderConfig(**fields)
    except (TypeError, ValueError) as reason:
        raise ConversionError(f"{source}: {reason}") from None


def whole_directory(path, overwrite=False, error=None):
    """`fileio.whole_directory`, refusing a non-empty target unless `overwrite`.

    Args:
        path: the directory to write.
        overwrite: replace an existing non-empty directory (the old one goes
            only once the new one is complete).
        error: exception class for a target that may not be written
            (default `ConversionError`).

    Example:

    >>> with whole_directory("out") as tmp:  # doctest: +SKIP
    ...     open(os.path.join(tmp, "config.json"), "w").write("{}")
    """
    return fileio.whole_directory(path, overwrite=overwrite, error=error or ConversionError)


def copy_file(source, destination):
    os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
    shutil.copyfile(source, destination)
    return destination


def require_dir(path, what):
    if not os.path.isdir(path):
        raise ConversionError(f"{path!r} is not a directory; expected {what}.")
