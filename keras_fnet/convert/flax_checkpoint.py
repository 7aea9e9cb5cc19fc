"""Official google-research `f_net` Flax checkpoints (msgpack files).

`flax.training.checkpoints` writes the training state as one msgpack file
(`checkpoint_<step>`); arrays are msgpack extension type 1 holding
`(shape, dtype name, C-order bytes)`, and arrays over 1 GiB are split into a
`{"__msgpack_chunked_array__": True, "shape": ..., "chunks": ...}` dict.
This module decodes that with `msgpack` and numpy alone (no jax or flax).

The parameter tree (under `target/`, the optimizer's parameters):

    encoder/embedder/word/embedding              [vocab, d_emb]
    encoder/embedder/position/embedding          [1, max_len, d_emb]
    encoder/embedder/type/embedding              [types, d_emb]
    encoder/embedder/layer_norm/{scale,bias}
    encoder/embedder/hidden_mapping_in/{kernel,bias}   [d_emb, d_model]
    encoder/encoder_N/{mixing,output}_layer_norm/{scale,bias}
    encoder/feed_forward_N/{intermediate,output}/{kernel,bias}
    encoder/pooler/{kernel,bias}
    predictions_dense/{kernel,bias}  predictions_layer_norm/{scale,bias}
    predictions_output/output_bias   classification/{output_kernel [n, d_model], output_bias}

The architecture comes from the shapes. What they cannot tell (the mixing of
parameter-free layers, dropout, LayerNorm epsilon) comes from flags.
"""

import os
import re

import numpy as np

from keras_fnet.config import EncoderConfig
from keras_fnet.convert.common import (
    LEADING_ONE,
    SAME,
    TRANSPOSE,
    Checkpoint,
    ConversionError,
    Tensor,
)

# Parameter-free mixings whose official layers store nothing in the tree.
FLAX_MIXINGS = ("fourier", "identity")
_CHUNKED = "__msgpack_chunked_array__"


def _dtype(name):
    name = name.decode() if isinstance(name, bytes) else name
    try:
        return np.dtype(name)
    except TypeError:
        import ml_dtypes  # bfloat16 and friends; installed with jax.

        return np.dtype(getattr(ml_dtypes, name))


def _ext_hook(code, data):
    import msgpack

    if code in (1, 3):  # ndarray, numpy scalar
        shape, dtype, buffer = msgpack.unpackb(data, raw=True)
        array = np.frombuffer(buffer, dtype=_dtype(dtype)).reshape(shape)
        return array if code == 1 else array[()]
    if code == 2:  # complex
        real, imag = msgpack.unpackb(data)
        return complex(real, imag)
    return msgpack.ExtType(code, data)


def _unchunk(tree):
    if not isinstance(tree, dict):
        return tree
    if tree.get(_CHUNKED):
        shape = tuple(tree["shape"][str(i)] for i in range(len(tree["shape"])))
        chunks = [tree["chunks"][str(i)] for i in range(len(tree["chunks"]))]
        return np.concatenate(chunks).reshape(shape)
    return {key: _unchunk(value) for key, value in tree.items()}


def load_msgpack(path):
    """Decode a Flax msgpack checkpoint file into nested dicts of numpy arrays.

    Args:
        path: a checkpoint file, or a directory of `checkpoint_<step>` files
            (the latest step is read).

    Example:

    >>> tree = load_msgpack("f_net_base/checkpoint_1000000")  # doctest: +SKIP
    >>> sorted(tree["target"])[:2]  # doctest: +SKIP
    ['classification', 'encoder']
    """
    import msgpack

    path = _checkpoint_file(path)
    with open(path, "rb") as f:
        data = f.read()
    try:
        tree = msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False)
    except (ValueError, msgpack.exceptions.ExtraData, msgpack.exceptions.UnpackException) as error:
        raise ConversionError(
            f"{path!r} is not a Flax msgpack checkpoint ({type(error).__name__}: {error})."
        ) from error
    if not isinstance(tree, dict):
        raise ConversionError(
            f"{path!r} is not a Flax checkpoint: it holds a {type(tree).__name__}.")
    return _unchunk(tree)


def _checkpoint_file(path):
    if os.path.isdir(path):
        steps = []
        for name in os.listdir(path):
            match = re.fullmatch(r"checkpoint_(\d+)", name)
            if match:
                steps.append((int(match.group(1)), name))
        if not steps:
            raise ConversionError(f"{path!r} has no checkpoint_<step> file.")
        return os.path.join(path, max(steps)[1])
    if not os.path.exists(path):
        raise ConversionError(f"No such checkpoint file: {path!r}.")
    return path


def _params(tree, path):
    """The parameter dict (holding `encoder`) inside a restored state."""
    for key in ("optimizer", "target", "params", "params"):
        if "encoder" not in tree and isinstance(tree.get(key), dict):
            tree = tree[key]
    encoder = tree.get("encoder")
    if not isinstance(encoder, dict) or "embedder" not in encoder:
        raise ConversionError(
            f"{path!r} is not an official FNet checkpoint: no 'target/encoder/embedder' "
            f"in its tree (top-level keys: {sorted(tree)[:8]})."
        )
    return tree


def _get(tree, dotted, path):
    node = tree
    for part in dotted.split("/"):
        if not isinstance(node, dict) or part not in node:
            raise ConversionError(f"{path}: missing tensor {dotted!r}.")
        node = node[part]
    return node


