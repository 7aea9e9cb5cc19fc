"""The Keras / keras-hub contract, written once for every layer and model.

Modelled on keras-hub's `TestCase` (`run_layer_test`, `run_model_saving_test`,
`run_precision_test`, `run_quantization_test`), our own code:

- `run_layer_test`: config round trip, outputs of the expected shape at
  several sequence lengths, `compute_output_spec` agreeing with the real
  output, and a `.keras` save/load (inside a functional wrapper) that gives the
  same outputs.
- `run_precision_test`: for every dtype policy, outputs and weights in the
  policy's dtypes, and the policy kept through save/load.
- `run_model_saving_test`: a zoo model's config round trip, `compute_output_spec`
  and `.keras` save/load with the same outputs.
- `run_quantization_test`: `quantize("int8")` / `quantize("float8")`, then
  save/load with the same (quantized) outputs and the same quantized policies.

A layer is described by `make(dtype) -> layer` and `inputs(batch, length) ->
(args, kwargs)` of NumPy arrays, so one helper serves layers with any call
signature.
"""

import os
import tempfile

import keras
import numpy as np

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16", "bfloat16")
# Tolerance of a reloaded model's outputs against the original's. Both run
# the same weights in the same precision; differences come only from
# recompilation.
RELOAD_ATOL = 1e-5


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(x, "float32")))


def flat_outputs(outputs):
    """`{name: float32 numpy}` of a tensor or a dict of tensors."""
    if isinstance(outputs, dict):
        return {name: to_numpy(value) for name, value in sorted(outputs.items())}
    return {"output": to_numpy(outputs)}


def dtypes(outputs):
    outputs = outputs if isinstance(outputs, dict) else {"output": outputs}
    return {name: keras.backend.standardize_dtype(v.dtype) for name, v in outputs.items()}


def assert_same_outputs(got, want, atol=RELOAD_ATOL, what=""):
    got, want = flat_outputs(got), flat_outputs(want)
    assert sorted(got) == sorted(want), (what, sorted(got), sorted(want))
    for name in want:
        assert got[name].shape == want[name].shape, (what, name, got[name].shape)
        np.testing.assert_allclose(got[name], want[name], atol=atol, err_msg=f"{what} {name}")


def _spec(value):
    return keras.KerasTensor(value.shape, keras.backend.standardize_dtype(value.dtype))


def _symbolic(value):
    return keras.Input(shape=value.shape[1:], dtype=keras.backend.standardize_dtype(value.dtype))


