"""Bring your own model, criterion and dataset (issue 13): the worked example of examples/ runs
through the whole DAG, beside no edit of the package, and its criterion is ranked by the same
report as the built-in methods."""

import json

import pandas as pd
import pytest

from conftest import REPO, job_counts, snakemake

EXAMPLE = REPO / "examples"


def _config(tmp_path, text: str):
    path = tmp_path / "extra.yaml"
    path.write_text(text)
    return ["--configfile", str(REPO / "configs" / "config.yaml"), str(EXAMPLE / "plugins.yaml"), str(path)]


def test_the_plugin_example_runs_through_the_dag_and_is_reported(tmp_path):
    # the example from another working directory: its folders given absolute; one seed and its
    # criterion one-shot and under Tick-Tock, for the suite's budget (the example runs two seeds
    # and four methods)
    configs = _config(tmp_path, f"""experiment_dirs: [{EXAMPLE / "experiments"}]
plugins: {{python_path: [{EXAMPLE}]}}
overrides:
  tiny_bars: {{seeds: [0], methods: [filter_l2, filter_l2_ticktock]}}
""")
    result = snakemake(tmp_path, "--cores", "2", *configs)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert job_counts(result.stdout + result.stderr)["prune"] == 2
    results = tmp_path / "results" / "example"
    assert (results / "data" / "bars" / "bars.npz").is_file()  # the plug-in's prepare wrote its files
    for method in ("filter_l2", "filter_l2_ticktock"):
        evaluation = json.loads((results / "tiny_bars" / method / "0.4" / "seed0" / "finetune" / "evaluate" /
                                 "evaluate.json").read_text())
        assert evaluation["test_top1"] > 0.5  # 4 classes: the pruned tiny CNN learnt the bars
        assert 0.35 < 1 - evaluation["flops_reduction"] < 0.45  # kept FLOPs near the 0.4 target
    trace = pd.read_csv(results / "tiny_bars" / "filter_l2_ticktock" / "seed0" / "prune" / "trace.csv")
    assert (trace["phase"] == "tick").sum() > 1  # the criterion scored in every Tick, not once
    methods = pd.read_csv(results / "report" / "tables" / "tiny_bars_methods.csv")
    assert set(methods["method"]) == {"filter_l2", "filter_l2_ticktock"}


def _plugins_config(plugins: dict) -> dict:
    from gdbench.config import deep_merge, load_yaml

    config = deep_merge(load_yaml(REPO / "configs" / "config.yaml"), load_yaml(EXAMPLE / "plugins.yaml"))
    return {**config, "experiment_dirs": [str(EXAMPLE / "experiments")],
            "plugins": {"python_path": [str(EXAMPLE)], **plugins}}


@pytest.mark.reliability("bad config")
@pytest.mark.parametrize(
    "plugins, message",
    [
        ({"models": {"tiny_cnn": "no_such_module:tiny_cnn"}}, r"plugins\.models\.tiny_cnn: cannot import 'no_such_module'"),
        ({"criteria": {"filter_l2": "gdbench_example:filter_l3"}},
         r"plugins\.criteria\.filter_l2: module 'gdbench_example' \(.*gdbench_example\.py\) has no 'filter_l3'"),
        ({"datasets": {"bars": "gdbench_example:tiny_cnn"}}, r"plugins\.datasets\.bars: .* lacks num_classes, prepare, load"),
        ({"models": {"resnet56": "gdbench_example:tiny_cnn"}}, r"model 'resnet56' is built in; name the plug-in otherwise"),
        ({"models": {"tiny_cnn": "gdbench_example:tiny_cnn"}, "datasets": {"bars": "gdbench_example:bars"}},
         r"methods\.2: 'filter_l2' is not allowed"),  # a method of a criterion that is not declared
    ],
)
def test_a_bad_plugin_is_named(plugins, message):
    from gdbench.config import ConfigError
    from gdbench.run_config import resolve_run

    with pytest.raises(ConfigError, match=message):
        resolve_run(_plugins_config(plugins), REPO / "configs" / "experiments")


@pytest.mark.reliability("bad config")
def test_a_bad_plugin_stops_the_dag_before_any_job_without_a_traceback(tmp_path):
    configs = _config(tmp_path, f"""experiment_dirs: [{EXAMPLE / "experiments"}]
plugins: {{python_path: [{EXAMPLE}], models: {{tiny_cnn: "gdbench_example:tiny_cnm"}}}}
""")
    result = snakemake(tmp_path, "-n", "--cores", "2", *configs)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "plugins.models.tiny_cnn: module 'gdbench_example'" in result.stderr, result.stderr[-2000:]
    assert not (tmp_path / "results" / "example" / "config.json").exists()
