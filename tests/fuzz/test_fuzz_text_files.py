"""Fuzz the own-data readers (`.csv`, `.tsv`, `.jsonl`): random bytes, encodings, quoting,
field sizes, missing and extra columns, label types."""

import csv
import io
import json
import os
import tempfile

from hypothesis import given
from hypothesis import strategies as st

from keras_fnet.data.text_files import DataFileError, TextClassificationData, read_table
from tests.fuzz.fuzzing import assert_names, fuzz

EXTENSIONS = (".csv", ".tsv", ".jsonl")
COLUMNS = ("text", "label")
# Text a user's file may hold: quotes, delimiters, line breaks (\n, \r, U+2028), BOMs,
# non-BMP characters; NUL is refused on its own (below).
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
               max_size=40) | st.sampled_from(['"', '""', ',', '\t', '\r\n', '\r', '\u2028',
                                                '\ufeff', '😀 𝔘', ' ', 'a"b', '"a'])


def _file(extension, data):
    directory = tempfile.mkdtemp(prefix="fuzz")
    path = os.path.join(directory, "data" + extension)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _read(path, columns=COLUMNS):
    """`read_table`, or its `DataFileError` checked to be one line naming the file."""
    try:
        return read_table(path, columns)
    except DataFileError as error:
        assert_names(error, path)
        return None


def _check_table(table, columns, rows):
    assert set(columns) <= set(table)
    assert all(len(table[c]) == rows for c in columns)
    assert all(isinstance(v, str) for c in columns for v in table[c])


@fuzz(60)
@given(st.sampled_from(EXTENSIONS), st.binary(max_size=300))
def test_random_bytes(extension, data):
    table = _read(_file(extension, data))
    if table is not None:
        _check_table(table, COLUMNS, len(table["text"]))


@fuzz(40)
@given(st.sampled_from(EXTENSIONS), st.binary(max_size=200))
def test_random_bytes_after_a_valid_header(extension, data):
    head = b'{"text": "a", "label": 1}\n' if extension == ".jsonl" else (
        b"text,label\n" if extension == ".csv" else b"text\tlabel\n")
    table = _read(_file(extension, head + data))
    if table is not None:
        _check_table(table, COLUMNS, len(table["text"]))
        assert table["text"][0] == "a" or extension != ".jsonl"


def _delimited(rows, delimiter, header=COLUMNS):
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _jsonl(rows, ensure_ascii):
    return "".join(json.dumps(dict(zip(COLUMNS, r)), ensure_ascii=ensure_ascii) + "\n"
                   for r in rows)


@fuzz(80)
@given(st.sampled_from(EXTENSIONS), st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=6),
       st.booleans())
def test_written_rows_read_back_exactly(extension, rows, ensure_ascii):
    """What a CSV/TSV writer or json.dumps writes is read back value for value."""
    if extension == ".jsonl":
        text = _jsonl(rows, ensure_ascii)
    else:
        text = _delimited(rows, "," if extension == ".csv" else "\t")
    table = read_table(_file(extension, text.encode("utf-8")), COLUMNS)
    assert list(zip(table["text"], table["label"])) == rows


@fuzz(40)
@given(st.sampled_from((".csv", ".tsv")), st.integers(1, 3_000_000), st.sampled_from("a\"\n,"))
def test_field_sizes(extension, size, char):
    """No field-size limit: a field of any length is read whole."""
    text = char * size
    delimiter = "," if extension == ".csv" else "\t"
    path = _file(extension, _delimited([(text, "pos"), ("b", "neg")], delimiter).encode())
    table = _read(path)
    assert table is not None and table["text"] == [text, "b"]


@fuzz(40)
@given(st.sampled_from(EXTENSIONS), TEXT, st.sampled_from(("utf-16", "utf-32", "latin-1",
                                                           "cp1252", "utf-8-sig", "utf-8")))
def test_encodings(extension, text, encoding):
    """UTF-8 (with or without BOM) reads back; another encoding reads back only where its bytes
    are the same, else the error names the line and says to save as UTF-8."""
    rows = [(text, "pos"), ("b", "neg")]
    content = _jsonl(rows, False) if extension == ".jsonl" else _delimited(
        rows, "," if extension == ".csv" else "\t")
    try:
        data = content.encode(encoding)
    except UnicodeEncodeError:
        return
    path = _file(extension, data)
    try:
        table = read_table(path, COLUMNS)
    except DataFileError as error:
        assert_names(error, path)
        assert encoding not in ("utf-8", "utf-8-sig") and (
            "UTF-8" in str(error) or "NUL" in str(error)), error
        return
    if data == content.encode("utf-8") or encoding == "utf-8-sig":
        skipped = extension != ".jsonl" and text == ""
        assert table["text"][-1] == "b" and (skipped or table["text"][0] == text)


@fuzz(60)
@given(st.sampled_from(EXTENSIONS),
       st.lists(st.sampled_from(("text", "label", "text_b", "other", "")), max_size=5),
       st.lists(st.lists(TEXT, max_size=6), min_size=1, max_size=4))
def test_missing_and_extra_columns(extension, header, rows):
    """Any header and any number of fields per row: a table whose columns all have one value
    per row, or an error naming the file."""
    if extension == ".jsonl":
        content = "".join(json.dumps(dict(zip(header, r))) + "\n" for r in rows)
    else:
        content = _delimited(rows, "," if extension == ".csv" else "\t", header=header)
    path = _file(extension, content.encode())
    table = _read(path)
    if table is not None:
        assert "text" in header and "label" in header
        _check_table(table, COLUMNS, len(table["text"]))


LABELS = (st.integers(-5, 5) | st.floats(allow_nan=True) | st.booleans() | st.none() | TEXT
          | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=2),
                                                                  st.integers(), max_size=1))


@fuzz(60)
@given(st.lists(LABELS, min_size=1, max_size=5))
def test_label_types(labels):
    """JSONL labels of any JSON type: strings or integers as their text (an integral float is
    its integer), anything else refused with the line."""
    content = "".join(json.dumps({"text": "a", "label": y}) + "\n" for y in labels)
    path = _file(".jsonl", content.encode())
    table = _read(path)
    if table is None:
        assert any(y is None or isinstance(y, (list, dict)) or
                   (isinstance(y, float) and not float(y).is_integer()) for y in labels)
        return
    want = [str(int(y)) if isinstance(y, float) else str(y) for y in labels]
    assert table["label"] == want


@fuzz(12)
@given(st.lists(st.tuples(TEXT, st.sampled_from(("pos", "neg", 1, 0))), min_size=1,
                max_size=12))
def test_from_files_on_random_rows(rows):
    """The whole reading step (classes, blank texts, vocabulary): data whose texts and labels
    are the file's, or a one-line error naming the file."""
    import warnings

    path = _file(".jsonl", _jsonl(rows, False).encode())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = TextClassificationData.from_files(
                path, vocab_size=400, work_dir=os.path.join(os.path.dirname(path), "w"))
    except DataFileError as error:
        assert_names(error, path)
        return
    assert data.texts("train") == [t for t, _ in rows]
    names = data.label_names
    assert [names[i] for i in data.labels("train")] == [str(y) for _, y in rows]
