import subprocess
import sys


def _gdbench(*args):
    return subprocess.run([sys.executable, "-m", "gdbench.cli", *args], capture_output=True, text=True)


def test_help_lists_the_subcommands():
    result = _gdbench("--help")
    assert result.returncode == 0
    for command in ("flops", "bench"):
        assert command in result.stdout
    bench = _gdbench("bench", "--help")
    assert "prune-step" in bench.stdout and "tick-overhead" in bench.stdout


def test_flops_command_prints_the_count():
    result = _gdbench("flops", "resnet56", "--convention", "thop")
    assert result.returncode == 0, result.stderr
    assert "127.931 M FLOPs (thop)" in result.stdout


def test_unknown_model_is_a_usage_error_without_traceback():
    result = _gdbench("flops", "resnet57")
    assert result.returncode == 2
    assert "invalid choice: 'resnet57'" in result.stderr
    assert "Traceback" not in result.stderr


def test_bench_prune_step_reports_both_sides(tmp_path):
    out = tmp_path / "bench.json"
    result = _gdbench("bench", "prune-step", "--model", "resnet20", "--steps", "2", "--json", str(out))
    assert result.returncode == 0, result.stderr
    import json

    data = json.loads(out.read_text())
    assert data["gate_decorator_step"] > 0 and data["torch_pruning_step"] > 0
    assert data["ratio_gate_decorator_to_torch_pruning"] == data["gate_decorator_step"] / data["torch_pruning_step"]


def test_prepare_of_manual_dataset_says_where_to_place_it(tmp_path):
    result = _gdbench("data", "prepare", "--dataset", "voc_seg11valid", "--root", str(tmp_path))
    assert result.returncode == 2
    assert "seg11valid.txt is missing: place VOC 2011" in result.stderr
    assert "Traceback" not in result.stderr


def test_data_synth_then_missing_dataset_error_names_the_file(tmp_path):
    result = _gdbench("data", "synth", "--dataset", "cifar10", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cifar-10-batches-py" / "data_batch_5").is_file()
    (tmp_path / "cifar-10-batches-py" / "manifest.json").unlink()
    import pytest

    from gdbench.data.cifar import load_cifar
    from gdbench.data.integrity import DataError

    with pytest.raises(DataError, match="manifest.json is missing"):
        load_cifar(tmp_path, "cifar10", "train")


def test_version_defaults_and_a_misspelled_flag_speak_for_the_subcommand(capsys):
    import pytest

    from gdbench.cli import build_parser, main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("gdbench ")
    with pytest.raises(SystemExit) as exit_:
        main(["flops", "resnet20", "--conventoin", "thop"])
    error = capsys.readouterr().err
    assert exit_.value.code == 2
    assert error.startswith("usage: gdbench flops") and "unrecognized arguments: --conventoin thop" in error
    train = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert "(default: 160)" in train and "(default: 0.1)" in train  # --epochs, --lr


def test_ui_refuses_a_folder_without_a_store(tmp_path, capsys, monkeypatch):
    from gdbench.cli import main

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["ui", "--results", str(tmp_path)]) == 2
    assert f"no MLflow store at {tmp_path / 'mlflow.db'}" in capsys.readouterr().err


def test_train_takes_the_number_of_classes_from_the_dataset(tmp_path, monkeypatch):
    import pytest

    from gdbench import stages
    from gdbench.cli import main

    def stop(run, *args, **kwargs):
        raise RuntimeError(run.spec["model"]["kwargs"])

    monkeypatch.setattr(stages, "train_baseline", stop)
    with pytest.raises(RuntimeError, match="'num_classes': 100"):
        main(
            [
                "train",
                "--model",
                "resnet20",
                "--dataset",
                "cifar100",
                "--data-root",
                str(tmp_path),
                "--out",
                str(tmp_path),
            ]
        )
