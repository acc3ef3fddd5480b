"""kill -9 at random moments, then rerun: the DAG completes, nothing half-written counts as
done, the final metrics equal those of the uninterrupted smoke run, and MLflow has no duplicate."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gdbench.track import stage_runs, tracking_uri

from conftest import REPO

# The smoke run's digits experiment (as the suite runs it, suite.yaml), Gate Decorator on seed 0
# only, under another profile: the same settings, so every number must equal the uninterrupted
# smoke run's. Its jobs are the DAG's kinds in miniature (a 15-epoch baseline, a Tick-Tock prune,
# a fine-tune), each long enough to be killed mid-way.
CONFIG = """profile: killed
experiments: [resnet14_digits]
overrides:
  resnet14_digits: {methods: [gate_decorator], seeds: [0], prune: {save_flops_ratios: [0.3]}}
latency: {repeats: 1, warmup: 0, batch_sizes: [1], threads: [1], runtimes: [eager], alone: false}
"""
KILLABLE = ("train_baseline", "prune", "finetune", "scratch")


def _stage_processes(workdir: Path) -> list[int]:
    """PIDs of `gdbench stage <long stage>` processes running in `workdir`."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        text = [a.decode(errors="replace") for a in args]
        is_gdbench = any(a.endswith("gdbench") or a == "gdbench.cli" for a in text)
        if cwd == str(workdir) and is_gdbench and "stage" in text and any(s in text for s in KILLABLE):
            pids.append(int(proc.name))
    return pids


def _snakemake(workdir: Path, config: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
               str(workdir), "--cores", "2", "--configfile", str(REPO / "configs" / "config.yaml"),
               str(REPO / "configs" / "smoke.yaml"), str(config)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.reliability("interruption")
def test_kill_minus_nine_then_rerun_gives_the_uninterrupted_results(smoke, tmp_path):
    reference_dir, _, _ = smoke
    workdir = tmp_path.resolve()
    config = workdir / "killed.yaml"
    config.write_text(CONFIG)
    chooser = random.Random(7)
    kills, attempts = 0, 0
    while True:
        attempts += 1
        assert attempts <= 8, "the DAG did not complete after 8 attempts"
        run = _snakemake(workdir, config)
        if kills < 2:  # kill one long job at a random moment of this attempt
            deadline = time.monotonic() + chooser.uniform(2, 15)
            while run.poll() is None:
                time.sleep(0.2)
                victims = _stage_processes(workdir) if time.monotonic() > deadline else []
                if victims:
                    os.kill(chooser.choice(victims), signal.SIGKILL)
                    kills += 1
                    break
        if run.wait(timeout=900) == 0:
            break
    assert kills >= 2, "the DAG finished before it could be interrupted"

    ours = sorted((workdir / "results" / "killed" / "resnet14_digits").rglob("evaluate.json"))
    assert len(ours) == 1 + 1  # baseline + the save point, fine-tuned
    for path in ours:
        relative = path.relative_to(workdir / "results" / "killed")
        reference = json.loads((reference_dir / "results" / "smoke" / relative).read_text())
        assert json.loads(path.read_text()) == reference, relative

    runs = stage_runs(tracking_uri(workdir / "results"), "resnet14_digits", "killed")
    assert runs["tags.gdbench.stage_key"].is_unique
    assert len(runs) == 1 + 1 + 1 + 1 + 1 + 1  # train, evaluate baseline, prune, finetune, evaluate, latency
