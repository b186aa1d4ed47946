#!/usr/bin/env bash
# The GPU check: trains (LoRA and full), scores and runs a best-of-N with the backbone given, on a GPU, and
# prints throughput beside the same on CPU (bench/gpu_check.py says how). Under 10 minutes by default.
#   bench/gpu_check.sh /models/Qwen2.5-Math-7B            # a local checkpoint directory, on a GPU machine
#   bench/gpu_check.sh /models/math-shepherd --head causal_lm --train-steps 10 --gradient-checkpointing
#   bench/gpu_check.sh --tiny                              # no GPU: the CPU rows only (a test runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
exec timeout "${GPU_CHECK_TIMEOUT:-600}" "$PY" bench/gpu_check.py "$@"
