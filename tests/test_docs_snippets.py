"""Every code snippet of the README and the documentation pages runs.

- ```python blocks run in order, one namespace per page (a page's later blocks
  use its earlier ones), in a fresh working directory that holds `train.csv`
  and `dev.csv` (columns `text`, `label`), the files the snippets name.
- ```bash blocks are commands: for every `python -m <project module> ...` the
  module's `--help` must list each `--flag` used, and every extra named in
  `pip install ".[...]"` must exist in pyproject.toml.
- A block that cannot run here (it needs a download, a TPU, a cluster) is
  preceded by the line `<!-- not run: <why> -->`; the reason is required.

The snippets run on the TensorFlow backend only (the export snippet needs it,
and once is enough to keep them honest); the other legs skip this file.
"""

import contextlib
import csv
import io
import os
import pathlib
import re
import runpy
import shlex
import sys

import keras
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the extras of `pip install` lines go unchecked.
    tomllib = None

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted(
    p for p in (ROOT / "docs").rglob("*.md") if "hooks" not in p.relative_to(ROOT / "docs").parts
)
PROJECT_MODULES = ("keras_fnet", "training", "benchmarks")
FENCE = re.compile(r"^```\s*([\w+-]*)")
NOT_RUN = re.compile(r"^<!--\s*not run:(.*?)-->\s*$")

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the documentation snippets run once, in the tensorflow leg",
)


def blocks(path):
    """`(language, first line number, code, reason it is not run or None)` per fenced block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, i, previous = [], 0, ""
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        skip = NOT_RUN.match(previous)
        found.append((match.group(1), start + 1, "\n".join(body),
                      skip.group(1).strip() if skip else None))
        previous, i = "", i + 1
    return found


def _page_id(path):
    return str(path.relative_to(ROOT))


def _write_csvs(folder):
    good = ["a great movie", "what a fine film", "I loved every minute", "wonderful acting"]
    bad = ["a dull story", "a boring plot", "I hated every minute", "awful acting"]
    for name, n in (("train.csv", 40), ("dev.csv", 12)):
        with open(folder / name, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            for k in range(n):
                writer.writerow([good[k % 4], "pos"] if k % 2 else [bad[k % 4], "neg"])


def test_every_page_is_found():
    assert ROOT / "README.md" in PAGES and ROOT / "docs" / "index.md" in PAGES
    assert any(lang == "python" for lang, *_ in blocks(ROOT / "README.md"))


@pytest.mark.parametrize("path", PAGES, ids=_page_id)
def test_skipped_blocks_say_why(path):
    for _lang, line, _, reason in blocks(path):
        assert reason is None or reason, f"{_page_id(path)}:{line}: `not run` without a reason"


@pytest.mark.parametrize(
    "path", [p for p in PAGES if any(b[0] == "python" and b[3] is None for b in blocks(p))],
    ids=_page_id)
def test_python_snippets_run(path, tmp_path, monkeypatch):
    import keras_fnet

    _write_csvs(tmp_path)
    monkeypatch.chdir(tmp_path)
    from keras_fnet.data.tasks import base as tasks

    # A page may register a family or a task of its own: the other tests see the zoo as it was.
    tables = [keras_fnet.layers.MIXINGS, keras_fnet.FAMILIES, keras_fnet.PRESETS,
              tasks._TASKS, tasks._ALIASES]
    saved = [dict(table) for table in tables]
    namespace = {"__name__": "__snippet__"}
    try:
        for lang, line, code, reason in blocks(path):
            if lang == "python" and reason is None:
                exec(compile(code, f"{_page_id(path)}:{line}", "exec"), namespace)
    finally:
        for table, before in zip(tables, saved):
            table.clear()
            table.update(before)


def commands(code):
    """The commands of a shell block: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        while words and re.match(r"^[A-Z_]+=", words[0]):  # Environment assignments.
            words = words[1:]
        if words:
            yield words


_HELP = {}


def module_help(module, *command):
    """The `--help` text of `python -m module [command]`, run in this process."""
    key = (module,) + command
    if key not in _HELP:
        out = io.StringIO()
        argv = sys.argv
        sys.argv = [module, *command, "--help"]
        try:
            with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
                runpy.run_module(module, run_name="__main__", alter_sys=True)
        finally:
            sys.argv = argv
        _HELP[key] = out.getvalue()
    return _HELP[key]


def _extras():
    if tomllib is None:
        return None
    with open(ROOT / "pyproject.toml", "rb") as f:
        return set(tomllib.load(f)["project"]["optional-dependencies"])


@pytest.mark.parametrize(
    "path", [p for p in PAGES if any(b[0] in ("bash", "sh") for b in blocks(p))], ids=_page_id)
def test_shell_commands_match_the_code(path):
    extras = _extras()
    checked = 0
    for lang, line, code, reason in blocks(path):
        if lang not in ("bash", "sh") or reason is not None:
            continue
        for words in commands(code):
            where = f"{_page_id(path)}:{line}: {' '.join(words)}"
            if words[:2] == ["pip", "install"] and extras is not None:
                for spec in re.findall(r"\[([\w,-]+)\]", " ".join(words)):
                    assert set(spec.split(",")) <= extras, f"{where}: unknown extra"
            if words[:2] == ["python", "-m"] and words[2].startswith(PROJECT_MODULES):
                text = module_help(words[2])
                if len(words) > 3 and not words[3].startswith("-"):  # A sub-command's flags too.
                    text += module_help(words[2], words[3])
                for flag in [w.split("=")[0] for w in words[3:] if w.startswith("--")]:
                    assert re.search(rf"{re.escape(flag)}\b", text), f"{where}: no {flag} in --help"
                checked += 1
    if os.environ.get("KERAS_FNET_DOCS_VERBOSE"):
        print(f"{_page_id(path)}: {checked} commands checked")
