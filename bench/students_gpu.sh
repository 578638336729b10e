#!/usr/bin/env bash
# GPU throughput of mathdistill.students on the Qwen2-0.5B architecture (random init, no
# download): full and LoRA (r16/a32) training, bf16, batch 8, 30 steps; generation of 256
# prompts in one batch of 256 with exactly 256 new tokens (min = max), greedy and K=4 sampling.
#
#   bash bench/students_gpu.sh                       # report: results/bench/students_gpu.json
#   bash bench/students_gpu.sh --samples 0 --out x.json   # extra args go to bench/students.py
#
# Needs a CUDA build of torch and a visible GPU; exits with an error otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -f .venv/bin/activate && -z "${VIRTUAL_ENV:-}" ]]; then . .venv/bin/activate; fi

if ! python -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "error: no CUDA device visible to torch ($(python -c 'import torch; print("torch", torch.__version__, "cuda build", torch.version.cuda)'));" \
       "run this on a GPU machine with a CUDA build of torch" >&2
  exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
exec python bench/students.py --gpu "$@"
