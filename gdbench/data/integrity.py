"""Dataset files: checksums, manifests, downloads and safe archive extraction.

Every prepared dataset folder holds `manifest.json` (file -> md5), written by `prepare` after
the official checksums matched, or by the synthetic-data writer. Loaders verify the files they
read against it, so a truncated or corrupted file is named before any training starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
import urllib.request
from pathlib import Path

MANIFEST = "manifest.json"


class DataError(RuntimeError):
    """A dataset file is missing, corrupted or malformed; the message names the file."""


def md5_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(root: Path, files: list[str], source: str) -> Path:
    entries = {name: md5_file(root / name) for name in files}
    path = root / MANIFEST
    path.write_text(json.dumps({"source": source, "md5": entries}, indent=2))
    return path


def verify_files(root: Path, files: list[str], hint: str) -> None:
    """Each of `files` exists and matches the manifest's md5; else DataError naming it."""
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise DataError(f"{manifest_path} is missing: {hint}")
    try:
        expected = json.loads(manifest_path.read_text())["md5"]
    except (ValueError, KeyError) as error:
        raise DataError(f"{manifest_path} is unreadable ({error}): {hint}") from error
    for name in files:
        path = root / name
        if not path.is_file():
            raise DataError(f"{path} is missing: {hint}")
        if name not in expected:
            raise DataError(f"{path} is not listed in {manifest_path}: {hint}")
        if md5_file(path) != expected[name]:
            raise DataError(f"{path} is corrupted (md5 differs from {manifest_path}): {hint}")


def download(url: str, target: Path, md5: str) -> Path:
    """Fetch `url` to `target` (atomically) unless a file with the right md5 is there."""
    if target.is_file() and md5_file(target) == md5:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        urllib.request.urlretrieve(url, tmp)  # noqa: S310 - fixed https addresses only
        if md5_file(Path(tmp)) != md5:
            raise DataError(f"{url}: downloaded file's md5 is not {md5}")
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def safe_extract(archive: Path, target: Path) -> None:
    """Extract a tar archive, refusing members that would land outside `target` or that are
    links pointing outside it, and device files."""
    target = target.resolve()
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            destination = (target / member.name).resolve()
            if not destination.is_relative_to(target):
                raise DataError(f"{archive}: member {member.name!r} escapes {target}")
            if member.issym() or member.islnk():
                link_base = destination.parent if member.issym() else target
                if not (link_base / member.linkname).resolve().is_relative_to(target):
                    raise DataError(f"{archive}: link {member.name!r} -> {member.linkname!r} points outside {target}")
            if member.isdev():
                raise DataError(f"{archive}: member {member.name!r} is a device file")
        # tarfile's own "data" filter adds a second line of defence where Python has it
        extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(target, **extra)
