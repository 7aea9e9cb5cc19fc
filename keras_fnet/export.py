"""Export a model of the zoo for serving: SavedModel, ONNX, LiteRT.

`model.export(path, format=F)` is Keras's own call; the zoo's models route
it here (`export_model`), which prepares what each format needs and then
calls Keras's exporter:

- ONNX and LiteRT have no FFT that their converters emit (tf2onnx rejects
  `RFFT`; LiteRT would need the Flex delegate), so the Fourier and Hartley
  layers use their DFT-matmul path (`implementation="dft"`) at a fixed
  sequence length: the model's `max_sequence_length`, or `sequence_length`.
  LiteRT is converted with the builtin ops only, so an op that would need
  Flex fails the export, not the deployment.
- A SavedModel keeps the FFT. On TensorFlow it takes any sequence length up
  to `max_sequence_length` unless `sequence_length` fixes one; on JAX
  (jax2tf) the length is fixed, as a symbolic length breaks the FFT, the
  attention layer's length-dependent choice and the slices of the position
  and mixing tables. Every artifact takes any batch size.
- On TensorFlow, a `Classifier` with its preprocessor attached exports a
  SavedModel whose `serve` endpoint takes raw strings `[batch]` (and
  `serve_features` the integer inputs). Load it after `import
  tensorflow_text` (the SentencePiece op).
- On PyTorch, ONNX goes through torch's dynamo exporter with a dynamic batch:
  Keras uses that exporter only for fully static shapes and otherwise falls
  back to TorchScript, which fails inside Keras's `LayerNormalization`.

`OFFERED` holds the `Plan` of every (backend, format) pair exported and
checked in its runtime; `NOT_OFFERED` says why the others are missing.
Formats outside `FORMATS` (`"openvino"`, `"torch"`) go to Keras unchanged.
This is an edge module: it imports a backend's framework where a format
needs it.

Command line, for a saved `.keras` model (backend: `KERAS_BACKEND`):

    python -m keras_fnet.export model.keras model.onnx --format onnx [--sequence-length 128]

Example:

>>> model = keras_fnet.build_classifier("fnet_tiny", compile=False)  # doctest: +SKIP
>>> model.export("fnet.onnx", format="onnx", sequence_length=128)  # doctest: +SKIP
"""

import argparse
import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable

import keras

from keras_fnet import fileio, keras_compat

FORMATS = ("tf_saved_model", "onnx", "litert")


def encoder_config(model):
    """The `EncoderConfig` of an encoder, or of a classifier's/pretrainer's encoder."""
    config = getattr(model, "config", None)
    return config if config is not None else model.encoder.config


def export_signature(model, sequence_length=None):
    """`[{name: keras.InputSpec}]` of `model`'s inputs: any batch, and the
    sequence axis fixed at `sequence_length` (None: any length). Other axes
    (a pretrainer's `mask_positions`) stay as the model has them."""
    sequence_inputs = getattr(model, "encoder", model)._input_specs
    specs = {}
    for name, (shape, dtype) in model._input_specs.items():
        if name in sequence_inputs:
            shape = (sequence_length, *shape[1:])
        specs[name] = keras.InputSpec(shape=(None, *shape), dtype=dtype, name=name)
    return [specs]


def offered_formats(backend=None):
    """The formats offered on `backend` (default: the active one)."""
    backend = backend or keras.backend.backend()
    return [f for f in FORMATS if (backend, f) in OFFERED]


def check_format(format, backend=None):
    """The `Plan` of `format` on `backend`; a one-line `ValueError` if not offered."""
    backend = backend or keras.backend.backend()
    if format not in FORMATS:
        raise ValueError(f"Unknown export format {format!r}; choose one of {', '.join(FORMATS)}.")
    if (backend, format) not in OFFERED:
        reason = NOT_OFFERED.get((backend, format), "not supported")
        raise ValueError(
            f"Format {format!r} is not offered on the {backend} backend ({reason}); "
            f"offered on {backend}: {', '.join(offered_formats(backend))}."
        )
    return OFFERED[backend, format]


def check_sequence_length(model, sequence_length):
    """Raise a one-line `ValueError` for a length the model cannot take."""
    if sequence_length is None:
        return
    if isinstance(sequence_length, bool) or not isinstance(sequence_length, int) or (
        sequence_length < 1
    ):
        raise ValueError(f"`sequence_length` must be a positive integer, got {sequence_length!r}.")
    config = encoder_config(model)
    if config.use_position_embedding and sequence_length > config.max_sequence_length:
        raise ValueError(
            f"`sequence_length` {sequence_length} is longer than the model's "
            f"max_sequence_length={config.max_sequence_length}."
        )


