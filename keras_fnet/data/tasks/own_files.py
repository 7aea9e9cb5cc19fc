"""The `text_classification` task: your own `.csv`, `.tsv` or `.jsonl` files.

See `keras_fnet.data.text_files` for the formats, the label rules and the
vocabulary trained into `work_dir` when none is given.

Example:

>>> from keras_fnet.data.tasks import TaskOptions, get_task
>>> get_task("text_classification").prepare(TaskOptions())
Traceback (most recent call last):
...
ValueError: train_file (--train-file) is required.
"""

from keras_fnet.data import base
from keras_fnet.data.tasks.base import (
    PreparedTask,
    Task,
    own_vocabulary,
    register,
    require_work_dir,
)

_FILE_OPTIONS = ("train_file", "validation_file", "test_file", "text_column",
                 "text_pair_column", "label_column", "vocabulary", "vocab_size")


def _prepare(task, options):
    from keras_fnet.data import text_files

    for option in ("train_file", "validation_file"):
        if not getattr(options, option):
            raise ValueError(f"{option} (--{option.replace('_', '-')}) is required.")
    require_work_dir(task, options)
    data = text_files.TextClassificationData.from_files(
        options.train_file, options.validation_file, options.test_file,
        text_column=options.text_column or "text", text_pair_column=options.text_pair_column,
        label_column=options.label_column or "label",
        vocabulary=own_vocabulary(options, text_files.VOCABULARY_FILENAME),
        vocab_size=options.vocab_size or text_files.DEFAULT_VOCAB_SIZE,
        work_dir=options.work_dir)

    def load(split, batch_size, max_length, shuffle=None, seed=0, repeat=False,
             drop_remainder=False):
        return data.load(split, batch_size, max_length, shuffle=bool(shuffle), seed=seed,
                         repeat=repeat, drop_remainder=drop_remainder)

    evals = ("test",) if options.test_file else ("validation",)
    return PreparedTask(data.info, data.vocabulary_path, load, evals, "validation",
                        data.preprocessor)


register(Task(
    "text_classification",
    lambda options: base.TaskInfo("text_classification", 2, 0, ("accuracy",),
                                  ("train", "validation", "test"), 128),
    eval_splits=("validation",), max_length=128, min_length=4, learning_rate=1e-3,
    options=_FILE_OPTIONS, prepare_fn=_prepare,
    data_help="Pass --train-file and --validation-file (.csv, .tsv or .jsonl with a header "
    "row / JSON keys), and --text-column, --text-pair-column, --label-column as needed."))
