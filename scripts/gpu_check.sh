#!/usr/bin/env bash
# GPU check (about 5 minutes on one H100 or H200): ResNet-56 training throughput for the
# DataLoader path against the on-GPU tensor path (fp32; bf16 + channels_last; + torch.compile),
# seconds per CIFAR-10-sized epoch, and pruned-against-baseline inference latency.
# Usage: bash scripts/gpu_check.sh [OUT_DIR]   -> OUT_DIR/gpu_check.json and gpu_check.txt
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-results/bench}}"
mkdir -p "$out"
python3 -c "import gdbench" 2>/dev/null || python3 -m pip install -q --no-deps -e .
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu_check.txt"
PYTHONUNBUFFERED=1 python3 -m gdbench.cli bench gpu-check --json "$out/gpu_check.json" | tee -a "$out/gpu_check.txt"
