#!/usr/bin/env bash
# One command for a bare, offline GPU host with CUDA builds of torch and jax
# (and transformers), but no keras, keras-hub or tensorflow. If keras cannot be
# imported, it is installed into build/gpu_venv (a venv that sees the system's
# torch and jax) from the wheels that benchmarks/gpu_bundle.sh put in
# build/gpu_wheels. Then, in mixed bfloat16 and float32:
#
#   * FNet-Base vs BERT-Base shape (12 layers, hidden 768, ff 3072, 12 heads) at
#     length 512, batch 32, training step and inference: fnet ("auto"), fnet with
#     the FFT and with the DFT matmuls, ff_only, bert, the plain framework FNet
#     and (torch) transformers FNetModel and BertModel (SDPA);
#   * long lengths (2048, 4096, 8192; 16384 tokens per batch): fnet, ff_only, bert.
#
# Results in $OUT/<dtype> (default benchmarks/results/gpu): speed.csv, speed.md, plots
# when matplotlib is there. Each worker is killed after WORKER_TIMEOUT seconds and
# what it did not finish is recorded as "killed"; sized for about 8 minutes.
#
#   bash benchmarks/gpu.sh
#   BACKENDS=torch OUT=/tmp/gpu bash benchmarks/gpu.sh
#   QUICK=1 OUT=/tmp/gpu bash benchmarks/gpu.sh      # toy sizes: check the flow on a CPU
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-benchmarks/results/gpu}
WHEELS=${WHEELS:-build/gpu_wheels}
WORKER_TIMEOUT=${WORKER_TIMEOUT:-70}
PYTHON=${PYTHON:-python}
# Memory numbers are the device's peak; do not let JAX/TF grab the GPU up front.
export XLA_PYTHON_CLIENT_PREALLOCATE=false TF_FORCE_GPU_ALLOW_GROWTH=true
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if ! "$PYTHON" -c "import keras" 2>/dev/null; then
    echo "keras is not installed: installing it from $WHEELS into build/gpu_venv"
    "$PYTHON" -m venv --system-site-packages build/gpu_venv
    build/gpu_venv/bin/python -m pip install --no-index --find-links "$WHEELS" keras
    PYTHON=build/gpu_venv/bin/python
fi
if [ -z "${BACKENDS:-}" ]; then  # The backends whose framework imports here.
    BACKENDS=$(for b in jax torch tensorflow; do
        "$PYTHON" -c "import ${b}" 2>/dev/null && printf '%s,' "$b"; done)
    BACKENDS=${BACKENDS%,}
fi
nvidia-smi --query-gpu=name,memory.total --format=csv || echo "warning: no nvidia-smi"
echo "backends: $BACKENDS"

BASE=(--backends "$BACKENDS" --rounds 5 --warmup 2 --time-limit 10 --budget 15
      --max-memory-gb 60 --worker-timeout "$WORKER_TIMEOUT" ${QUICK:+--quick})
BIG=(--num-layers 12 --hidden-dim 768 --intermediate-dim 3072 --num-heads 12)
AT_512=(--lengths 512 --batch 32)
LONG=(--lengths 2048,4096,8192 --tokens 16384)
if [ -n "${QUICK:-}" ]; then  # Explicit sizes would override --quick's toy sizes.
    BIG=() AT_512=() LONG=()
fi
for DTYPE in mixed_bfloat16 float32; do  # One folder per dtype: $OUT/mixed_bfloat16, $OUT/float32.
    "$PYTHON" -m benchmarks.speed --suite main "${BASE[@]}" "${BIG[@]}" --out "$OUT/$DTYPE" \
        --dtype "$DTYPE" "${AT_512[@]}" --modes train,infer \
        --models fnet,fnet_fft,fnet_dft,ff_only,bert,plain_fnet,hf_fnet,hf_bert
done
"$PYTHON" -m benchmarks.speed --suite lengths "${BASE[@]}" "${BIG[@]}" --out "$OUT/mixed_bfloat16" \
    --append --dtype mixed_bfloat16 "${LONG[@]}" --modes train,infer \
    --models fnet,ff_only,bert
echo "results in $OUT/*/speed.md"
