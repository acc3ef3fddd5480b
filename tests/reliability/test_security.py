"""Security promises: shell commands quote what they are built from, the MLflow UI stays on this
machine unless told otherwise."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Placeholders a rule may leave unquoted: wildcards whose constraint (workflow/rules/common.smk)
# admits no shell metacharacter, params that are integers or names from a schema enum, and the
# settings hash (hex digits).
SAFE_UNQUOTED = {
    "wildcards.seed",
    "wildcards.target",
    "wildcards.variant",
    "params.gpus",
    "params.per_class",
    "params.experiments",
    "params.settings",
}


def _shell_strings() -> list[tuple[str, str]]:
    found = []
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = path.read_text()
        for block in re.findall(r"^    shell:\n((?:        .*\n)+)", text, re.M):
            found.append((path.name, "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', block))))
    return found


@pytest.mark.reliability("security")
def test_every_rule_quotes_the_paths_and_names_it_puts_in_a_shell_command():
    shells = _shell_strings()
    assert len(shells) >= 8  # every rule has one
    for rule_file, command in shells:
        for placeholder in re.findall(r"(?<!\{)\{([^{}]+)\}(?!\})", command):
            name = placeholder.split(":")[0]
            assert placeholder.endswith(":q") or name in SAFE_UNQUOTED, f"{rule_file}: {{{placeholder}}} unquoted"
    constraints = (REPO / "workflow" / "rules" / "common.smk").read_text()
    hostile = ["0; touch x", "0.5 && x", "$(x)", "`x`", "a b", "scratch_e|x", "l1_norm'", 'gd"', "0.5\nx"]
    for wildcard in ("seed", "target", "variant", "method"):
        pattern = re.search(rf'^    {wildcard}=r"([^"]+)"', constraints, re.M).group(1)
        assert not [h for h in hostile if re.fullmatch(pattern, h)], wildcard


@pytest.mark.reliability("security")
def test_dag_runs_in_a_folder_named_with_shell_metacharacters(tmp_path):
    """A working folder whose name would run a command if a rule pasted it into a shell unquoted."""
    hostile = tmp_path / 'run dir; touch PWNED; $(touch PWNED2) `touch PWNED3` "q'  # no ' (see below)
    hostile.mkdir()
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "results/smoke/data_ready/cifar10.json",
        "results/smoke/tracking_ready.json",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(hostile),
        "--cores",
        "1",
        "--configfile",
        str(REPO / "configs" / "config.yaml"),
        str(REPO / "configs" / "smoke.yaml"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert (hostile / "results" / "smoke" / "data_ready" / "cifar10.json").is_file()
    assert (hostile / "results" / "smoke" / "tracking_ready.json").is_file()
    planted = [p for p in tmp_path.rglob("PWNED*")] + [p for p in REPO.glob("PWNED*")]
    assert not planted, planted


@pytest.mark.reliability("security")
def test_a_single_quote_in_the_results_path_is_refused_clearly(tmp_path):
    """MLflow 3 pastes the artifact path into raw SQL when it creates its store; gdbench names the
    problem instead of letting SQLite fail with a syntax error."""
    from gdbench.track import tracking_uri

    with pytest.raises(ValueError, match="single quote"):
        tracking_uri(tmp_path / "it's here" / "results")


def _listening_addresses(port: int) -> set[str]:
    """Local IPv4 addresses with a socket listening on `port` (from /proc/net/tcp)."""
    addresses = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
            addresses.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return addresses


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.reliability("security")
def test_mlflow_ui_binds_to_this_machine_only_by_default(tmp_path):
    from gdbench.cli import ui_command

    assert ui_command(str(tmp_path), "127.0.0.1", 5000)[-4:] == ["--host", "127.0.0.1", "--port", "5000"]
    (tmp_path / "mlflow.db").touch()  # an empty SQLite store (gdbench ui refuses a folder without one)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gdbench.cli", "ui", "--results", str(tmp_path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not _listening_addresses(port) and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.5)
        assert _listening_addresses(port) == {"127.0.0.1"}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
