"""Text classification on your own files: `.csv`, `.tsv` or `.jsonl`.

Entry point (the `text_classification` task of the training CLI):

    data = TextClassificationData.from_files(
        "train.csv", "dev.csv", test_file=None, text_column="text",
        text_pair_column=None, label_column="label", vocabulary=None,
        vocab_size=8000, work_dir="runs/x")
    data.info              # TaskInfo: num_classes, vocabulary_size, metrics, splits
    data.label_names       # class names; class i is label_names[i]
    data.vocabulary_path   # the SentencePiece model used
    data.load("train", batch_size=32, max_length=128, shuffle=True, seed=0)
        # tf.data of ({"token_ids", "segment_ids", "padding_mask"}, int32 labels)
    data.preprocessor(128)  # the ClassifierPreprocessor to attach to the model

* The format is chosen by the extension: `.csv` (comma), `.tsv` (tab), both
  with a header row, or `.jsonl` (one JSON object per line).
* The classes are those of the training file. String labels are sorted;
  integer labels (every label an integer) are sorted as numbers, so labels
  0..K-1 keep their ids. A label of the validation or test file that the
  training file lacks is an error.
* With no `vocabulary`, a SentencePiece vocabulary (at most `vocab_size`
  pieces, byte fallback) is trained on the training texts and written whole
  to `work_dir/vocabulary.spm`.
* Bad files raise `DataFileError` (a `ValueError`) with a one-line message
  naming the file and, where there is one, the line: unknown extension, empty
  file, a missing or repeated column (the columns found are named), bytes
  that are not UTF-8, a NUL byte, a row with more or fewer fields than the
  header, quoting left open, a JSON list/object or a fractional number as a
  value, a text column blank in every row (one blank in some rows is kept,
  with a warning that counts them), the same column given twice, a
  vocabulary size below what the texts need (the minimum is stated), a
  vocabulary file that is not a SentencePiece model, a batch larger than the
  split it batches, a label seen only outside the training file.
* CSV/TSV fields have no size limit (the file is read into memory whole);
  quoting is strict, so a quote left open is an error, not a field that
  swallows the rest of the file.

The batches come from the same `ClassifierPreprocessor` that
`preprocessor()` returns, so the exported model tokenizes as training did.

This module imports TensorFlow and keras-hub (data edge).
"""

import csv
import dataclasses
import io
import json
import os
import warnings

from keras_fnet.data import base
from keras_fnet.data import tokenizer as tk

DEFAULT_VOCAB_SIZE = 8000
DEFAULT_MAX_LENGTH = 128
VOCABULARY_FILENAME = "vocabulary.spm"


class DataFileError(ValueError):
    """A data file that cannot be used; the message names the file and why."""


def _decode(path, raw):
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataFileError(
            f"{path}: line {line} is not valid UTF-8 (byte {raw[e.start]:#04x} at "
            f"offset {e.start}); save the file as UTF-8."
        ) from None


def _read_delimited(delimiter):
    def read(path, text):
        """(header, [(line, {column: value})]) with strict quoting and no field-size limit
        (the file is in memory already; a quote left open is an error, not a huge field)."""
        limit = csv.field_size_limit()
        csv.field_size_limit(max(limit, len(text) + 1))
        try:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
            header, rows, start = None, [], 1
            for fields in reader:
                if header is None:
                    header = fields
                elif fields:
                    if len(fields) != len(header):
                        raise DataFileError(
                            f"{path}: line {start} has {len(fields)} fields but the header has "
                            f"{len(header)}; quote a text that holds {_NAMES[delimiter]} or "
                            "a line break (\"...\").")
                    rows.append((start, dict(zip(header, fields))))
                start = reader.line_num + 1
        except csv.Error as e:
            raise DataFileError(f"{path}: line {start}: {e} (a quote (\") left open or "
                                "followed by text); check the quoting.") from None
        finally:
            csv.field_size_limit(limit)
        return header or [], rows

    return read


_NAMES = {",": "a comma", "\t": "a tab"}


def _read_jsonl(path, text):
    rows, columns = [], {}
    # Lines end at "\n" only: a JSON string may hold U+2028 and other line separators.
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as e:
            reason = getattr(e, "msg", "nested too deeply")
            raise DataFileError(f"{path}: line {number} is not JSON ({reason}).") from None
        if not isinstance(row, dict):
            raise DataFileError(f"{path}: line {number} is not a JSON object.")
        columns.update(dict.fromkeys(row))
        rows.append((number, row))
    return list(columns), rows


READERS = {".csv": _read_delimited(","), ".tsv": _read_delimited("\t"), ".jsonl": _read_jsonl}


