"""Command-line helpers of the data generators: checked flags, one-line errors.

`ArgumentParser` prints a bad flag as one line (`PROG: error: argument
--max-depth: must be an integer >= 1, got 0`) and exits with status 2, with
no usage block and no traceback. `integer(minimum)` and `output_file` are
argparse `type=`s that check a value before any work starts.

Example:

>>> parser = ArgumentParser(prog="gen")
>>> _ = parser.add_argument("--num-examples", type=integer(1), default=10)
>>> parser.parse_args(["--num-examples", "3"]).num_examples
3
"""

import argparse
import os


class ArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose errors are one line, exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def integer(minimum):
    """An argparse type: an integer >= `minimum`."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def output_file(text):
    """An argparse type: a file path to write (not a directory)."""
    if not text or os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"must be a file path to write, got directory {text!r}")
    return text
