"""Load and export FNet and BERT weights: official Flax, Hugging Face and keras-hub.

Loading returns this project's models: an `Encoder` (inputs `token_ids`,
`segment_ids`, `padding_mask`; outputs `sequence_output`, `pooled_output`),
or a `Pretrainer` (whose `.encoder` is the `Encoder`) when the source has the
MLM and NSP heads, or a `Classifier` for a fine-tuned classification
checkpoint. An FNet source gives the `fnet` family, a BERT source
(transformers `BertModel`..., keras-hub `BertBackbone`) the `bert` family.
`convert` also saves it as `OUT.keras` and copies the vocabulary next to it:
an FNet's SentencePiece model as `OUT.spm.model`, a BERT's WordPiece
`vocab.txt` as `OUT.vocab.txt`.

A converted BERT carries no tokenizer of this project (whose `Tokenizer` is
SentencePiece): tokenize with keras-hub's `BertTokenizer` on `OUT.vocab.txt`
(or transformers' `BertTokenizer`) and feed the ids.

The converters read safetensors with `safetensors.numpy` and Flax msgpack with
`msgpack`; they import torch only for `pytorch_model.bin`, and keras-hub only
to write a preset.

Example:

>>> from keras_fnet import convert
>>> model = convert.from_transformers("fnet-base")          # doctest: +SKIP
>>> convert.to_keras_hub(model, "f_net_base_preset")       # doctest: +SKIP
>>> convert.convert("keras-hub", "f_net_base_en", "fnet_base.keras")  # doctest: +SKIP
"""

import os

from keras_fnet import presets
from keras_fnet.convert import flax_checkpoint, hf_transformers, keras_hub_preset
from keras_fnet.convert.common import (
    Checkpoint,
    ConversionError,
    build_model,
    model_weights,
    spm_path_for,
    wordpiece_path_for,
)

FORMATS = ("transformers", "keras-hub", "flax")


def from_transformers(src_dir, encoder_only=False, dtype=None):
    """Load a Hugging Face transformers FNet or BERT directory.

    Args:
        src_dir: a directory as `save_pretrained` writes it (`config.json` and
            `model.safetensors` or `pytorch_model.bin`), from `FNetModel`,
            `FNetForPreTraining`, `FNetForMaskedLM`,
            `FNetForSequenceClassification`, or the `Bert...` classes of the
            same names.
        encoder_only: return the `Encoder` alone, without heads.
        dtype: optional dtype policy of the returned model.

    Returns:
        A `keras_fnet.Pretrainer` for `...ForPreTraining`, a `Classifier`
        for `...ForSequenceClassification`, else an `Encoder` (an MLM-only
        head is dropped; `BertForMaskedLM` has no pooler, so its
        `pooled_output` comes from a fresh one). A BERT keeps its GELU:
        `hidden_act="gelu"` gives `activation="gelu"` (exact).

    Raises:
        ConversionError: a config the zoo cannot hold (e.g.
            `position_embedding_type="relative_key"`, `hidden_act="relu"`,
            a decoder), naming the field.

    Example:

    >>> model = from_transformers("google-fnet-base")  # doctest: +SKIP
    >>> model.encoder.config.hidden_dim  # doctest: +SKIP
    768
    """
    return build_model(hf_transformers.read(src_dir, encoder_only=encoder_only), dtype=dtype)


def from_keras_hub(preset_dir, dtype=None):
    """Load a keras-hub `FNetBackbone` or `BertBackbone` preset directory as an `Encoder`.

    Args:
        preset_dir: a directory as `save_to_preset` writes it (`config.json`,
            `model.weights.h5`), e.g. `f_net_base_en` or
            `bert_base_en_uncased`. A `BertBackbone` gives the `bert` family
            with keras-hub's tanh GELU.
        dtype: optional dtype policy.

    Example:

    >>> encoder = from_keras_hub("f_net_base_en")  # doctest: +SKIP
    """
    return build_model(keras_hub_preset.read(preset_dir), dtype=dtype)


def from_flax(checkpoint_file, mixing="fourier", dropout=0.1, layer_norm_epsilon=1e-12,
              encoder_only=False, dtype=None):
    """Load an official google-research FNet Flax checkpoint (msgpack).

    The sizes come from the parameter shapes; the flags give what they
    cannot show.

    Args:
        checkpoint_file: the checkpoint file, or its directory (the latest
            `checkpoint_<step>` is read).
        mixing: `"fourier"` (FNet) or `"identity"` (FF-only baseline).
        dropout: dropout rate of the returned model.
        layer_norm_epsilon: LayerNorm epsilon (official: 1e-12).
        encoder_only: return the `Encoder` alone.
        dtype: optional dtype policy.

    Returns:
        A `Pretrainer` for a pretraining checkpoint, a `Classifier` for a
        fine-tuned one, else an `Encoder`.

    Example:

    >>> model = from_flax("f_net_base/checkpoint_1000000")  # doctest: +SKIP
    """
    checkpoint = flax_checkpoint.read(
        checkpoint_file, mixing=mixing, dropout=dropout,
        layer_norm_epsilon=layer_norm_epsilon, encoder_only=encoder_only)
    return build_model(checkpoint, dtype=dtype)


