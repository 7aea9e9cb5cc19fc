"""The pretraining study's data: prose paragraphs of a reStructuredText corpus.

`prepare(source, data_dir)` reads every `.rst`/`.rst.txt`/`.txt` file under
`source` (by default the Python documentation sources that Debian's
`python3-doc` package installs), keeps the prose and writes, whole and once:

* `pretrain.txt`: the training paragraphs (one document each, blank-line
  separated), the pretraining corpus;
* `heldout.txt`: held-out paragraphs, never seen in pretraining: the MLM/NSP
  evaluation set and the downstream test set;
* `vocabulary.spm`: a SentencePiece vocabulary trained on `pretrain.txt` only;
* `downstream_{train,validation,test}.csv`: which part of the documentation
  (`library`, `c-api`, `whatsnew`, ...: the top folder of its file) a
  paragraph comes from, classes balanced; train and validation paragraphs
  come from `pretrain.txt`, test paragraphs from `heldout.txt`;
* `manifest.json`: the settings and counts. A data folder holding another
  corpus or other settings is refused, never silently reused.

Prose: directives (`.. x::` and their `:option:` lines), section underlines,
tables, literal blocks after `::`, and interactive sessions (`>>>`) are
dropped, as are section titles and the content of code, table and toctree
directives; roles and inline markup keep their text (`:func:`len`` -> `len`).
A paragraph is kept when it has at least `MIN_WORDS` words, most of them
alphabetic.
"""

import csv
import glob
import hashlib
import io
import json
import os
import re

import numpy as np

DEFAULT_SOURCE = "/usr/share/doc/python3-dev/html/_sources"
SOURCE_HINT = ("the Python documentation sources: `apt-get install python3-doc` puts them under "
               "/usr/share/doc/python3*/html/_sources")
MIN_WORDS = 8
# Part of a data folder's settings: a changed cleaner rebuilds nothing silently.
CLEANER_VERSION = 2
_LITERAL_DIRECTIVE = re.compile(
    r"^\s*\.\.\s+(code-block|sourcecode|code|highlight|productionlist|doctest|testcode|"
    r"testoutput|testsetup|csv-table|list-table|toctree|literalinclude|parsed-literal|"
    r"raw|math)::")
SUFFIXES = (".rst", ".rst.txt", ".txt")

_DIRECTIVE = re.compile(r"^\s*\.\.(\s|$)")
_OPTION = re.compile(r"^\s*:[\w -]+:(\s|$)")
_UNDERLINE = re.compile(r"^\s*([=\-~^\"'`#*+_.:<>])\1{2,}\s*$")
_TABLE = re.compile(r"^\s*[+|].*[+|]\s*$|^\s*(=+\s+)+=+\s*$")
_ROLE = re.compile(r":[\w:.-]+:`([^`]*)`")
_LINK = re.compile(r"`([^`<]*?)\s*<[^>]*>`_{1,2}")
_TARGET_REF = re.compile(r"`([^`]+)`_{1,2}")
_LITERAL = re.compile(r"``([^`]*)``")
_EMPHASIS = re.compile(r"\*{1,2}([^*\s][^*]*?)\*{1,2}")
_FOOTNOTE = re.compile(r"\s*\[#?[\w-]*\]_")
_TILDE_OR_BANG = re.compile(r"(?<=`)[~!]")


