"""One line per epoch and per pruning step, so that a job's log shows what it is doing while it
runs: what (the job, set once by `gdbench stage`), where (epoch k of n, or the FLOPs ratio now and
its target), loss, the monitored metric, elapsed and remaining time. Printed to stderr through
tqdm, so that on a terminal the per-batch bars stay intact; in a job log (not a terminal) these
lines are all there is, flushed as they are written."""

from __future__ import annotations

import math
import sys
import time

from tqdm.auto import tqdm

_JOB = {"label": "", "sink": None}


def set_job(label: str) -> None:
    """Name the job every later line starts with (e.g. 'finetune resnet14_digits l1_norm 0.3 seed0')."""
    _JOB["label"] = label


def set_sink(sink) -> None:
    """`sink(series, step, row)` receives every row `record` is given (gdbench.track.LiveRun.record:
    the job's MLflow run while it runs); None: rows go nowhere but the progress lines."""
    _JOB["sink"] = sink


def record(series: str, step: int, row: dict) -> None:
    """A loop's row of metrics for its step (epoch k, pruning step k), to the sink if one is set.
    `series` names the loop: "train" for fit's epochs, "prune" for the pruning engine's steps."""
    if _JOB["sink"] is not None:
        _JOB["sink"](series, step, row)


def clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _metrics(values: dict) -> str:
    shown = []
    for key, value in values.items():
        if isinstance(value, float) and not math.isnan(value):
            shown.append(f"{key} {value:.4g}")
        elif isinstance(value, int) and not isinstance(value, bool):
            shown.append(f"{key} {value}")
    return "  ".join(shown)


def write(what: str, where: str, metrics: dict, started: float, done: float | None) -> str:
    """Print one progress line; `done` in [0, 1] (None: unknown) gives the remaining time."""
    elapsed = time.monotonic() - started
    remaining = f"  remaining ~{clock(elapsed * (1 - done) / done)}" if done and 0 < done < 1 else ""
    prefix = f"[{_JOB['label']}] " if _JOB["label"] else ""
    parts = [f"{prefix}{what} {where}", _metrics(metrics), f"elapsed {clock(elapsed)}{remaining}"]
    line = "  ".join(part for part in parts if part)
    tqdm.write(line, file=sys.stderr)
    sys.stderr.flush()
    return line


def pruning_done(ratio: float, target: float) -> float | None:
    """Share of the way from FLOPs ratio 1 to `target`, on the log scale on which a fixed share of
    filters per step moves it about evenly."""
    if not 0 < target < 1 or ratio >= 1:
        return None
    return min(1.0, math.log(ratio) / math.log(target))
