"""Inference latency of a baseline model against a pruned version of it, per batch size, with
the ratio of real speed-up to FLOPs speed-up (1.0 = the FLOPs reduction is fully realised)."""

from __future__ import annotations

import statistics

import torch

from gdbench.flops import count_flops
from gdbench.gates import decorate, undecorate
from gdbench.models import build_model
from gdbench.pruning.groups import GateGraph
from gdbench.pruning.plan import group_states, plan_tick


def pruned_copy(model_name: str, flops_ratio: float, seed: int = 0) -> torch.nn.Module:
    """The model with channels removed under random scores until its FLOPs ratio is reached:
    latency depends on the architecture, not on which channels were kept."""
    generator = torch.Generator().manual_seed(seed)
    model = decorate(build_model(model_name))
    graph = GateGraph(model)
    original = count_flops(model).flops
    while count_flops(model).flops > flops_ratio * original:
        groups = [g for g in graph.groups if g.prunable]
        states = group_states(groups, [torch.rand(g.width, generator=generator) for g in groups], 0.1)
        for group, keep in zip(groups, plan_tick(states, 0.05)):
            graph.remove_channels(group, keep)
    return undecorate(model)


def latency(
    model_name: str = "resnet56",
    flops_ratio: float = 0.3,
    batch_sizes=(1, 32, 256),
    repeats: int = 20,
    device: str | None = None,
    channels_last: bool = False,
    runtimes=("eager",),
    threads: int | None = None,
) -> dict:
    """Median latency of the baseline and the pruned copy per runtime and batch, the two timed
    alternately (drift hits both alike). `runtimes`: eager (on `device`) and onnxruntime (CPU,
    `threads` intra-op threads; default all of this process's cores)."""
    import tempfile
    from pathlib import Path

    from gdbench import deploy, timing

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    models = {"baseline": build_model(model_name), "pruned": pruned_copy(model_name, flops_ratio)}
    flops = {name: count_flops(m).flops for name, m in models.items()}
    result = {"model": model_name, "flops_ratio": flops["pruned"] / flops["baseline"]}
    shape = models["baseline"].example_input_shape[1:]
    threads = threads or timing.all_threads()
    with tempfile.TemporaryDirectory() as folder:
        exported = {}
        if "onnxruntime" in runtimes:
            exported = {name: deploy.export_onnx(m.eval(), Path(folder) / f"{name}.onnx") for name, m in models.items()}
        for name, model in models.items():
            model = model.to(device).eval()
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
            models[name] = model
        for runtime in runtimes:
            prefix = "" if runtime == "eager" else f"{runtime}_"
            for batch in batch_sizes:
                where = device if runtime == "eager" else torch.device("cpu")
                inputs = torch.randn(batch, *shape, device=where)
                if runtime == "eager":
                    calls = {name: timing.eager_call(m, inputs) for name, m in models.items()}
                else:
                    calls = {name: timing.onnxruntime_call(exported[name], inputs, threads) for name in models}
                with timing.cpu_threads(threads):
                    samples = timing.time_side_by_side(calls, repeats, warmup=3, cuda=where.type == "cuda")
                base, pruned = (statistics.median(samples[n]) for n in ("baseline", "pruned"))
                result[f"{prefix}batch{batch}_baseline_ms"] = base * 1e3
                result[f"{prefix}batch{batch}_pruned_ms"] = pruned * 1e3
                result[f"{prefix}batch{batch}_speedup"] = base / pruned
                result[f"{prefix}batch{batch}_speedup_over_flops_speedup"] = (base / pruned) * result["flops_ratio"]
    return result
