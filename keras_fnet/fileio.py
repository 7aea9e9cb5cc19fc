"""Files and directories written whole: a temporary name beside the target, then `os.replace`.

A reader sees the old file or the new one, never half of one; a writer that
fails (or is killed) leaves the target as it was. Every writer of keras-fnet
goes through this module.

* `whole_file(path)`: a context manager that yields a temporary path in the
  same directory (`.tmp-<pid>-<name>`, so the extension is kept); whatever the
  block writes there (a file, or a directory such as a SavedModel) replaces
  `path` when the block succeeds.
* `whole_directory(path)`: the same, with the temporary directory made first
  (`overwrite=False` refuses to replace a non-empty directory).
* `read_json(path)`: a JSON object, or a one-line error naming the file.
* `write_file(path, data)`: `data` (`str` or `bytes`) written whole.

`TMP_PREFIX` starts every temporary name, so a directory's leftovers of a
killed process can be found (`training.run_dir.RunDir.remove_temporaries`).

Example:

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
>>> write_file(path, "hello\\n")
>>> with whole_file(path) as tmp:
...     with open(tmp, "w") as f:
...         _ = f.write("bye\\n")
>>> open(path).read(), os.listdir(os.path.dirname(path))
('bye\\n', ['notes.txt'])
"""

import contextlib
import json
import os
import shutil

TMP_PREFIX = ".tmp-"


def temporary_path(path, tag=None):
    """The temporary name of `path` in its own directory: `.tmp-<pid>[-<tag>]-<name>`."""
    parent, name = os.path.split(os.path.abspath(os.fspath(path)))
    middle = f"{os.getpid()}-{tag}" if tag else f"{os.getpid()}"
    return os.path.join(parent, f"{TMP_PREFIX}{middle}-{name}")


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def _replace(tmp, target):
    """Move `tmp` to `target`; an existing directory at `target` is moved aside first."""
    if os.path.isdir(target) and not os.path.islink(target):
        old = temporary_path(target, "old")
        os.replace(target, old)
        try:
            os.replace(tmp, target)
        except OSError:
            os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


@contextlib.contextmanager
def whole_file(path):
    """Yield a temporary path beside `path`; on success what was written there becomes `path`.

    Args:
        path: the file (or directory) to write; its parent directory is made.

    Yields:
        The temporary path (same directory and extension), which does not
        exist yet. On an error it is removed and `path` is left as it was.
    """
    target = os.path.abspath(os.fspath(path))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = temporary_path(target)
    _remove(tmp)
    try:
        yield tmp
        _replace(tmp, target)
    finally:
        _remove(tmp)


@contextlib.contextmanager
def whole_directory(path, overwrite=True, error=FileExistsError):
    """Yield a new empty directory beside `path`; on success it replaces `path`.

    Args:
        path: the directory to write (an existing one is replaced as a whole).
        overwrite: with False, an existing non-empty directory at `path` is
            refused (before anything is written) instead of replaced.
        error: the exception class raised for a target that may not be
            written (a file, or a non-empty directory without `overwrite`).

    Yields:
        The temporary directory. On an error it is removed and `path` is left
        as it was.
    """
    target = os.path.abspath(os.fspath(path))
    if os.path.lexists(target):
        if not os.path.isdir(target):
            raise error(f"{os.fspath(path)!r} exists and is not a directory.")
        if not overwrite and os.listdir(target):
            raise error(f"{os.fspath(path)!r} exists and is not empty; pass overwrite=True "
                        "to replace it.")
    with whole_file(path) as tmp:
        os.makedirs(tmp)
        yield tmp


def read_json(path, error=ValueError):
    """The JSON object in `path`; `error` with a one-line message for anything else.

    Args:
        path: the file to read.
        error: the exception class raised for a missing, unreadable or
            non-object file.
    """
    try:
        with open(path) as f:
            value = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as reason:
        raise error(f"{path}: not a readable JSON file ({reason}).") from None
    if not isinstance(value, dict):
        raise error(f"{path}: expected a JSON object, got {type(value).__name__}.")
    return value


def write_file(path, data, newline=None):
    """Write `data` whole to `path` (flushed to disk before the rename).

    Args:
        path: the file to write; its parent directory is made.
        data: `str` (written as UTF-8 text) or `bytes`.
        newline: for text, how line ends are written (as in `open`).
    """
    if not isinstance(data, (str, bytes, bytearray)):
        raise TypeError(f"write_file takes str or bytes, got {type(data).__name__}.")
    with whole_file(path) as tmp:
        if isinstance(data, str):
            f = open(tmp, "w", encoding="utf-8", newline=newline)
        else:
            f = open(tmp, "wb")
        with f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
