"""Functional models of the zoo: encoder, classifier, pretrainer.

Each is a functional `keras.Model` (a subclass only so that it is rebuilt from
its config when a `.keras` file is loaded, as keras-hub's models are). All take
the same inputs:

    token_ids    int   [batch, sequence]
    segment_ids  int   [batch, sequence]
    padding_mask int   [batch, sequence]   1 at real tokens (ignored by FNet)
"""

import keras

from keras_fnet.config import get_config
from keras_fnet.layers import Embeddings, EncoderBlock, MaskedLMHead, get_mixing_layer
from keras_fnet.preprocessing.task import PreprocessorMixin

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")


def _encoder_inputs():
    return {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_NAMES}


def _check_inputs(inputs, required=INPUT_NAMES):
    """Clear errors for inputs that the functional graph would silently cast."""
    if not isinstance(inputs, dict):
        raise TypeError(
            f"Inputs must be a dict with keys {list(required)}, got "
            f"{type(inputs).__name__}."
        )
    missing = [name for name in required if name not in inputs]
    if missing:
        raise ValueError(f"Missing input(s) {missing}; expected keys {list(required)}.")
    for name in required:
        value = inputs[name]
        shape = getattr(value, "shape", None)
        if shape is None:
            continue
        if len(shape) != 2:
            raise ValueError(
                f"`{name}` must have shape [batch, sequence], got shape {tuple(shape)}."
            )
        dtype = keras.backend.standardize_dtype(value.dtype)
        if "int" not in dtype and dtype != "bool":
            raise TypeError(f"`{name}` must hold integers, got dtype {dtype}.")


class _ConfiguredModel(keras.Model):
    """Functional model whose call checks its inputs before the graph casts them."""

    _required_inputs = INPUT_NAMES

    def __call__(self, inputs, *args, **kwargs):
        _check_inputs(inputs, self._required_inputs)
        return super().__call__(inputs, *args, **kwargs)

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def save_to_preset(self, preset_dir, vocabulary=None, overwrite=False):
        """Write this model as a preset directory; see `keras_fnet.presets.save`."""
        from keras_fnet import presets

        return presets.save(self, preset_dir, vocabulary=vocabulary, overwrite=overwrite)

    @classmethod
    def from_preset(cls, preset_dir, **kwargs):
        """Load a preset directory as this class; see `keras_fnet.presets.from_preset`."""
        from keras_fnet import presets

        return presets.from_preset(preset_dir, cls=cls, **kwargs)


@keras.saving.register_keras_serializable(package="keras_fnet")
class Encoder(_ConfiguredModel):
    """An encoder of the zoo: embeddings, `num_layers` blocks, a tanh pooler.

    Outputs a dict: `sequence_output` `[batch, sequence, hidden_dim]` and
    `pooled_output` `[batch, hidden_dim]` (tanh of a Dense on the first token).

    Args:
        config: an `EncoderConfig`, its dict, or a preset name.
        **kwargs: `name`, `dtype` (a dtype policy such as "mixed_bfloat16").

    Example:

    >>> encoder = Encoder("fnet_tiny")
    >>> x = {"token_ids": np.ones((1, 8), "int32"), "segment_ids": np.zeros((1, 8), "int32"),
    ...      "padding_mask": np.ones((1, 8), "int32")}
    >>> encoder(x)["pooled_output"].shape
    (1, 128)
    """

    def __init__(self, config="fnet_base", dtype=None, **kwargs):
        config = get_config(config)
        inputs = _encoder_inputs()
        embeddings = Embeddings(
            vocabulary_size=config.vocabulary_size,
            max_sequence_length=config.max_sequence_length,
            num_segments=config.num_segments,
            embedding_dim=config.embedding_dim or config.hidden_dim,
            hidden_dim=config.hidden_dim,
            dropout=config.dropout,
            layer_norm_epsilon=config.layer_norm_epsilon,
            dtype=dtype,
            name="embeddings",
        )
        x = embeddings(inputs["token_ids"], inputs["segment_ids"])
        for index in range(config.num_layers):
            block = EncoderBlock(
                get_mixing_layer(config, index, dtype=dtype, name=f"mixing_{index}"),
                intermediate_dim=config.intermediate_dim,
                dropout=config.dropout,
                layer_norm_epsilon=config.layer_norm_epsilon,
                dtype=dtype,
                name=f"block_{index}",
            )
            x = block(x, padding_mask=inputs["padding_mask"])
        pooled = keras.layers.Dense(
            config.hidden_dim,
            activation="tanh",
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=dtype,
            name="pooler",
        )(x[:, 0, :])
        super().__init__(
            inputs=inputs,
            outputs={"sequence_output": x, "pooled_output": pooled},
            **kwargs,
        )
        self.config = config
        self.embeddings = embeddings

    @property
    def token_embedding(self):
        return self.embeddings.token_embedding

    def get_config(self):
        return {"config": self.config.to_dict(), "name": self.name, "trainable": self.trainable}


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


