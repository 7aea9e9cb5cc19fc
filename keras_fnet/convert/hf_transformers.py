"""Hugging Face transformers FNet and BERT directories (`save_pretrained` layout).

Reads `config.json` and `model.safetensors` (with `safetensors.numpy`, no
torch) or `pytorch_model.bin` (torch, imported only then). `ARCHITECTURES`
holds what differs per `model_type`:

- `"fnet"`: `FNetModel` (no key prefix), `FNetForPreTraining`,
  `FNetForMaskedLM`, `FNetForSequenceClassification` (keys under `fnet.`) ->
  the zoo's `fnet` family; `spiece.model` (SentencePiece) is carried over.
- `"bert"`: `BertModel` (no prefix), `BertForPreTraining`, `BertForMaskedLM`,
  `BertForSequenceClassification` (under `bert.`) -> the zoo's `bert` family
  (no embedding projection; `hidden_act="gelu"` gives the exact GELU,
  `"gelu_new"`/`"gelu_pytorch_tanh"` the tanh form); `vocab.txt`
  (WordPiece) is carried over. Only absolute position embeddings, an
  encoder (no decoder or cross-attention) and word embeddings tied to the
  MLM decoder can be converted; anything else is a `ConversionError`
  naming the `config.json` field.

Writes `config.json` and `model.safetensors` that transformers' `FNetModel`
/ `BertModel` (and the head classes) load.
"""

import dataclasses
import json
import os
import warnings
from collections.abc import Callable

import numpy as np

from keras_fnet.convert.common import (
    SAME,
    SPLIT_BIAS,
    SPLIT_IN,
    SPLIT_OUT,
    TRANSPOSE,
    Checkpoint,
    ConversionError,
    Tensor,
    check_bert,
    check_fnet,
    copy_file,
    encoder_config,
    encoder_of,
    model_kind,
    model_weights,
    read_json,
    require_dir,
    to_source_layout,
    whole_directory,
)

# transformers `hidden_act` -> `EncoderConfig.activation`: the tanh forms of
# GELU and the exact (erf) one.
HIDDEN_ACTS = {
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "gelu_fast": "gelu_approximate",
    "gelu": "gelu",
}
# `EncoderConfig.activation` -> the `hidden_act` written.
WRITTEN_ACTS = {"gelu_approximate": "gelu_new", "gelu": "gelu"}
SPM_FILE = "spiece.model"
WORDPIECE_FILE = "vocab.txt"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# Config fields of special token ids -> the SentencePiece pieces they name
# (FNet's vocabulary, keras-hub's FNetTokenizer and HF's FNetTokenizer agree).
SPECIAL_PIECES = {"pad_token_id": "<pad>", "bos_token_id": "[CLS]", "eos_token_id": "[SEP]"}
# transformers' FNetConfig defaults: the ids of the official FNet vocabulary,
# written when no vocabulary is given.
DEFAULT_SPECIAL_IDS = {"pad_token_id": 3, "bos_token_id": 1, "eos_token_id": 2}
KINDS = ("encoder", "pretrainer", "classifier")


def _linear(source, name, kernel=TRANSPOSE, bias=SAME):
    return [(f"{name}/kernel", f"{source}.weight", kernel),
            (f"{name}/bias", f"{source}.bias", bias)]


def _norm(source, name):
    return [(f"{name}/gamma", f"{source}.weight", SAME), (f"{name}/beta", f"{source}.bias", SAME)]


def _fnet_blocks(num_layers):
    table = _linear("embeddings.projection", "embeddings/projection")
    for i in range(num_layers):
        layer = f"encoder.layer.{i}"
        table += _norm(f"{layer}.fourier.output.LayerNorm", f"block_{i}/mixing_layer_norm")
        table += _linear(f"{layer}.intermediate.dense", f"block_{i}/intermediate")
        table += _linear(f"{layer}.output.dense", f"block_{i}/output")
        table += _norm(f"{layer}.output.LayerNorm", f"block_{i}/output_layer_norm")
    return table


