"""Shared settings of the fuzz suite: bounded, reproducible, no example database.

Every property here is the same: an input either gives a correct result or an exception of
the project's own error type whose one-line message names the input (never a library's
traceback, a hang or a silently wrong result). `derandomize=True` makes a CI run draw the
same examples every time; `max_examples` keeps each surface within seconds.
"""

import os

from hypothesis import HealthCheck, settings

# A deeper local hunt: FUZZ_SCALE=20 draws 20 times the examples (and, with FUZZ_RANDOM=1, new
# ones each run instead of CI's fixed draw).
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def fuzz(max_examples):
    """Hypothesis settings of one fuzz property."""
    return settings(max_examples=max(1, int(max_examples * SCALE)),
                    derandomize=not os.environ.get("FUZZ_RANDOM"), deadline=None,
                    database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


def assert_names(error, *names):
    """The error's message is one line and names every one of `names`."""
    message = str(error)
    assert "\n" not in message, message
    for name in names:
        assert str(name) in message, (name, message)
