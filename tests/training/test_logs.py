"""Training output a person can read: a line per epoch in a file, the bar on a terminal."""

import contextlib
import io
import re

from tests.training.training_helpers import tiny_spec
from training import run
from training.callbacks import fit_verbosity

EPOCH_LINE = re.compile(r"^2/2 - .*loss: [0-9.]+.* - val_loss: [0-9.]+", re.M)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _train_output(tmp_path, stream, **changes):
    """stdout of a 6-step run with an epoch (and a validation pass) every 2 steps."""
    spec = tiny_spec(tmp_path, steps=6, eval_every=2, eval_steps=1, **changes)
    with contextlib.redirect_stdout(stream):
        run.train(spec)
    if hasattr(stream, "getvalue"):
        return stream.getvalue()
    stream.flush()
    return open(stream.name, newline="").read()


def test_a_file_gets_one_line_per_epoch(tmp_path):
    with open(tmp_path / "train.log", "w", newline="") as log:
        text = _train_output(tmp_path / "run", log, verbose=None)
    assert "\r" not in text and "\b" not in text and "\x1b" not in text, text
    assert len(EPOCH_LINE.findall(text)) == 3, text
    assert "1/2" not in text and "━" not in text, text  # no per-step update, no bar


def test_a_terminal_keeps_the_progress_bar(tmp_path):
    text = _train_output(tmp_path / "run", _Terminal(), verbose=None)
    assert "\r" in text or "\b" in text, text  # the bar redraws itself
    assert re.search(r"━", text), text


def test_the_users_choice_wins():
    assert fit_verbosity(1, io.StringIO()) == 1
    assert fit_verbosity(0, _Terminal()) == 0
    assert fit_verbosity(None, _Terminal()) == 1
    assert fit_verbosity(None, io.StringIO()) == 2


def test_an_explicit_progress_bar_in_a_file_is_kept(tmp_path):
    text = _train_output(tmp_path / "run", io.StringIO(), verbose=1)
    assert "1/2" in text and "━" in text, text  # the bar, each update written out
