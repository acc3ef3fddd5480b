"""The fixed cost of a DAG job: what a `gdbench stage` process spends before its first batch.

Each job is a fresh Python process (Snakemake's shell rules), so it pays its imports and its
MLflow logging again. Measured side by side, in rounds that alternate the probes, with a bare
`python -c "import torch"` (the floor no job can go under):

    torch        python -c "import torch"
    train_job    the imports of a training job (finetune, scratch, baseline) and one MLflow run logged
    prune_job    the same plus the pruning package (torch-pruning, the methods registry)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBES = {
    "torch": "import torch",
    "train_job": "from gdbench.bench.startup import job; job({store!r}, prune=False)",
    "prune_job": "from gdbench.bench.startup import job; job({store!r}, prune=True)",
}


def job(store: str, prune: bool) -> None:
    """What a stage job does besides its work: its imports, then one run logged to `store`."""
    import gdbench.cli  # noqa: F401  the entry point every rule runs
    import gdbench.stages  # noqa: F401
    from gdbench import track

    if prune:
        import gdbench.pruning.methods  # noqa: F401
    track.log_stage(store, "startup", "bench", "probe", params={"probe": "job"}, metrics={"x": 1.0})


def job_fixed_cost(rounds: int = 3) -> dict:
    """Median seconds of each probe process, and each job probe's excess over bare torch."""
    from gdbench import track

    with tempfile.TemporaryDirectory() as folder:
        store = f"sqlite:///{Path(folder) / 'mlflow.db'}"
        track.init_store(store, ["startup"], "bench")
        times: dict[str, list[float]] = {name: [] for name in PROBES}
        for _ in range(rounds):
            for name, code in PROBES.items():
                start = time.perf_counter()
                subprocess.run([sys.executable, "-c", code.format(store=store)], check=True)
                times[name].append(time.perf_counter() - start)
    result = {f"{name}_s": statistics.median(values) for name, values in times.items()}
    for name in ("train_job", "prune_job"):
        result[f"{name}_over_torch"] = result[f"{name}_s"] / result["torch_s"]
    result["rounds"] = rounds
    return result
