"""Hugging Face transformers FNet directories (`save_pretrained` layout).

Reads `config.json` and `model.safetensors` (with `safetensors.numpy`, no
torch) or `pytorch_model.bin` (torch, imported only then), from `FNetModel`
(no key prefix), `FNetForPreTraining`, `FNetForMaskedLM` or
`FNetForSequenceClassification` (keys under `fnet.`). Writes `config.json` and
`model.safetensors` that `transformers.FNetModel.from_pretrained` loads.
"""

import json
import os
import warnings

import numpy as np

from keras_fnet.convert.common import (
    SAME,
    TRANSPOSE,
    Checkpoint,
    ConversionError,
    Tensor,
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

# transformers activation names that are the tanh form of GELU (this project's).
TANH_GELUS = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")
SPM_FILE = "spiece.model"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# Config fields of special token ids -> the SentencePiece pieces they name
# (FNet's vocabulary, keras-hub's FNetTokenizer and HF's FNetTokenizer agree).
SPECIAL_PIECES = {"pad_token_id": "<pad>", "bos_token_id": "[CLS]", "eos_token_id": "[SEP]"}
# transformers' FNetConfig defaults: the ids of the official FNet vocabulary,
# written when no vocabulary is given.
DEFAULT_SPECIAL_IDS = {"pad_token_id": 3, "bos_token_id": 1, "eos_token_id": 2}


def _linear(source, name):
    return [(f"{name}/kernel", f"{source}.weight", TRANSPOSE), (f"{name}/bias", f"{source}.bias", SAME)]


def _norm(source, name):
    return [(f"{name}/gamma", f"{source}.weight", SAME), (f"{name}/beta", f"{source}.bias", SAME)]


def name_table(num_layers, kind="encoder"):
    """(our name, transformers key, layout) of every weight.

    Encoder keys are as `FNetModel` names them (no `fnet.` prefix); head keys
    as `FNetForPreTraining` / `FNetForSequenceClassification` name them.

    Example:

    >>> name_table(1)[0]
    ('embeddings/token_embedding', 'embeddings.word_embeddings.weight', 'same')
    """
    table = [
        ("embeddings/token_embedding", "embeddings.word_embeddings.weight", SAME),
        ("embeddings/segment_embedding", "embeddings.token_type_embeddings.weight", SAME),
        ("embeddings/position_embedding", "embeddings.position_embeddings.weight", SAME),
    ]
    table += _norm("embeddings.LayerNorm", "embeddings/layer_norm")
    table += _linear("embeddings.projection", "embeddings/projection")
    for i in range(num_layers):
        layer = f"encoder.layer.{i}"
        table += _norm(f"{layer}.fourier.output.LayerNorm", f"block_{i}/mixing_layer_norm")
        table += _linear(f"{layer}.intermediate.dense", f"block_{i}/intermediate")
        table += _linear(f"{layer}.output.dense", f"block_{i}/output")
        table += _norm(f"{layer}.output.LayerNorm", f"block_{i}/output_layer_norm")
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
    """`config.json` of a transformers directory, checked to be an FNet."""
    require_dir(src_dir, "a transformers FNet directory (config.json + weights)")
    path = os.path.join(src_dir, "config.json")
    if not os.path.exists(path):
        raise ConversionError(f"{src_dir!r} is not a transformers checkpoint: no config.json.")
    config = read_json(path)
    if config.get("model_type") != "fnet":
        raise ConversionError(
            f"{src_dir!r} is not an FNet checkpoint: config.json has model_type "
            f"{config.get('model_type')!r}, expected 'fnet'."
        )
    act = config.get("hidden_act", "gelu_new")
    if act not in TANH_GELUS:
        raise ConversionError(
            f"{src_dir!r}: hidden_act={act!r} is not supported; keras_fnet uses the "
            f"tanh GELU of the official FNet ({', '.join(TANH_GELUS)})."
        )
    return config


def read(src_dir, encoder_only=False):
    """Read a transformers FNet directory into a `Checkpoint`.

    Args:
        src_dir: a directory as `save_pretrained` writes it.
        encoder_only: drop any MLM/NSP or classification heads.

    Returns:
        A `Checkpoint`: a pretrainer when both the MLM and NSP heads are
        there, a classifier for `FNetForSequenceClassification`, else an
        encoder.

    Example:

    >>> checkpoint = read("fnet-base")  # doctest: +SKIP
    >>> checkpoint.kind  # doctest: +SKIP
    'pretrainer'
    """
    hf = read_config(src_dir)
    state, weights_path = _read_weights(src_dir)
    prefix = "fnet." if any(key.startswith("fnet.") for key in state) else ""
    config = encoder_config(
        os.path.join(src_dir, "config.json"),
        vocabulary_size=hf.get("vocab_size", 32000),
        num_layers=hf.get("num_hidden_layers", 12),
        hidden_dim=hf.get("hidden_size", 768),
        intermediate_dim=hf.get("intermediate_size", 3072),
        max_sequence_length=hf.get("max_position_embeddings", 512),
        num_segments=hf.get("type_vocab_size", 4),
        dropout=hf.get("hidden_dropout_prob", 0.1),
        layer_norm_epsilon=hf.get("layer_norm_eps", 1e-12),
    )
    kind = "encoder"
    num_classes = None
    has_mlm = "cls.predictions.transform.dense.weight" in state
    has_nsp = "cls.seq_relationship.weight" in state
    if not encoder_only:
        if has_mlm and has_nsp:
            kind = "pretrainer"
        elif "classifier.weight" in state:
            kind = "classifier"
            num_classes = int(state["classifier.weight"].shape[0])
        elif has_mlm or has_nsp:
            warnings.warn(
                f"{src_dir}: only one of the MLM and NSP heads is present; a "
                "keras_fnet Pretrainer needs both, so only the encoder is converted."
            )
    tensors = {}
    for ours, key, layout in name_table(config.num_layers, kind):
        source = key if key.startswith(("cls.", "classifier.")) else prefix + key
        if source not in state and source == "cls.predictions.bias":
            source = "cls.predictions.decoder.bias"  # Saved under the tied name.
        if source not in state:
            raise ConversionError(f"{weights_path}: missing tensor {source!r} (for {ours!r}).")
        tensors[ours] = Tensor(source, state[source], layout)
    spm = os.path.join(src_dir, SPM_FILE)
    return Checkpoint(
        config=config,
        tensors=tensors,
        kind=kind,
        num_classes=num_classes,
        spm_path=spm if os.path.exists(spm) else None,
        source=weights_path,
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


def write(model, out_dir, spm_path=None, overwrite=False):
    """Write a zoo FNet model as a transformers directory.

    An `Encoder` is written as `FNetModel`, a `Pretrainer` as
    `FNetForPreTraining`, a `Classifier` as `FNetForSequenceClassification`;
    `FNetModel.from_pretrained(out_dir)` loads any of them.

    Args:
        model: a `keras_fnet` Encoder, Pretrainer or Classifier of FNet
            architecture.
        out_dir: the directory to write (created).
        spm_path: optional SentencePiece model, copied to `spiece.model`;
            `pad_token_id`, `bos_token_id`, `eos_token_id` in `config.json`
            are its ids of `<pad>`, `[CLS]`, `[SEP]`.
        overwrite: replace an existing non-empty `out_dir`.

    Example:

    >>> write(keras_fnet.build_encoder("fnet_tiny"), "fnet-tiny-hf")  # doctest: +SKIP
    """
    kind = model_kind(model)
    config = encoder_of(model).config
    check_fnet(config, "transformers (FNetModel)")
    from safetensors.numpy import save_file

    weights = model_weights(model)
    prefix = "" if kind == "encoder" else "fnet."
    state = {}
    for ours, key, layout in name_table(config.num_layers, kind):
        source = key if key.startswith(("cls.", "classifier.")) else prefix + key
        state[source] = to_source_layout(weights[ours], layout)
    architecture = {
        "encoder": "FNetModel",
        "pretrainer": "FNetForPreTraining",
        "classifier": "FNetForSequenceClassification",
    }[kind]
    hf = {
        "architectures": [architecture],
        "model_type": "fnet",
        "vocab_size": config.vocabulary_size,
        "hidden_size": config.hidden_dim,
        "num_hidden_layers": config.num_layers,
        "intermediate_size": config.intermediate_dim,
        "hidden_act": "gelu_new",
        "hidden_dropout_prob": config.dropout,
        "max_position_embeddings": config.max_sequence_length,
        "type_vocab_size": config.num_segments,
        "initializer_range": 0.02,
        "layer_norm_eps": config.layer_norm_epsilon,
        "use_tpu_fourier_optimizations": False,
        "tpu_short_seq_length": 512,
        **special_token_ids(spm_path),
        "tie_word_embeddings": True,
    }
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
    return out_dir
