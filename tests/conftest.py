import os
import warnings

import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch-pruning's tracing chatter
        yield


@pytest.fixture(scope="session", autouse=True)
def smoke_in_background(request, tmp_path_factory):
    """The main job's run for the workflow tests (tests/smoke_run.py), started at the session's
    first test when any collected test needs it; the `smoke` fixture waits for it."""
    if not any("smoke" in item.fixturenames for item in request.session.items):
        yield None
        return
    from smoke_run import SmokeRun

    run = SmokeRun(tmp_path_factory.mktemp("smoke"), tmp_path_factory.mktemp("smoke_output"))
    # While it runs, this process and what it starts compute on one thread: Snakemake gives each of
    # its jobs one (OMP_NUM_THREADS), and a second OpenMP team here would spin against them on
    # 2 cores (measured: a 19 s test took 165 s). `_one_thread_while_the_smoke_runs` restores both.
    _SHARED["threads"], _SHARED["omp"] = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    _SHARED["run"] = run
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    yield run
    run.stop()
    _restore_threads()


_SHARED: dict = {}


def _restore_threads() -> None:
    if "threads" in _SHARED:
        torch.set_num_threads(_SHARED.pop("threads"))
        omp = _SHARED.pop("omp")
        if omp is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = omp


@pytest.fixture(autouse=True)
def _one_thread_while_the_smoke_runs():
    """Every thread back once the background smoke run has ended."""
    run = _SHARED.get("run")
    if run is not None and run.process.poll() is not None:
        _restore_threads()
    yield


@pytest.fixture(autouse=True)
def _no_ambient_tracking_server(monkeypatch):
    """Tests use their own stores: an MLFLOW_TRACKING_URI in the environment would redirect them."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


# -- Reliability tally (README, Reliability) --------------------------------------------------------
# Tests that inject a fault carry @pytest.mark.reliability("<category>"). Each run prints how many
# cases of each category were tried and passed, and writes it to results/reliability.json;
# scripts/reliability_table.py copies that into the README, and tests/reliability/test_readme_table.py
# fails when the README's counts no longer match the collected cases.
RELIABILITY_CATEGORIES = ("interruption", "bad config", "bad data", "concurrency", "resources", "security")
_RELIABILITY_OUTCOMES: dict[str, tuple[str, str]] = {}  # node id -> (category, outcome)


def pytest_addoption(parser):
    parser.addoption(
        "--reliability-counts",
        metavar="FILE",
        help="write the number of collected reliability cases per category to FILE (JSON)",
    )


def _category(item) -> str | None:
    marker = item.get_closest_marker("reliability")
    if marker is None:
        return None
    if not marker.args or marker.args[0] not in RELIABILITY_CATEGORIES:
        raise pytest.UsageError(f"{item.nodeid}: reliability category must be one of {RELIABILITY_CATEGORIES}")
    return marker.args[0]


def pytest_collection_finish(session):
    target = session.config.getoption("--reliability-counts")
    if target:
        import json

        counts = {category: 0 for category in RELIABILITY_CATEGORIES}
        for item in session.items:
            category = _category(item)
            if category:
                counts[category] += 1
        with open(target, "w") as handle:
            json.dump(counts, handle)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    category = _category(item)
    if category is None:
        return
    previous = _RELIABILITY_OUTCOMES.get(item.nodeid, (category, "passed"))[1]
    if report.failed:
        _RELIABILITY_OUTCOMES[item.nodeid] = (category, "failed")
    elif report.skipped and previous != "failed":
        _RELIABILITY_OUTCOMES[item.nodeid] = (category, "skipped")
    elif report.when == "call" and previous != "failed":
        _RELIABILITY_OUTCOMES[item.nodeid] = (category, "passed")


def reliability_summary() -> dict[str, dict[str, int]]:
    summary = {}
    for category, outcome in _RELIABILITY_OUTCOMES.values():
        entry = summary.setdefault(category, {"tried": 0, "passed": 0})
        if outcome != "skipped":
            entry["tried"] += 1
            entry["passed"] += outcome == "passed"
    return summary


def pytest_terminal_summary(terminalreporter):
    summary = reliability_summary()
    if not summary:
        return
    terminalreporter.section("reliability: fault-injection cases")
    for category in RELIABILITY_CATEGORIES:
        if category in summary:
            entry = summary[category]
            terminalreporter.line(f"{category:14s} tried {entry['tried']:3d}   passed {entry['passed']:3d}")


def pytest_sessionfinish(session):
    summary = reliability_summary()
    if summary and not session.config.getoption("--reliability-counts"):
        import json
        from pathlib import Path

        path = Path(__file__).resolve().parents[1] / "results" / "reliability.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({c: summary[c] for c in RELIABILITY_CATEGORIES if c in summary}, indent=2) + "\n")