def _adamw(learning_rate):
    optimizer = keras.optimizers.AdamW(
        learning_rate=learning_rate, weight_decay=0.01, epsilon=1e-6
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


@keras.saving.register_keras_serializable(package="keras_fnet")
class Classifier(PreprocessorMixin, _ConfiguredModel):
    """Sequence classifier (or regressor) on the pooled output.

    Returns logits `[batch, num_classes]`; with `num_classes=1`, a regression
    score `[batch]`-like `[batch, 1]` (STS-B).

    Args:
        encoder: an `Encoder`, or a preset/config to build one.
        num_classes: number of classes; 1 for regression.
        dropout: dropout before the output layer.
        preprocessor: optional `keras_fnet.ClassifierPreprocessor`; then
            `fit`/`evaluate`/`predict` also take strings (`PreprocessorMixin`).
        **kwargs: `name`, `dtype`.
    """

    def __init__(self, encoder, num_classes=2, dropout=0.1, dtype=None, preprocessor=None,
                 **kwargs):
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"`num_classes` must be a positive integer, got {num_classes!r}.")
        encoder = _as_encoder(encoder, {}, dtype)
        inputs = _encoder_inputs()
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
        self.set_preprocessor(preprocessor)

    def get_config(self):
        return {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
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
        encoder: an `Encoder`, or a preset/config to build one.
        preprocessor: optional `keras_fnet.PretrainingPreprocessor`; then
            `fit` also takes sentence pairs as strings (`PreprocessorMixin`).
        **kwargs: `name`, `dtype`.
    """

    _required_inputs = INPUT_NAMES + ("mask_positions",)

    def __init__(self, encoder, dtype=None, preprocessor=None, **kwargs):
        encoder = _as_encoder(encoder, {}, dtype)
        inputs = _encoder_inputs()
        inputs["mask_positions"] = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        outputs = encoder({name: inputs[name] for name in INPUT_NAMES})
        mlm_head = MaskedLMHead(
            encoder.token_embedding,
            layer_norm_epsilon=encoder.config.layer_norm_epsilon,
            dtype=dtype,
            name="mlm_head",
        )
        mlm = mlm_head(outputs["sequence_output"], inputs["mask_positions"])
        nsp = keras.layers.Dense(
            2,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=dtype,
            name="nsp_head",
        )(outputs["pooled_output"])
        mlm = keras.layers.Activation("linear", dtype="float32", name="mlm")(mlm)
        nsp = keras.layers.Activation("linear", dtype="float32", name="nsp")(nsp)
        super().__init__(inputs=inputs, outputs={"mlm": mlm, "nsp": nsp}, **kwargs)
        self.encoder = encoder
        self.set_preprocessor(preprocessor)

    def get_config(self):
        return {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
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
        if num_classes == 1:
            loss, metrics = keras.losses.MeanSquaredError(), []
        else:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        model.compile(optimizer=_adamw(learning_rate), loss=loss, metrics=metrics)
    return model


def pretraining_losses():
    """`(loss, metrics, weighted_metrics)` of the pretrainer, for `compile`.

    As the official code: the MLM cross-entropy is averaged over the real
    predictions only (`sample_weight={"mlm": mask_weights}` with 0 at padded
    prediction slots, so the loss divides by the sum of the weights, not by
    the number of slots), plus the NSP cross-entropy.

    Example:

    >>> loss, metrics, weighted = pretraining_losses()
    >>> sorted(loss)
    ['mlm', 'nsp']
    """
    accuracy = lambda: keras.metrics.SparseCategoricalAccuracy(name="accuracy")  # noqa: E731
    loss = {
        "mlm": keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        ),
        "nsp": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    }
    return loss, {"nsp": [accuracy()]}, {"mlm": [accuracy()]}


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
    >>> sorted(model.output_shape)
    ['mlm', 'nsp']
    """
    encoder = _as_encoder(preset_or_config, overrides, dtype)
    model = Pretrainer(encoder, dtype=dtype, preprocessor=preprocessor)
    if compile:
        loss, metrics, weighted_metrics = pretraining_losses()
        model.compile(
            optimizer=_adamw(learning_rate),
            loss=loss,
            metrics=metrics,
            weighted_metrics=weighted_metrics,
        )
    return model
