"""One function per DAG node; the only module that composes data, models, training and pruning.

rule `train_baseline` -> `stages.train_baseline` -> results/<profile>/<experiment>/baseline/seed<k>/
Every stage reads its part of the resolved run config (results/<profile>/config.json; which
part is gdbench.config.STAGE_READS), writes its folder (weights, a resumable checkpoint, a JSON
of results) and logs one MLflow run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from dataclasses import fields
from pathlib import Path

import torch
from torch import nn

from gdbench import deploy, plugins, progress, timing
from gdbench.checkpoint import load_checkpoint, load_pruned_state_dict, load_resumable, save_checkpoint
from gdbench.config import stage_settings, target_label
from gdbench.data import registry
from gdbench.data.loaders import LoaderConfig
from gdbench.distributed import barrier, init_from_env, is_main_process, local_device, resolve_device
from gdbench.env import environment_record
from gdbench.evaluate import evaluate_classifier, evaluate_segmentation
from gdbench.flops import count_flops
from gdbench.models import build_model
from gdbench.track import LiveRun, end_parents, flush_queue, git_revision, log_stage, queue_stage, run_uri
from gdbench.train import FinetuneConfig, TrainConfig, fit, training_identity


class Run:
    """One job's view of the config: the parts its stage reads (gdbench.config.STAGE_READS) as
    `spec`, where its results and MLflow runs go, and the typed pieces built from them. Reading a
    section the stage did not declare is an error, so the rule's rerun trigger (a hash of the
    declared parts) can never miss a setting the job uses."""

    def __init__(self, config: dict, experiment: str, stage: str, method: str | None = None):
        settings = stage_settings(config, experiment, stage, method)
        # the plug-ins this job uses (part of its settings), before the registries are read
        plugins.register(settings.run.get("plugins"))
        self._view(settings, run_uri(config))
        self.queue_dir = queue_dir(config)
        self._live: LiveRun | None = None

    def _view(self, settings, tracking_uri: str) -> None:
        self.settings, self.tracking_uri = settings, tracking_uri
        self.name, self.spec, self.stage = settings.experiment, settings, settings.stage
        self.profile, self.data_root = settings.run["profile"], settings.run["data_root"]
        self.dataset = registry.dataset(self.spec["data"]["dataset"])

    def for_stage(self, stage: str) -> Run:
        """This job's view narrowed to `stage`'s parts (see StageSettings.narrow)."""
        view = object.__new__(Run)
        view._view(self.settings.narrow(stage), self.tracking_uri)
        view.queue_dir, view._live = self.queue_dir, None
        return view

    def identity(self, seed: int) -> dict:
        """What this job's resumable files must have been written for, beyond the training
        settings and starting weights: every setting the job reads, and its seed."""
        return {"job": self.settings.fingerprint(), "seed": seed}

    def loaders(
        self, device, channels_last: bool = False, distributed: bool = False, batch_size: int | None = None
    ) -> dict:
        """The dataset's batches; `batch_size` replaces the data section's for training batches."""
        config = loader_config(self.spec["data"], self.data_root)
        if batch_size is not None:
            config = dataclasses.replace(config, batch_size=batch_size)
        batches = registry.build_loaders(config, device, channels_last, distributed)
        self.subsets = batches.pop("subsets")  # what a reduced dataset kept: logged with the job's run
        return batches

    def model(self, pretrained: bool = True) -> nn.Module:
        model = self.spec["model"]
        return build_model(
            model["name"], pretrained=model.get("pretrained") if pretrained else None, **model.get("kwargs", {})
        )

    def pruned_model(self, state_dict: dict) -> nn.Module:
        return load_pruned_state_dict(self.model(pretrained=False), state_dict)

    def task(self):
        """(loss, evaluate(model, batches, device), selection metric)."""
        if self.dataset.segmentation:
            classes = self.spec["model"].get("kwargs", {}).get("num_classes", self.dataset.num_classes)
            return (
                nn.CrossEntropyLoss(ignore_index=255),
                lambda m, b, d: evaluate_segmentation(m, b, classes, d),
                self.dataset.metric,
            )
        return nn.CrossEntropyLoss(), evaluate_classifier, self.dataset.metric

    @contextlib.contextmanager
    def live(self, stage_key: str, series: str, lineage: dict):
        """This job's MLflow run, opened now and ended by `log`, so that the rows of its loops reach
        the store while it runs (gdbench.track.LiveRun; `series`: the loop whose rows are the
        job's history). With mlflow.log_at: report jobs open no store: their runs reach it at the
        report job, all at once."""
        if self.queue_dir is not None or not is_main_process():
            yield
            return
        self._live = LiveRun(self.tracking_uri, self.name, self.profile, stage_key, series, lineage)
        progress.set_sink(self._live.record)
        try:
            yield
        except BaseException:
            self._live.fail()  # the run says the job failed; a rerun replaces it
            raise
        finally:
            progress.set_sink(None)
            self._live = None

    def log(
        self, stage_key: str, device, *, params: dict, metrics: dict, lineage: dict, history=None, artifacts=()
    ) -> None:
        if not is_main_process():
            return
        tags = {
            "git_revision": git_revision(Path(__file__).parent),
            **environment_record(device),
            **({"seed": params["seed"]} if "seed" in params else {}),
            # the job's rerun trigger: the hash of the config parts it read (gdbench.config.STAGE_READS)
            "gdbench.settings": self.settings.fingerprint(),
            **lineage,
        }
        subsets = getattr(self, "subsets", None)
        run = {
            "params": {**self.settings.record(), **params, **({"data_subsets": subsets} if subsets else {})},
            "metrics": metrics,
            "history": history,
            "tags": tags,
            "artifacts": list(artifacts),
        }
        if self._live is not None and self._live.stage_key == stage_key:
            self._live.close(**run)
        elif self.queue_dir is not None:  # mlflow.log_at: report (gdbench.track)
            queue_stage(self.queue_dir, self.name, self.profile, stage_key, **run)
        else:
            log_stage(self.tracking_uri, self.name, self.profile, stage_key, **run)


def lineage_tags(experiment: str, seed: int, method: str = "", target: float | None = None, stage: str = "") -> dict:
    """Tags that link the MLflow runs of one model. `gdbench.lineage` is on every run that starts
    from one baseline (its training and evaluation, each method's pruning, fine-tuning,
    Scratch-E/B and their evaluations); `gdbench.method` ('baseline' for the baseline's) and
    `gdbench.target` narrow it; `gdbench.model` is on one model's training run and its evaluation."""
    method = method or "baseline"
    tags = {"gdbench.lineage": f"{experiment}/seed{seed}", "gdbench.method": method}
    if target is not None:
        tags["gdbench.target"] = target_label(target)
        tags["gdbench.model"] = f"{experiment}/{method}/{target_label(target)}/{stage}/seed{seed}"
    elif method == "baseline":
        tags["gdbench.model"] = f"{experiment}/baseline/seed{seed}"
    return tags


def queue_dir(config: dict) -> Path | None:
    """Where jobs queue their MLflow runs for the report job, or None when each job logs its own."""
    if config.get("mlflow", {}).get("log_at", "job") != "report":
        return None
    return Path(config["results_dir"]) / config["profile"] / "mlflow_queue"


def _device(requested: str) -> torch.device:
    distributed = init_from_env()
    device = resolve_device(requested)
    return local_device(str(device)) if distributed else device


def _train_selected(
    run: Run,
    model: nn.Module,
    training: TrainConfig,
    out_dir: Path,
    device,
    seed: int,
    batch_size: int | None = None,
) -> list[dict]:
    """fit() with a per-epoch checkpoint. Under the `heldout` protocol the validation split picks
    the epoch: the best one is kept in best.pt (model selection survives a restart), the last in
    last.pt, and `model` ends holding the best; under `paper` nothing is read but the training
    split and `model` ends holding the last epoch, as the authors reported it. Resumable files
    are resumed only by a job of the same identity (settings, seed, starting weights)."""
    distributed = init_from_env()
    batches = run.loaders(device, training.channels_last, distributed, batch_size)
    loss_fn, evaluate, key = run.task()
    identity = training_identity(model, training, run.identity(seed))
    selects = "val" in batches  # protocol heldout; under paper no split selects
    best_path = out_dir / "best.pt"
    if not selects:
        for stale in ("best.pt", "last.pt"):  # a heldout run's, in this folder before
            (out_dir / stale).unlink(missing_ok=True)
    best_state = load_resumable(best_path, identity) if selects else None
    best = best_state["score"] if best_state is not None else -math.inf

    def validate(current: nn.Module) -> dict:
        nonlocal best
        metrics = {f"val_{k}": v for k, v in evaluate(current, batches["val"], device).items() if k != "samples"}
        if metrics[f"val_{key}"] > best and is_main_process():
            best = metrics[f"val_{key}"]
            save_checkpoint({"state_dict": current.state_dict(), "score": best, "identity": identity}, best_path)
        return metrics

    history = fit(
        model,
        batches["train"],
        loss_fn,
        training,
        device,
        checkpoint_path=out_dir / "checkpoint.pt",
        evaluate=validate if selects else None,
        identity=identity,
    )
    if not selects:
        return history
    if is_main_process():  # the last epoch too, so the report can show both side by side
        save_checkpoint({"state_dict": model.state_dict()}, out_dir / "last.pt")
    barrier()  # rank 0 wrote best.pt and last.pt
    model.load_state_dict(load_checkpoint(best_path, map_location=device)["state_dict"])
    return history


def _finish_training(
    run: Run,
    stage_key: str,
    model: nn.Module,
    history: list[dict],
    out_dir: Path,
    device,
    params: dict,
    lineage: dict,
) -> dict:
    count = count_flops(model, model.example_input_shape[1:])
    protocol = run.spec["data"].get("protocol", "paper")
    result = {
        "stage_key": stage_key,
        "flops": count.flops,
        "params": count.params,
        "protocol": protocol,
        "selected": "last epoch" if protocol == "paper" else "best validation epoch",
        "history": history,
        **params,
    }
    metrics = {"flops": count.flops, "params": count.params}
    if protocol == "heldout":
        result["best_val"] = metrics["best_val"] = max(row.get(f"val_{run.task()[2]}", -math.inf) for row in history)
    if is_main_process():
        save_checkpoint({"state_dict": model.state_dict()}, out_dir / "model.pt")
        (out_dir / "train.json").write_text(json.dumps(result, indent=2))
    run.log(
        stage_key,
        device,
        params={**params, "protocol": protocol, "selected": result["selected"]},
        history=history,
        metrics=metrics,
        lineage=lineage,
    )
    barrier()  # every rank returns once rank 0's files exist
    return result


def _evaluate_trained(
    run: Run,
    stage: str,
    seed: int,
    out_dir: Path,
    baseline: Path | None,
    device,
    method: str = "",
    target: float | None = None,
    extra: dict | None = None,
) -> None:
    """The test set, once, for the model this job just wrote, into the sibling `evaluate/`
    folder: evaluation runs in the job that made the model, so a model costs one process start
    (torch, MLflow: ~8 s on 2 cores), not two."""
    model_path, last = out_dir / "model.pt", out_dir / "last.pt"
    evaluate(
        run.for_stage("evaluate"),
        stage,
        seed,
        model_path,
        baseline or model_path,
        out_dir.parent / "evaluate",
        method,
        target,
        device,
        last_path=last if run.spec["data"].get("protocol", "paper") == "heldout" else None,
        extra=extra,
    )


def train_baseline(run: Run, seed: int, out_dir: Path, device: str = "auto", evaluated: bool = False) -> dict:
    """Train the unpruned model; the best validation epoch is kept. `evaluated`: then score it
    on the test set (stages.evaluate), as the DAG's train_baseline job does."""
    device = _device(device)
    torch.manual_seed(seed)
    model = run.model().to(device)
    training = TrainConfig.from_dict(run.spec["train"])
    stage_key, lineage = f"train_baseline/{run.name}/seed{seed}", lineage_tags(run.name, seed)
    with run.live(stage_key, "train", lineage):
        history = _train_selected(run, model, training, out_dir, device, seed)
        result = _finish_training(run, stage_key, model, history, out_dir, device, {"seed": seed}, lineage)
    if evaluated:
        _evaluate_trained(run, "baseline", seed, out_dir, None, device)
    return result


def prune(run: Run, method: str, seed: int, baseline: Path, out_dir: Path, device: str = "auto") -> dict:
    """Prune the baseline with `method` (gdbench.pruning.methods) to the experiment's FLOPs
    target; one plain checkpoint per save point, the trace as an artifact."""
    from gdbench.gates import decorate  # torch-pruning loads only where it is used
    from gdbench.pruning.methods import METHODS, build_pruner
    from gdbench.pruning.ticktock import TickTockConfig, write_trace

    plugins.register(run.settings.run.get("plugins"), criteria=True)
    device = _device(device)
    torch.manual_seed(seed)
    model = run.model(pretrained=False)
    model.load_state_dict(load_checkpoint(baseline)["state_dict"])
    model = decorate(model.to(device))
    config = TickTockConfig.from_dict(run.spec["prune"])
    batches = run.loaders(device)
    loss_fn, evaluate, key = run.task()
    pruner = build_pruner(
        method,
        model,
        batches["train"],
        loss_fn,
        config,
        run.spec["method_settings"],
        seed=seed,
        device=device,
        save_dir=out_dir,
        evaluate=lambda m: evaluate(m, batches["monitor"], device)[key],
        identity=run.identity(seed),
    )
    stage_key, lineage = f"prune/{run.name}/{method}/seed{seed}", lineage_tags(run.name, seed, method)
    with run.live(stage_key, "prune", lineage):  # the trace's rows reach MLflow per pruning step
        trace = pruner.run()
        write_trace(trace, out_dir / "trace.csv")
        result = {
            "method": method,
            "steps": pruner.ticks,
            "final_flops_ratio": trace[-1]["flops_ratio"],
            "saved": {target_label(k): str(v) for k, v in pruner.saved.items()},
            # what the trace's accuracy column was measured on (never used to select anything)
            "trace_accuracy_on": "validation split" if "val" in batches else "a fixed subset of the training split",
        }
        (out_dir / "prune.json").write_text(json.dumps(result, indent=2))
        run.log(
            stage_key,
            device,
            params={"seed": seed, "method": method, "ablation_of": METHODS[method].ablation_of or "none"},
            history=trace,
            metrics={"steps": pruner.ticks, "final_flops_ratio": result["final_flops_ratio"]},
            # the save points too: the checkpoints every fine-tuning and Scratch-E/B run starts from
            artifacts=[out_dir / "trace.csv", *(Path(path) for _, path in sorted(pruner.saved.items()))],
            lineage=lineage,
        )
    return result


def matched_epochs(epochs: int, spent: float, reference_spent: float) -> int:
    """Fine-tuning epochs of a compute-matched run: its own `epochs` plus the training epochs the
    reference method spent pruning to the same save point beyond the ones this method spent
    (`spent`), rounded up, so that both have trained as long after the baseline."""
    return epochs + max(0, math.ceil(reference_spent - spent - 1e-9))


def finetune(
    run: Run,
    method: str,
    target: float,
    seed: int,
    pruned: Path,
    out_dir: Path,
    device: str = "auto",
    baseline: Path | None = None,
    budget_of: Path | None = None,
) -> dict:
    """Fine-tune a pruned checkpoint: triangular lr, no sparsity term (authors' code). With a
    `baseline`, then evaluate the result against it (the DAG's finetune job). With `budget_of`,
    a save point of another method (the compute-matched variants: Gate Decorator's), the
    triangular part is extended to match its training epochs (`matched_epochs`)."""
    device = _device(device)
    torch.manual_seed(seed)
    checkpoint = load_checkpoint(pruned)
    model = run.pruned_model(checkpoint["state_dict"]).to(device)
    finetuning = FinetuneConfig.from_dict(run.spec["finetune"])
    epochs = max(1, finetuning.epochs)
    if budget_of is not None:
        reference = load_checkpoint(budget_of).get("training_epochs", 0.0)
        epochs = matched_epochs(epochs, checkpoint.get("training_epochs", 0.0), reference)
    training = dataclasses.replace(finetuning, epochs=epochs).training()
    stage_key = f"finetune/{run.name}/{method}/{target_label(target)}/seed{seed}"
    lineage = lineage_tags(run.name, seed, method, target, "finetune")
    with run.live(stage_key, "train", lineage):
        history = _train_selected(run, model, training, out_dir, device, seed, finetuning.batch_size)
        params = {"seed": seed, "method": method, "target": target, "epochs": training.epochs}
        result = _finish_training(run, stage_key, model, history, out_dir, device, params, lineage)
    if baseline is not None:
        # training after the baseline: the pruning run's, up to this save point, and this job's
        spent = {"epochs_after_baseline": checkpoint.get("training_epochs", 0.0) + len(history)}
        _evaluate_trained(run, "finetune", seed, out_dir, baseline, device, method, target, spent)
    return result


def scratch_epochs(baseline_epochs: int, flops_ratio: float, variant: str, max_factor: float | None = None) -> int:
    """Scratch-E trains as many epochs as the baseline; Scratch-B as much compute, i.e. epochs
    scaled by 1 / FLOPs ratio and truncated, capped at `max_factor` × the baseline's epochs when set
    (Liu et al. 2019, "Rethinking the value of network pruning"; their code,
    Eric-mingjie/rethinking-network-pruning: cifar/*/main_B.py, `int(160 * flops_std / flops_small)`,
    uncapped; imagenet/l1-norm-pruning/main_B.py, 180 = 2 × 90 epochs once the ratio reaches 2)."""
    if variant == "scratch_e":
        return baseline_epochs
    if variant == "scratch_b":
        epochs = max(baseline_epochs, int(baseline_epochs / flops_ratio + 1e-9))  # 160 / 0.4 is 399.99…
        return epochs if max_factor is None else min(epochs, int(max_factor * baseline_epochs))
    raise ValueError(f"unknown scratch variant {variant!r}; allowed: scratch_e, scratch_b")


def reinitialise(model: nn.Module) -> nn.Module:
    """Fresh weights for a pruned architecture: Kaiming-normal convs and linears, zero biases,
    BN (1, 0) and reset statistics."""
    # DEVIATION: one initialisation for every model (the CIFAR ResNets' own); torchvision's
    # ResNet-50 uses fan-out Kaiming and the FCN's up-sampling starts bilinear.
    for layer in model.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            layer.reset_parameters()
    return model


def scratch(
    run: Run,
    method: str,
    target: float,
    seed: int,
    variant: str,
    pruned: Path,
    out_dir: Path,
    device: str = "auto",
    baseline: Path | None = None,
) -> dict:
    """Train the pruned architecture from a fresh initialisation (Scratch-E or Scratch-B); with a
    `baseline`, then evaluate the result against it (the DAG's scratch job)."""
    device = _device(device)
    torch.manual_seed(seed)
    checkpoint = load_checkpoint(pruned)
    model = reinitialise(run.pruned_model(checkpoint["state_dict"])).to(device)
    base = TrainConfig.from_dict(run.spec["train"])
    budget = run.spec["scratch_budget"]
    epochs = scratch_epochs(base.epochs, checkpoint["flops_ratio"], variant, budget.get("max_epoch_factor"))
    scale = epochs / base.epochs
    training = TrainConfig.from_dict(  # milestones at the same shares of the schedule, truncated (Liu et al.)
        {**run.spec["train"], "epochs": epochs, "milestones": [int(m * scale) for m in base.milestones]}
    )
    stage_key = f"{variant}/{run.name}/{method}/{target_label(target)}/seed{seed}"
    lineage = lineage_tags(run.name, seed, method, target, variant)
    with run.live(stage_key, "train", lineage):
        history = _train_selected(run, model, training, out_dir, device, seed)
        params = {"seed": seed, "method": method, "target": target, "variant": variant, "epochs": epochs}
        result = _finish_training(run, stage_key, model, history, out_dir, device, params, lineage)
    if baseline is not None:
        _evaluate_trained(run, variant, seed, out_dir, baseline, device, method, target)
    return result


def evaluate(
    run: Run,
    stage: str,
    seed: int,
    model_path: Path,
    baseline_path: Path,
    out_dir: Path,
    method: str = "",
    target: float | None = None,
    device: str = "auto",
    last_path: Path | None = None,
    extra: dict | None = None,
) -> dict:
    """The one evaluation on the test set, with FLOPs and parameter reductions vs the baseline;
    with `last_path` (the heldout protocol's last epoch beside its selected best), that model's
    test numbers too, as test_<metric>_last. `extra`: metrics the training job adds (the epochs
    a fine-tuned model was trained after its baseline)."""
    device = _device(device)
    model = run.pruned_model(load_checkpoint(model_path)["state_dict"]).to(device)
    baseline = run.pruned_model(load_checkpoint(baseline_path)["state_dict"])
    _, evaluate_fn, _ = run.task()
    test_batches = run.loaders(device)["test"]
    test = {f"test_{k}": v for k, v in evaluate_fn(model, test_batches, device).items()}
    if last_path is not None:
        last = run.pruned_model(load_checkpoint(last_path)["state_dict"]).to(device)
        scores = evaluate_fn(last, test_batches, device).items()
        test.update({f"test_{k}_last": v for k, v in scores if k != "samples"})
    shape = model.example_input_shape[1:]
    ours, reference = count_flops(model, shape), count_flops(baseline, shape)
    # both counters, labelled: conv + linear MACs, and thop's, which the authors stopped, saved
    # and reported with (docs/facts.md, FLOPs); the report says which one decided the stop
    ours_thop, reference_thop = count_flops(model, shape, "thop"), count_flops(baseline, shape, "thop")
    result = {
        **test,
        "flops": ours.flops,
        "params": ours.params,
        "flops_reduction": 1 - ours.flops / reference.flops,
        "flops_thop": ours_thop.flops,
        "flops_reduction_thop": 1 - ours_thop.flops / reference_thop.flops,
        "params_reduction": 1 - ours.params / reference.params,
        **(extra or {}),
    }
    if is_main_process():
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "architecture.json").write_text(json.dumps(deploy.channels(model), indent=2))
        (out_dir / "evaluate.json").write_text(json.dumps(result, indent=2))
        if any(split["kept"] < split["of"] for split in run.subsets.values()):
            # a reduced dataset: which images this number was measured on (gdbench.data.subset)
            (out_dir / "data_subsets.json").write_text(json.dumps(run.subsets, indent=2))
    where = f"{run.name}/{method}/{target_label(target)}" if target is not None else f"{run.name}/baseline"
    run.log(
        f"evaluate/{stage}/{where}/seed{seed}",
        device,
        metrics=result,
        params={
            "seed": seed,
            "stage": stage,
            "method": method or "none",
            "target": "none" if target is None else target,
        },
        artifacts=[model_path, out_dir / "architecture.json"],
        lineage=lineage_tags(run.name, seed, method, target, stage),
    )
    return result


def init_tracking(config: dict) -> None:
    """The MLflow store, one MLflow experiment per experiment and the profile's parent run,
    created once before parallel jobs log (concurrent first use of a fresh SQLite file races on
    its schema migration)."""
    from gdbench.track import init_store

    init_store(run_uri(config), list(config["experiments"]), config["profile"])


def report(config: dict, out_dir: Path) -> None:
    """Tables and figures of the whole run, read back from MLflow (never from ad-hoc files)."""
    from gdbench.report.build import build_report

    plugins.register(config.get("plugins"))  # a plug-in dataset's task and metric
    queue = queue_dir(config)
    if queue is not None:
        print(f"report: logged {flush_queue(run_uri(config), queue)} queued runs to MLflow")
    build_report(run_uri(config), config, out_dir)
    # the report is the DAG's last job: the parent runs end with it
    end_parents(run_uri(config), list(config["experiments"]), config["profile"], "FINISHED")


def prepare_data(config: dict, dataset: str, flag: Path, per_class: int | None = None) -> None:
    """Generated data (smoke) or the real dataset's prepare steps; the flag marks it done."""
    root = Path(config["data_root"])
    plugins.register(config.get("plugins"))
    registry.dataset(dataset)  # an unknown name fails here, naming the known ones
    if config["synthetic_data"]:
        registry.synth(dataset, root, per_class)
    else:
        registry.prepare(dataset, root)
    flag.parent.mkdir(parents=True, exist_ok=True)
    flag.write_text(json.dumps({"dataset": dataset, "root": str(root), "synthetic": config["synthetic_data"]}))


def loader_config(data: dict, root: str) -> LoaderConfig:
    """An experiment's `data` section as the loaders' config (the loader seed stays fixed: every
    seed of an experiment reads the same splits and subsets)."""
    known = {f.name for f in fields(LoaderConfig)} - {"dataset", "root", "seed"}
    return LoaderConfig(data["dataset"], root, **{k: v for k, v in data.items() if k in known})


def evaluated_model(evaluation: Path) -> dict:
    """Which model an evaluate.json of the DAG scored, from its path (the rules' layout):
    <exp>/baseline/seed<k>/evaluate/ or <exp>/<method>/<target>/seed<k>/<stage>/evaluate/; its
    weights are the sibling train/model.pt."""
    folder = Path(evaluation).parent.parent  # .../seed<k> (baseline) or .../<stage>
    if folder.parent.name == "baseline":
        key = {"stage": "baseline", "method": "none", "target": "none", "seed": int(folder.name.removeprefix("seed"))}
    else:
        seed, target, method = folder.parent, folder.parent.parent, folder.parent.parent.parent
        key = {"stage": folder.name, "method": method.name, "target": target.name, "seed": int(seed.name[4:])}
    return {**key, "model": folder / "train" / "model.pt"}


def latency(run: Run, evaluations: list[Path], out_dir: Path, device: str = "auto") -> list[dict]:
    """Latency of every evaluated model of `experiment` (baselines, fine-tuned, Scratch-E/B), as
    MLPerf reports it (gdbench.timing): p50/p90/p99 per runtime, CPU threads and batch size, with
    the measured speed-up against the same seed's baseline beside the speed-up its FLOPs promise.
    Models of one architecture are timed once (latency depends on the shapes, not the weights).
    The DAG runs this job alone on the machine (its rule takes every core), so no training shares
    its cores."""
    from gdbench.config import fingerprint

    settings = run.spec["latency"]
    device = _device(device)
    out_dir.mkdir(parents=True, exist_ok=True)
    measured: dict[str, list[dict]] = {}
    rows, started = [], time.monotonic()
    for index, evaluation in enumerate(sorted(evaluations)):
        entry = evaluated_model(evaluation)
        model = run.pruned_model(load_checkpoint(entry.pop("model"))["state_dict"]).eval()
        architecture = fingerprint(deploy.channels(model))
        if architecture not in measured:
            measured[architecture] = _time_model(model, settings, device, out_dir / f"{architecture}.onnx")
        where = f"model {index + 1}/{len(evaluations)}  {entry['stage']} {entry['method']} {entry['target']}"
        progress.write("latency", f"{where} seed{entry['seed']}", {}, started, (index + 1) / len(evaluations))
        # the speed-up by FLOPs counts conv and linear MACs, the compute a runtime can save
        flops = count_flops(model, model.example_input_shape[1:]).flops
        rows += [{**entry, "architecture": architecture, "flops": flops, **row} for row in measured[architecture]]
    _speedups(rows)
    table = out_dir / "latency.json"
    table.write_text(json.dumps(rows, indent=2))
    run.log(
        f"latency/{run.name}",
        device,
        params={"latency": settings, "device_name": _device_name(device)},
        metrics={"models": len(evaluations), "architectures": len(measured)},
        artifacts=[table],
        lineage={"gdbench.lineage": f"{run.name}/latency"},
    )
    return rows


def _device_name(device) -> str:
    """The device the latency rows were measured on, named as a reader can look it up."""
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    model = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:  # not Linux
        pass
    return f"{model}, {timing.all_threads()} cores for the job"


def _time_model(model: nn.Module, settings: dict, device, onnx_path: Path) -> list[dict]:
    cuda = torch.device(device).type == "cuda"
    shape = tuple(model.example_input_shape[1:])
    rows = []
    onnx = None
    for runtime in settings["runtimes"]:
        if runtime == "cuda_graphs" and not cuda:
            continue  # a GPU-only runtime
        on_cpu = runtime == "onnxruntime" or not cuda
        if runtime == "onnxruntime" and onnx is None:
            onnx = deploy.export_onnx(model.cpu(), onnx_path)
        for threads in settings["threads"] if on_cpu else [None]:
            count = timing.all_threads() if threads == "all" else threads
            for batch in settings["batch_sizes"]:
                where = torch.device("cpu") if on_cpu else torch.device(device)
                inputs = torch.randn((batch, *shape), generator=torch.Generator().manual_seed(0)).to(where)
                with timing.cpu_threads(count or timing.all_threads()):
                    if runtime == "onnxruntime":
                        call = timing.onnxruntime_call(onnx, inputs, count)
                    elif runtime == "cuda_graphs":
                        call = timing.cuda_graph_call(model.to(where), inputs)
                    else:
                        call = timing.eager_call(model.to(where), inputs)
                    samples = timing.time_calls(call, settings["repeats"], settings["warmup"], cuda and not on_cpu)
                rows.append(
                    {
                        "device": "cpu" if on_cpu else "cuda",
                        "runtime": runtime,
                        "threads": threads if on_cpu else "gpu",
                        "thread_count": count if on_cpu else 0,
                        "batch": batch,
                        **timing.percentiles(samples),
                    }
                )
    return rows


def _speedups(rows: list[dict]) -> None:
    """Each row's measured speed-up (the same seed's baseline p50 over its own, same runtime,
    threads and batch) and the speed-up by FLOPs (baseline FLOPs over its own); their ratio says
    how much of the FLOPs reduction the runtime turns into time (1 = all of it)."""

    def config(row):
        return (row["seed"], row["device"], row["runtime"], str(row["threads"]), row["batch"])

    baselines = {config(row): row for row in rows if row["stage"] == "baseline"}
    for row in rows:
        base = baselines.get(config(row))
        if base is None:
            continue
        row["speedup"] = base["p50_ms"] / row["p50_ms"]
        row["flops_speedup"] = base["flops"] / row["flops"]
        row["speedup_over_flops_speedup"] = row["speedup"] / row["flops_speedup"]
