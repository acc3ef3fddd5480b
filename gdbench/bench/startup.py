"""The fixed cost of a DAG job: what a `gdbench stage` process spends before its first batch.

Each job is a fresh Python process (Snakemake's shell rules), so it pays its imports and its
MLflow logging again. Measured side by side, in rounds that alternate the probes, with a bare
`python -c "import torch"` (the floor no job can go under):

    torch             python -c "import torch"
    train_job_logged  the imports of a training job (finetune, scratch, baseline), one MLflow run logged
                      by the job itself (mlflow.log_at: job)
    train_job_queued  the same, its run queued for the report job instead (mlflow.log_at: report)
    prune_job_queued  the queued training job plus the pruning package (torch-pruning, the methods)

A job also pays torch's optimizer machinery on its first step (torch._dynamo, about 2 s, imported
lazily by torch.optim), which no setting here can avoid; the probes leave it out, so a real job's
fixed cost is the probe's plus that.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# A job process imports the entry point and the stages (which this package may not import: the
# probe's child process does, as a job would)
JOB_IMPORTS = "import gdbench.cli, gdbench.stages; from gdbench.bench.startup import job; "
PROBES = {
    "torch": "import torch",
    "train_job_logged": JOB_IMPORTS + "job({store!r}, None, prune=False)",
    "train_job_queued": JOB_IMPORTS + "job({store!r}, {queue!r}, prune=False)",
    "prune_job_queued": JOB_IMPORTS + "job({store!r}, {queue!r}, prune=True)",
}


def job(store: str, queue: str | None, prune: bool) -> None:
    """What a stage job does besides its work and the imports of JOB_IMPORTS: one run logged to
    `store` (or, with `queue`, queued there for the report job)."""
    from gdbench import track

    if prune:
        import gdbench.pruning.methods  # noqa: F401
    run = {"params": {"probe": "job"}, "metrics": {"x": 1.0}}
    if queue is None:
        track.log_stage(store, "startup", "bench", "probe", **run)
    else:
        track.queue_stage(queue, "startup", "bench", "probe", **run)


def job_fixed_cost(rounds: int = 3) -> dict:
    """Median seconds of each probe process, each job probe's excess over bare torch, and the
    queued job's time as a share of the logged one's."""
    from gdbench import track

    with tempfile.TemporaryDirectory() as folder:
        store, queue = f"sqlite:///{Path(folder) / 'mlflow.db'}", str(Path(folder) / "queue")
        track.init_store(store, ["startup"], "bench")
        times: dict[str, list[float]] = {name: [] for name in PROBES}
        for _ in range(rounds):
            for name, code in PROBES.items():
                start = time.perf_counter()
                subprocess.run([sys.executable, "-c", code.format(store=store, queue=queue)], check=True)
                times[name].append(time.perf_counter() - start)
    result = {f"{name}_s": statistics.median(values) for name, values in times.items()}
    for name in PROBES:
        if name != "torch":
            result[f"{name}_over_torch_s"] = result[f"{name}_s"] - result["torch_s"]
    result["queued_over_logged"] = result["train_job_queued_s"] / result["train_job_logged_s"]
    result["rounds"] = rounds
    return result
