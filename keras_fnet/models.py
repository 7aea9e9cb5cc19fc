"""Functional models of the zoo: encoder, classifier, pretrainer.

Each is a functional `keras.Model` (a subclass only so that it is rebuilt from
its config when a `.keras` file is loaded, as keras-hub's models are). A text
encoder (`input_kind="tokens"`, the default) takes

    token_ids    int   [batch, sequence]
    segment_ids  int   [batch, sequence]
    padding_mask int   [batch, sequence]   1 at real tokens (ignored by FNet)

and a feature encoder (`input_kind="features"`) takes

    features     float [batch, sequence, feature_dim]
    padding_mask int   [batch, sequence]

Every model keeps its dtype policy, and the quantization of its layers
(`model.quantize("int8")`), through `get_config` and a `.keras` file. NumPy
inputs are checked on the host before any compiled step (`__call__`, `fit`,
`predict`, `evaluate`): token and segment ids must lie in `[0, vocabulary_size)`
and `[0, num_segments)`. Tensors and `tf.data` pipelines are not checked (the
values are not on the host), nor is anything inside a user's own
`jax.jit`/`tf.function`: there JAX reads NaN for an id >= the table size and
the last row for -1.
"""

import keras

from keras_fnet import keras_compat, lora, presets
from keras_fnet.compile_defaults import make_loss, make_optimizer, pretraining_losses
from keras_fnet.config import get_config
from keras_fnet.layers import (
    Embeddings,
    EncoderBlock,
    FeatureEmbeddings,
    MaskedLMHead,
    get_mixing_layer,
)
from keras_fnet.layers.embeddings import check_ids
from keras_fnet.preprocessing.task import PreprocessorMixin

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")


def _token_inputs(config):
    del config
    return {name: ((None,), "int32") for name in INPUT_NAMES}


def _feature_inputs(config):
    return {"features": ((None, config.feature_dim), "float32"), "padding_mask": ((None,), "int32")}


def _token_embeddings(config, **kwargs):
    return Embeddings(config.vocabulary_size, num_segments=config.num_segments, **kwargs)


def _feature_embeddings(config, **kwargs):
    del config
    return FeatureEmbeddings(**kwargs)


# Per input kind: the model inputs (name -> (shape without batch, dtype)), the
# embedding layer, and which inputs it reads.
INPUT_KINDS = {
    "tokens": (_token_inputs, _token_embeddings, ("token_ids", "segment_ids")),
    "features": (_feature_inputs, _feature_embeddings, ("features",)),
}


def input_specs(config):
    """`{name: (shape without batch, dtype)}` of an encoder's inputs."""
    return INPUT_KINDS[config.input_kind][0](config)


def _model_inputs(specs):
    return {
        name: keras.Input(shape=shape, dtype=dtype, name=name)
        for name, (shape, dtype) in specs.items()
    }


def _check_inputs(inputs, specs):
    """Clear errors for inputs that the functional graph would silently cast."""
    if not isinstance(inputs, dict):
        raise TypeError(
            f"Inputs must be a dict with keys {list(specs)}, got {type(inputs).__name__}."
        )
    missing = [name for name in specs if name not in inputs]
    if missing:
        raise ValueError(f"Missing input(s) {missing}; expected keys {list(specs)}.")
    for name, (shape, dtype) in specs.items():
        value = inputs[name]
        got = getattr(value, "shape", None)
        if got is None:
            continue
        if len(got) != len(shape) + 1:
            layout = ", ".join(["batch", "sequence", "features"][: len(shape) + 1])
            raise ValueError(f"`{name}` must have shape [{layout}], got shape {tuple(got)}.")
        if got[1] == 0:
            raise ValueError(
                f"`{name}` has sequence length 0; an encoder needs at least one position.")
        kind = "float" if "float" in dtype else "int"
        got_dtype = keras.backend.standardize_dtype(value.dtype)
        if kind not in got_dtype and not (kind == "int" and got_dtype == "bool"):
            words = {"float": "floats", "int": "integers"}
            raise TypeError(f"`{name}` must hold {words[kind]}, got dtype {got_dtype}.")


def _base_policy(dtype):
    """The dtype policy of every layer: `dtype`, a saved `DTypePolicyMap`'s
    default, or the global policy when None."""
    if dtype is None:
        return keras.config.dtype_policy()
    policy = keras.dtype_policies.get(dtype)
    if isinstance(policy, keras.dtype_policies.DTypePolicyMap):
        return policy.default_policy
    return policy


