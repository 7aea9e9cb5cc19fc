"""Low-rank adapters (LoRA, Hu et al. 2021) on a zoo encoder.

`enable(encoder, rank, target)` freezes every weight of the encoder, then
gives each targeted layer that has an `enable_lora` method a trainable
rank-`rank` update of its kernel, `W + A @ B`, with `B` zero at first, so the
outputs are unchanged until the adapters train. As Keras's own `enable_lora`
does, an adapted layer's bias stays trainable.

The targets are groups of each encoder block's layers (`GROUPS`):

- `"mixing"`: the mixing sublayer; what it adapts is what it holds. The
  attention projections (BERT's query, key, value and output, Performer's
  same four) are Keras `EinsumDense` layers; `LinearMixing` adapts its two
  learned matrices; the parameter-free and fixed transforms (Fourier, Hartley,
  DCT, Hadamard, Random, Identity) have nothing to adapt. A user's family gets
  adapters on any `Dense`/`EinsumDense` it holds, or on itself if it defines
  `enable_lora(rank)`.
- `"feedforward"`: the block's two feed-forward `Dense` layers.
- `"all"`: both.

The embeddings, layer norms and the pooler stay frozen; the heads of a
classifier or pretrainer are not part of the encoder and stay trainable, as
keras-hub's `Backbone.enable_lora` leaves a task's head.
"""

from keras_fnet import keras_compat
from keras_fnet.layers import EncoderBlock

# Target group -> the layers of a block whose sublayers (themselves included)
# get an adapter wherever they have an `enable_lora` method.
GROUPS = {
    "mixing": lambda block: [block.mixing],
    "feedforward": lambda block: [block.intermediate, block.output_dense],
}
ALL = "all"


def target_groups(target):
    """The group names that `target` (a group, `"all"`, or a list) names."""
    names = [target] if isinstance(target, str) else target
    if not isinstance(names, (list, tuple)) or not names:
        raise ValueError(
            f"`target` must be {ALL!r}, a group name or a non-empty list of them "
            f"({', '.join(map(repr, GROUPS))}); got {target!r}."
        )
    if ALL in names:
        return list(GROUPS)
    unknown = [name for name in names if name not in GROUPS]
    if unknown:
        raise ValueError(
            f"Unknown LoRA target(s) {unknown}. Valid targets: "
            f"{', '.join(map(repr, [ALL, *GROUPS]))}."
        )
    return list(dict.fromkeys(names))


def adapted_layers(encoder, groups):
    """The layers of `encoder` that `groups` give an adapter, in block order."""
    blocks = [layer for layer in encoder.layers if isinstance(layer, EncoderBlock)]
    return [
        layer
        for block in blocks
        for group in groups
        for root in GROUPS[group](block)
        for layer in keras_compat.sublayers(root)
        if hasattr(layer, "enable_lora")
    ]


def enable(encoder, rank, target=ALL):
    """Freeze `encoder` and put rank-`rank` adapters on the `target` layers.

    Raises:
        ValueError: a rank that is not a positive integer, an unknown target,
            a target with nothing to adapt in this encoder (e.g. `"mixing"`
            on FNet, whose Fourier transform has no weights), or an encoder
            that already has adapters.
    """
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"LoRA `rank` must be a positive integer, got {rank!r}.")
    groups = target_groups(target)
    if state(encoder)[0]:
        raise ValueError(
            f"LoRA is already enabled on {encoder.name!r} (rank, groups: "
            f"{state(encoder)}); it can be enabled once."
        )
    layers = adapted_layers(encoder, groups)
    if not layers:
        raise ValueError(
            f"LoRA target {groups} has nothing to adapt in this "
            f"{encoder.config.mixing!r} encoder (its mixing has no trainable "
            "projections); use 'feedforward' or 'all'."
        )
    encoder.trainable = True
    for layer in keras_compat.sublayers(encoder, include_self=False):
        layer.trainable = False
    for layer in layers:
        layer.trainable = True
        layer.enable_lora(rank)
    encoder._lora_state = (rank, tuple(groups))


def state(encoder):
    """`(rank, groups)` of the encoder's adapters, `(None, ())` if it has none."""
    return getattr(encoder, "_lora_state", (None, ()))