def _bert_blocks(num_layers):
    table = []
    for i in range(num_layers):
        layer, ours = f"encoder.layer.{i}", f"block_{i}"
        for name in ("query", "key", "value"):
            table += _linear(f"{layer}.attention.self.{name}", f"{ours}/attention/{name}",
                             kernel=SPLIT_OUT, bias=SPLIT_BIAS)
        table += _linear(f"{layer}.attention.output.dense", f"{ours}/attention/output",
                         kernel=SPLIT_IN)
        table += _norm(f"{layer}.attention.output.LayerNorm", f"{ours}/mixing_layer_norm")
        table += _linear(f"{layer}.intermediate.dense", f"{ours}/intermediate")
        table += _linear(f"{layer}.output.dense", f"{ours}/output")
        table += _norm(f"{layer}.output.LayerNorm", f"{ours}/output_layer_norm")
    return table


def _activation(hf, default, source):
    act = hf.get("hidden_act", default)
    if act not in HIDDEN_ACTS:
        raise ConversionError(
            f"{source}: hidden_act={act!r} is not supported; keras_fnet has the GELU "
            f"activations {', '.join(map(repr, HIDDEN_ACTS))}."
        )
    return HIDDEN_ACTS[act]


def _fnet_fields(hf, source):
    return dict(
        vocabulary_size=hf.get("vocab_size", 32000),
        num_layers=hf.get("num_hidden_layers", 12),
        hidden_dim=hf.get("hidden_size", 768),
        intermediate_dim=hf.get("intermediate_size", 3072),
        max_sequence_length=hf.get("max_position_embeddings", 512),
        num_segments=hf.get("type_vocab_size", 4),
        dropout=hf.get("hidden_dropout_prob", 0.1),
        layer_norm_epsilon=hf.get("layer_norm_eps", 1e-12),
        activation=_activation(hf, "gelu_new", source),
    )


# BertConfig fields that the zoo's BERT cannot represent -> the value it needs.
BERT_REQUIRED = {
    "position_embedding_type": "absolute",
    "is_decoder": False,
    "add_cross_attention": False,
}


def _bert_fields(hf, source):
    for field, needed in BERT_REQUIRED.items():
        value = hf.get(field, needed)
        if value != needed:
            raise ConversionError(
                f"{source}: {field}={value!r} is not supported; keras_fnet's BERT needs "
                f"{field}={needed!r} (absolute position embeddings, an encoder only)."
            )
    dropout = hf.get("hidden_dropout_prob", 0.1)
    attention_dropout = hf.get("attention_probs_dropout_prob", dropout)
    if attention_dropout != dropout:
        warnings.warn(
            f"{source}: attention_probs_dropout_prob={attention_dropout} differs from "
            f"hidden_dropout_prob={dropout}; keras_fnet has one rate, so both become "
            f"{dropout} (inference is unaffected).",
            stacklevel=2,
        )
    return dict(
        mixing="attention",
        embedding_projection=False,
        vocabulary_size=hf.get("vocab_size", 30522),
        num_layers=hf.get("num_hidden_layers", 12),
        hidden_dim=hf.get("hidden_size", 768),
        intermediate_dim=hf.get("intermediate_size", 3072),
        num_heads=hf.get("num_attention_heads", 12),
        max_sequence_length=hf.get("max_position_embeddings", 512),
        num_segments=hf.get("type_vocab_size", 2),
        dropout=dropout,
        layer_norm_epsilon=hf.get("layer_norm_eps", 1e-12),
        activation=_activation(hf, "gelu", source),
    )


@dataclasses.dataclass(frozen=True)
class Architecture:
    """What one transformers `model_type` looks like.

    Args:
        model_type: `config.json`'s `model_type`.
        prefix: key prefix of the encoder inside the head models.
        classes: model kind -> transformers class written for it.
        fields: `(config dict, source) -> EncoderConfig fields`.
        blocks: `num_layers -> name table` of the weights between the
            embedding LayerNorm and the pooler.
        vocabulary: the vocabulary file of the directory.
        check: `(EncoderConfig, target) -> None`, raising what cannot be written.
    """

    model_type: str
    prefix: str
    classes: dict[str, str]
    fields: Callable
    blocks: Callable
    vocabulary: str
    check: Callable


ARCHITECTURES = {
    "fnet": Architecture(
        "fnet", "fnet.",
        dict(zip(KINDS, ("FNetModel", "FNetForPreTraining", "FNetForSequenceClassification"))),
        _fnet_fields, _fnet_blocks, SPM_FILE,
        lambda config, target: check_fnet(config, target, activations=tuple(WRITTEN_ACTS))),
    "bert": Architecture(
        "bert", "bert.",
        dict(zip(KINDS, ("BertModel", "BertForPreTraining", "BertForSequenceClassification"))),
        _bert_fields, _bert_blocks, WORDPIECE_FILE,
        lambda config, target: check_bert(config, target, activations=tuple(WRITTEN_ACTS))),
}


