import re
import shutil
import subprocess
import sys
import tempfile
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


# The README's main job is the longest single piece of the suite (about 8 minutes on 2 cores) and
# keeps both cores busy, while the unit tests before it leave one mostly idle: it starts in the
# background as soon as collection shows that a test needs it, and the `smoke` fixture waits for it.
_SMOKE: dict = {}


def _smoke_command(workdir: Path) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
            str(workdir), "--cores", "2", "--configfile", *CONFIGS]


def pytest_collection_finish(session):
    if session.config.option.collectonly or not any("smoke" in item.fixturenames for item in session.items):
        return
    workdir = Path(tempfile.mkdtemp(prefix="gdbench-smoke-"))
    log = (workdir / "snakemake.log").open("w")
    _SMOKE.update(workdir=workdir, log=log,
                  process=subprocess.Popen(_smoke_command(workdir), stdout=log, stderr=subprocess.STDOUT))


def pytest_sessionfinish(session, exitstatus):
    process = _SMOKE.get("process")
    if process is None:
        return
    if process.poll() is None:  # the session ended early (-x, Ctrl-C): stop the DAG with it
        process.terminate()
        process.wait(timeout=60)
    _SMOKE["log"].close()
    if exitstatus == 0:
        shutil.rmtree(_SMOKE["workdir"], ignore_errors=True)


@pytest.fixture(scope="session")
def smoke():
    """The README's main job, run once for every workflow test that needs its outputs."""
    from gdbench.config import deep_merge, load_yaml, resolve

    if "process" not in _SMOKE:  # collected without the hook (e.g. a plugin reordering): run it now
        workdir = Path(tempfile.mkdtemp(prefix="gdbench-smoke-"))
        result = subprocess.run(_smoke_command(workdir), capture_output=True, text=True, timeout=1500)
        output, returncode = result.stdout + result.stderr, result.returncode
    else:
        workdir = _SMOKE["workdir"]
        returncode = _SMOKE["process"].wait(timeout=1500)
        _SMOKE["log"].flush()
        output = (workdir / "snakemake.log").read_text()
    assert returncode == 0, f"the smoke run failed (its log: {workdir / 'snakemake.log'}):\n{output[-5000:]}"
    resolved = resolve(deep_merge(load_yaml(CONFIGS[0]), load_yaml(CONFIGS[1])), REPO / "configs" / "experiments")
    return workdir, subprocess.CompletedProcess([], returncode, output, ""), resolved
