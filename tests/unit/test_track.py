from gdbench.track import flatten, init_store, log_stage, stage_runs


def test_artifacts_live_beside_the_database_and_reruns_replace_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # wherever a job runs, artifacts must not land in ./mlruns
    store = tmp_path / "results"
    uri = f"sqlite:///{store / 'mlflow.db'}"
    init_store(uri, ["resnet56_cifar10"], "p")
    artifact = tmp_path / "trace.csv"
    artifact.write_text("phase,flops_ratio\ntick,0.9\n")
    for attempt in range(2):  # the same job twice: one run remains
        log_stage(
            uri,
            "resnet56_cifar10",
            "p",
            "prune/x/seed0",
            params={"attempt": attempt},
            metrics={"ticks": 3},
            artifacts=[artifact],
        )
    log_stage(uri, "resnet56_cifar10", "other", "prune/x/seed0", params={}, metrics={})  # another profile
    runs = stage_runs(uri, "resnet56_cifar10", "p")
    assert len(runs) == 1 and runs.iloc[0]["params.attempt"] == "1"
    assert len(stage_runs(uri, "resnet56_cifar10", "other")) == 1
    assert list((store / "mlartifacts").rglob("trace.csv")) and not (tmp_path / "mlruns").exists()


def test_flatten_gives_dotted_string_params():
    assert flatten({"train": {"lr": 0.1, "milestones": [80, 120]}}) == {
        "train.lr": "0.1",
        "train.milestones": "[80, 120]",
    }


def test_queued_runs_reach_mlflow_when_flushed_and_a_rerun_replaces_its_queued_run(tmp_path):
    from gdbench.track import flush_queue, queue_stage

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    init_store(uri, ["resnet56_cifar10"], "p")
    queue = tmp_path / "queue"
    artifact = tmp_path / "trace.csv"
    artifact.write_text("phase\ntick\n")
    for attempt in range(2):  # the same job twice before the report: its last run is the one logged
        queue_stage(
            queue,
            "resnet56_cifar10",
            "p",
            "finetune/x/seed0",
            params={"attempt": attempt, "train": {"lr": 0.1}},
            metrics={"test_top1": 0.9 + attempt / 100},
            history=[{"loss": 2.0}, {"loss": 1.0}],
            artifacts=[artifact],
        )
    queue_stage(queue, "resnet56_cifar10", "p", "finetune/y/seed0", params={}, metrics={"test_top1": 0.5})
    assert stage_runs(uri, "resnet56_cifar10", "p").empty  # nothing logged by the jobs themselves
    assert flush_queue(uri, queue) == 2 and not list(queue.glob("*.json"))
    runs = stage_runs(uri, "resnet56_cifar10", "p").set_index("tags.gdbench.stage_key")
    assert runs.loc["finetune/x/seed0", "params.attempt"] == "1"
    assert runs.loc["finetune/x/seed0", "params.train.lr"] == "0.1"
    assert runs.loc["finetune/x/seed0", "metrics.test_top1"] == 0.91
    assert flush_queue(uri, queue) == 0  # flushed runs are not logged twice


def test_a_queued_run_whose_artifact_is_gone_is_named(tmp_path):
    import pytest

    from gdbench.track import flush_queue, queue_stage

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    init_store(uri, ["resnet56_cifar10"], "p")
    artifact = tmp_path / "model.pt"
    artifact.write_text("x")
    queue_stage(tmp_path / "q", "resnet56_cifar10", "p", "train/seed0", params={}, metrics={}, artifacts=[artifact])
    artifact.unlink()
    with pytest.raises(FileNotFoundError, match=r"'train/seed0' lists missing artifacts .*model\.pt"):
        flush_queue(uri, tmp_path / "q")


def test_parent_runs_end_when_the_dag_does(tmp_path):
    """A profile's parent runs are RUNNING while its jobs log under them and end with the report
    job (FINISHED) or a failed DAG (FAILED); never left RUNNING once the DAG is over (issue 13)."""
    from mlflow.tracking import MlflowClient

    from gdbench.track import end_parents, tracking_uri

    uri = tracking_uri(tmp_path)
    end_parents(uri, ["resnet56_cifar10"], "smoke", "FINISHED")  # no store yet: nothing to end
    assert not (tmp_path / "mlflow.db").exists()
    init_store(uri, ["resnet56_cifar10", "fcn8s_voc"], "smoke")
    client = MlflowClient(uri)

    def statuses():
        ids = [client.get_experiment_by_name(n).experiment_id for n in ("resnet56_cifar10", "fcn8s_voc")]
        return {r.info.status for r in client.search_runs(ids, "tags.`gdbench.role` = 'parent'")}

    assert statuses() == {"RUNNING"}
    log_stage(uri, "resnet56_cifar10", "smoke", "train_baseline/resnet56_cifar10/seed0", params={"seed": 0}, metrics={})
    end_parents(uri, ["resnet56_cifar10", "fcn8s_voc"], "smoke", "FINISHED")
    assert statuses() == {"FINISHED"}
    end_parents(uri, ["resnet56_cifar10", "fcn8s_voc"], "smoke", "FAILED")
    assert statuses() == {"FAILED"}
    assert len(stage_runs(uri, "resnet56_cifar10", "smoke")) == 1  # the job's run, under the same parent
