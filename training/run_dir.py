"""The run directory: one run per directory, a lock, and files written whole.

The contract (also in the README, "Output directory"):

* `run.json` holds the run's spec (`RunSpec.identity()`) and the fingerprint
  of its model config, written before the first checkpoint; the checkpoint file
  carries the same fingerprint and the history so far. A rerun resumes only the
  same run: another spec stops with one line naming the settings that differ,
  unless `overwrite` (then the run's files are removed and it starts afresh).
* `.lock` names its owner (pid, host, process start time); a second process
  stops with a clear message; a lock whose process is gone (`kill -9`) is
  taken over.
* Every file is written to `.tmp-<pid>-<name>` in the same directory and
  renamed (`keras_fnet.fileio`); leftover temporaries of dead processes are
  removed on start.

Example:

>>> with RunDir("runs/demo") as run:  # doctest: +SKIP
...     run.write_json("metrics.json", {"accuracy": 0.5})
"""

import hashlib
import json
import os
import shutil
import socket

from keras_fnet import fileio
from keras_fnet.fileio import TMP_PREFIX

RUN_FILE = "run.json"
LOCK_FILE = ".lock"
# Files and folders a run owns (removed by `overwrite`); nothing else is touched.
RUN_FILES = ("run.json", "checkpoint.weights.h5", "checkpoint.json", "model.keras",
             "metrics.json", "logs", "vocabulary.spm")


class RunDirError(Exception):
    """The directory cannot be used by this run (shown as one line)."""


def fingerprint(obj):
    """A short, stable hash of a JSON-serializable object."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _process_start(pid):
    """The start time of `pid` (Linux /proc), to tell a reused pid apart; None if unknown."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid, start):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _process_start(pid)
    return start is None or now is None or now == start


class RunDir:
    """A locked run directory. Use as a context manager (takes and frees the lock).

    Args:
        path: the directory (created if missing).
        lock: take the lock (the chief of a distributed run); other workers
            only read.
    """

    def __init__(self, path, lock=True):
        self.path = path
        self.lock = lock
        self._owner = {"pid": os.getpid(), "host": socket.gethostname(),
                       "start": _process_start(os.getpid())}

    def file(self, name):
        return os.path.join(self.path, name)

    # ---- Lock -----------------------------------------------------------------

    def __enter__(self):
        try:
            os.makedirs(self.path, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise RunDirError(f"--output-dir {self.path}: is a file, not a directory.") from None
        except PermissionError:
            raise RunDirError(f"--output-dir {self.path}: cannot create it (permission "
                              "denied).") from None
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise RunDirError(f"--output-dir {self.path}: is not writable.")
        if self.lock:
            self._acquire()
            self.remove_temporaries()
        return self

    def __exit__(self, *exc):
        if self.lock:
            try:
                with open(self.file(LOCK_FILE)) as f:
                    if json.load(f).get("pid") == os.getpid():
                        os.remove(self.file(LOCK_FILE))
            except (OSError, ValueError):
                pass
        return False

    def _acquire(self):
        lock = self.file(LOCK_FILE)
        for _ in range(3):
            # Written whole under a temporary name, then linked: `os.link` fails if a lock
            # exists, so two processes never both take it.
            tmp = fileio.temporary_path(lock, "link")
            fileio.write_file(tmp, json.dumps(self._owner))
            try:
                os.link(tmp, lock)
                return
            except FileExistsError:
                pass
            finally:
                os.remove(tmp)
            owner = self._read_lock()
            if owner is not None and not self._stale(owner):
                raise RunDirError(
                    f"--output-dir {self.path} is in use by process {owner.get('pid')} on "
                    f"{owner.get('host')} ({lock}); wait for it, stop it, or use another "
                    "--output-dir.")
            print(f"taking over the stale lock of process {owner and owner.get('pid')} "
                  f"(no longer running) in {self.path}", flush=True)
            try:
                os.remove(lock)
            except FileNotFoundError:
                pass
        raise RunDirError(f"--output-dir {self.path}: could not take the lock {lock}.")

    def _read_lock(self):
        try:
            with open(self.file(LOCK_FILE)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def _stale(self, owner):
        if owner.get("host") != self._owner["host"]:
            return False  # Cannot tell for another host: the user decides.
        return not _alive(int(owner.get("pid", -1)), owner.get("start"))

    # ---- Whole files ----------------------------------------------------------

    def tmp_path(self, name):
        """The temporary path of `name`: `.tmp-<pid>-<name>` in the same directory."""
        return fileio.temporary_path(self.file(name))

    def write_whole(self, name, write):
        """`write(tmp_path)` then rename it to `name`: readers see the old or the new file."""
        with fileio.whole_file(self.file(name)) as tmp:
            write(tmp)

    def write_json(self, name, obj):
        text = json.dumps(obj, indent=2)
        self.write_whole(name, lambda tmp: fileio.write_file(tmp, text))

    def read_json(self, name):
        """The JSON file `name`, or None if missing; RunDirError if damaged."""
        try:
            with open(self.file(name)) as f:
                return json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise RunDirError(f"{self.file(name)} is damaged ({e}); pass --overwrite to start "
                              "afresh.") from None

    def remove_temporaries(self):
        """Remove `.tmp-<pid>-*` files left by processes that are gone."""
        for name in os.listdir(self.path):
            if not name.startswith(TMP_PREFIX):
                continue
            pid = name[len(TMP_PREFIX):].split("-", 1)[0]
            if pid.isdigit() and (int(pid) == os.getpid() or _alive(int(pid), None)):
                continue
            path = self.file(name)
            print(f"removing {path}, left by an interrupted process", flush=True)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)

    # ---- The run's identity ---------------------------------------------------

    def claim(self, identity, overwrite=False):
        """Check that this directory is free for the run `identity` (a dict of settings).

        `record(spec=identity)` then marks it as this run's (once the run is
        about to write a checkpoint, so that a run that fails on its settings
        or data leaves nothing behind).

        Returns:
            True if the directory already belonged to this run (resume), False
            if it starts fresh.

        Raises:
            RunDirError: it holds another run (the message names the settings
                that differ) and `overwrite` is False.
        """
        from training.spec import differences

        stored = self.read_json(RUN_FILE) if not overwrite else None
        leftovers = [n for n in RUN_FILES if os.path.exists(self.file(n))]
        if stored is not None:
            diff = differences(stored.get("spec", {}), identity)
            if not diff:
                return True
            raise RunDirError(f"--output-dir {self.path} holds another run: "
                              f"{'; '.join(diff)}. Pass --overwrite to start afresh, or use "
                              "another --output-dir.")
        if leftovers and not overwrite:
            raise RunDirError(f"--output-dir {self.path} holds files of an unknown run "
                              f"({', '.join(leftovers)}); pass --overwrite to start afresh.")
        for name in leftovers:
            path = self.file(name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        return False

    def record(self, **values):
        """Add `values` (e.g. the model fingerprint) to `run.json`."""
        stored = self.read_json(RUN_FILE) or {}
        stored.update(values)
        self.write_json(RUN_FILE, stored)
