import copy
from pathlib import Path

import pytest

from gdbench.config import ConfigError, deep_merge, load_yaml, resolve
from gdbench.run_config import resolve_run

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = REPO / "configs" / "experiments"


@pytest.fixture()
def config():
    return load_yaml(REPO / "configs" / "config.yaml")


def test_default_config_is_the_paper_run(config):
    resolved = resolve(config, EXPERIMENTS)
    assert set(resolved["experiments"]) == {
        "resnet56_cifar10",
        "vgg16m_cifar100",
        "vgg16m_cub200",
        "resnet50_imagenet",
        "fcn8s_voc",
    }
    for name in ("resnet56_cifar10", "vgg16m_cifar100"):
        assert len(resolved["experiments"][name]["seeds"]) >= 3  # CIFAR: at least 3 seeds


def test_smoke_config_resolves(config):
    smoke = deep_merge(config, load_yaml(REPO / "configs" / "smoke.yaml"))
    resolved = resolve(smoke, EXPERIMENTS)
    assert resolved["synthetic_data"] and resolved["device"] == "cpu"


@pytest.mark.reliability("bad config")
@pytest.mark.parametrize(
    "override, message",
    [
        (
            {"prune": {"tick_fracton": 0.1}},
            r"prune: unknown key\(s\) 'tick_fracton'; allowed: .*prune_fraction_per_tick",
        ),
        ({"train": {"lr": -1}}, r"train\.lr: -1 is invalid"),
        (
            {"train": {"schedule": "linear"}},
            r"train\.schedule: 'linear' is not allowed; allowed: 'step', 'cosine', 'triangular'",
        ),
        ({"model": {"name": "resnet57"}}, r"model\.name: 'resnet57' is not allowed"),
        ({"data": {"dataset": "mnist"}}, r"data\.dataset: 'mnist' is not allowed"),
        ({"prune": {"target_flops_ratio": 1.5}}, r"prune\.target_flops_ratio: 1\.5 is invalid"),
        ({"seeds": []}, r"seeds: \[\] is invalid"),
        ({"prune": {"save_flops_ratios": [0.2]}}, r"every save point must be >= prune\.target_flops_ratio"),
        ({"finetune": {"lr_min": 0.1, "lr_max": 0.01}}, r"finetune\.lr_min must not exceed finetune\.lr_max"),
        ({"model": {"name": "fcn8s_vgg16"}}, r"does not fit data\.dataset 'cifar10'"),
        ({"train": {"lr": "0.1"}}, r"train\.lr: '0\.1' is invalid \('0\.1' is not of type 'number'\)"),
        ({"prune": {"tick_data_fraction": 0}}, r"prune\.tick_data_fraction: 0 is invalid"),
        ({"seeds": [0, 0]}, r"seeds: \[0, 0\] is invalid .*non-unique"),
        ({"gpus": -1}, r"gpus: -1 is invalid"),
        ({"scratch": ["scratch_x"]}, r"scratch\.0: 'scratch_x' is not allowed"),
        ({"model": {"kwargs": {"shortcut": "C"}}}, r"model\.kwargs\.shortcut: 'C' is not allowed"),
        ({"methods": ["l2_norm"]}, r"methods\.0: 'l2_norm' is not allowed"),
        (
            {"method_settings": {"network_slimming": {"sparsity_wieght": 1e-4}}},
            r"method_settings\.network_slimming: unknown key\(s\) 'sparsity_wieght'",
        ),
        ({"method_settings": {"network_slimming": {"sparsity_weight": -1}}}, r"sparsity_weight: -1 is invalid"),
        (
            {"prune": {"tock_lr_min": 0.1, "tock_lr_max": 0.01}},
            r"prune\.tock_lr_min must not exceed prune\.tock_lr_max",
        ),
        ({"data": {"batch_size": 0}}, r"data\.batch_size: 0 is invalid"),
        ({"prune": {"round_to": 0}}, r"prune\.round_to: 0 is invalid"),
        ({"cluster": {"runtime": {"prnue": 60}}}, r"cluster\.runtime: .*'prnue'"),
        ({"cluster": {"mem_mb": {"default": "16G"}}}, r"cluster\.mem_mb\.default: '16G' is invalid"),
        ({"data": {"train_per_clas": 10}}, r"data: unknown key\(s\) 'train_per_clas'"),
        ({"data": {"test_fraction": 1.5}}, r"data\.test_fraction: 1\.5 is invalid"),
        ({"scratch_methods": ["depgraph_matched"]}, r"scratch_methods \['depgraph_matched'\]: not in methods"),
        (
            {
                "expected": [
                    {
                        "stage": "finetune",
                        "target": 0.35,
                        "metric": "test_top1",
                        "value": 0.9,
                        "tolerance": 0.01,
                        "source": "x",
                    }
                ]
            },
            r"expected\.0\.target 0\.35 is not one of prune\.save_flops_ratios",
        ),
    ],
)
def test_bad_experiment_settings_name_the_key(config, override, message):
    bad = copy.deepcopy(config)
    bad["overrides"] = {"resnet56_cifar10": override}
    with pytest.raises(ConfigError, match=message) as error:
        resolve_run(bad, EXPERIMENTS)
    assert "resnet56_cifar10" in str(error.value)


