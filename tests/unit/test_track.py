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


def _history(client, run_id, name):
    return [(m.step, m.value) for m in sorted(client.get_metric_history(run_id, name), key=lambda m: m.step)]


def test_a_live_run_holds_each_row_as_it_comes_and_logs_none_twice(tmp_path, monkeypatch):
    """LiveRun (mlflow.log_at: job): rows reach the store while the job runs; the job's own
    loop under plain names, a nested loop under `<loop>/<name>`; closing adds what was not
    logged yet (a row the store refused) and nothing twice."""
    from mlflow.tracking import MlflowClient

    from gdbench import track

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    init_store(uri, ["exp"], "p")
    live = track.LiveRun(uri, "exp", "p", "prune/exp/m/seed0", "prune", {"gdbench.method": "m"})
    client = MlflowClient(uri)
    history = [{"phase": "tick", "loss": 2.0, "flops_ratio": 0.9}]
    live.record("prune", 1, history[0])
    for epoch in (1, 2):  # a Tock nested in the pruning job, twice
        live.record("tock", epoch, {"epoch": epoch, "loss": 1.5 - epoch / 10})
    live.record("tock", 1, {"epoch": 1, "loss": 1.2})
    assert client.get_run(live.run_id).info.status == "RUNNING"
    assert _history(client, live.run_id, "loss") == [(1, 2.0)]
    assert _history(client, live.run_id, "tock/loss") == [(1, 1.4), (2, 1.3), (3, 1.2)]

    refused = {"calls": 0}
    original = track._client

    def busy_store(address):  # the next row meets a locked SQLite file
        client = original(address)
        if refused["calls"] == 0:
            refused["calls"] += 1

            def log_batch(*args, **kwargs):
                raise RuntimeError("database is locked")

            client.log_batch = log_batch
        return client

    monkeypatch.setattr(track, "_client", busy_store)
    history.append({"phase": "tick", "loss": 1.0, "flops_ratio": 0.8})
    live.record("prune", 2, history[1])
    monkeypatch.setattr(track, "_client", original)
    assert _history(client, live.run_id, "loss") == [(1, 2.0)]
    live.close(params={"seed": 0}, metrics={"steps": 2}, history=history, tags={"git_revision": "abc"})
    run = client.get_run(live.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["gdbench.method"] == "m"
    assert run.data.tags["git_revision"] == "abc" and run.data.params["seed"] == "0"
    assert _history(client, live.run_id, "loss") == [(1, 2.0), (2, 1.0)]  # each step once
    assert _history(client, live.run_id, "flops_ratio") == [(1, 0.9), (2, 0.8)]


def test_a_live_run_whose_job_fails_ends_failed_and_a_rerun_replaces_it(tmp_path):
    from mlflow.tracking import MlflowClient

    from gdbench.track import LiveRun

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    init_store(uri, ["exp"], "p")
    failed = LiveRun(uri, "exp", "p", "train_baseline/exp/seed0", "train", {})
    failed.fail()
    assert MlflowClient(uri).get_run(failed.run_id).info.status == "FAILED"
    again = LiveRun(uri, "exp", "p", "train_baseline/exp/seed0", "train", {})
    again.close(params={}, metrics={"flops": 1.0})
    runs = stage_runs(uri, "exp", "p")
    assert list(runs["run_id"]) == [again.run_id]
    assert MlflowClient(uri).get_run(failed.run_id).info.lifecycle_stage == "deleted"
