"""Shared helpers of the training-script tests (tiny models, subprocess runs)."""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A model small enough that a step takes milliseconds on a CPU.
ARCH = ["--num-layers", "1", "--hidden-dim", "32", "--intermediate-dim", "64",
        "--num-heads", "2"]
COMMON = ["--max-length", "32", "--batch-size", "8", "--mock-data", "--eval-every", "0",
          "--checkpoint-every", "0", "--verbose", "0", "--log-every", "1"]
if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
    COMMON += ["--strategy", "default"]  # Skips the TPU probe of `auto`.


def tiny_args(output_dir, *extra, arch=True):
    """argv for `training.train.main`: a tiny model (unless `arch=False`), mock data,
    an output dir, then `extra` (later flags win)."""
    return (ARCH if arch else []) + COMMON + ["--output-dir", str(output_dir)] + [
        str(e) for e in extra]


def cli_error(argv, capsys):
    """The one-line error of `training.train.main(argv)` (which must exit with status 2)."""
    import pytest

    from training import train

    with pytest.raises(SystemExit) as exit_info:
        train.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def tiny_spec(output_dir, **changes):
    """The `RunSpec` of `tiny_args(output_dir)` with `changes`."""
    from training import train

    spec = train.spec_from_args(train.parse_args(tiny_args(output_dir)))
    return spec.replace(**changes)


def read_metrics(output_dir):
    with open(os.path.join(output_dir, "metrics.json")) as f:
        return json.load(f)


def subprocess_env(**extra):
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_script(argv, timeout=240, **env):
    """`python -m training.train argv` in a fresh process; returns CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "training.train", *map(str, argv)],
        cwd=REPO, env=subprocess_env(**env), capture_output=True, text=True, timeout=timeout,
    )


def run_python(code, timeout=240, **env):
    """Run a Python snippet in a fresh process (e.g. with several CPU devices)."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=subprocess_env(**env),
        capture_output=True, text=True, timeout=timeout,
    )


def tail(result, n=3000):
    return f"rc={result.returncode}\nstdout:\n{result.stdout[-n:]}\nstderr:\n{result.stderr[-n:]}"
