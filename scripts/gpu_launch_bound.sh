#!/usr/bin/env bash
# Is small-net training launch-bound on this GPU? (about 4 minutes on one H100)
#  1. host against device time of a ResNet-56 training step at batch 128 and 512 (torch.profiler);
#  2. images/s of the bf16 + channels_last tensor path at batch 128 and 512, and with CUDA graphs
#     (torch.compile mode="reduce-overhead") at batch 128, side by side.
# Usage: bash scripts/gpu_launch_bound.sh [OUT_DIR]  -> OUT_DIR/*.json and launch_bound.txt
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-results/bench}}"
mkdir -p "$out"
run() { PYTHONUNBUFFERED=1 timeout 300 python3 -m gdbench.cli bench "$@" 2>&1 | tee -a "$out/launch_bound.txt"; }
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/launch_bound.txt"
run step-profile --batch-size 128 --json "$out/profile_batch128.json"
run step-profile --batch-size 512 --json "$out/profile_batch512.json"
run train-throughput --variants tensor_bf16_cl tensor_bf16_cl_cudagraphs --samples 20000 --epochs 2 \
    --batch-size 128 --json "$out/throughput_batch128.json"
run train-throughput --variants tensor_bf16_cl --samples 20000 --epochs 2 --batch-size 512 \
    --json "$out/throughput_batch512.json"