def _value(path, line, column, value):
    """A table value as a string; integral floats as integers (`1.0` is class `1`)."""
    if value is None:
        raise DataFileError(f"{path}: line {line} has no value for {column!r}.")
    if isinstance(value, float):
        if not value.is_integer():
            raise DataFileError(f"{path}: line {line}: {column!r} is {value!r}; use a string "
                                "or an integer.")
        value = int(value)
    if isinstance(value, (list, dict)):
        raise DataFileError(f"{path}: line {line}: {column!r} holds a JSON "
                            f"{'list' if isinstance(value, list) else 'object'}; use a string "
                            "or a number.")
    return str(value)


def read_table(path, columns):
    """The given columns of a data file, as a dict of lists of strings.

    Raises `DataFileError` (naming the file and the line) for an unknown
    extension, an empty file, a missing or repeated column, a row without a
    value in a column, a row with more or fewer fields than the header,
    quoting left open, a JSON list/object or a non-integral number as a value,
    or bytes that are not UTF-8.
    """
    extension = os.path.splitext(path)[1].lower()
    if extension not in READERS:
        raise DataFileError(
            f"{path}: unknown extension {extension or '(none)'!r}; use "
            f"{', '.join(READERS)}."
        )
    if not os.path.isfile(path):
        raise DataFileError(f"{path}: file not found.")
    with open(path, "rb") as f:
        text = _decode(path, f.read())
    if "\0" in text:
        line = text[: text.index("\0")].count("\n") + 1
        raise DataFileError(f"{path}: line {line} holds a NUL byte; is it a text file?")
    found, rows = READERS[extension](path, text)
    if not rows:
        raise DataFileError(f"{path}: the file has no rows.")
    missing = [c for c in columns if c not in found]
    if missing:
        raise DataFileError(
            f"{path}: no column {', '.join(map(repr, missing))}; columns found: "
            f"{', '.join(map(repr, found))}."
        )
    repeated = [c for c in dict.fromkeys(columns) if found.count(c) > 1]
    if repeated:
        raise DataFileError(f"{path}: the header names {', '.join(map(repr, repeated))} "
                            "more than once.")
    table = {c: [] for c in columns}
    for line, row in rows:
        for c in table:
            table[c].append(_value(path, line, c, row.get(c)))
    table[LINES] = [line for line, _ in rows]
    return table


LINES = "__lines__"  # Key of a table's line numbers (not a column).


def _check_blank(path, table, text_columns):
    """Refuse a text column that is blank in every row; warn (with the count and the first
    line) about one that is blank in some: those rows stay, as empty texts."""
    for column in text_columns:
        blank = [line for line, text in zip(table[LINES], table[column]) if not text.strip()]
        if len(blank) == len(table[column]):
            raise DataFileError(f"{path}: every text in {column!r} is blank ({len(blank)} "
                                "rows); check --text-column / --text-pair-column.")
        if blank:
            warnings.warn(f"{path}: {len(blank)} of {len(table[column])} texts in {column!r} "
                          f"are blank (the first on line {blank[0]}); they are kept as empty "
                          "texts.", stacklevel=3)


def _label_names(labels):
    """Sorted class names: as numbers when every label is an integer."""
    names = sorted(set(map(str, labels)))
    try:
        return sorted(names, key=int)
    except ValueError:
        return names


