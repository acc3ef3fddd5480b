"""Inference latency measured the way MLPerf reports it: a fixed number of timed runs after a
warm-up, summarised by percentiles (p50, p90, p99) of the per-run latency, each run one batch.

Runtimes: PyTorch eager (`eager_call`), a CUDA graph replay of it (`cuda_graph_call`, GPU only)
and onnxruntime on CPU (`onnxruntime_call`); CPU threads are set per measurement (`cpu_threads`).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable

import torch

PERCENTILES = (50, 90, 99)


def all_threads() -> int:
    """The CPU cores this process may run on (a Snakemake job's, a container's), not the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p90, p99 in milliseconds, as MLPerf's order statistic: the value at rank ceil(p·n)."""
    ordered = sorted(samples)
    return {f"p{p}_ms": 1e3 * ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] for p in PERCENTILES}


def time_calls(call: Callable[[], object], repeats: int, warmup: int, cuda: bool = False) -> list[float]:
    """Seconds of each of `repeats` calls after `warmup` untimed ones; on a GPU each call is
    synchronised, so that a run's time is the device's, not the launch's."""
    for _ in range(warmup):
        call()
    if cuda:
        torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        if cuda:
            torch.cuda.synchronize()
        samples.append(time.perf_counter() - start)
    return samples


@contextlib.contextmanager
def cpu_threads(threads: int):
    """torch's intra-op threads set to `threads` for the block, then restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def eager_call(model: torch.nn.Module, inputs: torch.Tensor) -> Callable[[], object]:
    model.eval()

    def call():
        with torch.inference_mode():
            return model(inputs)

    return call


def cuda_graph_call(model: torch.nn.Module, inputs: torch.Tensor) -> Callable[[], object]:
    """One captured CUDA graph of the forward pass, replayed: no per-kernel launch cost (the
    small nets of the paper are launch-bound on a GPU). Static input: `inputs` is the graph's."""
    model.eval()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.inference_mode(), torch.cuda.stream(stream):
        for _ in range(3):  # warm up on a side stream before capture, as torch.cuda.graphs asks
            model(inputs)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.inference_mode(), torch.cuda.graph(graph):
        model(inputs)
    return graph.replay


def onnxruntime_call(path: str, inputs: torch.Tensor, threads: int) -> Callable[[], object]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: inputs.cpu().numpy()}
    return lambda: session.run(None, feed)


def time_side_by_side(
    calls: dict[str, Callable[[], object]], repeats: int, warmup: int, cuda: bool = False
) -> dict[str, list[float]]:
    """Seconds of each of `repeats` calls of every entry of `calls`, one call of each in turn
    after `warmup` untimed ones each, so that drift on a shared machine hits them all alike."""
    for call in calls.values():
        time_calls(call, 0, warmup, cuda)
    samples = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            samples[name] += time_calls(call, 1, 0, cuda)
    return samples
