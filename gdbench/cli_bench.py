"""`gdbench bench <benchmark>`: performance measured side by side (gdbench.bench)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _emit(title: str, result: dict, json_path: str | None) -> None:
    from gdbench.bench import environment

    result = {**result, **environment()}
    print(title)
    for key, value in result.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"  {key:<40} {shown}")
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2))


def _run_prune_step(args: argparse.Namespace) -> int:
    from gdbench.bench.pruning import prune_step

    _emit(
        f"prune step, {args.model}, seconds (median of {args.steps})",
        prune_step(args.model, args.steps, args.prune_fraction),
        args.json,
    )
    return 0


def _run_tick_overhead(args: argparse.Namespace) -> int:
    from gdbench.bench.pruning import tick_overhead

    _emit(
        f"Tick epoch against plain epoch, {args.model}, seconds",
        tick_overhead(args.model, args.samples, args.batch_size, args.repeats),
        args.json,
    )
    return 0


def _run_train_throughput(args: argparse.Namespace) -> int:
    from gdbench.bench.training import train_throughput

    _emit(
        f"training throughput, {args.model}",
        train_throughput(
            args.model, args.variants, args.samples, args.batch_size, args.epochs, args.workers, args.device
        ),
        args.json,
    )
    return 0


def _run_step_profile(args: argparse.Namespace) -> int:
    from gdbench.bench.training import step_profile

    _emit(
        f"training step profile, {args.model}, batch {args.batch_size}",
        step_profile(args.model, args.batch_size, args.steps, not args.fp32, args.device),
        args.json,
    )
    return 0


def _run_latency(args: argparse.Namespace) -> int:
    from gdbench.bench.latency import latency

    _emit(
        f"inference latency, {args.model}, baseline against pruned to {args.flops_ratio} FLOPs",
        latency(
            args.model,
            args.flops_ratio,
            args.batch_sizes,
            args.repeats,
            args.device,
            runtimes=args.runtimes,
            threads=args.threads,
        ),
        args.json,
    )
    return 0


def _run_round_to(args: argparse.Namespace) -> int:
    from gdbench.bench import environment
    from gdbench.bench.alignment import markdown, round_to_ablation

    result = round_to_ablation(
        args.model,
        args.round_to,
        args.flops_ratio,
        image_size=args.image_size,
        epochs=args.epochs,
        finetune_epochs=args.finetune_epochs,
        prune_fraction_per_tick=args.prune_fraction,
        batch_sizes=args.batch_sizes,
        threads=args.threads,
        runtimes=args.runtimes,
        repeats=args.repeats,
        seed=args.seed,
        train_samples=args.train_samples,
        tick_data_fraction=args.tick_data_fraction,
    )
    result.update(environment())
    print(
        f"channel alignment, {args.model} on {result['data']}, Gate Decorator to {args.flops_ratio} FLOPs; "
        f"p50 of {args.repeats} runs each, timed side by side ({result['device']})"
    )
    print(markdown(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def _run_criteria(args: argparse.Namespace) -> int:
    from gdbench.bench.criteria import criteria_correlation

    _emit(
        f"criteria against the oracle loss change, ResNet-{args.depth} on digits, Spearman rank correlation",
        criteria_correlation(
            args.depth, args.base_width, args.epochs, oracle_images=args.oracle_images, seed=args.seed
        ),
        args.json,
    )
    return 0


def _run_startup(args: argparse.Namespace) -> int:
    from gdbench.bench.startup import job_fixed_cost

    _emit(
        f"fixed cost of a DAG job, seconds per process (median of {args.rounds} alternating rounds)",
        job_fixed_cost(args.rounds),
        args.json,
    )
    return 0


def _run_gpu_check(args: argparse.Namespace) -> int:
    from gdbench.bench import gpu_check

    _emit(f"GPU check, {args.model}", gpu_check(args.model), args.json)
    return 0


def add_parser(commands, models: list[str]) -> None:
    from gdbench.bench.training import VARIANTS

    bench = commands.add_parser("bench", help="performance benchmarks, variants measured side by side")
    benches = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)

    def benchmark(name: str, help_text: str, run, model: bool = True):
        parser = benches.add_parser(name, help=help_text)
        if model:
            parser.add_argument("--model", default="resnet56", choices=models)
        parser.add_argument("--json", help="also write the result to this JSON file")
        parser.set_defaults(run=run)
        return parser

    step = benchmark("prune-step", "seconds per prune step against torch-pruning's magnitude pruner", _run_prune_step)
    step.add_argument("--steps", type=int, default=5)
    step.add_argument("--prune-fraction", type=float, default=0.002)
    tick = benchmark("tick-overhead", "one Tick epoch against one plain training epoch", _run_tick_overhead)
    tick.add_argument("--samples", type=int, default=1024)
    tick.add_argument("--batch-size", type=int, default=128)
    tick.add_argument("--repeats", type=int, default=2)
    throughput = benchmark(
        "train-throughput",
        "training images/s per data path (DataLoader, on-device tensors, bf16 + channels_last, compile)",
        _run_train_throughput,
    )
    throughput.add_argument(
        "--variants",
        nargs="+",
        choices=(*VARIANTS, "tensor_bf16_cl_cudagraphs"),
        default=["dataloader", "tensor"],
        help="..._cudagraphs: torch.compile(mode='reduce-overhead'), CUDA graphs (GPU)",
    )
    throughput.add_argument("--samples", type=int, default=5000)
    throughput.add_argument("--batch-size", type=int, default=128)
    throughput.add_argument("--epochs", type=int, default=1, help="timed epochs after one warm-up epoch")
    throughput.add_argument("--workers", type=int, default=2)
    throughput.add_argument("--device", help="default: cuda if present, else cpu")
    profile = benchmark(
        "step-profile", "host against device time of one training step (is it launch-bound?)", _run_step_profile
    )
    profile.add_argument("--batch-size", type=int, default=128)
    profile.add_argument("--steps", type=int, default=20)
    profile.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    profile.add_argument("--device", help="default: cuda if present, else cpu")
    speed = benchmark("latency", "inference latency of a baseline against its pruned version", _run_latency)
    speed.add_argument("--flops-ratio", type=float, default=0.3, help="kept / original FLOPs of the pruned version")
    speed.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32, 256])
    speed.add_argument("--repeats", type=int, default=20)
    speed.add_argument(
        "--runtimes", nargs="+", choices=("eager", "onnxruntime"), default=["eager"], help="onnxruntime runs on CPU"
    )
    speed.add_argument("--threads", type=int, help="CPU threads (default: all this process may use)")
    speed.add_argument("--device", help="default: cuda if present, else cpu")
    benchmark(
        "gpu-check",
        "the GPU preset: every training path on a CIFAR-10 epoch and pruned latency (scripts/gpu_check.sh)",
        _run_gpu_check,
    )
    aligned = benchmark(
        "round-to",
        "channel alignment ablation: accuracy and measured latency of Gate Decorator pruning with the kept "
        "channels of every layer rounded to multiples of 1, 8, 16 (real digits, upsampled)",
        _run_round_to,
    )
    aligned.add_argument("--round-to", type=int, nargs="+", default=[1, 8, 16])
    aligned.add_argument("--flops-ratio", type=float, default=0.3, help="the FLOPs target (kept / original)")
    aligned.add_argument("--image-size", type=int, default=32, help="the digits upsampled from 8x8 to this")
    aligned.add_argument("--epochs", type=int, default=6, help="baseline training epochs")
    aligned.add_argument("--finetune-epochs", type=int, default=2)
    aligned.add_argument("--prune-fraction", type=float, default=0.05, help="share of the filters per Tick")
    aligned.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    aligned.add_argument("--threads", type=int, nargs="+", help="CPU threads per measurement (default: 1 and all)")
    aligned.add_argument("--runtimes", nargs="+", choices=("eager", "onnxruntime"), default=["eager", "onnxruntime"])
    aligned.add_argument("--repeats", type=int, default=20)
    aligned.add_argument("--seed", type=int, default=0)
    aligned.add_argument("--train-samples", type=int, help="the first N of the shuffled 1,257 training digits")
    aligned.add_argument("--tick-data-fraction", type=float, default=1.0, help="share of the training batches per Tick")
    ranks = benchmark(
        "criteria",
        "each pruning criterion's rank correlation with the measured loss change of removing each channel "
        "(a small residual net trained on scikit-learn's real digits)",
        _run_criteria,
        model=False,
    )
    ranks.add_argument("--depth", type=int, default=8, help="CIFAR ResNet depth, 6n+2")
    ranks.add_argument("--base-width", type=int, default=8)
    ranks.add_argument("--epochs", type=int, default=30, help="training epochs before scoring")
    ranks.add_argument("--oracle-images", type=int, default=512, help="training images the loss change is measured on")
    ranks.add_argument("--seed", type=int, default=0)
    startup = benchmark(
        "startup",
        "the fixed cost of a DAG job (imports, MLflow logging) against a bare `import torch`",
        _run_startup,
        model=False,
    )
    startup.add_argument("--rounds", type=int, default=3)
