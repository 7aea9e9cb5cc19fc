"""The one interface every token-mixing sublayer implements, and its registry.

A mixing layer joins the zoo with one decorator, `@register_mixing("name")`:
that makes it serializable, lists it under its name in `MIXINGS`, and records
the name on the class. How a layer is built from an `EncoderConfig` is its
own classmethod, `from_encoder_config(config, index)`, so adding a family
touches one module and one row of `keras_fnet.config.FAMILIES`.
"""

import keras

# Mixing name -> layer class, filled by `register_mixing`.
MIXINGS = {}


def default_initializer(initializer=None):
    """The zoo's weight initializer: `initializer`, or a normal with stddev 0.02
    (BERT's and the official FNet code's)."""
    return keras.initializers.get(
        initializer or keras.initializers.RandomNormal(stddev=0.02)
    )


def register_mixing(name):
    """Class decorator: register a `MixingLayer` under `name`.

    Example:

    >>> @register_mixing("doc_negate")
    ... class NegateMixing(MixingLayer):
    ...     def call(self, inputs, padding_mask=None):
    ...         return -inputs
    >>> MIXINGS["doc_negate"].mixing_name
    'doc_negate'
    >>> del MIXINGS["doc_negate"]
    """

    def register(cls):
        if name in MIXINGS and MIXINGS[name] is not cls:
            raise ValueError(f"Mixing {name!r} is already registered by {MIXINGS[name].__name__}.")
        cls.mixing_name = name
        MIXINGS[name] = keras.saving.register_keras_serializable(package="keras_fnet")(cls)
        return MIXINGS[name]

    return register


def mixing_class(name):
    """The registered mixing layer class called `name`; a clear error if none."""
    if name not in MIXINGS:
        raise ValueError(f"Unknown mixing {name!r}. Valid names: {', '.join(MIXINGS)}.")
    return MIXINGS[name]


class MixingLayer(keras.layers.Layer):
    """Base of token-mixing sublayers: `call(x, padding_mask=None) -> same shape`.

    `x` is `[batch, sequence, hidden]` (any leading axes for the fixed
    transforms); `padding_mask` is `[batch, sequence]`, true/1 at real tokens.
    Layers that cannot use the mask (the fixed transforms, as in the paper)
    ignore it. Subclasses implement `call`, and `build` when they own weights;
    registered subclasses (`register_mixing`) override `from_encoder_config`
    when they take options from the config.

    Class attributes:
        mixing_name: the registered name (set by `register_mixing`).
        uses_heads: whether the layer splits the hidden size into
            `num_heads` heads (the config checks divisibility).
    """

    mixing_name = None
    uses_heads = False
    quadratic_in_length = False  # Keeps [batch, heads, length, length] scores (benchmarks read it).

    @classmethod
    def from_encoder_config(cls, config, index, **kwargs):
        """The layer of block `index` of an `EncoderConfig`.

        Args:
            config: an `EncoderConfig`.
            index: the block's index (the seed of random matrices is
                `config.seed + index`).
            **kwargs: standard layer arguments (`name`, `dtype`).
        """
        del config, index
        return cls(**kwargs)

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape [..., sequence, "
                f"hidden], got shape {tuple(input_shape)}."
            )
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