class _ConfiguredModel(keras.Model):
    """Functional model with a config-rebuilt graph, checked inputs, and its
    dtype policy (and its layers' quantization) kept in its config."""

    def _finish_init(self, dtype, specs, id_limits):
        self._input_specs = specs
        self._id_limits = id_limits
        self.dtype_policy = _base_policy(dtype)
        saved = keras.dtype_policies.get(dtype) if dtype is not None else None
        if isinstance(saved, keras.dtype_policies.DTypePolicyMap):
            # A quantized model's config lists its quantized layers by path;
            # setting a layer's quantized policy quantizes it (Keras' own way),
            # so the saved weights then load into the same variables.
            for layer in keras_compat.sublayers(self):
                if layer.path in saved and not keras_compat.is_quantized(layer):
                    layer.dtype_policy = saved[layer.path]

    def _dtype_config(self):
        quantized = {
            layer.path: layer.dtype_policy
            for layer in keras_compat.sublayers(self, include_self=False)
            if layer.quantization_mode is not None
        }
        if not quantized:
            return keras.dtype_policies.serialize(self.dtype_policy)
        policy_map = keras.dtype_policies.DTypePolicyMap(self.dtype_policy, quantized)
        return keras.saving.serialize_keras_object(policy_map)

    def _check_host_inputs(self, inputs):
        if isinstance(inputs, dict):
            for name, limit in self._id_limits.items():
                check_ids(inputs.get(name), limit, name)

    def __call__(self, inputs, *args, **kwargs):
        _check_inputs(inputs, self._input_specs)
        self._check_host_inputs(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def fit(self, x=None, *args, **kwargs):
        self._check_host_inputs(x)
        return super().fit(x, *args, **kwargs)

    def evaluate(self, x=None, *args, **kwargs):
        self._check_host_inputs(x)
        return super().evaluate(x, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        self._check_host_inputs(x)
        return super().predict(x, *args, **kwargs)

    def compute_output_spec(self, inputs, *args, **kwargs):
        # The layers' shape functions read the shapes of symbolic inputs;
        # arrays are replaced by their specs first.
        inputs = {
            name: keras.KerasTensor(value.shape, keras.backend.standardize_dtype(value.dtype))
            for name, value in inputs.items()
        }
        return super().compute_output_spec(inputs, *args, **kwargs)

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               sequence_length=None, **kwargs):
        """Keras's `export`, prepared per format (`keras_fnet.export.export_model`):
        ONNX and LiteRT get DFT mixing at a fixed `sequence_length` (default
        `max_sequence_length`); a TensorFlow SavedModel takes any length unless given one."""
        from keras_fnet.export import export_model

        return export_model(self, filepath, format=format, sequence_length=sequence_length,
                            input_signature=input_signature, verbose=verbose, **kwargs)

    def enable_lora(self, rank, target="all"):
        """Freeze the encoder and train low-rank adapters (LoRA) in it instead.

        Adapters go on the mixing projections (attention's query, key, value
        and output; Linear's two matrices) and the feed-forward `Dense` layers
        (`keras_fnet.lora`); the embeddings, layer norms and pooler freeze; a
        classifier's or pretrainer's heads stay trainable. The outputs are
        unchanged until the adapters train. `compile` after enabling, so the
        optimizer sees the new weights. Saving (`.keras`, `save_to_preset`)
        writes the kernels with their updates merged: the file loads as a plain
        model with the fine-tuned weights.

        Args:
            rank: rank of the adapters, e.g. 4.
            target: `"all"` (default), `"mixing"`, `"feedforward"`, or a list.

        Example:

        >>> import math
        >>> model = build_classifier("bert_tiny", vocabulary_size=100, compile=False)
        >>> trained = lambda: sum(math.prod(w.shape) for w in model.trainable_weights)
        >>> trained()
        492418
        >>> model.enable_lora(4)
        >>> model.lora_rank, trained()
        (4, 22530)
        """
        lora.enable(self._lora_encoder(), rank, target)

    @property
    def lora_rank(self):
        """The rank of the encoder's adapters (`enable_lora`), or None."""
        return lora.state(self._lora_encoder())[0]

    def _lora_encoder(self):
        return self if isinstance(self, Encoder) else self.encoder

    def save_to_preset(self, preset_dir, vocabulary=None, overwrite=False):
        """Write this model as a preset directory; see `keras_fnet.presets.save`."""
        return presets.save(self, preset_dir, vocabulary=vocabulary, overwrite=overwrite)

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """Load a preset (directory, name or hub handle) as this class.

        See `keras_fnet.presets.from_preset` and `keras_fnet.hub`.
        """
        return presets.from_preset(preset, cls=cls, **kwargs)


def _id_limits(config):
    if config.input_kind != "tokens":
        return {}
    return {"token_ids": config.vocabulary_size, "segment_ids": config.num_segments}


@keras.saving.register_keras_serializable(package="keras_fnet")
class Encoder(_ConfiguredModel):
    """An encoder of the zoo: embeddings, `num_layers` blocks, a tanh pooler.

    Outputs a dict: `sequence_output` `[batch, sequence, hidden_dim]` and
    `pooled_output` `[batch, hidden_dim]` (tanh of a Dense on the first
    position). With `norm_first`, a LayerNorm follows the last block.

    Args:
        config: an `EncoderConfig`, its dict, or a preset name.
        dtype: a dtype policy such as `"mixed_bfloat16"` (default: the
            global policy), kept when the model is saved.
        **kwargs: `name`, `trainable`.

    Example:

    >>> import numpy as np
    >>> encoder = Encoder("fnet_tiny")
    >>> x = {"token_ids": np.ones((1, 8), "int32"), "segment_ids": np.zeros((1, 8), "int32"),
    ...      "padding_mask": np.ones((1, 8), "int32")}
    >>> tuple(encoder(x)["pooled_output"].shape)
    (1, 128)
    >>> features = Encoder(get_config("fnet_tiny", input_kind="features", feature_dim=8))
    >>> out = features({"features": np.ones((1, 8, 8), "float32"),
    ...                 "padding_mask": np.ones((1, 8), "int32")})
    >>> tuple(out["sequence_output"].shape)
    (1, 8, 128)
    """

    def __init__(self, config="fnet_base", dtype=None, **kwargs):
        config = get_config(config)
        policy = _base_policy(dtype)
        make_inputs, make_embeddings, embedding_inputs = INPUT_KINDS[config.input_kind]
        specs = make_inputs(config)
        inputs = _model_inputs(specs)
        layer_args = dict(
            dropout=config.dropout, layer_norm_epsilon=config.layer_norm_epsilon, dtype=policy
        )
        embeddings = make_embeddings(
            config,
            max_sequence_length=config.max_sequence_length,
            embedding_dim=config.embedding_dim or config.hidden_dim,
            hidden_dim=config.hidden_dim,
            use_position_embedding=config.use_position_embedding,
            embedding_projection=config.embedding_projection,
            name="embeddings",
            **layer_args,
        )
        x = embeddings(*[inputs[name] for name in embedding_inputs])
        for index in range(config.num_layers):
            block = EncoderBlock(
                get_mixing_layer(config, index, dtype=policy, name=f"mixing_{index}"),
                intermediate_dim=config.intermediate_dim,
                norm_first=config.norm_first,
                activation=config.activation,
                name=f"block_{index}",
                **layer_args,
            )
            x = block(x, padding_mask=inputs["padding_mask"])
        if config.norm_first:
            x = keras.layers.LayerNormalization(
                epsilon=config.layer_norm_epsilon, dtype=policy, name="final_layer_norm"
            )(x)
        pooled = keras.layers.Dense(
            config.hidden_dim,
            activation="tanh",
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=policy,
            name="pooler",
        )(x[:, 0, :])
        super().__init__(
            inputs=inputs,
            outputs={"sequence_output": x, "pooled_output": pooled},
            **kwargs,
        )
        self.config = config
        self.embeddings = embeddings
        self._finish_init(dtype, specs, _id_limits(config))

    @property
    def token_embedding(self):
        return self.embeddings.token_embedding

    @classmethod
    def from_encoder(cls, encoder, num_classes=None):
        """The encoder itself (what `Encoder.from_preset` takes of a task preset)."""
        return encoder

    def get_config(self):
        return {
            "config": self.config.to_dict(),
            "dtype": self._dtype_config(),
            "name": self.name,
            "trainable": self.trainable,
        }


def _as_encoder(encoder, overrides, dtype=None):
    if isinstance(encoder, Encoder):
        if overrides:
            raise ValueError(
                "Overrides apply to a preset or config; got an Encoder instance "
                f"with overrides {sorted(overrides)}."
            )
        return encoder
    if isinstance(encoder, dict) and "config" in encoder:  # A serialized Encoder.
        return keras.saving.deserialize_keras_object(encoder)
    return Encoder(get_config(encoder, **overrides), dtype=dtype)


@keras.saving.register_keras_serializable(package="keras_fnet")
class Classifier(PreprocessorMixin, _ConfiguredModel):
    """Sequence classifier (or regressor) on the pooled output.

    Returns logits `[batch, num_classes]`; with `num_classes=1`, a regression
    score `[batch]`-like `[batch, 1]` (STS-B).

    Args:
        encoder: an `Encoder`, or a preset/config to build one.
        num_classes: number of classes; 1 for regression.
        dropout: dropout before the output layer.
        dtype: dtype policy of the head (and of an encoder built here);
            the logits are float32.
        preprocessor: optional `keras_fnet.ClassifierPreprocessor`; then
            `fit`/`evaluate`/`predict` also take strings (`PreprocessorMixin`).
        **kwargs: `name`, `trainable`.
    """

    def __init__(self, encoder, num_classes=2, dropout=0.1, dtype=None, preprocessor=None,
                 **kwargs):
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"`num_classes` must be a positive integer, got {num_classes!r}.")
        encoder = _as_encoder(encoder, {}, dtype)
        inputs = _model_inputs(encoder._input_specs)
        pooled = encoder(inputs)["pooled_output"]
        pooled = keras.layers.Dropout(dropout, name="head_dropout")(pooled)
        outputs = keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype="float32",
            name="logits",
        )(pooled)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.num_classes = num_classes
        self.dropout = dropout
        self._finish_init(dtype, encoder._input_specs, encoder._id_limits)
        self.set_preprocessor(preprocessor)

    @classmethod
    def from_encoder(cls, encoder, num_classes=2):
        """A fresh classification head on `encoder`, compiled as `build_classifier`."""
        return build_classifier(encoder, num_classes=num_classes)

    def get_config(self):
        return {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "dtype": self._dtype_config(),
            "name": self.name,
            "trainable": self.trainable,
            **self.preprocessor_config(),
        }


