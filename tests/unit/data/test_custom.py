"""A dataset plug-in (gdbench.data.custom): what its prepare wrote is checked before every load."""

import sys
from pathlib import Path

import pytest

from gdbench.data import registry
from gdbench.data.integrity import DataError
from gdbench.data.loaders import LoaderConfig

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def bars(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "examples"))
    import gdbench_example

    registry.register_dataset("bars_test", gdbench_example.bars)
    registry.prepare("bars_test", tmp_path)
    yield tmp_path, LoaderConfig(dataset="bars_test", root=str(tmp_path), batch_size=16, workers=0, val_size=40)
    registry.DATASETS.pop("bars_test", None)
    sys.modules.pop("gdbench_example", None)


def test_a_prepared_plugin_dataset_loads_from_its_verified_files(bars):
    root, config = bars
    assert (root / "bars_test" / "manifest.json").is_file()
    batches = registry.build_loaders(config)
    images, labels = next(iter(batches["train"]))
    assert images.shape[0] == 16 and not labels.dtype.is_floating_point


@pytest.mark.reliability("bad data")
def test_a_plugin_dataset_file_changed_after_preparation_is_named(bars):
    root, config = bars
    data = root / "bars_test" / "bars.npz"
    data.write_bytes(data.read_bytes()[:-100])  # truncated
    with pytest.raises(DataError, match=r"bars\.npz is corrupted .*prepare_data"):
        registry.build_loaders(config)
