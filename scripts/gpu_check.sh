#!/usr/bin/env bash
# GPU check (about 5 minutes on one H100 or H200):
#  1. tests/gpu: masked == pruned, gate scores, Tick-Tock and bf16 training on CUDA;
#  2. ResNet-56 training throughput for the DataLoader path against the on-GPU tensor path
#     (fp32; bf16 + channels_last; + torch.compile), seconds per CIFAR-10-sized epoch, and
#     pruned-against-baseline inference latency.
# Usage: bash scripts/gpu_check.sh [OUT_DIR]
#   -> OUT_DIR/gpu_check.json, gpu_check.txt (device, bench) and gpu_tests.txt (pytest)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-results/bench}}"
mkdir -p "$out"
python3 -c "import gdbench" 2>/dev/null || python3 -m pip install -q --no-deps -e .
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu_check.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$out/gpu_check.txt"
python3 -m pytest tests/gpu -m gpu -p no:cacheprovider -q 2>&1 | tee "$out/gpu_tests.txt"
tests_rc=${PIPESTATUS[0]}
PYTHONUNBUFFERED=1 python3 -m gdbench.cli bench gpu-check --json "$out/gpu_check.json" | tee -a "$out/gpu_check.txt"
bench_rc=${PIPESTATUS[0]}
echo "gpu tests exit $tests_rc, bench exit $bench_rc" | tee -a "$out/gpu_check.txt"
[ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
