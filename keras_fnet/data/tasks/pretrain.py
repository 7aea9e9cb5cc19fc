"""The `pretrain` task (alias `c4`): MLM + NSP on C4 from TFDS, or on your own corpus.

With `TaskOptions.corpus` (plain-text files or directories, documents
separated by blank lines; see `keras_fnet.data.corpus`) the task reads that
corpus and, without a `vocabulary`, trains one into `work_dir`; otherwise it
reads TFDS `c4/en` with the given SentencePiece vocabulary.

Example:

>>> from keras_fnet.data.tasks import get_task
>>> get_task("c4").name, get_task("pretrain").eval_splits
('pretrain', ('validation',))
"""

from keras_fnet.data import base
from keras_fnet.data.tasks.base import (
    PreparedTask,
    Task,
    own_vocabulary,
    register,
    require_work_dir,
)

_TEXT_OPTIONS = ("vocabulary", "tokenizer", "download")  # As GLUE's (`tfds.TEXT_OPTIONS`).
_C4_OPTIONS = _TEXT_OPTIONS + ("max_predictions", "stats")


def _describe(options):
    from keras_fnet.data.tasks import tfds

    vocab, mask_id = tfds.text_vocabulary(options)
    return base.TaskInfo("pretrain", num_classes=2, vocabulary_size=vocab,
                         metrics=("mlm_accuracy", "nsp_accuracy"), splits=tfds.C4_SPLITS,
                         default_max_length=512, mask_id=mask_id)


def _load_c4(split, batch_size, max_length, repeat=False, shuffle=None, **kwargs):
    from keras_fnet.data.tasks import tfds

    del shuffle  # C4 shuffles its train split itself.
    return tfds.c4(split, batch_size, max_length, repeat=(repeat or None), **kwargs)


def _prepare(task, options):
    """C4 from TFDS, or the user's own corpus (`options.corpus`)."""
    if not options.corpus:
        return Task.prepare(_C4, options)
    from keras_fnet.data import corpus

    require_work_dir(task, options)
    data = corpus.CorpusPretrainingData.from_paths(
        options.corpus, vocabulary=own_vocabulary(options, corpus.VOCABULARY_FILENAME),
        vocab_size=options.vocab_size or corpus.DEFAULT_VOCAB_SIZE, work_dir=options.work_dir,
        seed=options.seed, validation_paths=options.corpus_validation)

    def load(split, batch_size, max_length, shuffle=None, seed=0, repeat=False,
             drop_remainder=False):
        return data.load(split, batch_size, max_length, seed=seed,
                         repeat=repeat or split == "train", drop_remainder=drop_remainder)

    return PreparedTask(data.info, data.vocabulary_path, load, ("validation",), "validation")


_SETTINGS = dict(
    kind="pretraining", eval_splits=("validation",), max_length=128, min_length=8,
    learning_rate=1e-4, options=_C4_OPTIONS + ("corpus", "corpus_validation", "vocab_size"),
    data_help="C4 comes from TFDS: `tfds build c4/en --data_dir DIR` (see the TFDS c4 page for "
    "the manual Common Crawl steps); pass --data-dir DIR and --vocabulary (a SentencePiece "
    "model, e.g. f_net_base_en's vocabulary.spm); or pass --corpus with your own text files.")
# The C4 branch: the loader reads TFDS (its own options only).
_C4 = Task("pretrain", _describe, _load_c4, **dict(_SETTINGS, options=_C4_OPTIONS))
register(Task("pretrain", _describe, _load_c4, prepare_fn=_prepare, **_SETTINGS),
         aliases=("c4",))
