import warnings

import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch-pruning's tracing chatter
        yield


@pytest.fixture(autouse=True)
def _no_ambient_tracking_server(monkeypatch):
    """Tests use their own stores: an MLFLOW_TRACKING_URI in the environment would redirect them."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
