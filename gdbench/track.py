"""MLflow tracking: the only module that imports mlflow.

Default store: SQLite at `<results>/mlflow.db` (absolute URI); `MLFLOW_TRACKING_URI` points
everything at a team server instead. The store and its experiments are created once, before
parallel jobs start (concurrent first use of a fresh SQLite file races on its schema migration,
docs/facts.md, Library pitfalls). One MLflow experiment per paper experiment; under it one parent run per profile and
one child run per DAG job. A job that runs again replaces its run instead of adding one.

With `mlflow.log_at: report` a job does not open the store: it queues its run as a JSON file
(`queue_stage`) and the report job logs every queued run through one connection (`flush_queue`)
before reading them back. Importing MLflow and opening its SQLite store costs a job about 3 s
(`gdbench bench startup`), most of a short job; the runs and what they hold are the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # telemetry off unless asked for
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # logs, not bars

STAGE_KEY, ROLE, PROFILE = "gdbench.stage_key", "gdbench.role", "gdbench.profile"
_BATCH = 100  # MLflow accepts at most 100 params or tags per log_batch call


def tracking_uri(results_dir: str | Path, configured: str | None = None) -> str:
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    if configured:
        return configured
    folder = Path(results_dir).resolve()
    if "'" in str(folder):
        # MLflow 3 writes its default experiment's artifact path into a raw SQL statement
        # (SqlAlchemyStore._create_default_experiment), which a single quote breaks.
        raise ValueError(
            f"{folder}: MLflow's SQLite store cannot live under a path with a single quote "
            f"('); rename the folder or set MLFLOW_TRACKING_URI"
        )
    return f"sqlite:///{folder / 'mlflow.db'}"


def run_uri(config: dict) -> str:
    """The tracking URI of a resolved run config."""
    return tracking_uri(config["results_dir"], config.get("mlflow", {}).get("tracking_uri"))


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _experiment_id(client, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    uri = client.tracking_uri
    # With the SQLite default, artifacts live beside the database under results/, not in a
    # ./mlruns of whatever folder the first job happened to run in.
    location = (
        str(Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts" / name)
        if uri.startswith("sqlite:///")
        else None
    )
    return client.create_experiment(name, artifact_location=location)


def _parent_run_id(client, experiment_id: str, profile: str) -> str:
    runs = client.search_runs([experiment_id], f"tags.`{ROLE}` = 'parent' and tags.`{PROFILE}` = '{profile}'")
    if runs:
        return runs[0].info.run_id
    run = client.create_run(experiment_id, run_name=profile, tags={ROLE: "parent", PROFILE: profile})
    return run.info.run_id


def init_store(uri: str, experiments: list[str], profile: str) -> None:
    """Create the store, one MLflow experiment per paper experiment and its parent run."""
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    client = _client(uri)
    for name in experiments:
        _parent_run_id(client, _experiment_id(client, name), profile)


def end_parents(uri: str, experiments: list[str], profile: str, status: str) -> None:
    """End the profile's parent runs (FINISHED after the report job, FAILED when the DAG stops on
    an error), so that none stays RUNNING once the DAG is over; a later run of the DAG logs its
    jobs under the same parents and ends them again."""
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        return  # no store yet: no parent run to end
    client = _client(uri)
    for name in experiments:
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            client.set_terminated(_parent_run_id(client, experiment.experiment_id, profile), status)


def flatten(values: dict, prefix: str = "") -> dict[str, str]:
    """{'train': {'lr': 0.1}} -> {'train.lr': '0.1'}: MLflow params are flat strings."""
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:6000]
    return flat


def git_revision(directory: str | Path = ".") -> str:
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return revision + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def open_run(uri: str, experiment: str, profile: str, stage_key: str, tags: dict | None = None) -> str:
    """A RUNNING child run for one DAG job under the profile's parent; an earlier run of the
    same job is deleted first (a job that runs again replaces its run)."""
    client = _client(uri)
    experiment_id = _experiment_id(client, experiment)
    parent = _parent_run_id(client, experiment_id, profile)
    for old in client.search_runs(
        [experiment_id], f"tags.`{STAGE_KEY}` = '{stage_key}' and tags.`{PROFILE}` = '{profile}'"
    ):
        client.delete_run(old.info.run_id)
    all_tags = {
        STAGE_KEY: stage_key,
        PROFILE: profile,
        ROLE: "stage",
        "mlflow.parentRunId": parent,
        **{k: str(v) for k, v in (tags or {}).items()},
    }
    return client.create_run(experiment_id, run_name=stage_key, tags=all_tags).info.run_id


def _history_metrics(history: list[dict] | None, skip_steps: set[int] = frozenset()):
    """One MLflow metric per numeric value of each row, at step = the row's place (1, 2, ...)."""
    from mlflow.entities import Metric

    return [
        Metric(k, float(v), 0, step)
        for step, row in enumerate(history or [], start=1)
        if step not in skip_steps
        for k, v in row.items()
        if isinstance(v, (int, float))
    ]


