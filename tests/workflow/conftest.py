import re
import subprocess
import sys
from pathlib import Path

import pytest

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


# The main job's configs, and what the workflow tests run: the main job with a trimmed digits slice
# (suite.yaml says why and what is trimmed)
MAIN_JOB = [str(REPO / "configs" / "config.yaml"), str(REPO / "configs" / "smoke.yaml")]
CONFIGS = [*MAIN_JOB, str(Path(__file__).with_name("suite.yaml"))]


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    """The README's main job (digits slice trimmed, suite.yaml), run once for every workflow test
    that needs its outputs."""
    from gdbench.config import deep_merge, load_yaml, resolve

    workdir = tmp_path_factory.mktemp("smoke")
    result = snakemake(workdir, "--cores", "2", "--configfile", *CONFIGS)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    merged = {}
    for path in CONFIGS:
        merged = deep_merge(merged, load_yaml(path))
    resolved = resolve(merged, REPO / "configs" / "experiments")
    return workdir, result, resolved
