"""The DAG as Snakemake builds it: the paper run's jobs, config errors at build time, lint."""

import pytest

from gdbench.config import load_yaml, resolve

from conftest import REPO, job_counts, snakemake


def _expected_counts(resolved: dict) -> dict[str, int]:
    """Jobs per rule, counted from the config independently of the rules."""
    counts = {"prepare_data": len({e["data"]["dataset"] for e in resolved["experiments"].values()}),
              "init_tracking": 1, "report": 1, "all": 1, "latency": len(resolved["experiments"])}
    fetched = {e["model"]["pretrained"] for e in resolved["experiments"].values()
               if (e["model"].get("pretrained") or "").startswith("weights/")}
    if fetched:  # torchvision's ImageNet weights, downloaded by the fetch_weights rule
        counts["fetch_weights"] = len(fetched)
    for experiment in resolved["experiments"].values():
        seeds, methods = len(experiment["seeds"]), len(experiment["methods"])
        targets = len(experiment["prune"]["save_flops_ratios"])
        scratch = len(experiment["scratch"])
        retrained = len(experiment.get("scratch_methods", experiment["methods"]))
        for rule, n in {"train_baseline": seeds, "prune": seeds * methods, "save_point": seeds * methods * targets,
                        "finetune": seeds * methods * targets, "scratch": seeds * retrained * targets * scratch}.items():
            counts[rule] = counts.get(rule, 0) + n
    return counts


def test_dry_run_builds_the_full_paper_dag(tmp_path):
    """In a fresh folder, with no weights placed: the fetch_weights rule plans their download."""
    result = snakemake(tmp_path, "-n", "--cores", "all", "--resources", "gpu=4",
                       "--configfile", str(REPO / "configs" / "config.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    resolved = resolve(load_yaml(REPO / "configs" / "config.yaml"), REPO / "configs" / "experiments")
    assert job_counts(result.stdout) == _expected_counts(resolved)
    assert job_counts(result.stdout)["fetch_weights"] == 2  # vgg16_bn (CUB-200) and vgg16 (FCN)
    # Scratch-E/B for every pruned architecture: ResNet-56 13 methods × 3 seeds × 2 targets × 2 = 156,
    # VGG-16-M/CIFAR-100 2 × 3 × 1 × 2 = 12, CUB 9 × 1 × 4 × 1 = 36, ResNet-50 and FCN 5
    assert job_counts(result.stdout)["scratch"] == 209


@pytest.mark.parametrize("profile", ["reduced", "digits", "smoke"])
def test_dry_run_builds_the_reduced_digits_and_main_job_dags(tmp_path, profile):
    """configs/reduced.yaml (the paper's experiments on subsets of the real data),
    configs/digits.yaml (the real-data benchmark) and configs/smoke.yaml (the README's main job,
    which the workflow tests run with a trimmed digits slice) build their whole DAGs."""
    path = REPO / "configs" / f"{profile}.yaml"
    merged = {**load_yaml(REPO / "configs" / "config.yaml"), **load_yaml(path)}
    resolved = resolve(merged, REPO / "configs" / "experiments")
    result = snakemake(tmp_path, "-n", "--cores", "all", "--resources", "gpu=1",
                       "--configfile", str(REPO / "configs" / "config.yaml"), str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert job_counts(result.stdout) == _expected_counts(resolved)
    if profile == "smoke":  # the digits slice issue 17 asks of the main job
        digits = resolved["experiments"]["resnet14_digits"]
        assert {"gate_decorator", "l1_norm", "random", "network_slimming", "uniform_shrink"} <= set(digits["methods"])
        assert len(digits["seeds"]) >= 3 and len(digits["prune"]["save_flops_ratios"]) >= 2
    elif profile == "reduced":
        assert all(experiment["seeds"] == [0] for experiment in resolved["experiments"].values())
        assert all(e["data"].keys() & {"train_per_class", "train_fraction"} for e in resolved["experiments"].values())
    else:
        methods = resolved["experiments"]["resnet14_digits"]["methods"]
        from gdbench.pruning.methods import METHODS

        # every method of the registry; Gate Decorator's ablations run in resnet56_cifar10
        assert set(methods) == {name for name, method in METHODS.items() if method.ablation_of is None}
        assert all(len(e["seeds"]) >= 5 and len(e["prune"]["save_flops_ratios"]) == 3
                   for e in resolved["experiments"].values())


@pytest.mark.reliability("bad config")
def test_misspelled_key_fails_at_dag_build_naming_it(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("overrides:\n  resnet56_cifar10:\n    prune: {prune_fraction_per_tik: 0.01}\n")
    result = snakemake(tmp_path, "-n", "--cores", "1",
                       "--configfile", str(REPO / "configs" / "config.yaml"), str(bad))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "prune: unknown key(s) 'prune_fraction_per_tik'" in output
    assert "allowed: " in output and "prune_fraction_per_tick" in output
    assert "Traceback" not in output and 'File "' not in output  # a user error, not a crash


@pytest.mark.reliability("bad config")
def test_missing_weights_file_stops_the_dag_before_any_job_naming_it(tmp_path):
    """A weights path no rule makes (not one of torchvision's files under weights/)."""
    config = tmp_path / "weights.yaml"
    config.write_text("experiments: [vgg16m_cub200]\n"
                      "overrides:\n  vgg16m_cub200: {model: {pretrained: weights/missing_vgg16_bn.pth}}\n")
    result = snakemake(tmp_path, "--cores", "1", "--configfile", str(REPO / "configs" / "config.yaml"), str(config))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "weights/missing_vgg16_bn.pth" in output and "Missing input files" in output
    assert not (tmp_path / "results" / "full" / "data_ready").exists()  # no job ran
    assert "Traceback" not in output


def test_lint_is_clean(tmp_path):
    result = snakemake(tmp_path, "--lint", "--configfile", str(REPO / "configs" / "config.yaml"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Congratulations, your workflow is in a good condition" in output


def test_a_compute_matched_fine_tune_takes_gate_decorator_s_save_point(tmp_path):
    config = tmp_path / "matched.yaml"
    config.write_text(
        "experiments: [vgg16m_cifar100]\n"
        "overrides:\n  vgg16m_cifar100: {methods: [gate_decorator, l1_norm_matched], seeds: [0], scratch: []}\n"
    )
    result = snakemake(tmp_path, "-n", "-p", "--cores", "1",
                       "--configfile", str(REPO / "configs" / "config.yaml"), str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    commands = [line for line in result.stdout.splitlines() if "gdbench stage finetune" in line]
    matched = [c for c in commands if "--method l1_norm_matched" in c]
    assert len(commands) == 2 and len(matched) == 1
    assert "--budget-of=results/full/vgg16m_cifar100/gate_decorator/0.25/seed0/save_point/model.pt" in matched[0]
    assert all("--budget-of= " in c for c in commands if c not in matched)  # empty: no matching
