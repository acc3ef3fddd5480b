"""`gdbench` command line: one subcommand per job, `gdbench <command> --help` for each."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gdbench.data.integrity import DataError


def _cmd_flops(args: argparse.Namespace) -> int:
    from gdbench.flops import count_flops
    from gdbench.models import build_model

    model = build_model(args.model)
    shape = tuple(args.input_shape) if args.input_shape else None
    count = count_flops(model, shape, args.convention)
    print(f"{args.model}: {count.flops / 1e6:.3f} M FLOPs ({args.convention}), {count.params / 1e6:.4f} M params")
    return 0


def _cmd_data_synth(args: argparse.Namespace) -> int:
    from gdbench.data.registry import synth

    synth(args.dataset, args.out, seed=args.seed)
    print(f"wrote generated {args.dataset} in its real on-disk format under {args.out}")
    return 0


def _cmd_data_prepare(args: argparse.Namespace) -> int:
    from gdbench.data.registry import prepare

    manifests = prepare(args.dataset, args.root)
    print(f"{args.dataset} verified; manifest: {', '.join(map(str, manifests))}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from gdbench import stages
    from gdbench.data.registry import dataset

    # the dataset's classes unless given: a 10-class default on CIFAR-100 would train a wrong head
    kwargs = {"num_classes": args.num_classes or dataset(args.dataset).num_classes}
    if args.width_divisor:
        kwargs["width_divisor"] = args.width_divisor
    spec = {
        "model": {"name": args.model, "kwargs": kwargs, "pretrained": args.pretrained},
        "data": {
            "dataset": args.dataset,
            "batch_size": args.batch_size,
            "workers": args.workers,
            "tensor_path": not args.dataloader,
            "image_size": args.image_size,
            "crop_size": args.crop_size,
            "protocol": args.protocol,
        },
        "train": {
            "epochs": args.epochs,
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "schedule": args.schedule,
            "milestones": args.milestones,
            "bf16": args.fast,
            "channels_last": args.fast,
            "compile": args.compile or args.cuda_graphs,
            "compile_mode": "reduce-overhead" if args.cuda_graphs else "default",
        },
    }
    out = Path(args.out)
    config = {
        "profile": "train",
        "results_dir": str(out),
        "data_root": args.data_root,
        "device": args.device,
        "synthetic_data": False,
        "experiments": {"train": spec},
        "mlflow": {"tracking_uri": None},
    }
    stages.train_baseline(stages.Run(config, "train", "train_baseline"), args.seed, out, args.device)
    result = stages.evaluate(
        stages.Run(config, "train", "evaluate"),
        "baseline",
        args.seed,
        out / "model.pt",
        out / "model.pt",
        out,
        device=args.device,
    )
    shown = {k: v for k, v in result.items() if k.startswith("test_")}
    print(f"{args.model} on {args.dataset}: " + ", ".join(f"{k} {v:.4f}" for k, v in shown.items()))
    return 0


def ui_command(results: str, host: str, port: int) -> list[str]:
    """The `mlflow ui` command line over a run's store; the host is passed as one argument."""
    from gdbench.track import tracking_uri

    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        tracking_uri(results),
        "--host",
        host,
        "--port",
        str(port),
    ]


def _cmd_ui(args: argparse.Namespace) -> int:
    import os
    import subprocess

    store = Path(args.results) / "mlflow.db"
    if not os.environ.get("MLFLOW_TRACKING_URI") and not store.is_file():
        print(
            f"gdbench ui: error: no MLflow store at {store} (a run writes results/mlflow.db); "
            f"run the DAG first, or pass --results the folder that holds mlflow.db",
            file=sys.stderr,
        )
        return 2
    if args.host != "127.0.0.1":
        print(f"gdbench ui: serving on {args.host}: anyone who reaches this address can read the runs", file=sys.stderr)
    return subprocess.run(ui_command(args.results, args.host, args.port)).returncode


