"""A long job is never silent: its log gets one line per epoch and per pruning step while it
runs (issue 13), saying what it is, where it is, its loss, and elapsed and remaining time."""

import subprocess
import sys
import time
from pathlib import Path

import torch

from gdbench import progress

REPO = Path(__file__).resolve().parents[2]


def test_a_training_job_s_log_and_mlflow_run_grow_per_epoch_while_it_runs(tmp_path):
    """The job's log and, with mlflow.log_at: job, its MLflow run: epoch k's line and metrics
    are there while epoch k + 1 trains; at the end each epoch is in the run once."""
    from mlflow.tracking import MlflowClient

    from gdbench.config import deep_merge, load_yaml, write_resolved
    from gdbench.run_config import resolve_run
    from gdbench.stages import init_tracking, prepare_data
    from gdbench.track import run_uri

    config = deep_merge(load_yaml(REPO / "configs" / "config.yaml"), load_yaml(REPO / "configs" / "digits.yaml"))
    config.update(data_root=str(tmp_path / "data"), overrides={"resnet14_digits": {"train": {"epochs": 6}}})
    config["mlflow"] = {"tracking_uri": None, "log_at": "job"}
    resolved = resolve_run(config, REPO / "configs" / "experiments")
    resolved["results_dir"] = str(tmp_path / "results")
    prepare_data(resolved, "digits", tmp_path / "flag.json")
    init_tracking(resolved)
    client = MlflowClient(run_uri(resolved))
    experiment_id = client.get_experiment_by_name("resnet14_digits").experiment_id
    query = "tags.`gdbench.stage_key` = 'train_baseline/resnet14_digits/seed0'"
    path = write_resolved(resolved, tmp_path / "config.json")
    log = tmp_path / "job.log"
    with log.open("w") as handle:  # a file, not a terminal: what a Snakemake job's log sees
        job = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gdbench.cli",
                "stage",
                "train_baseline",
                "--config",
                path,
                "--experiment",
                "resnet14_digits",
                "--seed",
                "0",
                "--out",
                str(tmp_path / "train"),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        seen_while_running, logged_while_running = [], set()
        while job.poll() is None:
            lines = [line for line in log.read_text().splitlines() if " epoch " in line]
            if lines and (not seen_while_running or len(lines) > seen_while_running[-1]):
                seen_while_running.append(len(lines))
            for run in client.search_runs([experiment_id], query):
                if run.info.status == "RUNNING":
                    logged_while_running.add(len(client.get_metric_history(run.info.run_id, "loss")))
            time.sleep(0.2)
    assert job.returncode == 0, log.read_text()[-2000:]
    assert len(seen_while_running) >= 3 and seen_while_running[0] < 6  # it grew, line by line, before the end
    assert len(logged_while_running - {0, 6}) >= 2  # MLflow too, epoch by epoch, before the end
    (run,) = client.search_runs([experiment_id], query)
    assert run.info.status == "FINISHED" and run.data.tags["gdbench.lineage"] == "resnet14_digits/seed0"
    assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "loss")) == list(range(1, 7))
    lines = [line for line in log.read_text().splitlines() if " epoch " in line]
    assert len(lines) == 6
    assert lines[0].startswith("[train_baseline resnet14_digits seed0] train epoch 1/6  loss ")
    assert "val_top1 " in lines[0] and " elapsed " in lines[0] and " remaining ~" in lines[0]
    assert "remaining" not in lines[-1]  # done


def test_a_pruning_step_says_the_flops_ratio_and_its_target(capsys):
    from gdbench.gates import decorate
    from gdbench.models import resnet_cifar
    from gdbench.pruning.methods import build_pruner
    from gdbench.pruning.ticktock import TickTockConfig

    torch.manual_seed(0)
    model = decorate(resnet_cifar(14, 4, base_width=8))
    batches = [(torch.randn(8, 3, 16, 16), torch.randint(0, 4, (8,))) for _ in range(2)]
    config = TickTockConfig(target_flops_ratio=0.6, prune_fraction_per_tick=0.1, ticks_per_tock=2, tock_epochs=1)
    build_pruner(
        "gate_decorator", model, batches, torch.nn.CrossEntropyLoss(), config, example_inputs=torch.zeros(1, 3, 16, 16)
    ).run()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("prune ")]
    assert lines[0].startswith("prune tock step 0  FLOPs 100.0% (target 60%)")
    ticks = [line for line in lines if line.startswith("prune tick")]
    assert ticks and all(" filters  loss " in line and " elapsed " in line for line in ticks)
    assert "remaining ~" in ticks[0]


def test_remaining_time_follows_the_flops_ratio_on_a_log_scale():
    assert progress.pruning_done(1.0, 0.3) is None
    assert abs(progress.pruning_done(0.3**0.5, 0.3) - 0.5) < 1e-9
    assert progress.pruning_done(0.2, 0.3) == 1.0
    assert progress.clock(3725) == "1:02:05" and progress.clock(65) == "1:05"