def close_run(
    uri: str,
    run_id: str,
    *,
    params: dict,
    metrics: dict[str, float],
    history: list[dict] | None = None,
    tags: dict | None = None,
    artifacts: list[Path] = (),
    logged_steps: set[int] = frozenset(),
) -> str:
    """Log a job's record into its run and end it FINISHED (FAILED if logging fails): params,
    final metrics (step 0), the history rows not already logged live (`logged_steps`), artifacts."""
    from mlflow.entities import Metric, Param, RunTag

    client = _client(uri)
    try:
        flat = [Param(k, v) for k, v in flatten(params).items()]
        for start in range(0, len(flat), _BATCH):
            client.log_batch(run_id, params=flat[start : start + _BATCH])
        extra_tags = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
        for start in range(0, len(extra_tags), _BATCH):
            client.log_batch(run_id, tags=extra_tags[start : start + _BATCH])
        rows = _history_metrics(history, logged_steps)
        rows += [Metric(k, float(v), 0, 0) for k, v in metrics.items()]
        for start in range(0, len(rows), 1000):
            client.log_batch(run_id, metrics=rows[start : start + 1000])
        for path in artifacts:
            client.log_artifact(run_id, str(path))
        client.set_terminated(run_id, "FINISHED")
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    return run_id


def log_stage(
    uri: str,
    experiment: str,
    profile: str,
    stage_key: str,
    *,
    params: dict,
    metrics: dict[str, float],
    history: list[dict] | None = None,
    tags: dict | None = None,
    artifacts: list[Path] = (),
) -> str:
    """Log one DAG job as a child run, all at once; an earlier run of the same job is deleted first."""
    run_id = open_run(uri, experiment, profile, stage_key, tags)
    return close_run(uri, run_id, params=params, metrics=metrics, history=history, artifacts=artifacts)


class LiveRun:
    """A job's run opened when the job starts, so that its per-epoch (and per-pruning-step) rows
    reach MLflow while it runs, not when it ends (`gdbench.progress.set_sink`). Rows of the job's
    own history (`series`: the loop whose rows the job logs as its history) go under their plain
    names at their step, as `log_stage` would log them, and are not logged again at the end; rows
    of loops nested in the job (a Tock, a sparsity phase) go under `<loop>/<name>`, stepped by
    their count. A row the store refuses (a busy SQLite file) is not lost: `close` logs it."""

    def __init__(self, uri: str, experiment: str, profile: str, stage_key: str, series: str, tags: dict):
        self.uri, self.series, self.stage_key = uri, series, stage_key
        self.run_id = open_run(uri, experiment, profile, stage_key, tags)
        self.logged_steps: set[int] = set()
        self._nested_steps: dict[str, int] = {}
        self._warned = False

    def record(self, series: str, step: int, row: dict) -> None:
        from mlflow.entities import Metric

        if series == self.series:
            names, at = {k: k for k in row}, step
        else:
            at = self._nested_steps[series] = self._nested_steps.get(series, 0) + 1
            names = {k: f"{series}/{k}" for k in row}
        metrics = [Metric(names[k], float(v), 0, at) for k, v in row.items() if isinstance(v, (int, float))]
        try:
            _client(self.uri).log_batch(self.run_id, metrics=metrics)
        except Exception as error:  # never stop training for a progress metric
            if not self._warned:
                print(
                    f"gdbench: MLflow live metrics of {self.stage_key} not logged ({error}); "
                    "the job logs them when it ends",
                    file=sys.stderr,
                )
                self._warned = True
            return
        if series == self.series:
            self.logged_steps.add(step)

    def close(self, *, params, metrics, history=None, tags=None, artifacts=()) -> str:
        return close_run(
            self.uri,
            self.run_id,
            params=params,
            metrics=metrics,
            history=history,
            tags=tags,
            artifacts=artifacts,
            logged_steps=self.logged_steps,
        )

    def fail(self) -> None:
        _client(self.uri).set_terminated(self.run_id, "FAILED")