def save_and_load(model):
    """`model` written to a `.keras` file and read back."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        return keras.saving.load_model(path)


def _wrap(layer, args, kwargs):
    """A functional model around `layer`, with inputs shaped like `args`/`kwargs`."""
    sym_args = [_symbolic(a) for a in args]
    sym_kwargs = {k: _symbolic(v) for k, v in kwargs.items()}
    outputs = layer(*sym_args, **sym_kwargs)
    model = keras.Model(inputs=[*sym_args, *sym_kwargs.values()], outputs=outputs)
    return model, [*args, *kwargs.values()]


def _inner_layer(model):
    (layer,) = [x for x in model.layers if not isinstance(x, keras.layers.InputLayer)]
    return layer


def run_layer_test(make, inputs, expected_shape, lengths=(7, 3), batch=2):
    """Config round trip, shapes at several lengths, output spec, save/load.

    Args:
        make: `make(dtype=None) -> layer`.
        inputs: `inputs(batch, length) -> (args, kwargs)` of NumPy arrays.
        expected_shape: `expected_shape(batch, length) -> shape tuple`.
        lengths: sequence lengths to run (the first one is saved).
        batch: batch size.
    """
    layer = make()
    for length in lengths:
        args, kwargs = inputs(batch, length)
        out = layer(*args, **kwargs)
        assert tuple(out.shape) == tuple(expected_shape(batch, length)), (length, out.shape)
        spec = layer.compute_output_spec(*[_spec(a) for a in args],
                                         **{k: _spec(v) for k, v in kwargs.items()})
        assert tuple(spec.shape) == tuple(out.shape), (spec.shape, out.shape)
        assert spec.dtype == keras.backend.standardize_dtype(out.dtype), (spec.dtype, out.dtype)

    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    assert keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)).get_config() == config

    args, kwargs = inputs(batch, lengths[0])
    model, flat = _wrap(layer, args, kwargs)
    want = model(flat)
    reloaded = save_and_load(model)
    assert type(_inner_layer(reloaded)) is type(layer)
    assert_same_outputs(reloaded(flat), want, what=type(layer).__name__)
    return layer


def _check_weights(layer, policy, float32_weights):
    for weight in layer.weights:
        parts = weight.path.split("/")
        expected = "float32" if set(parts) & set(float32_weights) else policy.variable_dtype
        assert keras.backend.standardize_dtype(weight.dtype) == expected, (
            policy.name, weight.path, weight.dtype)


def run_precision_test(make, inputs, output_dtype=None, float32_weights=(), length=6,
                       policies=POLICIES):
    """Every dtype policy: output and weight dtypes, kept through save/load.

    Args:
        make: `make(dtype) -> layer or zoo model`.
        inputs: as `run_layer_test` for a layer; for a zoo model, a function
            `inputs(batch, length) -> dict`.
        output_dtype: dtype of every output if not the compute dtype
            (e.g. float32 logits), as a string or `{output_name: dtype}`.
        float32_weights: names of weights (or of layers in their path) kept
            in float32 under every policy.
        length: sequence length.
        policies: the dtype policies to check.
    """
    for name in policies:
        policy = keras.dtype_policies.get(name)
        layer = make(name)
        data = inputs(2, length)
        is_model = isinstance(layer, keras.Model)
        if is_model:
            model, flat = layer, data
        else:
            args, kwargs = data
            layer(*args, **kwargs)
            model, flat = _wrap(layer, args, kwargs)
        out = model(flat)
        expected = output_dtype or policy.compute_dtype
        for key, got in dtypes(out).items():
            want = (expected.get(key, policy.compute_dtype) if isinstance(expected, dict)
                    else expected)
            assert got == want, (name, key, got, want)
        _check_weights(layer, policy, float32_weights)

        reloaded = save_and_load(model)
        reloaded_layer = reloaded if is_model else _inner_layer(reloaded)
        assert reloaded_layer.dtype_policy.name == name, (name, reloaded_layer.dtype_policy.name)
        _check_weights(reloaded_layer, policy, float32_weights)
        again = reloaded(flat)
        assert dtypes(again) == dtypes(out), name
        atol = 1e-2 if policy.compute_dtype != "float32" else RELOAD_ATOL
        assert_same_outputs(again, out, atol=atol, what=name)


def run_model_saving_test(model, inputs):
    """A zoo model: config round trip, `compute_output_spec`, `.keras` save/load."""
    want = model(inputs)
    config = model.get_config()
    assert type(model).from_config(config).get_config() == config
    spec = model.compute_output_spec(inputs)
    spec = spec if isinstance(spec, dict) else {"output": spec}
    outputs = want if isinstance(want, dict) else {"output": want}
    for name, value in outputs.items():
        assert tuple(spec[name].shape) == tuple(value.shape), (name, spec[name].shape)
        assert spec[name].dtype == keras.backend.standardize_dtype(value.dtype), name
    reloaded = save_and_load(model)
    assert type(reloaded) is type(model)
    assert reloaded.get_config() == config
    assert_same_outputs(reloaded(inputs), want, what=type(model).__name__)
    return reloaded


def _quantized_policies(model):
    return {
        layer.path: layer.dtype_policy.name
        for layer in model._flatten_layers(include_self=False)
        if layer.quantization_mode is not None
    }


def run_quantization_test(make, inputs, modes=("int8", "float8")):
    """`quantize(mode)`, then save/load with the same outputs and policies.

    The quantized model must stay close to the float one (the outputs'
    correlation above 0.99), and its reload must give the very same outputs.
    """
    for mode in modes:
        model = make()
        before = flat_outputs(model(inputs))
        model.quantize(mode)
        quantized = _quantized_policies(model)
        assert quantized and all(mode in name for name in quantized.values()), quantized
        after = model(inputs)
        for name, value in flat_outputs(after).items():
            corr = np.corrcoef(value.ravel(), before[name].ravel())[0, 1]
            assert corr > 0.99, (mode, name, corr)
        reloaded = save_and_load(model)
        assert _quantized_policies(reloaded) == quantized, mode
        assert_same_outputs(reloaded(inputs), after, what=mode)
