"""The `digits` task: scikit-learn's 8x8 digits as sequences of pixel rows.

The data (`keras_fnet.data.digits`) ships with scikit-learn, so nothing is
downloaded. The task fixes the model's input (`PreparedTask.model_overrides`:
a feature input of 8 features per position, length 8).

Example:

>>> from keras_fnet.data.tasks import get_task
>>> prepared = get_task("digits").prepare()
>>> prepared.model_overrides["input_kind"], prepared.info.num_classes
('features', 10)
"""

from keras_fnet.data import base
from keras_fnet.data.tasks.base import PreparedTask, Task, fixed_info, register


def _prepare(task, options):
    import tensorflow as tf

    from keras_fnet.data import digits

    described = digits.info()
    overrides = described["model_overrides"]
    info = base.TaskInfo("digits", digits.NUM_CLASSES, 1, ("accuracy",), digits.SPLITS,
                         overrides["max_sequence_length"])

    def load(split, batch_size, max_length, shuffle=None, seed=0, repeat=False,
             drop_remainder=False):
        ds = tf.data.Dataset.from_tensor_slices(digits.arrays(split))
        if shuffle:
            ds = ds.shuffle(described["splits"][split], seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

    return PreparedTask(info, None, load, ("test",), "validation", model_overrides=overrides)


register(Task(
    "digits", fixed_info("digits", 10, 1, ("train", "validation", "test"), 8),
    min_length=8, max_length=8, prepare_fn=_prepare,
    data_help="scikit-learn ships the digits (`pip install scikit-learn`, in the `data` extra); "
    "nothing is downloaded."))
