"""Command line: convert FNet and BERT checkpoints to and from this project's `.keras`.

    python -m keras_fnet.convert transformers SRC_DIR OUT.keras
    python -m keras_fnet.convert keras-hub PRESET_DIR OUT.keras
    python -m keras_fnet.convert flax CHECKPOINT OUT.keras [--spm FILE]
    python -m keras_fnet.convert export-keras-hub MODEL.keras OUT_DIR
    python -m keras_fnet.convert export-transformers MODEL.keras OUT_DIR

Every subcommand takes `--help`.
"""

import argparse
import os
import sys


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m keras_fnet.convert",
        description="Convert FNet and BERT weights between the official Flax code (FNet), "
        "Hugging Face transformers, keras-hub and keras_fnet (.keras).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_import(name, source_help, help_text, heads=True):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("src", metavar="SRC", help=source_help)
        sub.add_argument("out", metavar="OUT.keras", help="the .keras file to write; the "
                         "vocabulary, if any, goes next to it as OUT.spm.model (SentencePiece) "
                         "or OUT.vocab.txt (a BERT's WordPiece)")
        sub.add_argument("--spm",
                         help="a SentencePiece model to carry over (overrides the source's)")
        sub.add_argument("--overwrite", action="store_true", help="replace an existing OUT.keras")
        if heads:
            sub.add_argument("--encoder-only", action="store_true",
                             help="write the Encoder alone, dropping MLM/NSP or classifier heads")
        return sub

    add_import("transformers", "a directory written by save_pretrained (config.json + "
               "model.safetensors or pytorch_model.bin), e.g. google/fnet-base or "
               "bert-base-uncased",
               "import a Hugging Face FNet or BERT directory")
    add_import("keras-hub", "a keras-hub FNetBackbone or BertBackbone preset directory, e.g. "
               "f_net_base_en", "import a keras-hub FNet or BERT preset (a backbone: always an "
               "Encoder)", heads=False)
    flax = add_import("flax", "an official f_net msgpack checkpoint file (or its directory)",
                      "import an official google-research f_net Flax checkpoint")
    flax.add_argument("--mixing", default="fourier", choices=("fourier", "identity"),
                      help="mixing of the blocks, which the checkpoint cannot show "
                           "(default: fourier)")
    flax.add_argument("--dropout", type=float, default=0.1, help="dropout rate (default: 0.1)")
    flax.add_argument("--layer-norm-epsilon", type=float, default=1e-12,
                      help="LayerNorm epsilon (default: 1e-12, as the official code)")

    for name, target in (("export-keras-hub", "a keras-hub FNetBackbone or BertBackbone preset "
                          "directory"),
                         ("export-transformers", "a transformers FNet or BERT directory")):
        sub = commands.add_parser(name, help=f"write a .keras FNet or BERT model as {target}",
                                  description=f"Write a keras_fnet .keras FNet or BERT model as "
                                  f"{target}.")
        sub.add_argument("model", metavar="MODEL.keras", help="a keras_fnet Encoder, Pretrainer "
                         "or Classifier; MODEL.spm.model (FNet) or MODEL.vocab.txt (BERT) next "
                         "to it is carried over")
        sub.add_argument("out", metavar="OUT_DIR", help="the directory to write")
        sub.add_argument("--spm", help="a SentencePiece model to include "
                                       "(default: MODEL.spm.model if present)")
        sub.add_argument("--overwrite", action="store_true",
                         help="replace an existing non-empty OUT_DIR "
                              "(it is written whole either way)")
    return parser


def _load_model(path):
    """The model of a `.keras` file, without its optimizer; a one-line error if unreadable."""
    import keras

    from keras_fnet.convert.common import ConversionError

    if not os.path.isfile(path):
        raise ConversionError(f"{path!r} is not a file; expected a .keras model.")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as reason:  # Keras raises many kinds for a bad archive.
        first = str(reason).splitlines()[0] if str(reason) else type(reason).__name__
        raise ConversionError(f"{path}: cannot load it as a keras_fnet model ({first}).") from None


def main(argv=None):
    args = _parser().parse_args(argv)
    # Import after parsing so that --help is quick.
    import keras_fnet  # noqa: F401  (registers the model classes)
    from keras_fnet import convert
    from keras_fnet.convert.common import ConversionError

    try:
        if args.command.startswith("export-"):
            model = _load_model(args.model)
            spm = args.spm
            if spm is None and os.path.exists(convert.spm_path_for(args.model)):
                spm = convert.spm_path_for(args.model)
            wordpiece = convert.wordpiece_path_for(args.model)
            wordpiece = wordpiece if os.path.exists(wordpiece) else None
            write = (convert.to_keras_hub if args.command == "export-keras-hub"
                     else convert.to_transformers)
            write(model, args.out, spm_path=spm, overwrite=args.overwrite,
                  wordpiece_path=wordpiece)
            vocabulary = spm or wordpiece
            with_tokenizer = f" (with tokenizer from {vocabulary})" if vocabulary else ""
            print(f"Wrote {args.out}{with_tokenizer}")
            return 0
        flags = {}
        if args.command != "keras-hub":
            flags["encoder_only"] = args.encoder_only
        if args.command == "flax":
            flags.update(mixing=args.mixing, dropout=args.dropout,
                         layer_norm_epsilon=args.layer_norm_epsilon)
        model, spm = convert.convert(args.command, args.src, args.out, spm_path=args.spm,
                                     overwrite=args.overwrite, **flags)
    except (ConversionError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Wrote {args.out}: {type(model).__name__}" + (f", tokenizer {spm}" if spm else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
