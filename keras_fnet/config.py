"""Encoder configurations as data, and the preset table.

A model in the zoo is fully described by an `EncoderConfig`. The families of the
paper differ only in the `mixing` field (and, for the hybrid, in
`attention_layers`), so every baseline is a row of `PRESETS`, not a class.

Example:

>>> config = get_config("fnet_base", num_layers=4)
>>> config.num_layers, config.mixing
(4, 'fourier')
"""

import dataclasses
import functools

# What an encoder reads: token and segment ids (text), or float vectors
# `[batch, sequence, feature_dim]` (image rows or patches, audio frames, ...).
INPUT_KINDS = ("tokens", "features")


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Everything that defines an encoder of the zoo.

    Argument names follow keras-hub's backbones.

    Args:
        vocabulary_size: number of token ids.
        num_layers: number of encoder blocks.
        hidden_dim: width of the residual stream.
        intermediate_dim: width of the feed-forward sublayer.
        num_heads: attention heads (used by `attention` and `performer` mixing,
            and by the attention layers of a hybrid).
        max_sequence_length: the longest input; sizes the position embeddings
            and the `linear`/`random` mixing matrices.
        num_segments: number of segment (token type) ids.
        dropout: dropout rate after the embeddings, the feed-forward sublayer
            and inside attention.
        mixing: token-mixing sublayer of every block, a name of
            `keras_fnet.layers.MIXINGS`.
        attention_layers: indices of blocks that use self-attention instead of
            `mixing` (the hybrid models). Negative indices count from the top,
            so `(-2, -1)` is "the top two layers" at any depth.
        embedding_dim: width of the embeddings before their projection to
            `hidden_dim`; `None` means `hidden_dim`.
        layer_norm_epsilon: epsilon of every LayerNorm.
        seed: seed of the fixed matrices of `random` and `performer` mixing
            (block `i` uses `seed + i`).
        input_kind: `"tokens"` (token and segment ids; `vocabulary_size` and
            `num_segments` apply) or `"features"` (float vectors of width
            `feature_dim`, projected instead of embedded).
        feature_dim: width of each input vector; required for `"features"`.
        use_position_embedding: add learned position embeddings.
        norm_first: pre-LayerNorm blocks (`x + mix(LN(x))`) and a final
            LayerNorm, instead of the official post-LayerNorm blocks.
        activation: GELU of the feed-forward sublayers and the masked-LM
            head: `"gelu_approximate"` (tanh form: official FNet, original
            BERT, keras-hub) or `"gelu"` (exact erf form: Hugging Face BERT).
        embedding_projection: project the normalized embeddings to
            `hidden_dim` with a Dense layer, as the official FNet
            (`hidden_mapping_in`); False leaves it out, as BERT (then
            `embedding_dim` must be None or `hidden_dim`).
        mixing_options: options of the mixing layers, `{name: value}`, each
            declared and checked by the mixing that owns it
            (`keras_fnet.layers.mixing_options()`), e.g.
            `{"fourier_implementation": "dft"}` (`FourierMixing`),
            `{"attention_implementation": "explicit"}` (`AttentionMixing`),
            `{"num_random_features": 64}` (`PerformerMixing`). An option can
            also be given as a keyword of its own,
            `EncoderConfig(fourier_implementation="dft")`, and read as an
            attribute, `config.fourier_implementation`. Values equal to the
            option's default are dropped, so equal settings give equal configs.

    Example:

    >>> config = EncoderConfig(num_layers=2, fourier_implementation="dft")
    >>> config.mixing_options, config.fourier_implementation
    ({'fourier_implementation': 'dft'}, 'dft')
    >>> EncoderConfig(mixing_options={"fourier_implementation": "matmul"})
    Traceback (most recent call last):
    ...
    ValueError: `fourier_implementation` must be one of 'auto', 'fft', 'dft', got 'matmul'.
    """

    vocabulary_size: int = 32000
    num_layers: int = 12
    hidden_dim: int = 768
    intermediate_dim: int = 3072
    num_heads: int = 12
    max_sequence_length: int = 512
    num_segments: int = 4
    dropout: float = 0.1
    mixing: str = "fourier"
    attention_layers: tuple[int, ...] = ()
    embedding_dim: int | None = None
    layer_norm_epsilon: float = 1e-12
    seed: int = 0
    input_kind: str = "tokens"
    feature_dim: int | None = None
    use_position_embedding: bool = True
    norm_first: bool = False
    activation: str = "gelu_approximate"
    embedding_projection: bool = True
    mixing_options: dict = dataclasses.field(default_factory=dict, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "attention_layers", tuple(self.attention_layers))
        for name in (
            "vocabulary_size",
            "num_layers",
            "hidden_dim",
            "intermediate_dim",
            "num_heads",
            "max_sequence_length",
            "num_segments",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
        # The layer registry is filled when `keras_fnet.layers` is imported
        # (always, by `import keras_fnet`); configs only look names up in it.
        from keras_fnet.layers.base import check_mixing_options, mixing_class

        mixing = mixing_class(self.mixing)
        if not isinstance(self.mixing_options, dict):
            raise TypeError(
                "`mixing_options` must be a dict of option names and values, got "
                f"{type(self.mixing_options).__name__}."
            )
        object.__setattr__(self, "mixing_options", check_mixing_options(self.mixing_options))
        if self.input_kind not in INPUT_KINDS:
            raise ValueError(
                f"`input_kind` must be one of {', '.join(INPUT_KINDS)}, got {self.input_kind!r}."
            )
        features = self.feature_dim
        if self.input_kind == "features" and (
            isinstance(features, bool) or not isinstance(features, int) or features < 1
        ):
            raise ValueError(
                f"`feature_dim` must be a positive integer for feature inputs, got {features!r}."
            )
        from keras_fnet.layers.encoder_block import activation_function

        activation_function(self.activation)
        embedding_dim = self.embedding_dim or self.hidden_dim
        if not self.embedding_projection and embedding_dim != self.hidden_dim:
            raise ValueError(
                f"`embedding_dim` ({embedding_dim}) must equal `hidden_dim` "
                f"({self.hidden_dim}) without `embedding_projection`."
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), got {self.dropout!r}.")
        for index in self.attention_layers:
            if not -self.num_layers <= index < self.num_layers:
                raise ValueError(
                    f"`attention_layers` has {index}, which is not a layer of a "
                    f"{self.num_layers}-layer encoder."
                )
        uses_heads = mixing.uses_heads or self.attention_layers
        if uses_heads and self.hidden_dim % self.num_heads:
            raise ValueError(
                f"`hidden_dim` ({self.hidden_dim}) must be divisible by `num_heads` "
                f"({self.num_heads}) for {self.mixing!r} mixing"
                + (" with attention layers." if self.attention_layers else ".")
            )

    def __getattr__(self, name):
        """A mixing option read as an attribute (its value here, else its default)."""
        from keras_fnet.layers.base import mixing_options

        option = mixing_options().get(name) if not name.startswith("__") else None
        if option is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return self.__dict__.get("mixing_options", {}).get(name, option.default)

    def layer_mixing(self, index):
        """The mixing name of block `index` (attention in hybrid layers)."""
        hybrid = {i % self.num_layers for i in self.attention_layers}
        return "attention" if index in hybrid else self.mixing

    def replace(self, **overrides):
        """A copy with some fields changed; unknown names raise a clear error.

        A mixing option given by name changes that option and keeps the others;
        `mixing_options=...` replaces them all.
        """
        from keras_fnet.layers.base import mixing_options

        fields = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(overrides) - set(fields) - set(mixing_options()))
        if unknown:
            raise ValueError(
                f"Unknown config field(s) {unknown}. Valid fields: {', '.join(fields)}; "
                f"mixing options: {', '.join(sorted(mixing_options()))}."
            )
        return dataclasses.replace(self, **overrides)

    def to_dict(self):
        config = dataclasses.asdict(self)
        config["attention_layers"] = list(self.attention_layers)
        return config

    @classmethod
    def from_dict(cls, config):
        """The config of `to_dict`'s dict; also reads the dicts of earlier
        versions, whose mixing options are fields of their own."""
        return cls(**config)


def _with_option_keywords(init):
    """`EncoderConfig.__init__` that also takes each mixing option as a keyword
    (merged into `mixing_options`; the flat fields of earlier versions)."""

    @functools.wraps(init)
    def __init__(self, *args, **fields):
        from keras_fnet.layers.base import mixing_options

        named = {k: fields.pop(k) for k in list(fields) if k in mixing_options()}
        given = fields.get("mixing_options") or {}
        if named and isinstance(given, dict):  # Else the check names the wrong type.
            fields["mixing_options"] = {**given, **named}
        init(self, *args, **fields)

    return __init__


EncoderConfig.__init__ = _with_option_keywords(EncoderConfig.__init__)


# Sizes: (num_layers, hidden_dim, intermediate_dim, num_heads). Base and large
# are the paper's; small/mini/tiny follow the compact BERTs of Turc et al.
SIZES = {
    "tiny": dict(num_layers=2, hidden_dim=128, intermediate_dim=512, num_heads=2),
    "mini": dict(num_layers=4, hidden_dim=256, intermediate_dim=1024, num_heads=4),
    "small": dict(num_layers=4, hidden_dim=512, intermediate_dim=2048, num_heads=8),
    "base": dict(num_layers=12, hidden_dim=768, intermediate_dim=3072, num_heads=12),
    "large": dict(num_layers=24, hidden_dim=1024, intermediate_dim=4096, num_heads=16),
}

# Families: the config fields that make each baseline of the paper. BERT's
# embeddings have no projection to the hidden size (FNet's do).
FAMILIES = {
    "fnet": dict(mixing="fourier"),
    "bert": dict(mixing="attention", embedding_projection=False),
    "linear": dict(mixing="linear"),
    "random": dict(mixing="random"),
    "ff_only": dict(mixing="identity"),
    "fnet_hybrid": dict(mixing="fourier", attention_layers=(-2, -1)),
    "performer": dict(mixing="performer"),
    "hartley": dict(mixing="hartley"),
    "dct": dict(mixing="dct"),
    "hadamard": dict(mixing="hadamard"),
}

PRESETS = {
    f"{family}_{size}": EncoderConfig(**family_fields, **size_fields)
    for family, family_fields in FAMILIES.items()
    for size, size_fields in SIZES.items()
}


def register_family(name, **fields):
    """Add a family from outside the package: its row of `FAMILIES` and its
    presets `<name>_<size>` in `PRESETS`.

    The registries belong to the process that calls this. Another process (the
    command line, whose `--model` choices are `PRESETS`; the speed benchmark's
    workers, whose families are `FAMILIES`; a `keras.saving.load_model` in a new
    interpreter) has the family only if it imports the module that registers it
    (and its mixing): name that module in the environment variable
    `KERAS_FNET_PLUGINS`, or advertise it under the entry-point group
    `keras_fnet.families`, and `import keras_fnet` imports it there
    (`keras_fnet.plugins`).

    Args:
        name: the family's name (a string without spaces, not a family yet).
        **fields: the config fields that make the family, e.g.
            `mixing="mean"` for a mixing registered with `register_mixing`.

    Example:

    >>> register_family("doc_fourier_dft", mixing="fourier",
    ...                 fourier_implementation="dft")
    >>> PRESETS["doc_fourier_dft_tiny"].mixing_options
    {'fourier_implementation': 'dft'}
    >>> unregister_family("doc_fourier_dft")
    """
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        raise ValueError(f"A family name must be a non-empty string without spaces, got {name!r}.")
    if name in FAMILIES:
        raise ValueError(f"Family {name!r} already exists ({FAMILIES[name]}).")
    presets = {f"{name}_{size}": EncoderConfig(**fields, **size_fields)
               for size, size_fields in SIZES.items()}
    taken = sorted(set(presets) & set(PRESETS))
    if taken:
        raise ValueError(f"Family {name!r} would replace the preset(s) {taken}.")
    FAMILIES[name] = dict(fields)
    PRESETS.update(presets)


def unregister_family(name):
    """Remove a family that `register_family` added, and its presets."""
    if name not in FAMILIES:
        raise ValueError(f"Unknown family {name!r}. Families: {', '.join(FAMILIES)}.")
    del FAMILIES[name]
    for size in SIZES:
        PRESETS.pop(f"{name}_{size}", None)


def get_config(preset_or_config="fnet_base", **overrides):
    """Resolve a preset name, config or config dict, then apply overrides.

    Args:
        preset_or_config: a name of `PRESETS` (e.g. `"fnet_base"`), an
            `EncoderConfig`, or a dict of its fields.
        **overrides: config fields to change, e.g. `num_layers=4`.

    Returns:
        An `EncoderConfig`.

    Example:

    >>> get_config("bert_tiny", max_sequence_length=128).max_sequence_length
    128
    """
    if isinstance(preset_or_config, EncoderConfig):
        config = preset_or_config
    elif isinstance(preset_or_config, dict):
        config = EncoderConfig.from_dict(preset_or_config)
    elif isinstance(preset_or_config, str):
        if preset_or_config not in PRESETS:
            raise ValueError(
                f"Unknown preset {preset_or_config!r}. Valid presets: "
                f"{', '.join(PRESETS)}."
            )
        config = PRESETS[preset_or_config]
    else:
        raise TypeError(
            "Expected a preset name, an EncoderConfig or a dict, got "
            f"{type(preset_or_config).__name__}."
        )
    return config.replace(**overrides) if overrides else config
