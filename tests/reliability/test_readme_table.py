"""The README's reliability table counts every fault-injection case the suite holds."""

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_readme_reliability_table_matches_the_collected_cases(tmp_path):
    counts = tmp_path / "counts.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--reliability-counts={counts}",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    collected = json.loads(counts.read_text())
    section = (
        REPO.joinpath("README.md")
        .read_text()
        .split("<!-- reliability:begin -->")[1]
        .split("<!-- reliability:end -->")[0]
    )
    rows = {
        m[0]: (int(m[1]), int(m[2])) for m in re.findall(r"^\| ([a-z ]+) \| .* \| (\d+) \| (\d+) \|$", section, re.M)
    }
    hint = "run `python3 -m pytest && python3 scripts/reliability_table.py`"
    assert set(rows) == set(collected), hint
    for category, n in collected.items():
        assert n > 0, f"no {category} case"
        assert rows[category] == (n, n), f"{category}: README says {rows[category]}, the suite has {n} cases; {hint}"