def queue_stage(
    queue_dir: str | Path,
    experiment: str,
    profile: str,
    stage_key: str,
    *,
    params: dict,
    metrics: dict[str, float],
    history: list[dict] | None = None,
    tags: dict | None = None,
    artifacts: list[Path] = (),
) -> Path:
    """The run `log_stage` would log, written to `queue_dir` for `flush_queue` (atomically: an
    interrupted job leaves no half-written run). A job that runs again replaces its queued run."""
    folder = Path(queue_dir)
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "experiment": experiment,
        "profile": profile,
        "stage_key": stage_key,
        "params": params,
        "metrics": {k: float(v) for k, v in metrics.items()},
        "history": history or [],
        "tags": {k: str(v) for k, v in (tags or {}).items()},
        "artifacts": [str(Path(a).resolve()) for a in artifacts],
    }
    name = hashlib.sha256(f"{experiment}/{profile}/{stage_key}".encode()).hexdigest()[:24] + ".json"
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    with os.fdopen(handle, "w") as file:
        json.dump(record, file, default=str)
    os.replace(temporary, folder / name)
    return folder / name


def flush_queue(uri: str, queue_dir: str | Path) -> int:
    """Log every run queued under `queue_dir` (oldest first), removing each once it is logged;
    returns how many. A queued run whose artifact file is gone is an error naming the file."""
    folder = Path(queue_dir)
    if not folder.is_dir():
        return 0
    queued = sorted(folder.glob("*.json"), key=lambda path: path.stat().st_mtime_ns)
    for path in queued:
        record = json.loads(path.read_text())
        missing = [a for a in record["artifacts"] if not Path(a).is_file()]
        if missing:
            raise FileNotFoundError(f"{path}: queued run {record['stage_key']!r} lists missing artifacts {missing}")
        log_stage(
            uri,
            record["experiment"],
            record["profile"],
            record["stage_key"],
            params=record["params"],
            metrics=record["metrics"],
            history=record["history"],
            tags=record["tags"],
            artifacts=[Path(a) for a in record["artifacts"]],
        )
        path.unlink()
    return len(queued)


def stage_runs(uri: str, experiment: str, profile: str):
    """Every finished job run of `experiment` in `profile`, as a pandas DataFrame with the
    columns of `mlflow.search_runs` (run_id, params.*, metrics.*, tags.*). Uses a client bound
    to `uri`: `mlflow.set_tracking_uri` would leak into the environment of child processes."""
    import pandas as pd

    client = _client(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return pd.DataFrame()
    query = f"tags.`{ROLE}` = 'stage' and tags.`{PROFILE}` = '{profile}' and attributes.status = 'FINISHED'"
    rows, token = [], None
    while True:
        page = client.search_runs([found.experiment_id], query, max_results=1000, page_token=token)
        for run in page:
            rows.append(
                {
                    "run_id": run.info.run_id,
                    "status": run.info.status,
                    **{f"params.{k}": v for k, v in run.data.params.items()},
                    **{f"metrics.{k}": v for k, v in run.data.metrics.items()},
                    **{f"tags.{k}": v for k, v in run.data.tags.items()},
                }
            )
        token = page.token
        if not token:
            return pd.DataFrame(rows)


def download_artifact(uri: str, run_id: str, name: str, destination: str | Path) -> Path | None:
    """One artifact file of a run, copied under `destination`; None if the run has none such."""
    client = _client(uri)
    if name not in {item.path for item in client.list_artifacts(run_id)}:
        return None
    Path(destination).mkdir(parents=True, exist_ok=True)
    return Path(client.download_artifacts(run_id, name, str(destination)))
