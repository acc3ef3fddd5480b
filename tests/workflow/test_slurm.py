"""The DAG on a real SLURM cluster (issue 14): a one-node SLURM 22.05 brought up on this machine by
scripts/local_slurm.sh, two faked GPUs, profiles/slurm as a user runs it. One of the digits
slice's experiments goes through sbatch; a running job is scancelled, the DAG fails naming it,
and a plain rerun completes it with the numbers of the same DAG run locally (the smoke fixture).
Skipped, with the script's reason, where the cluster cannot be started (not root, no apt-get)."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CONFIGS, REPO

SCRIPT = REPO / "scripts" / "local_slurm.sh"
# The digits experiment as the suite runs it, Gate Decorator on seed 1: the settings of the smoke
# fixture's, so every number must equal the local run's. `gpus: 1` puts the `gpu` resource on every
# job (SLURM gives it a faked GPU; the stages run on the CPU, as device: cpu says); the scheduler
# requests are cut to fit a node of this machine's size, two jobs at a time.
CONFIG = """experiments: [resnet14_digits]
overrides:
  resnet14_digits:
    methods: [gate_decorator]
    seeds: [1]
    gpus: 1
    cluster: {runtime: {default: 30}, mem_mb: {default: 2000}}
"""
EVALUATIONS = [
    "results/smoke/resnet14_digits/baseline/seed1/evaluate/evaluate.json",
    "results/smoke/resnet14_digits/gate_decorator/0.3/seed1/finetune/evaluate/evaluate.json",
]


@pytest.fixture(scope="module")
def cluster():
    check = subprocess.run([str(SCRIPT), "check"], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.skip((check.stdout + check.stderr).strip())
    started = time.monotonic()
    up = subprocess.run([str(SCRIPT), "up", "2"], capture_output=True, text=True, timeout=600)
    assert up.returncode == 0, up.stdout + up.stderr
    print(f"\nSLURM cluster up in {time.monotonic() - started:.1f} s: {up.stdout.strip()}")
    yield
    subprocess.run([str(SCRIPT), "down"], capture_output=True, text=True, timeout=60)


def _snakemake(workdir: Path, config: Path) -> list[str]:
    # the plugin's first status check after 2 s, not its 40: MinJobAge 600 >= 3 × 2 keeps squeue trusted
    return [sys.executable, "-m", "snakemake", *EVALUATIONS, "--snakefile", str(REPO / "Snakefile"),
            "--directory", str(workdir), "--profile", str(REPO / "profiles" / "slurm"),
            "--slurm-init-seconds-before-status-checks", "2", "--configfile", *CONFIGS, str(config)]


def _running_jobs() -> dict[str, str]:
    """SLURM job id -> job name (the plugin names jobs after the run), of the running jobs."""
    listed = subprocess.run(["squeue", "-h", "-t", "R", "-o", "%i %j"], capture_output=True, text=True)
    return dict(line.split(" ", 1) for line in listed.stdout.splitlines() if line.strip())


@pytest.mark.reliability("interruption")
def test_scancel_fails_the_dag_naming_the_job_and_a_rerun_completes_it_as_locally(smoke, cluster, tmp_path):
    reference_dir, _, _ = smoke
    workdir = tmp_path.resolve()
    config = workdir / "slurm.yaml"
    config.write_text(CONFIG)
    log = workdir / "first.log"

    started = time.monotonic()
    with open(log, "w") as output:
        first = subprocess.Popen(_snakemake(workdir, config), stdout=output, stderr=subprocess.STDOUT)
        cancelled = None
        while first.poll() is None and cancelled is None and time.monotonic() - started < 300:
            time.sleep(0.5)
            running = _running_jobs()
            if running:  # the baseline's training: cancel it mid-way
                time.sleep(3)
                cancelled = next(iter(running))
                subprocess.run(["scancel", cancelled], check=True)
        assert cancelled is not None, "no SLURM job was seen running"
        assert first.wait(timeout=600) != 0
    printed = log.read_text()
    failure = re.search(rf"^.*SLURM-job '{cancelled}' failed.*$", printed, re.M)
    assert failure, printed[-3000:]
    assert re.search(r"Error in rule train_baseline", printed), printed[-3000:]
    print(f"\nscancel {cancelled} ({time.monotonic() - started:.0f} s in): {failure.group(0).strip()}")

    started = time.monotonic()
    rerun = subprocess.run(_snakemake(workdir, config), capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-3000:]
    print(f"rerun through SLURM: {time.monotonic() - started:.0f} s")
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", rerun.stdout + rerun.stderr)
    assert len(submitted) == 3  # train_baseline, prune, finetune; the save point is a local rule

    for relative in EVALUATIONS:
        assert json.loads((workdir / relative).read_text()) == json.loads((reference_dir / relative).read_text())
    # the job's gpu resource reached sbatch: SLURM gave each stage a (faked) GPU of its own
    stage_log = (workdir / "results/smoke/logs/train_baseline/resnet14_digits/seed1.log").read_text()
    assert re.search(r"SLURM job \d+ holds GPUs [01] \(CUDA_VISIBLE_DEVICES\)", stage_log), stage_log[:2000]
