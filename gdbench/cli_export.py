"""`gdbench export`: a trained or pruned checkpoint as files people deploy (gdbench.deploy)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FORMATS = ("onnx", "pt2")


def add_parser(commands) -> None:
    export = commands.add_parser(
        "export",
        help="a checkpoint as a deployable folder (architecture.json + weights.pt), ONNX and a torch.export "
        "program, each checked against PyTorch",
        description="Write OUT/architecture.json and OUT/weights.pt (load them with gdbench.deploy.load_deployable), "
        "then each format asked for, and run it against PyTorch on a batch it was not exported with: the "
        "max |difference| of the outputs is printed, and the command fails when it exceeds 1e-4 of the "
        "output's scale. The model comes from --config/--experiment (a run's results/<profile>/config.json) "
        "or from --model/--model-kwargs.",
    )
    export.add_argument("checkpoint", help="a model.pt of the DAG (or any state dict of the model, pruned or not)")
    export.add_argument("--out", required=True, help="folder to write")
    export.add_argument("--config", help="resolved run config (results/<profile>/config.json)")
    export.add_argument("--experiment", help="the experiment of --config whose model this is")
    export.add_argument("--model", help="model name (instead of --config/--experiment)")
    export.add_argument("--model-kwargs", default="{}", help="the model's constructor arguments, as JSON")
    export.add_argument("--formats", nargs="*", choices=FORMATS, default=list(FORMATS), help="what to export")
    export.set_defaults(run=_run_export)


def _model_spec(args: argparse.Namespace) -> tuple[str, dict]:
    if args.model:
        try:
            return args.model, json.loads(args.model_kwargs)
        except ValueError as error:
            raise ValueError(f"--model-kwargs is not JSON: {error}") from None
    if not (args.config and args.experiment):
        raise ValueError("name the model: --config and --experiment, or --model (and --model-kwargs)")
    experiments = json.loads(Path(args.config).read_text())["experiments"]
    if args.experiment not in experiments:
        raise KeyError(f"{args.config} has no experiment {args.experiment!r}; it has {', '.join(experiments)}")
    model = experiments[args.experiment]["model"]
    return model["name"], model.get("kwargs", {})


def _run_export(args: argparse.Namespace) -> int:
    from gdbench import deploy
    from gdbench.checkpoint import load_checkpoint, load_pruned_state_dict
    from gdbench.models import build_model
    from gdbench.track import git_revision

    name, kwargs = _model_spec(args)
    state = load_checkpoint(args.checkpoint)
    state = state.get("state_dict", state)
    model = load_pruned_state_dict(build_model(name, **kwargs), state).eval()
    revision = git_revision(Path(__file__).parent)
    out = deploy.save_deployable(model, name, kwargs, args.out, str(args.checkpoint), revision)
    reloaded = deploy.load_deployable(out)
    print(f"{out / deploy.ARCHITECTURE}, {out / deploy.WEIGHTS}: written, reloaded", file=sys.stderr)
    failed = []
    for form in args.formats:
        if form == "onnx":
            path = deploy.export_onnx(reloaded, out / deploy.ONNX)
            check = deploy.onnx_parity(reloaded, path)
            runtime = "onnxruntime"
        else:
            path = deploy.export_program(reloaded, out / deploy.PROGRAM)
            check = deploy.program_parity(reloaded, path)
            runtime = "torch.export.load"
        verdict = "ok" if check["within"] else "FAILED"
        print(
            f"{path}: {runtime} against PyTorch, max |difference| {check['max_abs_difference']:.3g} "
            f"(limit {deploy.PARITY_TOLERANCE * check['output_scale']:.3g}): {verdict}",
            file=sys.stderr,
        )
        (out / f"{path.name}.parity.json").write_text(json.dumps(check, indent=2))
        if not check["within"]:
            failed.append(path.name)
    return 1 if failed else 0