@pytest.mark.reliability("bad config")
@pytest.mark.parametrize(
    "change, message",
    [
        ({"experimnts": ["resnet56_cifar10"]}, r"unknown key\(s\) 'experimnts'"),
        ({"device": "gpu"}, r"device: 'gpu' is invalid"),
        ({"methods": ["magic"]}, r"methods\.0: 'magic' is not allowed"),
        ({"experiments": ["resnet56_cifar100"]}, r"experiments\.0: 'resnet56_cifar100' is not allowed"),
        ({"synthetic_data": "yes"}, r"synthetic_data: 'yes' is invalid"),
        ({"mlflow": {"log_at": "end"}}, r"mlflow\.log_at: 'end' is not allowed"),
        ({"cluster": {"memory": {"default": 1}}}, r"cluster: unknown key\(s\) 'memory'"),
        (
            {"overrides": {"resnet56_cifar1O": {}}},
            r"overrides: 'resnet56_cifar1O' does not match|overrides: .*resnet56_cifar1O",
        ),
    ],
)
def test_bad_run_settings_name_the_key(config, change, message):
    with pytest.raises(ConfigError, match=message):
        resolve_run({**config, **change}, EXPERIMENTS)


@pytest.mark.reliability("bad config")
def test_a_compute_matched_method_without_gate_decorator_is_named(config):
    bad = {**config, "overrides": {"vgg16m_cub200": {"methods": ["l1_norm", "l1_norm_matched"]}}}
    with pytest.raises(ConfigError, match=r"vgg16m_cub200.*l1_norm_matched.*must include gate_decorator"):
        resolve(bad, EXPERIMENTS)


def test_a_compute_matched_method_prunes_with_its_method_s_settings(config):
    from gdbench.config import stage_settings

    both = {**config, "overrides": {"resnet56_cifar10": {"methods": ["gate_decorator", "network_slimming_matched"]}}}
    resolved = resolve(both, EXPERIMENTS)
    settings = stage_settings(resolved, "resnet56_cifar10", "prune", "network_slimming_matched")
    assert settings["method_settings"] == {"sparsity_weight": 1e-5}


def test_depgraph_runs_on_a_net_without_bn(config):
    """DepGraph scores the plain model (gdbench.pruning.methods.depgraph), so the FCN's gated
    convolutions are plain convolutions to torch-pruning: no config forbids the pair."""
    fcn = {**config, "overrides": {"fcn8s_voc": {"methods": ["gate_decorator", "depgraph"]}}}
    assert resolve(fcn, EXPERIMENTS)["experiments"]["fcn8s_voc"]["methods"] == ["gate_decorator", "depgraph"]


def test_overrides_of_unselected_experiments_are_ignored(config):
    selected = {**config, "experiments": ["resnet56_cifar10"], "overrides": {"fcn8s_voc": {"seeds": [5]}}}
    assert list(resolve(selected, EXPERIMENTS)["experiments"]) == ["resnet56_cifar10"]


@pytest.mark.reliability("bad config")
def test_missing_experiment_file_is_named(config, tmp_path):
    (tmp_path / "resnet20_cifar10.yaml").write_text((EXPERIMENTS / "resnet56_cifar10.yaml").read_text())
    message = r"experiments\.0: 'resnet56_cifar10' is not allowed: no .*resnet56_cifar10\.yaml; allowed: 'resnet20_"
    with pytest.raises(ConfigError, match=message):
        resolve(config, tmp_path)


@pytest.mark.reliability("bad config")
def test_missing_and_malformed_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.yaml: config file not found"):
        load_yaml(tmp_path / "nowhere.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: {lr: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml:2:1: not valid YAML"):  # file, line, column
        load_yaml(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"list\.yaml: must hold a mapping of keys, got list"):
        load_yaml(listed)


