"""Faults injected on purpose: failed writes, unsafe files, missing devices, concurrent logging."""

import errno
import multiprocessing

import pytest
import torch
import yaml

from gdbench.checkpoint import load_checkpoint, save_checkpoint
from gdbench.config import ConfigError, load_yaml
from gdbench.distributed import resolve_device


@pytest.mark.reliability("resources")
def test_failed_checkpoint_write_leaves_the_previous_one_intact(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"epoch": 1, "weights": torch.ones(3)}, path)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint({"epoch": 2, "weights": torch.zeros(3)}, path)
    monkeypatch.undo()
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["weights"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary file left behind


class _Payload:
    """Stands for code a malicious checkpoint would smuggle in."""


@pytest.mark.reliability("security")
def test_checkpoints_load_weights_only(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "payload": _Payload()}, path)
    with pytest.raises(ValueError, match=f"cannot read checkpoint {path}"):
        load_checkpoint(path)


@pytest.mark.reliability("bad data")
def test_truncated_checkpoint_is_named(tmp_path):
    path = tmp_path / "cut.pt"
    save_checkpoint({"epoch": 1, "weights": torch.ones(100)}, path)
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(ValueError, match=f"cannot read checkpoint {path}"):
        load_checkpoint(path)


@pytest.mark.reliability("security")
def test_yaml_is_read_with_a_safe_loader(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("profile: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(path)
    assert yaml.safe_load("a: 1") == {"a": 1}


@pytest.mark.reliability("resources")
def test_gpu_asked_for_where_none_exists_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="asked for, but this machine has no CUDA GPU"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


def _log_runs(uri, worker):
    from gdbench.track import log_stage

    for job in range(3):
        log_stage(
            uri,
            "resnet56_cifar10",
            "stress",
            f"job/{worker}/{job}",
            params={"worker": worker, "job": job, "nested": {"a": 1, "b": [1, 2]}},
            metrics={"final": worker + job / 10},
            history=[{"loss": 1.0 / (epoch + 1), "val_top1": 0.1 * epoch} for epoch in range(5)],
        )


@pytest.mark.reliability("concurrency")
def test_four_concurrent_jobs_lose_no_run_param_or_metric(tmp_path):
    from gdbench.track import init_store, stage_runs

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    init_store(uri, ["resnet56_cifar10"], "stress")  # created before the parallel jobs, as the DAG does
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_log_runs, args=(uri, worker)) for worker in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=240)
        assert process.exitcode == 0
    runs = stage_runs(uri, "resnet56_cifar10", "stress")
    assert len(runs) == 12 and runs["tags.gdbench.stage_key"].is_unique
    assert runs["params.nested.a"].eq("1").all() and runs["params.worker"].nunique() == 4
    assert sorted(runs["metrics.final"]) == pytest.approx(sorted(w + j / 10 for w in range(4) for j in range(3)))
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    assert all(len(client.get_metric_history(run_id, "loss")) == 5 for run_id in runs["run_id"])