def architecture_of(config):
    """The `Architecture` that writes a zoo model of `EncoderConfig` `config`."""
    return ARCHITECTURES["bert" if config.mixing == "attention" else "fnet"]


def name_table(num_layers, kind="encoder", model_type="fnet"):
    """(our name, transformers key, layout) of every weight.

    Encoder keys are as `FNetModel` / `BertModel` name them (no prefix); head
    keys as the `...ForPreTraining` / `...ForSequenceClassification` classes
    name them.

    Example:

    >>> name_table(1)[0]
    ('embeddings/token_embedding', 'embeddings.word_embeddings.weight', 'same')
    >>> name_table(1, model_type="bert")[5]
    ('block_0/attention/query/kernel', 'encoder.layer.0.attention.self.query.weight', 'split_out')
    """
    table = [
        ("embeddings/token_embedding", "embeddings.word_embeddings.weight", SAME),
        ("embeddings/segment_embedding", "embeddings.token_type_embeddings.weight", SAME),
        ("embeddings/position_embedding", "embeddings.position_embeddings.weight", SAME),
    ]
    table += _norm("embeddings.LayerNorm", "embeddings/layer_norm")
    table += ARCHITECTURES[model_type].blocks(num_layers)
    table += _linear("pooler.dense", "pooler")
    if kind == "pretrainer":
        table += _linear("cls.predictions.transform.dense", "mlm_head/dense")
        table += _norm("cls.predictions.transform.LayerNorm", "mlm_head/layer_norm")
        table += [("mlm_head/bias", "cls.predictions.bias", SAME)]
        table += _linear("cls.seq_relationship", "nsp_head")
    elif kind == "classifier":
        table += _linear("classifier", "logits")
    return table


def _read_weights(src_dir):
    for filename in WEIGHT_FILES:
        path = os.path.join(src_dir, filename)
        if not os.path.exists(path):
            continue
        try:
            if filename.endswith(".safetensors"):
                from safetensors.numpy import load_file

                return load_file(path), path
            import torch  # Only for the legacy pickle format.

            state = torch.load(path, map_location="cpu", weights_only=True)
            return {key: value.float().numpy() for key, value in state.items()}, path
        except ImportError:
            raise
        except Exception as error:  # Each library raises its own kinds for a bad file.
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ConversionError(f"{path}: not a readable {filename} file ({reason}).") from None
    if any(name.endswith(".index.json") for name in os.listdir(src_dir)):
        raise ConversionError(
            f"{src_dir!r} holds a sharded checkpoint; re-save it with "
            "`save_pretrained(dir, max_shard_size='100GB')` into one file first."
        )
    raise ConversionError(
        f"{src_dir!r} has no weights file; expected one of {', '.join(WEIGHT_FILES)}."
    )


def read_config(src_dir):
    """`config.json` of a transformers directory, checked to be an FNet or a BERT."""
    require_dir(src_dir, "a transformers FNet or BERT directory (config.json + weights)")
    path = os.path.join(src_dir, "config.json")
    if not os.path.exists(path):
        raise ConversionError(f"{src_dir!r} is not a transformers checkpoint: no config.json.")
    config = read_json(path)
    if config.get("model_type") not in ARCHITECTURES:
        raise ConversionError(
            f"{src_dir!r} is not an FNet or BERT checkpoint: config.json has model_type "
            f"{config.get('model_type')!r}, expected one of "
            f"{', '.join(map(repr, ARCHITECTURES))}."
        )
    return config


def _check_tied(state, prefix, weights_path):
    """The MLM decoder must be the word embedding table (keras_fnet ties them)."""
    decoder = state.get("cls.predictions.decoder.weight")
    embedding = state.get(prefix + "embeddings.word_embeddings.weight")
    if decoder is None or embedding is None:
        return
    if decoder.shape != embedding.shape or not np.array_equal(decoder, embedding):
        raise ConversionError(
            f"{weights_path}: cls.predictions.decoder.weight differs from the word "
            "embeddings (tie_word_embeddings=False); keras_fnet's MLM head is tied to them."
        )


