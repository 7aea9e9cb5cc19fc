"""The one interface every token-mixing sublayer implements, and its registry.

A mixing layer joins the zoo with one decorator, `@register_mixing("name",
options={...})`: that makes it serializable, lists it under its name in
`MIXINGS`, records the name on the class, and declares the options it takes
from `EncoderConfig.mixing_options` (each a `MixingOption`: the layer argument
it sets, its default, its valid values). How a layer is built from an
`EncoderConfig` is its own classmethod, `from_encoder_config(config, index)`,
so adding a family touches one module of `keras_fnet.layers.mixing` and one
row of `keras_fnet.config.FAMILIES`.
"""

import dataclasses
from typing import Any

import keras

# Mixing name -> layer class, filled by `register_mixing`.
MIXINGS = {}


def default_initializer(initializer=None):
    """The zoo's weight initializer: `initializer`, or a normal with stddev 0.02
    (BERT's and the official FNet code's)."""
    return keras.initializers.get(
        initializer or keras.initializers.RandomNormal(stddev=0.02)
    )


@dataclasses.dataclass(frozen=True)
class MixingOption:
    """One option of a mixing layer, set through `EncoderConfig.mixing_options`.

    Option names are shared by every mixing that declares them (the Hartley
    layer takes FourierMixing's `fourier_implementation`); two mixings that
    declare one name must declare the same option.

    Args:
        argument: the layer's constructor argument the option sets.
        default: its value when the config does not give one.
        choices: the valid values; `None` means a positive integer.
        help: one line for error messages and the docs.

    Example:

    >>> option = MixingOption("implementation", "auto", ("auto", "fft"))
    >>> option.check("fft", "implementation")
    'fft'
    >>> option.check("matmul", "implementation")
    Traceback (most recent call last):
    ...
    ValueError: `implementation` must be one of 'auto', 'fft', got 'matmul'.
    """

    argument: str
    default: Any
    choices: tuple[Any, ...] | None = None
    help: str = ""

    def check(self, value, name):
        """`value` if valid for this option, else a `ValueError` naming `name`."""
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(
                    f"`{name}` must be one of {', '.join(map(repr, self.choices))}, "
                    f"got {value!r}."
                )
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
        return value


def register_mixing(name, options=None):
    """Class decorator: register a `MixingLayer` under `name`.

    Args:
        name: the mixing's name (`EncoderConfig.mixing`).
        options: `{option name: MixingOption}` that the layer reads from
            `EncoderConfig.mixing_options`; a subclass adds to (or keeps) the
            options of its registered base.

    Example:

    >>> @register_mixing("doc_scale", options={
    ...     "doc_scale_factor": MixingOption("factor", 2, help="the scale")})
    ... class ScaleMixing(MixingLayer):
    ...     def __init__(self, factor=2, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.factor = factor
    ...     def call(self, inputs, padding_mask=None):
    ...         return inputs * self.factor
    >>> MIXINGS["doc_scale"].mixing_name, sorted(MIXINGS["doc_scale"].options)
    ('doc_scale', ['doc_scale_factor'])
    >>> del MIXINGS["doc_scale"]
    """
    options = dict(options or {})

    def register(cls):
        if name in MIXINGS and MIXINGS[name] is not cls:
            raise ValueError(f"Mixing {name!r} is already registered by {MIXINGS[name].__name__}.")
        for key, option in options.items():
            if not isinstance(option, MixingOption):
                raise TypeError(f"Option {key!r} of mixing {name!r} must be a MixingOption, "
                                f"got {type(option).__name__}.")
            known = mixing_options().get(key)
            if known is not None and known != option:
                raise ValueError(f"Option {key!r} of mixing {name!r} differs from the option "
                                 f"of that name that another mixing declares: {known}.")
        cls.mixing_name = name
        cls.options = {**cls.options, **options}
        MIXINGS[name] = keras.saving.register_keras_serializable(package="keras_fnet")(cls)
        return MIXINGS[name]

    return register


def mixing_options():
    """`{option name: MixingOption}` over every registered mixing."""
    return {key: option for cls in MIXINGS.values() for key, option in cls.options.items()}


def check_mixing_options(values):
    """`values` (option name -> value) checked by the options that own them,
    without the values equal to their defaults; a clear error for an unknown name."""
    known = mixing_options()
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(
            f"Unknown mixing option(s) {unknown}. Valid options: {', '.join(sorted(known))}."
        )
    return {key: known[key].check(value, key) for key, value in sorted(values.items())
            if value != known[key].default}


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
    when they take more from the config than their `options`.

    Class attributes:
        mixing_name: the registered name (set by `register_mixing`).
        options: `{option name: MixingOption}` (set by `register_mixing`).
        uses_heads: whether the layer splits the hidden size into
            `num_heads` heads (the config checks divisibility).
    """

    mixing_name = None
    options = {}
    uses_heads = False
    quadratic_in_length = False  # Keeps [batch, heads, length, length] scores (benchmarks read it).

    @classmethod
    def option_arguments(cls, config):
        """`{constructor argument: value}` of this layer's options in `config`."""
        given = config.mixing_options
        return {option.argument: given.get(key, option.default)
                for key, option in cls.options.items()}

    @classmethod
    def from_encoder_config(cls, config, index, **kwargs):
        """The layer of block `index` of an `EncoderConfig`.

        Args:
            config: an `EncoderConfig`.
            index: the block's index (the seed of random matrices is
                `config.seed + index`).
            **kwargs: standard layer arguments (`name`, `dtype`).
        """
        del index
        return cls(**cls.option_arguments(config), **kwargs)

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape [..., sequence, "
                f"hidden], got shape {tuple(input_shape)}."
            )
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
