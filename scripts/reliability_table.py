#!/usr/bin/env python3
"""Write the README's reliability table from the last full test run.

    python3 -m pytest && python3 scripts/reliability_table.py

The test run leaves results/reliability.json (tests/conftest.py tallies every test marked
@pytest.mark.reliability by category). This script refuses counts from a partial run: the
cases tried must be every case collected. tests/reliability/test_readme_table.py fails when the
README's table no longer matches the collected cases.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"
WHAT = {
    "interruption": "kill -9 of training, pruning and fine-tuning jobs, then a rerun; resume mid-training; "
    "scancel of a running SLURM job",
    "bad config": "unknown keys, wrong types, out-of-range ratios, unknown model/method/dataset, missing files, "
    "contradictory settings",
    "bad data": "truncated pickle, wrong checksum, unreadable image, mask labels out of range, missing split lists, "
    "downloaded weights not matching their hash, a plug-in dataset's file changed after preparation",
    "concurrency": "four jobs logging to one MLflow store; GPU slots taken by concurrent jobs",
    "resources": "GPU asked for where none exists, disk full during a checkpoint write, NaN loss, "
    "weights fetched offline",
    "security": "weights_only checkpoints, escaping archive members and links, unsafe YAML, shell quoting, "
    "MLflow UI bound to 127.0.0.1",
}


def collected_counts() -> dict[str, int]:
    with tempfile.NamedTemporaryFile(suffix=".json") as handle:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--collect-only",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--reliability-counts={handle.name}",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise SystemExit(f"collecting the tests failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        return json.loads(Path(handle.name).read_text())


def table(summary: dict[str, dict[str, int]]) -> str:
    lines = [BEGIN, "| category | faults injected | cases tried | passed |", "| --- | --- | --- | --- |"]
    for category, what in WHAT.items():
        entry = summary.get(category, {"tried": 0, "passed": 0})
        lines.append(f"| {category} | {what} | {entry['tried']} | {entry['passed']} |")
    return "\n".join(lines + [END])


def main() -> int:
    summary = json.loads((REPO / "results" / "reliability.json").read_text())
    collected = collected_counts()
    partial = {
        c: (summary.get(c, {}).get("tried", 0), n)
        for c, n in collected.items()
        if summary.get(c, {}).get("tried", 0) != n
    }
    if partial:
        print(
            f"results/reliability.json is from a partial run (tried, collected): {partial}; run the whole suite first",
            file=sys.stderr,
        )
        return 1
    readme = REPO / "README.md"
    text = readme.read_text()
    head, rest = text.split(BEGIN, 1)
    readme.write_text(head + table(summary) + rest.split(END, 1)[1])
    print(table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