@keras.saving.register_keras_serializable(package="keras_fnet")
class Pretrainer(PreprocessorMixin, _ConfiguredModel):
    """MLM + NSP pretraining model, as the official FNet pretraining model.

    Extra input `mask_positions` `int [batch, predictions]`. Outputs a dict:
    `mlm` logits `[batch, predictions, vocabulary_size]` (output weights tied
    to the word embeddings) and `nsp` logits `[batch, 2]`.

    Args:
        encoder: an `Encoder` of token inputs, or a preset/config to build one.
        dtype: dtype policy of the heads (and of an encoder built here); the
            logits are float32.
        preprocessor: optional `keras_fnet.PretrainingPreprocessor`; then
            `fit` also takes sentence pairs as strings (`PreprocessorMixin`).
        **kwargs: `name`, `trainable`.
    """

    def __init__(self, encoder, dtype=None, preprocessor=None, **kwargs):
        encoder = _as_encoder(encoder, {}, dtype)
        if encoder.config.input_kind != "tokens":
            raise ValueError(
                "A Pretrainer predicts masked tokens, so it needs an encoder of token "
                f"inputs; got input_kind={encoder.config.input_kind!r}."
            )
        specs = {**encoder._input_specs, "mask_positions": ((None,), "int32")}
        inputs = _model_inputs(specs)
        outputs = encoder({name: inputs[name] for name in INPUT_NAMES})
        mlm_head = MaskedLMHead(
            encoder.token_embedding,
            layer_norm_epsilon=encoder.config.layer_norm_epsilon,
            activation=encoder.config.activation,
            dtype=_base_policy(dtype),
            name="mlm_head",
        )
        mlm = mlm_head(outputs["sequence_output"], inputs["mask_positions"])
        nsp = keras.layers.Dense(
            2,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=_base_policy(dtype),
            name="nsp_head",
        )(outputs["pooled_output"])
        mlm = keras.layers.Activation("linear", dtype="float32", name="mlm")(mlm)
        nsp = keras.layers.Activation("linear", dtype="float32", name="nsp")(nsp)
        super().__init__(inputs=inputs, outputs={"mlm": mlm, "nsp": nsp}, **kwargs)
        self.encoder = encoder
        self._finish_init(dtype, specs, encoder._id_limits)
        self.set_preprocessor(preprocessor)

    @classmethod
    def from_encoder(cls, encoder, num_classes=None):
        """Fresh MLM and NSP heads on `encoder`, compiled as `build_pretrainer`."""
        return build_pretrainer(encoder)

    def get_config(self):
        return {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "dtype": self._dtype_config(),
            "name": self.name,
            "trainable": self.trainable,
            **self.preprocessor_config(),
        }


