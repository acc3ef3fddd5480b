"""Where a table's numbers come from: the git revisions and job settings that made them, the
seeds, the test set's size and the MLflow runs they were read from, written under each table
(report.md, report.html) and as `tables/<name>_provenance.json`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

NOT_LOGGED = "not logged"


def _distinct(runs: pd.DataFrame, column: str) -> list[str]:
    if column not in runs:
        return [NOT_LOGGED]
    values = runs[column].dropna().astype(str)
    return sorted(set(values)) or [NOT_LOGGED]


def provenance(runs: pd.DataFrame) -> dict:
    """The provenance of the numbers computed from `runs` (evaluation runs, one row per run)."""
    seeds = sorted({int(s) for s in runs.get("params.seed", pd.Series(dtype=str)).dropna()})
    sizes = runs.get("metrics.test_samples", pd.Series(dtype=float)).dropna()
    return {
        "git_revisions": _distinct(runs, "tags.git_revision"),
        "settings_hashes": _distinct(runs, "tags.gdbench.settings"),
        "seeds": seeds,
        "test_samples": sorted({int(n) for n in sizes}) or [NOT_LOGGED],
        "mlflow_runs": sorted(runs["run_id"]) if "run_id" in runs else [],
    }


def _listed(values: list) -> str:
    return ", ".join(str(v) for v in values)


def _short(revision: str) -> str:
    """A git revision as 12 hex digits, keeping its '+dirty' mark."""
    if revision == NOT_LOGGED:
        return revision
    return revision[:12] + ("+dirty" if revision.endswith("+dirty") else "")


def markdown(record: dict, subject: str = "test set") -> str:
    """A closed <details> block: the summary line says revision, settings, seeds, test-set size
    and how many runs; opening it lists the run ids (raw HTML, kept by Markdown renderers)."""
    revisions = _listed([_short(r) for r in record["git_revisions"]])
    summary = (
        f"Provenance: git {revisions}; job settings {_listed(record['settings_hashes'])}; "
        f"seeds {_listed(record['seeds']) or 'none'}; {subject} {_listed(record['test_samples'])} samples; "
        f"{len(record['mlflow_runs'])} MLflow evaluation runs"
    )
    ids = " ".join(f"`{run_id}`" for run_id in record["mlflow_runs"])
    return f"<details><summary>{summary}</summary>\n\nMLflow run ids: {ids}\n\n</details>"


def write(record: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2))
    return path
