"""The README's main job as the workflow tests run it (suite.yaml trims its digits slice), started
in the background by the session's first test (tests/conftest.py) so that it runs beside the unit
tests, whose single-threaded stretches leave a core idle, instead of before the workflow tests:
the suite's largest saving (issue 14's SLURM test had to fit in the 15 minutes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# the main job's configs, then the workflow tests' trims (tests/workflow/suite.yaml says what and why)
MAIN_JOB = [str(REPO / "configs" / "config.yaml"), str(REPO / "configs" / "smoke.yaml")]
CONFIGS = [*MAIN_JOB, str(REPO / "tests" / "workflow" / "suite.yaml")]


class SmokeRun:
    """One Snakemake run of the main job in `workdir`, its output in `logs`."""

    def __init__(self, workdir: Path, logs: Path):
        self.workdir, self.logs = workdir, logs
        self.command = [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--cores",
            "2",
            "--configfile",
            *CONFIGS,
        ]
        with open(logs / "stdout", "w") as stdout, open(logs / "stderr", "w") as stderr:
            # its own process group, so that stop() ends the jobs it started too
            self.process = subprocess.Popen(self.command, stdout=stdout, stderr=stderr, start_new_session=True)

    def result(self, timeout: float = 1500) -> subprocess.CompletedProcess:
        """Wait for the run; its exit status and output as subprocess.run would give them."""
        returncode = self.process.wait(timeout=timeout)
        return subprocess.CompletedProcess(
            self.command, returncode, (self.logs / "stdout").read_text(), (self.logs / "stderr").read_text()
        )

    def stop(self) -> None:
        """End the run and its jobs if the session ends before it does (-x, Ctrl-C)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
