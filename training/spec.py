"""A training run as one serializable, validated description: `RunSpec`.

Every field is a command-line flag of `python -m training.train` (`--batch-size`
for `batch_size`, ...) with its type, range and help in one table (the field
metadata), so the CLI, the Python API and the JSON file of a run share one
set of checks. `identity` fields define the run: a run directory resumes only
a spec whose identity matches the one stored there.

Example:

>>> spec = RunSpec(task="listops", steps=100, batch_size=16).validated()
>>> RunSpec.from_json(spec.to_json()) == spec
True
>>> RunSpec(batch_size=0).validated()
Traceback (most recent call last):
...
training.spec.SpecError: --batch-size 0: must be an integer >= 1.
"""

import dataclasses
import json
import math
import os

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
STRATEGIES = ("auto", "tpu", "mirrored", "multi_worker", "data_parallel", "default")
BACKENDS = ("tensorflow", "jax", "torch")


class SpecError(ValueError):
    """A run setting out of its range; the message names the flag and the value."""


def flag(name):
    return "--" + name.replace("_", "-")


@dataclasses.dataclass(frozen=True)
class Number:
    """The type and range of a numeric setting."""

    type: type
    minimum: float | None = None
    maximum: float | None = None
    below_maximum: bool = False  # `maximum` itself excluded
    above_minimum: bool = False  # `minimum` itself excluded

    def describe(self):
        kind = "an integer" if self.type is int else "a number"
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>' if self.above_minimum else '>='} {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"{'<' if self.below_maximum else '<='} {self.maximum:g}")
        return f"{kind} {' and '.join(parts)}".rstrip()

    def parse(self, text):
        """Convert a command-line string (or check an API value); raise SpecError."""
        try:
            if isinstance(text, bool):
                raise ValueError
            value = self.type(text)
            if self.type is int and isinstance(text, float) and text != value:
                raise ValueError
        except (TypeError, ValueError):
            raise SpecError(f"must be {self.describe()}.") from None
        if self.type is float and not math.isfinite(value):
            raise SpecError(f"must be {self.describe()}.")
        low, high = self.minimum, self.maximum
        if (low is not None and (value < low or (self.above_minimum and value == low))) or \
                (high is not None and (value > high or (self.below_maximum and value == high))):
            raise SpecError(f"must be {self.describe()}.")
        return value


POSITIVE = Number(int, 1)
NON_NEGATIVE = Number(int, 0)


def _field(default, help, group, number=None, choices=None, identity=True, cli=True):
    return dataclasses.field(default=default, metadata={
        "help": help, "group": group, "number": number, "choices": choices,
        "identity": identity, "cli": cli})


_MODEL, _DATA, _OWN, _OPT, _DIST, _OUT = ("task and model", "data", "your own data",
                                          "optimization", "distribution", "output")
