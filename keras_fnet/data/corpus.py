"""Pretraining (MLM + NSP) on your own corpus of plain-text files.

Entry point (the `pretrain --corpus PATH...` task of the training CLI):

    data = CorpusPretrainingData.from_paths(
        ["books/", "notes.txt"], vocabulary=None, vocab_size=8000,
        work_dir="runs/x", validation_fraction=0.05, seed=0)
    data.info             # TaskInfo: vocabulary_size, mask_id, splits
    data.vocabulary_path  # the SentencePiece model used
    data.load("train", batch_size=32, max_length=128)
        # the batches of the C4 pipeline (`keras_fnet.data.pretraining`):
        # (features, {"mlm", "nsp"} labels, {"mlm", "nsp"} sample weights)

* A path is a text file or a directory, searched recursively for files
  (hidden files skipped), in sorted order. Bytes that are not UTF-8 are
  replaced (U+FFFD) and counted in `data.stats`, as the C4 pipeline does.
* Documents are separated by blank lines. Inside a document, lines are joined
  and split into sentences after `.`, `!` or `?` followed by a space; the
  sentences are the "lines" that `pretraining.build_nsp_examples` groups into
  NSP pairs; as in the official pipeline, a one-sentence document gives no
  pair, and a split without any document of two sentences is an error.
* A fraction of the documents (at least one, chosen with `seed`) is held out
  as the `validation` split, or, with `validation_paths`, the documents of
  those files are (the same held-out set for every seed).
* With no `vocabulary`, a SentencePiece vocabulary (at most `vocab_size`
  pieces, byte fallback) is trained on the training sentences and written
  whole to `work_dir/vocabulary.spm`.

This module imports TensorFlow and keras-hub (data edge).
"""

import dataclasses
import os
import re

import numpy as np

from keras_fnet.data import base
from keras_fnet.data import tokenizer as tk
from keras_fnet.data.text_files import DataFileError

DEFAULT_VOCAB_SIZE = 8000
VOCABULARY_FILENAME = "vocabulary.spm"
SPLITS = ("train", "validation")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def corpus_files(paths):
    """Text files of `paths` (files, or directories searched recursively)."""
    files = []
    for path in paths:
        if os.path.isfile(path):
            files.append(path)
        elif os.path.isdir(path):
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files += [os.path.join(root, n) for n in sorted(names) if not n.startswith(".")]
        else:
            raise FileNotFoundError(f"Corpus path {path} not found.")
    if not files:
        raise DataFileError(f"{', '.join(map(str, paths))}: no text files (hidden files are "
                            "skipped).")
    return files


def split_documents(text):
    """Documents of a text (blank-line separated), each a list of sentences."""
    documents = []
    for block in _BLANK_LINE.split(text.replace("\r\n", "\n")):
        joined = " ".join(block.split())
        if joined:
            documents.append(_SENTENCE_END.split(joined))
    return documents


def _read_documents(paths, stats):
    """Documents of every file of `paths`, counting files and bad UTF-8 in `stats`."""
    documents = []
    for path in corpus_files(paths):
        with open(path, "rb") as f:
            raw = f.read()
        stats["files"] += 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            stats["files_with_invalid_utf8"] += 1
            text = raw.decode("utf-8", errors="replace")
        documents += split_documents(text)
    return documents