def to_keras_hub(model, out_dir, spm_path=None, overwrite=False, wordpiece_path=None):
    """Write a zoo FNet or BERT model's encoder as a keras-hub backbone preset.

    Args:
        model: an FNet or BERT `Encoder`, `Pretrainer` or `Classifier`
            (heads are not written); `embedding_dim` must equal `hidden_dim`
            and the LayerNorm epsilon be 1e-12, as the backbones fix them, and
            a BERT needs `activation="gelu_approximate"` (keras-hub's GELU).
        out_dir: preset directory to write.
        spm_path: optional SentencePiece model of an FNet; adds an
            `FNetTokenizer`.
        overwrite: replace an existing non-empty `out_dir` (else an error).
        wordpiece_path: optional WordPiece `vocab.txt` of a BERT; adds a
            `BertTokenizer`.

    Returns:
        `out_dir`, which `keras_hub.models.FNetBackbone.from_preset` (or
        `BertBackbone.from_preset`) loads.

    Example:

    >>> to_keras_hub(keras_fnet.build_encoder("fnet_tiny"), "preset")  # doctest: +SKIP
    """
    return keras_hub_preset.write(model, out_dir, spm_path=spm_path, overwrite=overwrite,
                                  wordpiece_path=wordpiece_path)


def to_transformers(model, out_dir, spm_path=None, overwrite=False, wordpiece_path=None):
    """Write a zoo FNet or BERT model as a transformers directory.

    Args:
        model: an FNet `Encoder` (written as `FNetModel`), `Pretrainer`
            (`FNetForPreTraining`) or `Classifier`
            (`FNetForSequenceClassification`) with `embedding_dim == hidden_dim`;
            or a BERT one (`BertModel`, `BertForPreTraining`,
            `BertForSequenceClassification`).
        out_dir: directory to write (`config.json`, `model.safetensors`).
        spm_path: optional SentencePiece model of an FNet, copied as
            `spiece.model`; the config's pad/bos/eos ids are its
            `<pad>`/`[CLS]`/`[SEP]`.
        overwrite: replace an existing non-empty `out_dir` (else an error).
        wordpiece_path: optional WordPiece `vocab.txt` of a BERT, copied as
            `vocab.txt`.

    Returns:
        `out_dir`, which `transformers.FNetModel.from_pretrained` (or
        `BertModel.from_pretrained`) loads.

    Example:

    >>> to_transformers(keras_fnet.build_encoder("fnet_tiny"), "fnet-hf")  # doctest: +SKIP
    """
    return hf_transformers.write(model, out_dir, spm_path=spm_path, overwrite=overwrite,
                                 wordpiece_path=wordpiece_path)


def read_checkpoint(fmt, src, **flags):
    """Read `src` of format `fmt` (one of `FORMATS`) into a `Checkpoint`."""
    if fmt == "transformers":
        return hf_transformers.read(src, **flags)
    if fmt == "keras-hub":
        return keras_hub_preset.read(src, **flags)
    if fmt == "flax":
        return flax_checkpoint.read(src, **flags)
    raise ConversionError(f"Unknown format {fmt!r}; one of {', '.join(FORMATS)}.")


def convert(fmt, src, out_path, spm_path=None, dtype=None, overwrite=False, **flags):
    """Convert a checkpoint to `out_path` (`.keras`) plus its vocabulary.

    Args:
        fmt: `"transformers"`, `"keras-hub"` or `"flax"`.
        src: the source directory (or Flax checkpoint file), FNet or BERT.
        out_path: the `.keras` file to write.
        spm_path: a SentencePiece model to carry over when the source has none
            (Flax checkpoints ship without one).
        dtype: optional dtype policy.
        overwrite: replace an existing `out_path` (else an error).
        **flags: format options (`encoder_only`; for Flax `mixing`, `dropout`,
            `layer_norm_epsilon`).

    Returns:
        `(model, vocabulary)`: the loaded model and the path of the copied
        vocabulary: the SentencePiece model (`OUT.spm.model`), a BERT's
        WordPiece vocabulary (`OUT.vocab.txt`), or None.

    Example:

    >>> model, spm = convert(  # doctest: +SKIP
    ...     "transformers", "google-fnet-base", "fnet_base.keras")
    """
    if not out_path.endswith(".keras"):
        raise ConversionError(f"The output must be a .keras file, got {out_path!r}.")
    if os.path.exists(out_path) and not overwrite:
        raise ConversionError(
            f"{out_path!r} exists; pass overwrite=True (command line: --overwrite) to replace it."
        )
    checkpoint = read_checkpoint(fmt, src, **flags)
    model = build_model(checkpoint, dtype=dtype)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    model.save(out_path)
    from keras_fnet.convert.common import copy_file

    spm_source = spm_path or checkpoint.spm_path
    if spm_source:
        return model, copy_file(spm_source, spm_path_for(out_path))
    if checkpoint.wordpiece_path:
        return model, copy_file(checkpoint.wordpiece_path, wordpiece_path_for(out_path))
    return model, None


def _preset_reader(fmt):
    """A `presets.register_format` reader: the converted model and its vocabulary."""

    def read(preset_dir, dtype):
        checkpoint = read_checkpoint(fmt, preset_dir)
        return build_model(checkpoint, dtype=dtype), checkpoint.spm_path

    return read


# `keras_fnet.from_preset` reads keras-hub and transformers directories through these.
for _fmt in ("keras-hub", "transformers"):
    presets.register_format(_fmt, _preset_reader(_fmt))


__all__ = [
    "FORMATS",
    "Checkpoint",
    "ConversionError",
    "build_model",
    "convert",
    "from_flax",
    "from_keras_hub",
    "from_transformers",
    "model_weights",
    "read_checkpoint",
    "spm_path_for",
    "to_keras_hub",
    "to_transformers",
    "wordpiece_path_for",
]