def read(src_dir, encoder_only=False):
    """Read a transformers FNet or BERT directory into a `Checkpoint`.

    Args:
        src_dir: a directory as `save_pretrained` writes it.
        encoder_only: drop any MLM/NSP or classification heads.

    Returns:
        A `Checkpoint`: a pretrainer when both the MLM and NSP heads are
        there, a classifier for `...ForSequenceClassification`, else an
        encoder. A BERT without a pooler (`BertForMaskedLM`) gets a freshly
        initialized one (with a warning).

    Example:

    >>> checkpoint = read("fnet-base")  # doctest: +SKIP
    >>> checkpoint.kind  # doctest: +SKIP
    'pretrainer'
    """
    hf = read_config(src_dir)
    arch = ARCHITECTURES[hf["model_type"]]
    config_path = os.path.join(src_dir, "config.json")
    fields = arch.fields(hf, config_path)
    state, weights_path = _read_weights(src_dir)
    prefix = arch.prefix if any(key.startswith(arch.prefix) for key in state) else ""
    config = encoder_config(config_path, **fields)
    kind = "encoder"
    num_classes = None
    has_mlm = "cls.predictions.transform.dense.weight" in state
    has_nsp = "cls.seq_relationship.weight" in state
    if not encoder_only:
        if has_mlm and has_nsp:
            kind = "pretrainer"
            _check_tied(state, prefix, weights_path)
        elif "classifier.weight" in state:
            kind = "classifier"
            num_classes = int(state["classifier.weight"].shape[0])
        elif has_mlm or has_nsp:
            warnings.warn(
                f"{src_dir}: only one of the MLM and NSP heads is present; a "
                "keras_fnet Pretrainer needs both, so only the encoder is converted.",
                stacklevel=2,
            )
    untrained = ()
    if prefix + "pooler.dense.weight" not in state and prefix + "pooler.dense.bias" not in state:
        if kind != "encoder":
            raise ConversionError(
                f"{weights_path}: no pooler (pooler.dense), which the "
                f"{'NSP' if kind == 'pretrainer' else 'classification'} head reads."
            )
        untrained = ("pooler/kernel", "pooler/bias")
        warnings.warn(
            f"{src_dir}: no pooler in the checkpoint (as in {arch.classes['encoder']}"
            "ForMaskedLM); `pooled_output` comes from a freshly initialized pooler.",
            stacklevel=2,
        )
    tensors = {}
    for ours, key, layout in name_table(config.num_layers, kind, arch.model_type):
        if ours in untrained:
            continue
        source = key if key.startswith(("cls.", "classifier.")) else prefix + key
        if source not in state and source == "cls.predictions.bias":
            source = "cls.predictions.decoder.bias"  # Saved under the tied name.
        if source not in state:
            raise ConversionError(f"{weights_path}: missing tensor {source!r} (for {ours!r}).")
        tensors[ours] = Tensor(source, state[source], layout)
    vocabulary = os.path.join(src_dir, arch.vocabulary)
    vocabulary = vocabulary if os.path.exists(vocabulary) else None
    return Checkpoint(
        config=config,
        tensors=tensors,
        kind=kind,
        num_classes=num_classes,
        spm_path=vocabulary if arch.vocabulary == SPM_FILE else None,
        wordpiece_path=vocabulary if arch.vocabulary == WORDPIECE_FILE else None,
        source=weights_path,
        untrained=untrained,
    )


def special_token_ids(spm_path):
    """`pad_token_id`, `bos_token_id`, `eos_token_id` of a SentencePiece model.

    The ids of `<pad>`, `[CLS]` and `[SEP]`, as transformers' `FNetTokenizer`
    gives them; without a vocabulary, transformers' defaults (the official
    FNet vocabulary's ids).
    """
    if spm_path is None:
        return dict(DEFAULT_SPECIAL_IDS)
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor()
    try:
        processor.Load(spm_path)
    except (OSError, RuntimeError) as error:
        raise ConversionError(f"{spm_path}: not a SentencePiece model ({error}).") from None
    ids = {}
    for field, piece in SPECIAL_PIECES.items():
        index = processor.PieceToId(piece)
        if processor.IdToPiece(index) != piece:
            raise ConversionError(f"{spm_path}: the vocabulary has no {piece!r} piece.")
        ids[field] = index
    return ids


