"""Train a keras-fnet model: pretraining, GLUE fine-tuning, Long Range Arena.

    python -m training.train                              # FNet on generated ListOps
    python -m training.train --task glue/sst2 --mock-data # dry run on mock GLUE
    python -m training.train --help

The command line of `training.run.train`: it parses the flags into a
`training.spec.RunSpec` (each numeric flag typed and range-checked), then
calls `train(spec)`. Every error in the settings, the data or the output
directory is one line on stderr, exit status 2 (`--debug` shows tracebacks).
"""

import argparse
import sys

from training import run
from training import spec as spec_lib


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line, exit status 2 (argparse prints the usage too)."""
        self.exit(2, f"error: {message} (see --help)\n")


def _help_action(task_action, model_action):
    """`--help` that lists the registry's tasks under `--task` and families under `--model`.

    The registries are imported only when the help is shown: importing them starts Keras,
    which a run does only after applying `--backend`.
    """

    class Help(argparse.Action):
        def __init__(self, option_strings, dest, **kwargs):
            super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                             nargs=0, help="show this help message and exit")

        def __call__(self, parser, namespace, values, option_string=None):
            import keras_fnet
            from keras_fnet.data.tasks import task_names

            task_action.help = f"{task_action.help}: {', '.join(task_names())}"
            model_action.help = (f"{model_action.help}; families {', '.join(keras_fnet.FAMILIES)}"
                                 f", sizes {', '.join(keras_fnet.SIZES)}")
            parser.print_help()
            parser.exit()

    return Help


def parse_args(argv=None):
    """The flags as an `argparse.Namespace` (one attribute per `RunSpec` field, + debug)."""
    p = _Parser(
        prog="python -m training.train",
        description=__doc__.split("\n\n")[0]
        + " Defaults: FNet (tiny) on locally generated ListOps, ~10 minutes on a 2-core CPU.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        add_help=False,
    )
    actions = spec_lib.add_arguments(p)
    p.add_argument("-h", "--help", action=_help_action(actions["task"], actions["model"]))
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    return p.parse_args(None if argv is None else [str(a) for a in argv])


def spec_from_args(args):
    values = {k: v for k, v in vars(args).items() if k != "debug"}
    return spec_lib.RunSpec(**values)


def main(argv=None):
    """Run the command line; returns the run's results (exit status 2 on a user error)."""
    args = parse_args(argv)
    try:
        return run.train(spec_from_args(args))
    except (run.UserError, spec_lib.SpecError) as e:
        if args.debug:
            raise
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