@dataclasses.dataclass
class CorpusPretrainingData:
    """Own-corpus MLM + NSP data; build with `from_paths`."""

    documents: dict[str, list[str]]  # split -> documents, one sentence a line
    vocabulary_path: str
    stats: dict
    default_max_length: int = 512
    _tokenizer: object | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_paths(cls, paths, *, vocabulary=None, vocab_size=DEFAULT_VOCAB_SIZE,
                   work_dir, validation_fraction=0.05, seed=0, validation_paths=None):
        """Read the corpus, hold out documents, train a vocabulary if needed.

        Args:
            paths: text files and/or directories of them.
            vocabulary: path of a SentencePiece model; None trains one.
            vocab_size: at most this many pieces in a trained vocabulary.
            work_dir: where a trained vocabulary is written.
            validation_fraction: fraction of the documents held out (at least
                one when there are two or more).
            seed: seed of the held-out choice.
            validation_paths: files/directories of the validation documents;
                then all of `paths` is the train split (no random hold-out).

        Returns:
            `CorpusPretrainingData`.

        Example:

        >>> data = CorpusPretrainingData.from_paths(["corpus/"], work_dir="run")  # doctest: +SKIP
        >>> x, y, w = next(iter(data.load("train", 8, 128)))  # doctest: +SKIP
        """
        stats = {"files": 0, "files_with_invalid_utf8": 0}
        documents = _read_documents(paths, stats)
        if validation_paths:
            held = _read_documents(validation_paths, stats)
            if not documents or not held:
                empty = list(paths) if not documents else list(validation_paths)
                raise DataFileError(f"The corpus {empty} has no documents.")
            documents = {"train": ["\n".join(d) for d in documents],
                         "validation": ["\n".join(d) for d in held]}
        else:
            if len(documents) < 2:
                raise DataFileError(
                    f"The corpus {list(paths)} has {len(documents)} document(s); pretraining "
                    f"needs at least 2 (documents are separated by blank lines)."
                )
            order = np.random.default_rng(seed).permutation(len(documents))
            held_out = max(1, int(round(validation_fraction * len(documents))))
            splits = {"validation": sorted(order[:held_out]), "train": sorted(order[held_out:])}
            documents = {s: ["\n".join(documents[i]) for i in index]
                         for s, index in splits.items()}
        stats["documents"] = {s: len(d) for s, d in documents.items()}
        sentences = (s for d in documents["train"] for s in d.split("\n"))
        try:
            vocabulary = tk.vocabulary_for(sentences, vocabulary, vocab_size, work_dir,
                                           VOCABULARY_FILENAME)
        except tk.TokenizerError as e:
            if vocabulary is not None:
                raise
            raise DataFileError(f"The corpus {list(paths)}: {e} (--vocab-size; the default "
                                f"{DEFAULT_VOCAB_SIZE} is an upper bound that a small "
                                "corpus stays below).") from None
        return cls(documents, vocabulary, stats)

    @property
    def tokenizer(self):
        """The `Tokenizer` of `vocabulary_path` (loaded once)."""
        if self._tokenizer is None:
            self._tokenizer = tk.load_tokenizer(self.vocabulary_path)
        return self._tokenizer

    @property
    def info(self):
        """`TaskInfo` of the task (name "pretrain", as C4's)."""
        return base.TaskInfo(
            "pretrain", num_classes=2,
            vocabulary_size=int(self.tokenizer.vocabulary_size()),
            metrics=("mlm_accuracy", "nsp_accuracy"), splits=SPLITS,
            default_max_length=self.default_max_length,
            mask_id=self.tokenizer.mask_token_id,
        )

    def load(self, split, batch_size, max_length=512, max_predictions=None, seed=0,
             repeat=None, drop_remainder=True, stats=None):
        """MLM + NSP batches of a split (see `pretraining.pretraining_dataset`).

        Args:
            split: "train" or "validation".
            batch_size, max_length, seed, drop_remainder, stats: see
                `pretraining.pretraining_dataset`.
            max_predictions: masked positions per sequence (default: BERT's
                ratio, 80 at length 512, 20 at 128).
            repeat: repeat forever (default: for train).

        Returns:
            `tf.data.Dataset` of `(features, labels, sample_weights)` batches.
        """
        import tensorflow as tf

        from keras_fnet.data import pretraining

        base.check_split("pretrain", split, SPLITS)
        if not any("\n" in d for d in self.documents[split]):
            raise DataFileError(
                f"No document of the {split} split has two sentences or more; NSP pairs "
                "need them (documents are separated by blank lines, sentences end with "
                "'.', '!' or '?').")
        if max_predictions is None:
            max_predictions = max(1, round(max_length * 80 / 512))
        training = split == "train"
        documents = tf.data.Dataset.from_tensor_slices(self.documents[split])
        if training:
            documents = documents.shuffle(len(self.documents[split]), seed=seed)
        return pretraining.pretraining_dataset(
            documents, self.tokenizer, batch_size, max_length=max_length,
            max_predictions=max_predictions, seed=seed,
            shuffle_buffer=1024 if training else 0, drop_remainder=drop_remainder,
            repeat=training if repeat is None else repeat, stats=stats,
        )