@dataclasses.dataclass
class TextClassificationData:
    """Own-file text classification data; build with `from_files`."""

    tables: dict[str, dict]
    files: dict[str, str]
    text_columns: tuple[str, ...]
    label_column: str
    label_names: tuple[str, ...]
    vocabulary_path: str
    default_max_length: int = DEFAULT_MAX_LENGTH
    _tokenizer: object | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_files(cls, train_file, validation_file=None, test_file=None, *,
                   text_column="text", text_pair_column=None, label_column="label",
                   vocabulary=None, vocab_size=DEFAULT_VOCAB_SIZE, work_dir):
        """Read the files, infer the classes, and train a vocabulary if needed.

        Args:
            train_file: `.csv`, `.tsv` or `.jsonl` training file.
            validation_file, test_file: optional files of the same columns.
            text_column: column of the (first) text.
            text_pair_column: optional column of the second text of a pair.
            label_column: column of the labels (strings or integers).
            vocabulary: path of a SentencePiece model; None trains one.
            vocab_size: at most this many pieces in a trained vocabulary.
            work_dir: where a trained vocabulary is written.

        Returns:
            `TextClassificationData`.

        Example:

        >>> data = TextClassificationData.from_files(  # doctest: +SKIP
        ...     "train.csv", "dev.csv", work_dir="run")
        >>> ds = data.load("train", batch_size=32, max_length=128)  # doctest: +SKIP
        """
        text_columns = (text_column,) + ((text_pair_column,) if text_pair_column else ())
        columns = text_columns + (label_column,)
        if len(set(columns)) < len(columns):
            names = ("text column", "text pair column", "label column")
            given = [f"{n} {c!r}" for n, c in zip(names if text_pair_column else names[::2],
                                                  columns)]
            raise DataFileError(f"{train_file}: the {', '.join(given)} must be different "
                                "columns (--text-column, --text-pair-column, --label-column).")
        files = {"train": train_file, "validation": validation_file, "test": test_file}
        files = {split: path for split, path in files.items() if path is not None}
        tables = {split: read_table(path, columns) for split, path in files.items()}
        label_names = _label_names(tables["train"][label_column])
        known = set(label_names)
        for split, table in tables.items():
            unknown = sorted(set(map(str, table[label_column])) - known)
            if unknown:
                raise DataFileError(
                    f"{files[split]}: label(s) {', '.join(map(repr, unknown[:5]))} do not "
                    f"occur in the training file {train_file} (classes: "
                    f"{', '.join(label_names)})."
                )
        if len(label_names) < 2:
            raise DataFileError(
                f"{train_file}: needs at least 2 classes in {label_column!r}, found "
                f"{label_names}."
            )
        for split, table in tables.items():
            _check_blank(files[split], table, text_columns)
        texts = (t for c in text_columns for t in tables["train"][c])
        try:
            vocabulary = tk.vocabulary_for(texts, vocabulary, vocab_size, work_dir,
                                           VOCABULARY_FILENAME)
        except FileNotFoundError as e:
            raise DataFileError(str(e)) from None
        except tk.TokenizerError as e:
            if vocabulary is not None:
                raise
            raise DataFileError(f"{train_file}: {e} (--vocab-size; the default "
                                f"{DEFAULT_VOCAB_SIZE} is an upper bound that a small file "
                                "stays below).") from None
        return cls(tables, files, text_columns, label_column, tuple(label_names),
                   vocabulary)

    @property
    def tokenizer(self):
        """The `Tokenizer` of `vocabulary_path` (loaded once)."""
        if self._tokenizer is None:
            self._tokenizer = tk.load_tokenizer(self.vocabulary_path)
        return self._tokenizer

    @property
    def info(self):
        """`TaskInfo` of the task (name "text_classification")."""
        return base.TaskInfo(
            "text_classification",
            num_classes=len(self.label_names),
            vocabulary_size=int(self.tokenizer.vocabulary_size()),
            metrics=("f1", "accuracy") if len(self.label_names) == 2 else ("accuracy",),
            splits=tuple(self.tables),
            default_max_length=self.default_max_length,
        )

    def preprocessor(self, max_length=DEFAULT_MAX_LENGTH):
        """The `ClassifierPreprocessor` (tokenizer, length, label names)."""
        from keras_fnet.preprocessing.classifier import ClassifierPreprocessor

        return ClassifierPreprocessor(self.tokenizer, max_length,
                                      label_names=list(self.label_names))

    def texts(self, split):
        """The raw inputs of a split: a list of texts, or a tuple of two lists."""
        table = self._table(split)
        texts = tuple([str(t) for t in table[c]] for c in self.text_columns)
        return texts if len(texts) == 2 else texts[0]

    def labels(self, split):
        """Class ids (int) of a split."""
        index = {name: i for i, name in enumerate(self.label_names)}
        return [index[str(v)] for v in self._table(split)[self.label_column]]

    def _table(self, split):
        base.check_split("text_classification", split, tuple(self.tables))
        return self.tables[split]

    def load(self, split, batch_size, max_length=DEFAULT_MAX_LENGTH, shuffle=False,
             seed=0, repeat=False, drop_remainder=False):
        """Batches `(features, labels)` of a split, tokenized in `tf.data`.

        Args:
            split: "train", "validation" or "test" (those given).
            batch_size: examples per batch.
            max_length: packed length.
            shuffle: shuffle the examples (each epoch anew).
            seed: shuffle seed.
            repeat: repeat forever.
            drop_remainder: drop the last incomplete batch.

        Returns:
            `tf.data.Dataset` of `({"token_ids", "segment_ids",
            "padding_mask"} int32 [B, L], int32 labels [B])`.
        """
        import numpy as np
        import tensorflow as tf

        texts = self.texts(split)
        labels = np.asarray(self.labels(split), np.int32)
        if (repeat or drop_remainder) and batch_size > len(labels):
            raise DataFileError(
                f"{self.files[split]}: a batch of {batch_size} is larger than its "
                f"{len(labels)} examples; use a batch size (--batch-size) of at most "
                f"{len(labels)}.")
        ds = tf.data.Dataset.from_tensor_slices((texts, labels))
        if shuffle:
            ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        preprocessor = self.preprocessor(max_length)
        ds = ds.map(lambda x, y: preprocessor(x, y), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)
