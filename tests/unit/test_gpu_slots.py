import json
import multiprocessing
import time

import pytest

from gdbench.gpu_slots import gpu_slots


def _job(state_dir, count, devices, hold, log_path):
    with gpu_slots(count, state_dir, devices=devices, poll_seconds=0.02) as taken:
        start = time.monotonic()
        time.sleep(hold)
        end = time.monotonic()
    with open(log_path, "a") as log:
        log.write(json.dumps({"devices": taken, "start": start, "end": end}) + "\n")


def _run(jobs, tmp_path):
    log = tmp_path / "log.jsonl"
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_job, args=(tmp_path / "slots", count, devices, hold, log))
        for count, devices, hold in jobs
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return [json.loads(line) for line in log.read_text().splitlines()]


def _overlapping(a, b):
    return a["start"] < b["end"] and b["start"] < a["end"]


@pytest.mark.reliability("concurrency")
def test_concurrent_jobs_get_distinct_devices(tmp_path):
    records = _run([(1, [0, 1, 2, 3], 3.0)] * 4, tmp_path)
    pairs = [(a, b) for i, a in enumerate(records) for b in records[i + 1 :] if _overlapping(a, b)]
    assert pairs, "the jobs never ran at the same time"
    for a, b in pairs:
        assert not set(a["devices"]) & set(b["devices"])


@pytest.mark.reliability("concurrency")
def test_two_multi_gpu_jobs_never_deadlock(tmp_path):
    """Each needs 2 of 3 GPUs: all-or-nothing claims let one run, then the other."""
    records = _run([(2, [0, 1, 2], 0.3), (2, [0, 1, 2], 0.3), (1, [0, 1, 2], 0.3)], tmp_path)
    assert len(records) == 3
    twos = [r for r in records if len(r["devices"]) == 2]
    assert not _overlapping(*twos)


@pytest.mark.reliability("interruption")
def test_claims_of_dead_processes_are_reclaimed(tmp_path):
    slots = tmp_path / "slots"
    slots.mkdir()
    (slots / "gpu0.claim").write_text("999999999")  # no such process
    with gpu_slots(1, slots, devices=[0], poll_seconds=0.01, timeout_seconds=2) as taken:
        assert taken == [0]


@pytest.mark.reliability("resources")
def test_no_gpu_means_cpu_and_too_many_is_an_error(tmp_path):
    with gpu_slots(1, tmp_path, devices=[]) as taken:
        assert taken == []
    with pytest.raises(ValueError, match="needs 4 GPUs, but this machine offers 2"):
        with gpu_slots(4, tmp_path, devices=[0, 1]):
            pass


def test_cuda_visible_devices_is_set_while_held(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    import os

    with gpu_slots(2, tmp_path, devices=[3, 5]):
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "3,5"
    assert "CUDA_VISIBLE_DEVICES" not in os.environ