OVERRIDES = ("num_layers", "hidden_dim", "intermediate_dim", "num_heads", "embedding_dim",
             "dropout", "mixing_options")


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything that defines a training run. See `python -m training.train --help`."""

    task: str = _field("listops", "task name, a name of keras_fnet.data.tasks.task_names()",
                       _MODEL)
    model: str | None = _field(None, "preset <family>_<size> from keras_fnet.PRESETS, e.g. "
                                  "fnet_base, bert_tiny (default fnet_tiny; not with --init-from)",
                                  _MODEL)
    num_layers: int | None = _field(None, "override the preset's number of blocks", _MODEL,
                                       POSITIVE)
    hidden_dim: int | None = _field(None, "override the preset's hidden width", _MODEL,
                                       POSITIVE)
    intermediate_dim: int | None = _field(None, "override the feed-forward width", _MODEL,
                                             POSITIVE)
    num_heads: int | None = _field(None, "override the attention heads", _MODEL, POSITIVE)
    embedding_dim: int | None = _field(None, "override the embedding width", _MODEL,
                                          POSITIVE)
    dropout: float | None = _field(None, "override the dropout rate (also of the head)",
                                      _MODEL, Number(float, 0, 1, below_maximum=True))
    mixing_options: dict | None = _field(None, "override options of the mixing layers, "
                                            "NAME=VALUE ... (e.g. fourier_implementation=dft, "
                                            "attention_implementation=explicit, "
                                            "num_random_features=64; all of them: "
                                            "keras_fnet.layers.mixing_options())", _MODEL)
    init_from: str | None = _field(None, "a .keras Encoder, Classifier or Pretrainer, a "
                                      "preset directory, a pretrained name (python -m "
                                      "keras_fnet.hub list) or an hf:// or kaggle:// handle, "
                                      "whose encoder (and vocabulary) is fine-tuned", _MODEL)
    max_length: int | None = _field(None, "sequence length (default: the task's, see "
                                       "README)", _DATA, POSITIVE)
    batch_size: int = _field(32, "global batch size (all replicas)", _DATA, POSITIVE)
    data_dir: str | None = _field(None, "TFDS data dir; also the cache of generated "
                                     "ListOps/Pathfinder data (default ~/.cache/keras_fnet)",
                                     _DATA)
    vocabulary: str | None = _field(None, "SentencePiece model for pretrain and glue/*",
                                       _DATA)
    mock_data: bool = _field(False, "dry run on tfds.testing.mock_data / a few generated "
                             "examples", _DATA)
    num_train_examples: int | None = _field(None, "generated tasks: examples of the train "
                                               "split (default: the task's)", _DATA, POSITIVE)
    train_file: str | None = _field(None, "text_classification: training file (.csv, .tsv, "
                                       ".jsonl)", _OWN)
    validation_file: str | None = _field(None, "text_classification: validation file", _OWN)
    test_file: str | None = _field(None, "text_classification: test file (evaluated at the "
                                      "end instead of the validation file)", _OWN)
    text_column: str = _field("text", "text_classification: column of the text", _OWN)
    text_pair_column: str | None = _field(None, "text_classification: column of the second "
                                             "text of a pair", _OWN)
    label_column: str = _field("label", "text_classification: column of the labels", _OWN)
    corpus: list | None = _field(None, "pretrain: your own plain-text files or directories "
                                    "(documents separated by blank lines) instead of C4", _OWN)
    corpus_validation: list | None = _field(None, "pretrain --corpus: files or directories "
                                               "of the held-out documents (default: 5%% of "
                                               "the corpus's documents, chosen by --seed)",
                                               _OWN)
    vocab_size: int | None = _field(None, "text_classification / pretrain --corpus: size of "
                                       "the vocabulary trained when --vocabulary is not given "
                                       "(default 8000)", _OWN, POSITIVE)
    steps: int = _field(1000, "total optimizer steps of the run", _OPT, POSITIVE)
    learning_rate: float | None = _field(None, "peak learning rate (default: the task's)",
                                            _OPT, Number(float, 0))
    warmup_steps: int | None = _field(None, "linear warm-up steps (default 10%% of --steps)",
                                         _OPT, NON_NEGATIVE)
    weight_decay: float = _field(0.01, "AdamW weight decay", _OPT, Number(float, 0))
    clipnorm: float | None = _field(None, "clip each gradient to this norm", _OPT,
                                       Number(float, 0, above_minimum=True))
    mixed_precision: str = _field("float32", "dtype policy; mixed_float16 adds loss scaling",
                                  _OPT, choices=PRECISIONS)
    steps_per_execution: int = _field(1, "steps per compiled call (TF, JAX; torch needs 1)",
                                      _OPT, POSITIVE)
    seed: int = _field(0, "seed of weights, data order and generated data", _OPT, NON_NEGATIVE)
    strategy: str = _field("auto", "tensorflow: tpu, mirrored, multi_worker, default; jax: "
                           "data_parallel, default; torch: default", _DIST, choices=STRATEGIES,
                           identity=False)
    tpu: str | None = _field(None, "TPU name or grpc:// address", _DIST, identity=False)
    multi_host: bool = _field(False, "jax: call jax.distributed.initialize", _DIST,
                              identity=False)
    num_cpu_devices: int | None = _field(None, "split the CPU into N devices", _DIST,
                                            POSITIVE, identity=False)
    backend: str | None = _field(None, "Keras backend (default: $KERAS_BACKEND)", _DIST,
                                    choices=BACKENDS, identity=False)
    output_dir: str | None = _field(None, "the run directory (default runs/<task>_<model>)",
                                       _OUT, identity=False)
    checkpoint_every: int = _field(250, "steps between checkpoints (0: only at the end)", _OUT,
                                   NON_NEGATIVE, identity=False)
    eval_every: int = _field(250, "steps between validation passes (0: none during training)",
                             _OUT, NON_NEGATIVE, identity=False)
    eval_steps: int | None = _field(None, "batches of the final evaluation (default: all)",
                                       _OUT, POSITIVE, identity=False)
    log_every: int = _field(50, "steps between TensorBoard scalars", _OUT, POSITIVE,
                            identity=False)
    verbose: int | None = _field(None, "fit verbosity: 1 progress bar, 2 one line per "
                                    "epoch, 0 silent (default: 1 on a terminal, else 2)",
                                    _OUT, Number(int, 0, 2), identity=False)
    overwrite: bool = _field(False, "start afresh in an output dir that holds another run",
                             _OUT, identity=False)

    # ---- Validation ------------------------------------------------------------

    def validated(self):
        """This spec, checked field by field and across fields, numbers of their own type
        (`"8"` or `8.0` given for an integer setting is `8`); raises SpecError."""
        parsed = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            number, choices = f.metadata["number"], f.metadata["choices"]
            if value is None:
                if f.default is not None:
                    raise SpecError(f"{flag(f.name)}: needs a value (default {f.default}).")
                continue
            if number is not None:
                try:
                    parsed[f.name] = number.parse(value)
                except SpecError as e:
                    raise SpecError(f"{flag(f.name)} {value!r:.40}: {e}") from None
            if choices is not None and value not in choices:
                raise SpecError(f"{flag(f.name)} {value}: choose from {', '.join(choices)}.")
        if any(type(v) is not type(getattr(self, k)) for k, v in parsed.items()):
            return dataclasses.replace(self, **parsed).validated()
        spe = self.steps_per_execution
        for name in ("steps", "checkpoint_every", "eval_every"):
            if getattr(self, name) % spe:
                raise SpecError(f"{flag(name)} {getattr(self, name)}: must be a multiple of "
                                f"--steps-per-execution {spe}.")
        if self.warmup_steps is not None and self.warmup_steps > self.steps:
            raise SpecError(f"--warmup-steps {self.warmup_steps}: must be <= --steps "
                            f"{self.steps}.")
        if self.vocabulary is not None and self.vocab_size is not None:
            raise SpecError(f"--vocab-size {self.vocab_size}: not with --vocabulary (the size "
                            "is the given vocabulary's).")
        if self.mixing_options is not None and (
                not isinstance(self.mixing_options, dict)
                or not all(isinstance(k, str) for k in self.mixing_options)):
            raise SpecError(f"--mixing-options {self.mixing_options!r:.60}: must map option "
                            "names to values.")
        if self.corpus_validation is not None and self.corpus is None:
            raise SpecError("--corpus-validation: only with --corpus (the held-out documents "
                            "of your own corpus).")
        if self.init_from is not None:
            given = [flag(k) for k in ("model",) + OVERRIDES if getattr(self, k) is not None]
            if given:
                raise SpecError(f"--init-from takes the architecture from {self.init_from}; "
                                f"remove {', '.join(given)}.")
        if self.output_dir is not None and os.path.exists(self.output_dir) and \
                not os.path.isdir(self.output_dir):
            raise SpecError(f"--output-dir {self.output_dir}: is a file, not a directory.")
        return self

    # ---- Derived values --------------------------------------------------------

    @property
    def model_name(self):
        if self.model is not None:
            return self.model
        return None if self.init_from else "fnet_tiny"

    @property
    def run_name(self):
        return self.model_name or os.path.splitext(os.path.basename(self.init_from))[0]

    @property
    def run_dir(self):
        return self.output_dir or os.path.join("runs", f"{self.task.replace('/', '_')}_"
                                                       f"{self.run_name}")

    @property
    def overrides(self):
        """The config fields the run changes in its preset; each mixing option is
        one of them (changing that option, keeping the preset's others)."""
        values = {k: getattr(self, k) for k in OVERRIDES if getattr(self, k) is not None}
        options = values.pop("mixing_options", {})
        return {**values, **options}

    # ---- Serialization ---------------------------------------------------------

    def to_dict(self):
        return dataclasses.asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise SpecError(f"Unknown run settings: {', '.join(unknown)}.")
        return cls(**values)

    @classmethod
    def from_json(cls, text):
        return cls.from_dict(json.loads(text))

    def identity(self):
        """The settings that define the run (what a resume must match)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.metadata["identity"]}
        values["model"] = self.model_name  # The default spelled out.
        return values

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def differences(stored, current):
    """`--flag current (the run has stored)` for each identity setting that differs."""
    return [f"{flag(k)} {current.get(k)} (the run has {stored.get(k)})"
            for k in sorted(set(stored) | set(current)) if stored.get(k) != current.get(k)]


def add_arguments(parser):
    """Add every field of `RunSpec` as a flag (typed and range-checked) to `parser`.

    Returns:
        `{field name: argparse action}`.
    """
    groups, actions = {}, {}
    for f in dataclasses.fields(RunSpec):
        meta = f.metadata
        if not meta["cli"]:
            continue
        group = groups.get(meta["group"]) or parser.add_argument_group(meta["group"])
        groups[meta["group"]] = group
        kwargs = {"default": f.default, "help": meta["help"], "dest": f.name}
        if f.type is bool or f.type == "bool":
            kwargs["action"] = "store_true"
        elif meta["number"] is not None:
            kwargs["type"] = _argparse_type(meta["number"])
            kwargs["metavar"] = "N" if meta["number"].type is int else "X"
        elif meta["choices"] is not None:
            kwargs["choices"] = meta["choices"]
        elif f.name in ("corpus", "corpus_validation"):
            kwargs.update(nargs="+", metavar="PATH")
        elif f.name == "mixing_options":
            kwargs.update(nargs="+", metavar="NAME=VALUE", type=_option_pair,
                          action=_store_dict_action())
        actions[f.name] = group.add_argument(flag(f.name), **kwargs)
    return actions


def _option_pair(text):
    """`NAME=VALUE` as `(name, value)`, the value an int or float when it reads as one."""
    import argparse

    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text}: expected NAME=VALUE")
    for convert in (int, float):
        try:
            return name, convert(value)
        except ValueError:
            pass
    return name, value


def _store_dict_action():
    import argparse

    class StoreDict(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            setattr(namespace, self.dest, dict(values))

    return StoreDict


def _argparse_type(number):
    import argparse

    def convert(text):
        try:
            return number.parse(text)
        except SpecError as e:
            raise argparse.ArgumentTypeError(f"{text}: {e}") from None

    convert.__name__ = number.describe()
    return convert
