"""RunSpec: JSON round trip, ranges, identity, and the CLI built from it."""

import json

import pytest

from training import spec as spec_lib
from training import train
from training.spec import RunSpec, SpecError


def test_json_round_trip_and_unknown_settings():
    spec = RunSpec(task="glue/sst2", model="bert_tiny", dropout=0.0, learning_rate=5e-5,
                   clipnorm=1.0, steps=10, mock_data=True).validated()
    assert RunSpec.from_json(spec.to_json()) == spec
    assert json.loads(spec.to_json())["task"] == "glue/sst2"
    with pytest.raises(SpecError, match="Unknown run settings: batchsize"):
        RunSpec.from_dict({"batchsize": 3})


@pytest.mark.parametrize("changes,message", [
    ({"batch_size": 0}, "--batch-size 0: must be an integer >= 1."),
    ({"learning_rate": -1.0}, "--learning-rate -1.0: must be a number >= 0."),
    ({"clipnorm": 0.0}, "--clipnorm 0.0: must be a number > 0."),
    ({"dropout": 1.0}, "--dropout 1.0: must be a number >= 0 and < 1."),
    ({"steps": 2.5}, "--steps 2.5: must be an integer >= 1."),
    ({"steps": True}, "--steps True: must be an integer >= 1."),
    ({"mixed_precision": "float8"}, "--mixed-precision float8: choose from"),
    ({"warmup_steps": 11, "steps": 10}, "--warmup-steps 11: must be <= --steps 10."),
    ({"eval_every": 3, "steps_per_execution": 2, "steps": 4}, "--eval-every 3: must be a "
     "multiple of --steps-per-execution 2."),
    ({"init_from": "x.keras", "num_layers": 2}, "remove --num-layers"),
    ({"corpus_validation": ["held.txt"]}, "--corpus-validation: only with --corpus"),
])
def test_out_of_range_settings_name_the_flag(changes, message):
    with pytest.raises(SpecError) as error:
        RunSpec(**changes).validated()
    assert message in str(error.value)


def test_identity_leaves_out_where_and_how():
    a = RunSpec(output_dir="x", strategy="default", verbose=0, checkpoint_every=5)
    b = RunSpec(output_dir="y", eval_every=10)
    assert a.identity() == b.identity()
    assert a.identity()["model"] == "fnet_tiny"
    assert spec_lib.differences(a.identity(), RunSpec(seed=3).identity()) == [
        "--seed 3 (the run has 0)"]


def test_cli_flags_are_the_spec_fields():
    args = train.parse_args(["--task", "glue/mrpc", "--learning-rate", "1e-4", "--mock-data",
                             "--num-layers", "2"])
    spec = train.spec_from_args(args)
    assert spec == RunSpec(task="glue/mrpc", learning_rate=1e-4, mock_data=True, num_layers=2)


def test_corpus_flags_take_several_paths():
    args = train.parse_args(["--task", "pretrain", "--corpus", "a.txt", "b/",
                             "--corpus-validation", "c.txt", "d/"])
    spec = train.spec_from_args(args).validated()
    assert spec.corpus == ["a.txt", "b/"] and spec.corpus_validation == ["c.txt", "d/"]
    assert spec.identity()["corpus_validation"] == ["c.txt", "d/"]


def test_mixing_options_flag_sets_options_of_the_preset():
    args = train.parse_args(["--model", "performer_tiny", "--mixing-options",
                             "fourier_implementation=dft", "num_random_features=64"])
    spec = train.spec_from_args(args).validated()
    assert spec.mixing_options == {"fourier_implementation": "dft", "num_random_features": 64}
    assert RunSpec.from_json(spec.to_json()) == spec
    # Each option is one override: it changes that option and keeps the preset's others.
    assert spec.overrides == {"fourier_implementation": "dft", "num_random_features": 64}
    from keras_fnet import get_config

    config = get_config("performer_tiny", **spec.overrides)
    assert config.num_random_features == 64 and config.fourier_implementation == "dft"
    assert spec.identity()["mixing_options"] == spec.mixing_options


@pytest.mark.parametrize("argv,message", [
    (["--mixing-options", "fourier_implementation"], "expected NAME=VALUE"),
    (["--mixing-options", "=dft"], "expected NAME=VALUE"),
])
def test_mixing_options_flag_rejects_malformed_pairs(capsys, argv, message):
    with pytest.raises(SystemExit):
        train.parse_args(argv)
    assert message in capsys.readouterr().err


def test_mixing_options_need_names_and_not_init_from():
    with pytest.raises(SpecError, match="--mixing-options .*must map option names"):
        RunSpec(mixing_options=["fourier_implementation=dft"]).validated()
    with pytest.raises(SpecError, match="remove --mixing-options"):
        RunSpec(init_from="x.keras", mixing_options={"num_random_features": 8}).validated()