def test_overrides_merge_key_by_key():
    merged = deep_merge(
        {"train": {"lr": 0.1, "epochs": 160}, "seeds": [0, 1, 2]}, {"train": {"epochs": 2}, "seeds": [0]}
    )
    assert merged == {"train": {"lr": 0.1, "epochs": 2}, "seeds": [0]}


def test_schema_names_match_the_registries():
    """The schema's list of built-in models (whose arguments it checks key by key) and the
    catalog of method names (checked at DAG build without the pruning engine) must not drift
    from the code's registries."""
    from gdbench import catalog
    from gdbench.catalog import METHOD_NAMES, TICKTOCK_CRITERIA
    from gdbench.config import schema
    from gdbench.data.registry import _BUILT_IN as BUILT_IN_DATASETS
    from gdbench.data.registry import DATASETS
    from gdbench.models import _BUILT_IN
    from gdbench.pruning.methods import METHODS, TICK_CRITERIA

    assert set(catalog.MODEL_NAMES) == set(_BUILT_IN)
    assert catalog.DATASET_TASKS == {name: DATASETS[name].task for name in BUILT_IN_DATASETS}

    model = schema("experiment")["properties"]["model"]
    assert set(model["if"]["properties"]["name"]["enum"]) == set(_BUILT_IN)
    assert set(METHOD_NAMES) == set(METHODS) and len(METHOD_NAMES) == len(set(METHOD_NAMES))
    assert set(TICKTOCK_CRITERIA) == set(TICK_CRITERIA)


def test_any_experiment_file_is_an_experiment(config, tmp_path):
    """A new configs/experiments/<name>.yaml needs no edit of the package (names are checked
    against the files, not a list)."""
    text = (EXPERIMENTS / "resnet56_cifar10.yaml").read_text().replace("name: resnet56", "name: resnet20", 1)
    (tmp_path / "resnet20_cifar10.yaml").write_text(text)
    selected = {**config, "experiments": ["resnet20_cifar10"], "overrides": {"resnet20_cifar10": {"seeds": [4]}}}
    resolved = resolve_run(selected, tmp_path)
    assert resolved["experiments"]["resnet20_cifar10"]["model"]["name"] == "resnet20"
    assert resolved["experiments"]["resnet20_cifar10"]["seeds"] == [4]


@pytest.mark.reliability("bad config")
def test_an_override_of_an_experiment_that_does_not_exist_is_named(config):
    with pytest.raises(ConfigError, match=r"overrides\.resnet56_cifar11: 'resnet56_cifar11' is not allowed: no "):
        resolve(
            {**config, "experiments": ["resnet56_cifar10"], "overrides": {"resnet56_cifar11": {"seeds": [1]}}},
            EXPERIMENTS,
        )


def test_cluster_requests_layer_experiment_over_run_over_defaults_and_change_no_settings(config):
    from gdbench.config import CLUSTER_DEFAULTS, cluster_request, fingerprint, stage_settings, without_cluster

    run = {
        **config,
        "cluster": {"runtime": {"default": 60}, "mem_mb": {"prune": 4000}},
        "overrides": {"resnet56_cifar10": {"cluster": {"runtime": {"prune": 90}}}},
    }
    resolved = resolve_run(run, EXPERIMENTS)
    resnet56, vgg = resolved["experiments"]["resnet56_cifar10"], resolved["experiments"]["vgg16m_cifar100"]
    assert cluster_request(resnet56, "runtime", "prune") == 90  # the experiment's
    assert cluster_request(vgg, "runtime", "prune") == CLUSTER_DEFAULTS["runtime"]["prune"]  # the stage's default
    assert cluster_request(vgg, "runtime", "latency") == 60  # the run's default for stages not named
    assert cluster_request(vgg, "mem_mb", "prune") == 4000 and cluster_request(vgg, "mem_mb", "finetune") == 16000
    assert cluster_request(resolved, "runtime", "report") == 60  # the report: the run's own
    plain = resolve_run(config, EXPERIMENTS)
    for stage in ("train_baseline", "prune", "finetune", "scratch", "latency"):
        assert (
            stage_settings(resolved, "resnet56_cifar10", stage).fingerprint()
            == stage_settings(plain, "resnet56_cifar10", stage).fingerprint()
        )
    assert fingerprint(without_cluster(resolved)) == fingerprint(without_cluster(plain))
