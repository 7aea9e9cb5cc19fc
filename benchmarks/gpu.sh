#!/usr/bin/env bash
# One command for a GPU host: FNet-Base vs BERT-Base (12 layers, hidden 768,
# feed-forward 3072, 12 heads) in mixed bfloat16 on every backend, at length
# 512 and at long lengths, with the keras-hub and transformers references.
# Writes benchmarks/results/gpu/{speed.csv,speed.md,speed_*.png} in the same
# format as the CPU run. Sized for < 10 minutes: each backend's worker is
# killed after WORKER_TIMEOUT seconds, and what it did not finish is recorded
# as "killed", not dropped.
#
#   bash benchmarks/gpu.sh                       # all backends
#   BACKENDS=jax,torch bash benchmarks/gpu.sh    # a subset
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-benchmarks/results/gpu}
BACKENDS=${BACKENDS:-jax,tensorflow,torch}
WORKER_TIMEOUT=${WORKER_TIMEOUT:-95}
# Memory numbers are the device's peak; do not let JAX/TF grab the GPU up front.
export XLA_PYTHON_CLIENT_PREALLOCATE=false
export TF_FORCE_GPU_ALLOW_GROWTH=true

nvidia-smi --query-gpu=name,memory.total --format=csv || echo "warning: no nvidia-smi"

BASE=(--backends "$BACKENDS" --num-layers 12 --hidden-dim 768 --intermediate-dim 3072
      --num-heads 12 --dtype mixed_bfloat16 --rounds 10 --warmup 2 --time-limit 20
      --budget 30 --max-memory-gb 60 --worker-timeout "$WORKER_TIMEOUT" --out "$OUT")

# Length 512, batch 32: the paper's headline setting (FNet-Base vs BERT-Base).
python -m benchmarks.speed --suite main "${BASE[@]}" --lengths 512 --batch 32 \
    --modes train --models fnet,bert,ff_only,keras_hub_fnet,keras_hub_bert,hf_fnet,hf_bert

# Long lengths, 16384 tokens per batch (batch 8 at 2048 .. batch 2 at 8192).
python -m benchmarks.speed --suite long "${BASE[@]}" --lengths 2048,4096,8192 --tokens 16384 \
    --modes train --models fnet,bert,ff_only --append

echo "results in $OUT/speed.md"