@contextlib.contextmanager
def dft_mixing(model):
    """Within the block, the Fourier layers of `model` (and Hartley, a subclass)
    use the DFT-matmul path; their own setting comes back afterwards."""
    from keras_fnet.layers import FourierMixing

    layers = [layer for layer in keras_compat.sublayers(model)
              if isinstance(layer, FourierMixing)]
    saved = [layer.implementation for layer in layers]
    try:
        for layer in layers:
            layer.implementation = "dft"
        yield
    finally:
        for layer, implementation in zip(layers, saved):
            layer.implementation = implementation


def _keras(model, filepath, format, signature, verbose, kwargs):
    """Keras's own exporter."""
    keras.Model.export(model, filepath, format=format, verbose=verbose,
                       input_signature=signature, **kwargs)


def _litert(model, filepath, format, signature, verbose, kwargs):
    """Keras's LiteRT exporter, with the builtin ops only (no Flex delegate)."""
    import tensorflow as tf

    kwargs.setdefault("target_spec", {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]})
    _keras(model, filepath, format, signature, verbose, kwargs)


def _tf_saved_model(model, filepath, format, signature, verbose, kwargs):
    """Keras's SavedModel; with a `ClassifierPreprocessor` attached, `serve(text)`
    takes raw strings `[batch]` and `serve_features(inputs)` the integer inputs."""
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        return _keras(model, filepath, format, signature, verbose, kwargs)
    import tensorflow as tf

    from keras_fnet.preprocessing import ClassifierPreprocessor

    if not isinstance(preprocessor, ClassifierPreprocessor):  # A pretrainer's masks text.
        return _keras(model, filepath, format, signature, verbose, kwargs)

    if not preprocessor.built:
        preprocessor.build(None)  # Its packer needs the tokenizer's special ids.
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(preprocessor)

    def serve(text):
        return model(preprocessor(text), training=False)

    archive.add_endpoint("serve", serve, [tf.TensorSpec([None], tf.string, name="text")])
    archive.add_endpoint("serve_features", lambda x: model(x, training=False), signature)
    archive.write_out(filepath, verbose=bool(verbose))


def _output_names(model):
    return sorted(model.output) if isinstance(model.output, dict) else ["logits"]


def _torch_onnx(model, filepath, format, signature, verbose, kwargs):
    """ONNX through torch's dynamo exporter, with a batch axis shared by all inputs."""
    import torch

    specs = keras.tree.flatten(signature)

    class Flat(torch.nn.Module):
        def __init__(self, wrapped):
            super().__init__()
            self.wrapped = wrapped

        def forward(self, *flat):
            return self.wrapped(keras.tree.pack_sequence_as(signature[0], flat), training=False)

    batch = torch.export.Dim("batch", min=1)
    dynamic_shapes = []
    for spec in specs:
        dims = {0: batch}
        for axis, size in enumerate(spec.shape[1:], start=1):
            if size is None:
                dims[axis] = torch.export.Dim(f"{spec.name}_{axis}", min=1)
        dynamic_shapes.append(dims)
    sample = tuple(
        torch.ones([2] + [size or 2 for size in spec.shape[1:]], dtype=getattr(torch, spec.dtype))
        for spec in specs
    )
    program = torch.onnx.export(
        Flat(model).eval(), sample, dynamo=True, input_names=[spec.name for spec in specs],
        output_names=_output_names(model), dynamic_shapes=(tuple(dynamic_shapes),),
        verbose=bool(verbose), **kwargs,
    )
    program.optimize()
    program.save(filepath)


@dataclasses.dataclass(frozen=True)
class Plan:
    """How one format is exported on one backend.

    Attributes:
        fixed_length: the sequence axis is fixed (by default at the model's
            `max_sequence_length`) instead of any length.
        dft: the Fourier and Hartley layers use DFT matmuls (no FFT op).
        exporter: `function(model, path, format, signature, verbose, kwargs)`
            that writes the artifact.
    """

    fixed_length: bool
    dft: bool
    exporter: Callable


