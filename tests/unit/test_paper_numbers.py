"""results/paper/paper_numbers.csv: the paper's numbers with a provenance per cell."""

import csv
from pathlib import Path

import pytest

from gdbench.config import load_yaml

PAPER = Path(__file__).resolve().parents[2] / "results" / "paper" / "paper_numbers.csv"
EXPERIMENTS = Path(__file__).resolve().parents[2] / "configs" / "experiments"


@pytest.fixture(scope="module")
def rows():
    with open(PAPER, newline="") as handle:
        return list(csv.DictReader(handle))


def test_schema(rows):
    assert rows and set(rows[0]) == {"experiment", "table", "row", "metric", "value", "unit", "provenance", "status"}
    known = {path.stem for path in EXPERIMENTS.glob("*.yaml")}
    for row in rows:
        assert row["experiment"] in known
        float(row["value"])  # a number, not text
        assert row["provenance"].strip(), row
        assert row["status"] in {"verified", "unverified"}


def test_experiment_files_expect_what_the_paper_says(rows):
    """Every expected number in configs/experiments/ is a cell of the paper CSV."""
    cells = {(r["experiment"], r["metric"], round(float(r["value"]), 2)) for r in rows if r["unit"].startswith("%")}
    assert cells, "no percentage cells"
    for path in EXPERIMENTS.glob("*.yaml"):
        for expected in load_yaml(path)["expected"]:
            key = (path.stem, expected["metric"], round(100 * expected["value"], 2))
            assert key in cells, f"{path.name}: {expected} is not in {PAPER.name}"