def _wordpiece_pad_id(wordpiece_path):
    """The line number of `[PAD]` in a WordPiece `vocab.txt` (BERT's `pad_token_id`)."""
    try:
        with open(wordpiece_path, encoding="utf-8") as f:
            tokens = [line.rstrip("\n") for line in f]
    except (OSError, UnicodeDecodeError) as error:
        raise ConversionError(f"{wordpiece_path}: not a readable vocab.txt ({error}).") from None
    if "[PAD]" not in tokens:
        raise ConversionError(f"{wordpiece_path}: the vocabulary has no '[PAD]' token.")
    return tokens.index("[PAD]")


def write(model, out_dir, spm_path=None, overwrite=False, wordpiece_path=None):
    """Write a zoo FNet or BERT model as a transformers directory.

    An FNet `Encoder` is written as `FNetModel`, a `Pretrainer` as
    `FNetForPreTraining`, a `Classifier` as `FNetForSequenceClassification`;
    a BERT (`mixing="attention"`, no embedding projection) likewise as
    `BertModel`, `BertForPreTraining`, `BertForSequenceClassification`.

    Args:
        model: a `keras_fnet` Encoder, Pretrainer or Classifier of FNet or
            BERT architecture.
        out_dir: the directory to write (created).
        spm_path: optional SentencePiece model of an FNet, copied to
            `spiece.model`; `pad_token_id`, `bos_token_id`, `eos_token_id`
            in `config.json` are its ids of `<pad>`, `[CLS]`, `[SEP]`.
        overwrite: replace an existing non-empty `out_dir`.
        wordpiece_path: optional WordPiece `vocab.txt` of a BERT, copied to
            `vocab.txt` (`pad_token_id` is its `[PAD]`).

    Example:

    >>> write(keras_fnet.build_encoder("fnet_tiny"), "fnet-tiny-hf")  # doctest: +SKIP
    >>> write(keras_fnet.build_encoder("bert_tiny"), "bert-tiny-hf")  # doctest: +SKIP
    """
    kind = model_kind(model)
    config = encoder_of(model).config
    arch = architecture_of(config)
    arch.check(config, f"transformers ({arch.classes['encoder']})")
    bert = arch.model_type == "bert"
    if bert and spm_path:
        raise ConversionError("A BERT takes a WordPiece vocab.txt (wordpiece_path), "
                              "not a SentencePiece model.")
    if not bert and wordpiece_path:
        raise ConversionError("An FNet takes a SentencePiece model (spm_path), not a vocab.txt.")
    from safetensors.numpy import save_file

    weights = model_weights(model)
    prefix = "" if kind == "encoder" else arch.prefix
    state = {}
    for ours, key, layout in name_table(config.num_layers, kind, arch.model_type):
        source = key if key.startswith(("cls.", "classifier.")) else prefix + key
        state[source] = to_source_layout(weights[ours], layout)
    hf = {
        "architectures": [arch.classes[kind]],
        "model_type": arch.model_type,
        "vocab_size": config.vocabulary_size,
        "hidden_size": config.hidden_dim,
        "num_hidden_layers": config.num_layers,
        "intermediate_size": config.intermediate_dim,
        "hidden_act": WRITTEN_ACTS[config.activation],
        "hidden_dropout_prob": config.dropout,
        "max_position_embeddings": config.max_sequence_length,
        "type_vocab_size": config.num_segments,
        "initializer_range": 0.02,
        "layer_norm_eps": config.layer_norm_epsilon,
        "tie_word_embeddings": True,
    }
    if bert:
        hf.update({
            "num_attention_heads": config.num_heads,
            "attention_probs_dropout_prob": config.dropout,
            "position_embedding_type": "absolute",
            "pad_token_id": _wordpiece_pad_id(wordpiece_path) if wordpiece_path else 0,
        })
    else:
        hf.update({
            "use_tpu_fourier_optimizations": False,
            "tpu_short_seq_length": 512,
            **special_token_ids(spm_path),
        })
    if kind == "classifier":
        hf["id2label"] = {str(i): f"LABEL_{i}" for i in range(model.num_classes)}
        hf["label2id"] = {f"LABEL_{i}": i for i in range(model.num_classes)}
    with whole_directory(out_dir, overwrite=overwrite) as tmp:
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(hf, f, indent=2)
        save_file(
            {key: np.ascontiguousarray(value) for key, value in state.items()},
            os.path.join(tmp, "model.safetensors"),
            metadata={"format": "pt"},
        )
        if spm_path:
            copy_file(spm_path, os.path.join(tmp, SPM_FILE))
        if wordpiece_path:
            copy_file(wordpiece_path, os.path.join(tmp, WORDPIECE_FILE))
    return out_dir
