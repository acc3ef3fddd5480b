"""`gdbench stage <name>`: the command each Snakemake rule runs, one per DAG node.

GPU stages take their devices from the GPU slot allocator first (gdbench.gpu_slots) and then
run in a child process that sees only those devices (under torchrun when a training stage has
more than one); with no GPU on the machine they run here, on CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

TRAINING = ("train_baseline", "finetune", "scratch")
GPU_STAGES = (*TRAINING, "prune", "evaluate", "latency")


def add_parser(commands) -> None:
    stage = commands.add_parser("stage", help="run one DAG node (what each Snakemake rule calls)")
    stages = stage.add_subparsers(dest="stage", metavar="STAGE", required=True)

    def common(name: str, help_text: str, experiment: bool = True):
        parser = stages.add_parser(name, help=help_text)
        parser.add_argument("--config", required=True, help="resolved run config (results/<profile>/config.json)")
        if experiment:
            parser.add_argument("--experiment", required=True)
            parser.add_argument(
                "--settings",
                help="the rule's rerun trigger (hash of the config parts this job "
                "reads); the job refuses to run when the config differs",
            )
        if name in GPU_STAGES:
            parser.add_argument("--gpus", type=int, default=0, help="GPUs to take from the slot allocator")
        parser.set_defaults(run=_run_stage)
        return parser

    parser = common("prepare_data", "generate (smoke) or prepare and verify a dataset", experiment=False)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--flag", required=True, help="file written when done")
    parser.add_argument("--per-class", type=int, help="generated images per class")
    parser = stages.add_parser(
        "fetch_weights", help="download ImageNet backbone weights through torchvision's weights API (hash-checked)"
    )
    parser.add_argument("--file", required=True, help="torchvision's file name, e.g. vgg16_bn-6c64b313.pth")
    parser.add_argument("--out", required=True, help="where to write it")
    parser.set_defaults(run=_fetch_weights)
    parser = common("init_tracking", "create the MLflow store and experiments before parallel jobs", experiment=False)
    parser = common("train_baseline", "train the unpruned model (validation-selected)")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--evaluate", action="store_true", help="then score it on the test set into OUT/../evaluate")
    parser = common("prune", "Tick-Tock pruning with a checkpoint per save point")
    for flag in ("--method", "--baseline", "--out"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--seed", type=int, required=True)
    for name, help_text in (
        ("finetune", "fine-tune a pruned checkpoint"),
        ("scratch", "train a pruned architecture from scratch (Scratch-E / Scratch-B)"),
    ):
        parser = common(name, help_text)
        for flag in ("--method", "--pruned", "--out"):
            parser.add_argument(flag, required=True)
        parser.add_argument("--target", type=float, required=True)
        parser.add_argument("--seed", type=int, required=True)
        if name == "scratch":
            parser.add_argument("--variant", required=True, choices=("scratch_e", "scratch_b"))
        else:
            parser.add_argument(
                "--budget-of",
                help="a save point of the method to match: fine-tune as many more epochs as it trained to get there "
                "(empty: no matching)",
            )
        parser.add_argument(
            "--baseline",
            help="then score the result on the test set against this baseline model.pt, into OUT/../evaluate",
        )
    parser = common("evaluate", "evaluate a trained model once on the test set")
    for flag in ("--stage-name", "--model", "--baseline", "--out"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--method", default="")
    parser.add_argument("--target", type=float)
    parser = common("latency", "time every evaluated model of an experiment (p50/p90/p99 per runtime, threads, batch)")
    parser.add_argument("--evaluations", nargs="+", required=True, help="the evaluate.json of each model to time")
    parser.add_argument("--out", required=True)
    parser = common("report", "tables and figures from the MLflow runs", experiment=False)
    parser.add_argument("--out", required=True)


def _in_gpu_slots(args: argparse.Namespace, config: dict, argv: list[str]) -> int | None:
    """Run this stage in a child holding `args.gpus` GPUs; None when it should run here."""
    from gdbench.gpu_slots import gpu_slots, visible_devices

    if getattr(args, "gpus", 0) <= 0:
        return None
    if "SLURM_JOB_ID" in os.environ:  # the cluster scheduler already gave this job its own GPUs
        given = os.environ.get("CUDA_VISIBLE_DEVICES", "none")
        print(
            f"gdbench stage {args.stage}: SLURM job {os.environ['SLURM_JOB_ID']} holds GPUs {given} "
            f"(CUDA_VISIBLE_DEVICES); gdbench's GPU slots step aside",
            file=sys.stderr,
        )
        return None
    if not visible_devices():
        print(f"gdbench stage {args.stage}: no GPU on this machine, running on CPU", file=sys.stderr)
        return None
    state_dir = Path(config["results_dir"]) / config["profile"] / ".gpu_slots" / socket.gethostname()
    child_argv = list(argv)
    child_argv[child_argv.index("--gpus") + 1] = "0"
    with gpu_slots(args.gpus, state_dir) as devices:
        launcher = [sys.executable, "-m", "gdbench.cli"]
        if len(devices) > 1 and args.stage in TRAINING:
            launcher = [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--standalone",
                f"--nproc_per_node={len(devices)}",
                "-m",
                "gdbench.cli",
            ]
        return subprocess.run([*launcher, *child_argv], env=dict(os.environ)).returncode


def _fetch_weights(args: argparse.Namespace, argv: list[str]) -> int:
    from gdbench.models.pretrained import WeightsError, fetch_weights

    try:
        fetch_weights(args.file, Path(args.out))
    except WeightsError as error:  # offline, or a file that is not the one named: say where it goes
        print(f"gdbench stage fetch_weights: {error}", file=sys.stderr)
        return 1
    print(f"gdbench stage fetch_weights: {args.out} written, sha256 checked", file=sys.stderr)
    return 0


def _run_stage(args: argparse.Namespace, argv: list[str]) -> int:
    from gdbench import progress, stages

    config = json.loads(Path(args.config).read_text())
    child = _in_gpu_slots(args, config, argv) if args.stage in GPU_STAGES else None
    if child is not None:
        return child
    device = config["device"]
    if args.stage == "prepare_data":
        stages.prepare_data(config, args.dataset, Path(args.flag), args.per_class)
        return 0
    if args.stage == "init_tracking":
        stages.init_tracking(config)
        return 0
    if args.stage == "report":
        stages.report(config, Path(args.out))
        return 0
    run = stages.Run(config, args.experiment, args.stage, getattr(args, "method", None) or None)
    if args.settings and args.settings != run.settings.fingerprint():
        # config.json was rewritten (another snakemake call with other settings) after this DAG
        # was planned: running now would record results under settings they were not made with
        print(
            f"gdbench stage {args.stage}: {args.config} no longer holds the settings this job was planned "
            f"with (hash {run.settings.fingerprint()}, planned {args.settings}); run snakemake again",
            file=sys.stderr,
        )
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    what = [getattr(args, key, None) for key in ("experiment", "method", "target", "variant")]
    seed = f"seed{args.seed}" if hasattr(args, "seed") else None
    progress.set_job(" ".join(str(part) for part in [args.stage, *what, seed] if part))
    baseline = Path(args.baseline) if getattr(args, "baseline", None) else None
    if args.stage == "train_baseline":
        stages.train_baseline(run, args.seed, out, device, evaluated=args.evaluate)
    elif args.stage == "prune":
        stages.prune(run, args.method, args.seed, baseline, out, device)
    elif args.stage == "finetune":
        budget = Path(args.budget_of) if args.budget_of else None
        stages.finetune(run, args.method, args.target, args.seed, Path(args.pruned), out, device, baseline, budget)
    elif args.stage == "scratch":
        stages.scratch(run, args.method, args.target, args.seed, args.variant, Path(args.pruned), out, device, baseline)
    elif args.stage == "latency":
        stages.latency(run, [Path(path) for path in args.evaluations], out, device)
    elif args.stage == "evaluate":
        stages.evaluate(
            run,
            args.stage_name,
            args.seed,
            Path(args.model),
            baseline,
            out,
            args.method,
            args.target,
            device,
        )
    return 0