# (backend, format) -> Plan, for every pair exported and checked in its own
# runtime (see the module's notes for the reasons).
OFFERED = {
    ("tensorflow", "tf_saved_model"): Plan(False, False, _tf_saved_model),
    ("jax", "tf_saved_model"): Plan(True, False, _keras),
    ("tensorflow", "onnx"): Plan(True, True, _keras),
    ("torch", "onnx"): Plan(True, True, _torch_onnx),
    ("tensorflow", "litert"): Plan(True, True, _litert),
}

# Why the other pairs are missing.
NOT_OFFERED = {
    ("jax", "onnx"): "Keras exports ONNX on JAX through jax2onnx, which is not installed "
                     "or tested here",
    ("jax", "litert"): "Keras has no LiteRT export on JAX",
    ("torch", "tf_saved_model"): "Keras's SavedModel export on PyTorch needs torch_xla",
    ("torch", "litert"): "Keras's LiteRT export on PyTorch needs litert-torch",
}


def export_model(model, filepath, format="tf_saved_model", sequence_length=None,
                 input_signature=None, verbose=None, **kwargs):
    """Export a zoo model (`Encoder`, `Classifier`, `Pretrainer`) for serving.

    What `model.export` runs on the zoo's models (see the module's notes).

    Args:
        model: a model of the zoo.
        filepath: where to write the artifact (LiteRT: a `.tflite` path);
            written whole (a temporary sibling, then renamed).
        format: one of `FORMATS` offered on the backend (`OFFERED`); other
            Keras formats go to Keras unchanged.
        sequence_length: the exported sequence length; default: any length
            for a SavedModel on TensorFlow, `max_sequence_length` otherwise.
        input_signature: Keras's argument; default `export_signature(model,
            sequence_length)`. ONNX and LiteRT need a static sequence axis.
        verbose: Keras's argument.
        **kwargs: passed to the exporter (e.g. LiteRT converter options,
            `opset_version`).

    Returns:
        `filepath`.
    """
    if format not in FORMATS:
        return keras.Model.export(model, filepath, format=format, verbose=verbose,
                                  input_signature=input_signature, **kwargs)
    plan = check_format(format)
    check_sequence_length(model, sequence_length)
    if plan.fixed_length and sequence_length is None:
        sequence_length = encoder_config(model).max_sequence_length
    signature = input_signature or export_signature(model, sequence_length)
    mixing = dft_mixing(model) if plan.dft else contextlib.nullcontext()
    with fileio.whole_file(filepath) as tmp, mixing:
        plan.exporter(model, tmp, format, signature, False, dict(kwargs))
    if verbose:
        print(f"Saved {format} artifact at '{filepath}'.")
    return filepath


def export_file(model_path, filepath, format="tf_saved_model", sequence_length=None):
    """Load a saved `.keras` model and export it (`export_model`)."""
    if not str(model_path).endswith(".keras"):
        raise ValueError(f"Expected a .keras model file, got {str(model_path)!r}.")
    if not os.path.isfile(model_path):
        raise ValueError(f"No model file at {str(model_path)!r}.")
    check_format(format)
    if format == "litert" and not str(filepath).endswith(".tflite"):
        raise ValueError(f"A LiteRT artifact's path must end with .tflite, got {str(filepath)!r}.")
    # The zoo's classes are registered: importing this module imported `keras_fnet`.
    model = keras.saving.load_model(model_path, compile=False)
    if not hasattr(model, "_input_specs"):
        raise ValueError(f"{str(model_path)!r} holds a {type(model).__name__}, not a keras-fnet "
                         "Encoder, Classifier or Pretrainer.")
    return export_model(model, filepath, format=format, sequence_length=sequence_length)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m keras_fnet.export",
        description="Export a saved keras-fnet model for serving (backend: KERAS_BACKEND).")
    parser.add_argument("model", help="the saved model, a .keras file")
    parser.add_argument("output", help="the artifact to write (LiteRT: a .tflite file)")
    parser.add_argument("--format", default="tf_saved_model", choices=FORMATS,
                        help="export format (default: tf_saved_model)")
    parser.add_argument("--sequence-length", type=int, default=None,
                        help="fixed sequence length (default: the model's max_sequence_length; "
                             "any length for a SavedModel on tensorflow)")
    args = parser.parse_args(argv)
    try:
        export_file(args.model, args.output, args.format, args.sequence_length)
    except ValueError as error:
        parser.exit(2, f"error: {error}\n")
    print(f"Saved {args.format} artifact at '{args.output}'.")


if __name__ == "__main__":
    sys.exit(main())
