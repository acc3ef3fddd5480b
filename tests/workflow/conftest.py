import re
import subprocess
import sys
from pathlib import Path

import pytest
from smoke_run import CONFIGS  # the workflow tests import it from here

REPO = Path(__file__).resolve().parents[2]


def snakemake(workdir: Path, *args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    """Run the project's Snakefile in `workdir`, with the given config files and flags."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
               "--directory", str(workdir), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a Snakemake run or dry run."""
    table = output.split("Job stats:", 1)[1]
    return {name: int(count) for name, count in re.findall(r"^(\w+)\s+(\d+)$", table, re.M) if name != "total"}


@pytest.fixture(scope="session")
def smoke(smoke_in_background):
    """The README's main job (digits slice trimmed, suite.yaml), run once for every workflow test
    that needs its outputs; started in the background at the session's first test
    (tests/smoke_run.py)."""
    from gdbench.config import deep_merge, load_yaml, resolve

    result = smoke_in_background.result()
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    merged = {}
    for path in CONFIGS:
        merged = deep_merge(merged, load_yaml(path))
    resolved = resolve(merged, REPO / "configs" / "experiments")
    return smoke_in_background.workdir, result, resolved
