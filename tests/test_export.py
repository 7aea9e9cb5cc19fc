"""Export: every family, every format the backend offers, run in its own runtime.

Each artifact is loaded where a server would load it (`tf.saved_model.load`,
onnxruntime, the LiteRT interpreter of `ai_edge_litert`) and must give the
Keras model's outputs to 1e-4, at a batch size the exporter never saw.
"""

import os

import keras
import numpy as np
import pytest

import keras_fnet
from keras_fnet import export as fnet_export
from tests.conftest import BACKEND

LENGTH = 16
TINY = dict(vocabulary_size=64, max_sequence_length=LENGTH, num_layers=2, hidden_dim=16,
            intermediate_dim=32, num_heads=2, num_random_features=8)
SUFFIX = {"tf_saved_model": "", "onnx": ".onnx", "litert": ".tflite"}


def skip_unless_offered(format):
    if (BACKEND, format) not in fnet_export.OFFERED:
        reason = fnet_export.NOT_OFFERED.get((BACKEND, format), "not offered")
        pytest.skip(f"{format} is not offered on {BACKEND}: {reason}")


def token_inputs(batch, length, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, length), "int32")
    mask[0, length // 2:] = 0  # One padded row: attention must honour the mask.
    return {
        "token_ids": rng.integers(0, TINY["vocabulary_size"], (batch, length)).astype("int32"),
        "segment_ids": rng.integers(0, 2, (batch, length)).astype("int32"),
        "padding_mask": mask,
    }


def run_saved_model(path, inputs):
    import tensorflow as tf

    loaded = tf.saved_model.load(path)  # Kept alive while its function runs.
    return keras.tree.map_structure(np.asarray, loaded.serve(inputs))


def run_onnx(path, inputs):
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    values = session.run(None, {i.name: inputs[i.name] for i in session.get_inputs()})
    return dict(zip(names, values))


def run_litert(path, inputs):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert not [op for op in ops if op.startswith("Flex")], ops
    return interpreter.get_signature_runner()(**inputs)


RUNTIMES = {"tf_saved_model": run_saved_model, "onnx": run_onnx, "litert": run_litert}


def wrong_length_error(format):
    """What the runtime of `format` raises for a length the artifact was not exported with."""
    if format == "onnx":
        from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

        return InvalidArgument
    # A tf.function's input signature refuses the shape; LiteRT fails to resize its tensors.
    return {"tf_saved_model": TypeError, "litert": RuntimeError}[format]


def single(outputs):
    """The one output of a classifier, whatever the runtime calls it."""
    if isinstance(outputs, dict):
        (outputs,) = outputs.values()
    return np.asarray(outputs)


def exported(model, tmp_path, format, **kwargs):
    path = str(tmp_path / f"model{SUFFIX[format]}")
    model.export(path, format=format, verbose=False, **kwargs)
    return path


@pytest.mark.parametrize("format", fnet_export.FORMATS)
@pytest.mark.parametrize("family", list(keras_fnet.FAMILIES))
def test_every_family_exports_and_matches_keras(family, format, tmp_path):
    skip_unless_offered(format)
    model = keras_fnet.build_classifier(f"{family}_tiny", num_classes=3, compile=False, **TINY)
    before = model.get_config()
    path = exported(model, tmp_path, format)
    assert model.get_config() == before  # The DFT switch is undone.
    lengths = [LENGTH]
    if not fnet_export.OFFERED[BACKEND, format].fixed_length:
        lengths.append(7)  # Any length up to max_sequence_length.
    for length in lengths:
        inputs = token_inputs(3, length)
        want = keras.ops.convert_to_numpy(model(inputs))
        got = single(RUNTIMES[format](path, inputs))
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("format", fnet_export.FORMATS)
def test_encoder_and_pretrainer_outputs_match(format, tmp_path):
    skip_unless_offered(format)
    encoder = keras_fnet.build_encoder("fnet_tiny", **TINY)
    pretrainer = keras_fnet.build_pretrainer(encoder, compile=False)
    inputs = token_inputs(2, LENGTH, seed=1)
    positions = {"mask_positions": np.array([[1, 5, 9], [0, 2, 15]], "int32")}
    for name, model, x in [("encoder", encoder, inputs),
                           ("pretrainer", pretrainer, {**inputs, **positions})]:
        path = exported(model, tmp_path / name, format)
        want = keras.tree.map_structure(keras.ops.convert_to_numpy, model(x))
        got = RUNTIMES[format](path, x)
        if format != "onnx" or BACKEND == "torch":  # tf2onnx names outputs output_0, ...
            assert sorted(got) == sorted(want)
        for key, value in zip(sorted(want), [got[k] for k in sorted(got)]):
            np.testing.assert_allclose(value, want[key], atol=1e-4, rtol=1e-4, err_msg=key)


@pytest.mark.parametrize("format", fnet_export.FORMATS)
def test_sequence_length_fixes_the_exported_length(format, tmp_path):
    skip_unless_offered(format)
    model = keras_fnet.build_classifier("fnet_tiny", num_classes=2, compile=False, **TINY)
    path = exported(model, tmp_path, format, sequence_length=8)
    inputs = token_inputs(2, 8, seed=2)
    want = keras.ops.convert_to_numpy(model(inputs))
    np.testing.assert_allclose(single(RUNTIMES[format](path, inputs)), want, atol=1e-4)
    with pytest.raises(wrong_length_error(format)):  # The artifact takes length 8 only.
        RUNTIMES[format](path, token_inputs(2, LENGTH))


def test_bad_requests_get_one_line_errors(tmp_path):
    model = keras_fnet.build_classifier("fnet_tiny", num_classes=2, compile=False, **TINY)
    format = fnet_export.offered_formats()[-1]
    path = str(tmp_path / f"m{SUFFIX[format]}")
    with pytest.raises(ValueError, match="longer than the model's max_sequence_length=16"):
        model.export(path, format=format, sequence_length=17)
    with pytest.raises(ValueError, match="must be a positive integer"):
        model.export(path, format=format, sequence_length=0)
    not_on_jax = r"no LiteRT export on JAX\); offered on jax: tf_saved_model\.$"
    with pytest.raises(ValueError, match=not_on_jax):
        fnet_export.check_format("litert", backend="jax")
    with pytest.raises(ValueError, match="Unknown export format 'tflite'"):
        fnet_export.check_format("tflite")
    for format in fnet_export.FORMATS:
        if (BACKEND, format) not in fnet_export.OFFERED:
            with pytest.raises(ValueError, match=f"not offered on the {BACKEND} backend"):
                model.export(str(tmp_path / "m"), format=format)
    assert not os.listdir(tmp_path)  # Nothing half-written.


def test_command_line_exports_a_saved_model(tmp_path, capsys):
    format = fnet_export.offered_formats()[-1]
    model = keras_fnet.build_classifier("bert_tiny", num_classes=2, compile=False, **TINY)
    model.save(tmp_path / "model.keras")
    out = str(tmp_path / f"out{SUFFIX[format]}")
    fnet_export.main([str(tmp_path / "model.keras"), out, "--format", format,
                      "--sequence-length", "12"])
    assert "Saved" in capsys.readouterr().out
    inputs = token_inputs(2, 12, seed=3)
    want = keras.ops.convert_to_numpy(model(inputs))
    np.testing.assert_allclose(single(RUNTIMES[format](out, inputs)), want, atol=1e-4)

    for argv, message in [
        ([str(tmp_path / "missing.keras"), out], "No model file at"),
        ([str(tmp_path / "model.h5"), out], "Expected a .keras model file"),
        ([str(tmp_path / "model.keras"), out, "--format", format, "--sequence-length", "99"],
         "longer than"),
    ] + [([str(tmp_path / "model.keras"), out, "--format", other], "not offered")
         for other in fnet_export.FORMATS if other not in fnet_export.offered_formats()]:
        with pytest.raises(SystemExit) as error:
            fnet_export.main(argv)
        assert error.value.code == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the string SavedModel runs the "
                    "TensorFlow preprocessor inside the model's own graph")
def test_classifier_with_preprocessor_serves_raw_strings(tmp_path):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the SentencePiece op for loading)

    from keras_fnet.data.tokenizer import mock_vocabulary

    preprocessor = keras_fnet.ClassifierPreprocessor(keras_fnet.Tokenizer(mock_vocabulary()), 12)
    model = keras_fnet.build_classifier("fnet_tiny", num_classes=3, preprocessor=preprocessor,
                                        compile=False, **{**TINY, "vocabulary_size": 512})
    texts = ["ab cd ef", "gh ij kl mn op qr st uv wx yz ab cd", "abc"]
    path = exported(model, tmp_path, "tf_saved_model")
    want = model.predict(texts, verbose=0)
    loaded = tf.saved_model.load(path)
    np.testing.assert_allclose(loaded.serve(tf.constant(texts)).numpy(), want, atol=1e-4)
    features = preprocessor(tf.constant(texts))
    np.testing.assert_allclose(loaded.serve_features(features).numpy(), want, atol=1e-4)
