"""Checkpoint files: atomic writes, safe loads.

A checkpoint is written to a temporary file in the same folder, flushed to disk, then renamed
over the target, so a reader never sees a half-written file and a failed write leaves the
previous checkpoint intact. Loads use `weights_only=True`: a checkpoint holds tensors, numbers,
strings and containers of them, never pickled code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch


def save_checkpoint(payload: dict, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as tmp:
            torch.save(payload, tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # truncated or foreign file: name it
        raise ValueError(f"cannot read checkpoint {path}: {error}") from error