class Parser(argparse.ArgumentParser):
    """Every (sub)command's parser: defaults shown in --help, and an unknown flag reported with the
    usage of the subcommand it was given to (argparse reports it at the top level)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        default = kwargs.get("default")
        if kwargs.get("help") is None and not any(default is v for v in (None, False, argparse.SUPPRESS)):
            kwargs["help"] = "(default: %(default)s)"  # argparse shows no default for a flag without help
        return super().add_argument(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if not hasattr(namespace, "_parser"):
            namespace._parser = self  # the deepest subcommand's parser returns first
        return namespace, extras


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gdbench")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    from gdbench.data.registry import DATASETS
    from gdbench.models import MODELS

    parser = Parser(
        prog="gdbench", description="Gate Decorator pruning: reproducibility suite (You et al., NeurIPS 2019)."
    )
    parser.add_argument("--version", action="version", version=f"gdbench {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    flops = commands.add_parser("flops", help="count FLOPs (multiply-accumulates) and parameters of a model")
    flops.add_argument("model", choices=sorted(MODELS))
    flops.add_argument(
        "--convention",
        choices=("macs", "thop"),
        default="macs",
        help="macs: conv + linear MACs (default); thop: the authors' counter",
    )
    flops.add_argument(
        "--input-shape",
        type=int,
        nargs=3,
        metavar=("C", "H", "W"),
        help="input size (default: the model's own example shape)",
    )
    flops.set_defaults(run=_cmd_flops)

    data = commands.add_parser("data", help="prepare real datasets or write generated ones")
    data_commands = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    synth = data_commands.add_parser("synth", help="write small generated data in a dataset's real on-disk format")
    synth.add_argument("--dataset", required=True, choices=list(DATASETS))
    synth.add_argument("--out", required=True, help="folder that receives the dataset folder")
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(run=_cmd_data_synth)
    prepare = data_commands.add_parser("prepare", help="download, verify checksums, extract safely, write the manifest")
    prepare.add_argument(
        "--dataset",
        required=True,
        choices=list(DATASETS),
        help="imagenet and VOC 2011 (voc_seg11valid) cannot be downloaded: place them, then prepare verifies",
    )
    prepare.add_argument("--root", required=True, help="data root; the dataset folder is created inside")
    prepare.set_defaults(run=_cmd_data_prepare)

    train = commands.add_parser(
        "train", help="train a baseline outside the DAG; resumes from OUT/checkpoint.pt after a crash"
    )
    train.add_argument("--model", required=True, choices=sorted(MODELS))
    train.add_argument("--dataset", required=True, choices=list(DATASETS))
    train.add_argument("--data-root", required=True)
    train.add_argument(
        "--out",
        required=True,
        help="folder for checkpoint.pt, best.pt, model.pt, train.json, evaluate.json and mlflow.db",
    )
    train.add_argument("--num-classes", type=int, help="default: the dataset's number of classes")
    train.add_argument("--pretrained", help="ImageNet backbone weights file (torchvision state dict)")
    train.add_argument("--width-divisor", type=int, help="thin VGG/FCN models (smoke runs)")
    train.add_argument("--epochs", type=int, default=160)
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument("--lr", type=float, default=0.1)
    train.add_argument("--weight-decay", type=float, default=1e-4)
    train.add_argument("--schedule", choices=("step", "cosine", "triangular"), default="step")
    train.add_argument("--milestones", type=int, nargs="*", default=[80, 120])
    train.add_argument("--image-size", type=int, default=224, help="CUB / ImageNet crop size")
    train.add_argument("--crop-size", type=int, default=320, help="VOC / SBD training crop size")
    train.add_argument("--workers", type=int, default=2)
    train.add_argument(
        "--protocol",
        choices=("paper", "heldout"),
        default="paper",
        help="paper: train on the whole training split, keep the last epoch (the authors'); "
        "heldout: a validation split of the training data picks the best epoch",
    )
    train.add_argument(
        "--dataloader", action="store_true", help="CIFAR: DataLoader path instead of the on-device tensor path"
    )
    train.add_argument("--fast", action="store_true", help="bf16 autocast and channels_last (GPU)")
    train.add_argument("--compile", action="store_true", help="torch.compile the model")
    train.add_argument(
        "--cuda-graphs",
        action="store_true",
        help="torch.compile with CUDA graphs (mode reduce-overhead): small nets on a GPU",
    )
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(run=_cmd_train)

    ui = commands.add_parser("ui", help="browse the MLflow runs in a browser (mlflow ui on this machine only)")
    ui.add_argument("--results", default="results", help="results folder holding mlflow.db (default: results)")
    ui.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind; the default 127.0.0.1 keeps the server private to this machine",
    )
    ui.add_argument("--port", type=int, default=5000)
    ui.set_defaults(run=_cmd_ui)

    from gdbench import cli_bench, cli_export, cli_stage

    cli_stage.add_parser(commands)
    cli_export.add_parser(commands)

    cli_bench.add_parser(commands, sorted(MODELS))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extras = build_parser().parse_known_args(argv)
    if extras:
        args._parser.error(f"unrecognized arguments: {' '.join(extras)}")
    try:
        return args.run(args, argv) if args.command == "stage" else args.run(args)
    except (ValueError, KeyError, OSError, DataError, FloatingPointError) as error:
        print(f"gdbench {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
