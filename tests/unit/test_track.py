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
