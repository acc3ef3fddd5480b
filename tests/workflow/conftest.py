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


CONFIGS = [str(REPO / "configs" / "config.yaml"), str(REPO / "configs" / "smoke.yaml")]


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    """The README's main job, run once for every workflow test that needs its outputs."""
    from gdbench.config import deep_merge, load_yaml, resolve

    workdir = tmp_path_factory.mktemp("smoke")
    result = snakemake(workdir, "--cores", "2", "--configfile", *CONFIGS)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    resolved = resolve(deep_merge(load_yaml(CONFIGS[0]), load_yaml(CONFIGS[1])), REPO / "configs" / "experiments")
    return workdir, result, resolved
