"""The DAG as Snakemake builds it: the paper run's jobs, config errors at build time, lint."""

from gdbench.config import load_yaml, resolve

from conftest import REPO, job_counts, snakemake


def _expected_counts(resolved: dict) -> dict[str, int]:
    """Jobs per rule, counted from the config independently of the rules."""
    counts = {"prepare_data": len({e["data"]["dataset"] for e in resolved["experiments"].values()}),
              "init_tracking": 1, "report": 1, "all": 1}
    for experiment in resolved["experiments"].values():
        seeds, methods = len(experiment["seeds"]), len(resolved["methods"])
        targets = len(experiment["prune"]["save_flops_ratios"])
        scratch = len(experiment["scratch"])
        for rule, n in {"train_baseline": seeds, "evaluate_baseline": seeds, "prune": seeds * methods,
                        "finetune": seeds * methods * targets, "scratch": seeds * methods * targets * scratch,
                        "evaluate": seeds * methods * targets * (1 + scratch)}.items():
            counts[rule] = counts.get(rule, 0) + n
    return counts


def test_dry_run_builds_the_full_paper_dag(tmp_path):
    result = snakemake(tmp_path, "-n", "--cores", "all", "--resources", "gpu=4",
                       "--configfile", str(REPO / "configs" / "config.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    resolved = resolve(load_yaml(REPO / "configs" / "config.yaml"), REPO / "configs" / "experiments")
    assert job_counts(result.stdout) == _expected_counts(resolved)
    assert job_counts(result.stdout)["scratch"] == 27  # the paper run: 45 evaluated pruned models


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


def test_lint_is_clean(tmp_path):
    result = snakemake(tmp_path, "--lint", "--configfile", str(REPO / "configs" / "config.yaml"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Congratulations, your workflow is in a good condition" in output