def name_table(num_layers, kind="encoder"):
    """(our name, Flax parameter path, layout) of every weight.

    Example:

    >>> name_table(1)[2]
    ('embeddings/position_embedding', 'encoder/embedder/position/embedding', 'leading_one')
    """
    e = "encoder/embedder"
    table = [
        ("embeddings/token_embedding", f"{e}/word/embedding", SAME),
        ("embeddings/segment_embedding", f"{e}/type/embedding", SAME),
        ("embeddings/position_embedding", f"{e}/position/embedding", LEADING_ONE),
    ]

    def dense(ours, theirs, kernel="kernel", bias="bias", layout=SAME):
        table.append((f"{ours}/kernel", f"{theirs}/{kernel}", layout))
        table.append((f"{ours}/bias", f"{theirs}/{bias}", SAME))

    def norm(ours, theirs):
        table.append((f"{ours}/gamma", f"{theirs}/scale", SAME))
        table.append((f"{ours}/beta", f"{theirs}/bias", SAME))

    norm("embeddings/layer_norm", f"{e}/layer_norm")
    dense("embeddings/projection", f"{e}/hidden_mapping_in")
    for i in range(num_layers):
        norm(f"block_{i}/mixing_layer_norm", f"encoder/encoder_{i}/mixing_layer_norm")
        dense(f"block_{i}/intermediate", f"encoder/feed_forward_{i}/intermediate")
        dense(f"block_{i}/output", f"encoder/feed_forward_{i}/output")
        norm(f"block_{i}/output_layer_norm", f"encoder/encoder_{i}/output_layer_norm")
    dense("pooler", "encoder/pooler")
    if kind == "pretrainer":
        dense("mlm_head/dense", "predictions_dense")
        norm("mlm_head/layer_norm", "predictions_layer_norm")
        table.append(("mlm_head/bias", "predictions_output/output_bias", SAME))
        dense("nsp_head", "classification", "output_kernel", "output_bias", TRANSPOSE)
    elif kind == "classifier":
        dense("logits", "classification", "output_kernel", "output_bias", TRANSPOSE)
    return table


def read(path, mixing="fourier", dropout=0.1, layer_norm_epsilon=1e-12, encoder_only=False):
    """Read an official FNet Flax checkpoint into a `Checkpoint`.

    Args:
        path: the msgpack checkpoint file, or its directory.
        mixing: the mixing of the checkpoint's blocks, which the tree cannot
            show: `"fourier"` (FNet) or `"identity"` (the FF-only baseline).
        dropout: dropout rate of the built model (training only).
        layer_norm_epsilon: LayerNorm epsilon (the official code: 1e-12).
        encoder_only: drop the pretraining or classification heads.

    Returns:
        A `Checkpoint`: a pretrainer when `predictions_*` and `classification`
        are there, a classifier when only `classification` is, else an encoder.

    Example:

    >>> read("fnet_base/checkpoint_1000000").config.num_layers  # doctest: +SKIP
    12
    """
    if mixing not in FLAX_MIXINGS:
        raise ConversionError(
            f"mixing={mixing!r} cannot be read from a Flax checkpoint; one of "
            f"{FLAX_MIXINGS} (the random baseline's matrices come from JAX's PRNG)."
        )
    file = _checkpoint_file(path)
    params = _params(load_msgpack(file), file)
    encoder = params["encoder"]
    pattern = r"(self_attention|linear_transform|random_transform)_\d+"
    stored = [key for key in encoder if re.fullmatch(pattern, key)]
    if stored:
        raise ConversionError(
            f"{file!r} is not an FNet checkpoint: it has {stored[0]!r} mixing parameters "
            "(BERT, hybrid or linear model); only Fourier (or FF-only) encoders convert."
        )
    num_layers = len([key for key in encoder if re.fullmatch(r"encoder_\d+", key)])
    if num_layers == 0:
        raise ConversionError(f"{file!r}: no 'encoder/encoder_0' block in the tree.")
    word = np.shape(_get(params, "encoder/embedder/word/embedding", file))
    position = np.shape(_get(params, "encoder/embedder/position/embedding", file))
    types = np.shape(_get(params, "encoder/embedder/type/embedding", file))
    mapping = np.shape(_get(params, "encoder/embedder/hidden_mapping_in/kernel", file))
    ff = np.shape(_get(params, "encoder/feed_forward_0/intermediate/kernel", file))
    if len(position) != 3 or len(mapping) != 2 or len(ff) != 2 or len(word) != 2:
        raise ConversionError(
            f"{file!r}: unexpected embedding shapes word {word}, position {position}, "
            f"hidden_mapping_in {mapping}, feed_forward_0/intermediate {ff}."
        )
    config = EncoderConfig(
        vocabulary_size=int(word[0]),
        num_layers=num_layers,
        hidden_dim=int(mapping[1]),
        intermediate_dim=int(ff[1]),
        max_sequence_length=int(position[1]),
        num_segments=int(types[0]),
        embedding_dim=None if word[1] == mapping[1] else int(word[1]),
        dropout=dropout,
        layer_norm_epsilon=layer_norm_epsilon,
        mixing=mixing,
    )
    kind, num_classes = "encoder", None
    if not encoder_only and "classification" in params:
        kind = "pretrainer" if "predictions_dense" in params else "classifier"
        num_classes = int(np.shape(_get(params, "classification/output_kernel", file))[0])
    tensors = {
        ours: Tensor(theirs, _get(params, theirs, file), layout)
        for ours, theirs, layout in name_table(num_layers, kind)
    }
    return Checkpoint(
        config=config, tensors=tensors, kind=kind, num_classes=num_classes, source=file
    )
