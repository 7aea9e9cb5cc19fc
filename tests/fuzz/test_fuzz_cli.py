"""Fuzz the training command's numeric flags: any text as the value of any numeric flag is
either a value within the flag's documented range or a one-line `error:` (exit 2) naming the
flag, before any work."""

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.fuzzing import fuzz
from training import spec as spec_lib
from training import train

NUMERIC = [f for f in dataclasses.fields(spec_lib.RunSpec) if f.metadata["number"] is not None]
VALUE = st.one_of(
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "-0", "0x10", "1_000", " 3 ", "", "1.5",
                     "1e3", "True", "none", "٣", "2**8", "9" * 400]),
    st.text(max_size=8),
)


def _in_range(number, value):
    if number.type is int and (isinstance(value, bool) or not isinstance(value, int)):
        return False
    if number.type is float and not math.isfinite(value):
        return False
    low, high = number.minimum, number.maximum
    return ((low is None or value > low or (value == low and not number.above_minimum)) and
            (high is None or value < high or (value == high and not number.below_maximum)))


@fuzz(150)
@given(st.sampled_from(NUMERIC), VALUE)
def test_numeric_flag_values(capsys, field, text):
    option = spec_lib.flag(field.name)
    try:
        args = train.parse_args([option, text])
    except SystemExit as exit:
        assert exit.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: argument {option}: ") and "\n" not in err, err
        assert "Traceback" not in err
        return
    value = getattr(args, field.name)
    assert _in_range(field.metadata["number"], value), (option, text, value)
    try:
        train.spec_from_args(args).validated()
    except spec_lib.SpecError as error:
        # A cross-flag rule (e.g. a multiple of --steps-per-execution): it names the flags.
        assert str(error).startswith("--") and "\n" not in str(error), error


@fuzz(100)
@given(st.sampled_from(NUMERIC), st.integers(-10**6, 10**6) | st.floats() | st.booleans()
       | st.text(max_size=4) | st.none())
def test_numeric_settings_through_the_api(field, value):
    """`RunSpec(...).validated()` (the Python API and the JSON run file) checks the same."""
    try:
        spec = spec_lib.RunSpec(**{field.name: value}).validated()
    except spec_lib.SpecError as error:
        message = str(error)
        assert "\n" not in message and spec_lib.flag(field.name) in message or \
            message.startswith("--"), message
        return
    got = getattr(spec, field.name)
    if got is not None or field.default is not None:
        assert _in_range(field.metadata["number"], got), (field.name, value)


@pytest.mark.parametrize("flag_value", [["--batch-size", "1000000000"],
                                        ["--max-length", "1000000000"]])
def test_huge_sizes_are_refused_before_work(tmp_path, capsys, flag_value):
    """A size that cannot fit in memory ends at once, not after the data is built."""
    from tests.training.training_helpers import cli_error, tiny_args

    err = cli_error(tiny_args(tmp_path / "run", "--task", "listops", *flag_value), capsys)
    assert f"{flag_value[0]} 1000000000" in err and "GiB" in err, err