def _inline(text):
    """Plain text of reST inline markup."""
    text = _TILDE_OR_BANG.sub("", text)
    text = _ROLE.sub(lambda m: re.sub(r"\s*<[^>]*>$", "", m.group(1)).lstrip("~!"), text)
    text = _LINK.sub(r"\1", text)
    text = _LITERAL.sub(r"\1", text)
    text = _TARGET_REF.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = _FOOTNOTE.sub("", text)
    return " ".join(text.split())


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def prose_paragraphs(text, min_words=MIN_WORDS):
    """The prose paragraphs of a reST text, as single-line plain-text strings.

    >>> prose_paragraphs('''Title
    ... =====
    ...
    ... .. function:: f(x)
    ...
    ...    Return the :func:`len` of *x*, which must be a ``list`` of words::
    ...
    ...       f([1, 2])
    ...
    ...    >>> f([])
    ...    0
    ... ''', min_words=3)
    ['Return the len of x, which must be a list of words:']
    """
    paragraphs, block, literal_indent = [], [], None

    def flush():
        nonlocal literal_indent
        if block:
            paragraph = " ".join(line.strip() for line in block)
            if paragraph.endswith("::"):
                literal_indent = _indent(block[0])
                paragraph = paragraph[:-1].rstrip(": ") + ":" if len(paragraph) > 2 else ""
            paragraph = _inline(paragraph)
            words = paragraph.split()
            alphabetic = sum(w.strip(".,;:()'\"!?").isalpha() for w in words)
            if len(words) >= min_words and alphabetic >= 0.6 * len(words):
                paragraphs.append(paragraph)
            block.clear()

    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            flush()
            continue
        if literal_indent is not None:
            if _indent(line) > literal_indent:
                continue  # Inside the literal block that a `::` paragraph opened.
            literal_indent = None
        stripped = line.strip()
        if _UNDERLINE.match(line) and len(block) == 1:
            block.clear()  # A section title.
            continue
        if (_DIRECTIVE.match(line) or _UNDERLINE.match(line) or _TABLE.match(line)
                or stripped.startswith((">>>", "... ", "$ ")) or stripped == "..."
                or (_OPTION.match(line) and not block)):
            flush()
            if _LITERAL_DIRECTIVE.match(line):
                literal_indent = _indent(line)  # Its indented content is not prose.
            continue
        block.append(line)
    flush()
    return paragraphs


def source_files(source):
    """The corpus files under `source` (sorted), relative paths."""
    if not os.path.isdir(source):
        raise FileNotFoundError(f"Corpus folder {source} not found; the study reads "
                                f"{SOURCE_HINT}, or pass --corpus DIR.")
    files = sorted(os.path.relpath(p, source) for p in glob.glob(
        os.path.join(source, "**", "*"), recursive=True)
        if os.path.isfile(p) and p.endswith(SUFFIXES))
    if not files:
        raise ValueError(f"No {', '.join(SUFFIXES)} files under {source}.")
    return files


def _section(relative_path):
    """The documentation part of a file: its top folder ("" for files at the top)."""
    parts = relative_path.split(os.sep)
    return parts[0] if len(parts) > 1 else ""