def build_encoder(preset_or_config="fnet_base", dtype=None, **overrides):
    """Build an encoder of the zoo.

    Args:
        preset_or_config: a preset name (`keras_fnet.PRESETS`), an
            `EncoderConfig` or its dict.
        dtype: optional dtype policy, e.g. `"mixed_bfloat16"`.
        **overrides: config fields to change, e.g. `num_layers=4`.

    Returns:
        An `Encoder` (functional `keras.Model`) with inputs `token_ids`,
        `segment_ids`, `padding_mask` and outputs `sequence_output`,
        `pooled_output`.

    Example:

    >>> encoder = build_encoder("fnet_base", num_layers=4, hidden_dim=256)
    >>> encoder.config.num_layers
    4
    """
    return Encoder(get_config(preset_or_config, **overrides), dtype=dtype)


def build_classifier(
    preset_or_config="fnet_base",
    num_classes=2,
    learning_rate=1e-4,
    dtype=None,
    compile=True,
    preprocessor=None,
    **overrides,
):
    """Build a classifier (or, with `num_classes=1`, a regressor), compiled.

    Compiled with AdamW (weight decay 0.01 except biases and LayerNorm,
    epsilon 1e-6) and cross-entropy on logits plus accuracy, or mean squared
    error for regression. Call `compile` again to change any of it.

    Args:
        preset_or_config: preset name, `EncoderConfig`, dict, or an `Encoder`
            (e.g. a pretrained one) to fine-tune.
        num_classes: number of classes; 1 for regression (STS-B).
        learning_rate: AdamW learning rate (float or schedule).
        dtype: optional dtype policy.
        compile: whether to compile with the defaults above.
        preprocessor: optional `ClassifierPreprocessor` (fit/predict on text).
        **overrides: config fields to change.

    Example:

    >>> model = build_classifier("fnet_tiny", num_classes=3)
    >>> model.output_shape
    (None, 3)
    """
    encoder = _as_encoder(preset_or_config, overrides, dtype)
    model = Classifier(encoder, num_classes=num_classes, dtype=dtype, preprocessor=preprocessor)
    if compile:
        loss, metrics, weighted = make_loss("regression" if num_classes == 1 else "classification")
        model.compile(optimizer=make_optimizer(learning_rate), loss=loss, metrics=metrics,
                      weighted_metrics=weighted)
    return model


