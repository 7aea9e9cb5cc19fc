#!/usr/bin/env bash
# Run on a machine with a package index, before going to the GPU host: puts the
# wheels that benchmarks/gpu.sh needs and a bare GPU host lacks (keras and its
# small pure-Python or manylinux dependencies) into build/gpu_wheels. Carry the
# repository with that folder; gpu.sh installs from it with --no-index.
#
#   bash benchmarks/gpu_bundle.sh                  # for this machine's Python
#   PYTHON_VERSION=3.10 bash benchmarks/gpu_bundle.sh   # for another Python on the host
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=${WHEELS:-build/gpu_wheels}
PYTHON_VERSION=${PYTHON_VERSION:-$(python -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')}
KERAS=${KERAS:-keras==$(python -c 'import importlib.metadata as m; print(m.version("keras"))')}
mkdir -p "$WHEELS"
# keras and everything it needs, as wheels for the host's Python (numpy too:
# a host without it cannot use torch or jax either, but the venv check needs it).
python -m pip download --dest "$WHEELS" --only-binary=:all: --python-version "$PYTHON_VERSION" \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    "$KERAS" numpy
ls "$WHEELS"
du -sh "$WHEELS"