def _csv_text(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    return out.getvalue()


def _balanced(rng, by_class, classes, per_class):
    rows = [(text, label) for label in classes
            for text in rng.permutation(by_class[label])[:per_class].tolist()]
    return [rows[i] for i in rng.permutation(len(rows))]


def prepare(source, data_dir, *, seed=0, held_out_fraction=0.15, vocab_size=8000,
            num_classes=5, per_class=(1000, 100, 190)):
    """Build (or reuse) the study's data; returns the manifest dict.

    Args:
        source: folder of `.rst`/`.rst.txt`/`.txt` files.
        data_dir: where the files go; a folder made for other settings is refused.
        seed: seed of the held-out choice and of the downstream sampling.
        held_out_fraction: fraction of the paragraphs held out.
        vocab_size: pieces of the SentencePiece vocabulary (at most).
        num_classes: the downstream task's classes: the parts of the
            documentation with the most paragraphs.
        per_class: downstream (train, validation, test) paragraphs per class.

    Returns:
        The manifest: settings, file names and counts.

    Raises:
        ValueError: `data_dir` holds data of other settings, or a part has too
            few paragraphs for `per_class`.
    """
    settings = {"source": os.path.abspath(source), "seed": seed,
                "held_out_fraction": held_out_fraction, "vocab_size": vocab_size,
                "num_classes": num_classes, "per_class": list(per_class),
                "min_words": MIN_WORDS, "cleaner_version": CLEANER_VERSION}
    manifest_path = os.path.join(data_dir, "manifest.json")
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
        if manifest["settings"] != settings:
            differ = sorted(k for k in settings if manifest["settings"].get(k) != settings[k])
            raise ValueError(
                f"{data_dir} holds the study data of other settings ({', '.join(differ)}: "
                f"{[manifest['settings'].get(k) for k in differ]}); pass another --data-dir "
                "or remove it.")
        return manifest

    from keras_fnet.data import corpus
    from keras_fnet.data import tokenizer as tk

    def write(path, text):
        tk.write_whole(path, text.encode("utf-8"))

    os.makedirs(data_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    paragraphs, sections, digest = [], [], hashlib.sha256()
    for relative in source_files(source):
        with open(os.path.join(source, relative), "rb") as f:
            raw = f.read()
        digest.update(relative.encode() + b"\0" + raw)
        for paragraph in prose_paragraphs(raw.decode("utf-8", errors="replace")):
            paragraphs.append(paragraph)
            sections.append(_section(relative))
    order = rng.permutation(len(paragraphs))
    held = set(order[:int(round(held_out_fraction * len(paragraphs)))].tolist())
    split = {"pretrain": [i for i in range(len(paragraphs)) if i not in held],
             "heldout": sorted(held)}
    texts = {name: "\n\n".join(paragraphs[i] for i in index) + "\n"
             for name, index in split.items()}

    # Downstream: which part of the documentation a paragraph comes from.
    counts = {}
    for i in split["heldout"]:
        counts[sections[i]] = counts.get(sections[i], 0) + 1
    classes = sorted(sorted((s for s in counts if s), key=lambda s: -counts[s])[:num_classes])
    by_class = {name: {c: [paragraphs[i] for i in index if sections[i] == c] for c in classes}
                for name, index in split.items()}
    train_n, valid_n, test_n = per_class
    for c in classes:
        have = (len(by_class["pretrain"][c]), len(by_class["heldout"][c]))
        if have[0] < train_n + valid_n or have[1] < test_n:
            raise ValueError(f"Part {c!r} of {source} has {have[0]} training and {have[1]} "
                             f"held-out paragraphs; --per-class {train_n} {valid_n} {test_n} "
                             "needs more: lower it or --num-classes.")
    pool = {c: rng.permutation(by_class["pretrain"][c]).tolist() for c in classes}
    downstream = {
        "train": _balanced(rng, {c: pool[c][:train_n] for c in classes}, classes, train_n),
        "validation": _balanced(rng, {c: pool[c][train_n:train_n + valid_n] for c in classes},
                                classes, valid_n),
        "test": _balanced(rng, by_class["heldout"], classes, test_n),
    }

    for name, text in texts.items():
        write(os.path.join(data_dir, f"{name}.txt"), text)
    for name, rows in downstream.items():
        write(os.path.join(data_dir, f"downstream_{name}.csv"), _csv_text(rows))
    sentences = [s for d in corpus.split_documents(texts["pretrain"]) for s in d]
    tk.write_whole(os.path.join(data_dir, corpus.VOCABULARY_FILENAME),
                   tk.train_sentencepiece_from_texts(sentences, None, vocab_size,
                                                     hard_vocab_limit=False))
    manifest = {
        "settings": settings, "source_sha256": digest.hexdigest(),
        "files": len(source_files(source)),
        "paragraphs": {name: len(index) for name, index in split.items()},
        "bytes": {name: len(text.encode()) for name, text in texts.items()},
        "words": {name: len(text.split()) for name, text in texts.items()},
        "downstream_classes": classes,
        "downstream_examples": {name: len(rows) for name, rows in downstream.items()},
    }
    write(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return manifest


def paths(data_dir):
    """The files of a prepared data folder, by role."""
    from keras_fnet.data.corpus import VOCABULARY_FILENAME

    join = lambda name: os.path.join(data_dir, name)  # noqa: E731
    return {"pretrain": join("pretrain.txt"), "heldout": join("heldout.txt"),
            "vocabulary": join(VOCABULARY_FILENAME),
            **{f"downstream_{s}": join(f"downstream_{s}.csv")
               for s in ("train", "validation", "test")}}