def build_pretrainer(
    preset_or_config="fnet_base", learning_rate=1e-4, dtype=None, compile=True,
    preprocessor=None, **overrides
):
    """Build the MLM + NSP pretraining model, compiled with its losses.

    The loss is the official one (`pretraining_losses`): the MLM cross-entropy
    averaged over real predictions (pass `sample_weight={"mlm": mask_weights,
    "nsp": ones}`, 0 at padded prediction slots) plus the NSP cross-entropy.

    Args:
        preset_or_config: preset name, `EncoderConfig`, dict, or an `Encoder`.
        learning_rate: AdamW learning rate.
        dtype: optional dtype policy.
        compile: whether to compile with the defaults above.
        preprocessor: optional `PretrainingPreprocessor` (fit on text pairs).
        **overrides: config fields to change.

    Example:

    >>> model = build_pretrainer("fnet_tiny")
    >>> sorted(model.output_names)
    ['mlm', 'nsp']
    """
    encoder = _as_encoder(preset_or_config, overrides, dtype)
    model = Pretrainer(encoder, dtype=dtype, preprocessor=preprocessor)
    if compile:
        loss, metrics, weighted_metrics = pretraining_losses()
        model.compile(
            optimizer=make_optimizer(learning_rate),
            loss=loss,
            metrics=metrics,
            weighted_metrics=weighted_metrics,
        )
    return model
