"""Packaging a script-mode ``source_dir`` (client side only): a deterministic, content-addressed
``sourcedir.tar.gz``, as SageMaker's framework containers expect it.

The layout is the SageMaker Python SDK's (``sagemaker.fw_utils.tar_and_upload_dir``): the directory's files at the
tar's root, so ``entry_point`` is a path from the root (the training toolkit extracts the archive and runs
``sagemaker_program`` from there). Unlike the SDK's archive, this one is byte-for-byte reproducible: entries sorted,
mtime 0, uid/gid 0 with no owner names, modes 0644/0755, a gzip header with mtime 0 and no file name. So the same
code gives the same sha256 and the same key, ``code/<pipeline>/<sha256>/sourcedir.tar.gz``: a spec sent again
uploads nothing, and a running job's code never changes under it.

Left out: ``__pycache__`` directories, ``*.pyc`` files and ``.git`` (they change without the code changing).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from mlcp.training.script_mode import CODE_PREFIX, SOURCEDIR_NAME

SKIPPED_DIRS = frozenset({"__pycache__", ".git"})
SKIPPED_SUFFIXES = (".pyc",)
MAX_SOURCE_BYTES = 512 * 1024 * 1024  # a sanity cap (the tar is built in memory); SageMaker itself sets none


class SourceDirInvalid(ValueError):
    """source_dir cannot be packaged: (spec field, message)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class SourceArchive:
    """A packaged source_dir: the tar.gz bytes, their sha256 and the names it holds (sorted)."""

    data: bytes
    sha256: str
    names: tuple[str, ...]

    def key(self, pipeline: str) -> str:
        """``code/<pipeline>/<sha256>/sourcedir.tar.gz``"""
        return f"{CODE_PREFIX}{pipeline}/{self.sha256}/{SOURCEDIR_NAME}"

    def uri(self, bucket: str, pipeline: str) -> str:
        return f"s3://{bucket}/{self.key(pipeline)}"


def _files(root: Path, field: str) -> list[tuple[str, Path]]:
    """(archive name, path) of every file under root, sorted by name; symlinks must stay inside root."""
    found: list[tuple[str, Path]] = []
    real_root = root.resolve()
    for directory, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in files:
            if name.endswith(SKIPPED_SUFFIXES):
                continue
            path = Path(directory) / name
            target = path.resolve()
            if not target.is_relative_to(real_root):
                raise SourceDirInvalid(field, f"{path} links outside source_dir ({target}); copy the file in")
            if target.is_file():
                found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


def _shown(source_dir: Path, given: str | None) -> str:
    """``source_dir <as the spec wrote it>`` (plus the directory it was read from when that differs)."""
    if given is None or Path(given) == source_dir:
        return f"source_dir {given or source_dir}"
    return f"source_dir {given} ({source_dir})"


def package(
    source_dir: Path, *, entry_point: str, requirements: str | None, field: str, given: str | None = None
) -> SourceArchive:
    """Pack ``source_dir`` (``field`` names it in errors, ``given``: the path as the spec wrote it); raise
    SourceDirInvalid when it is not a directory or lacks ``entry_point`` / ``requirements`` (fields next to
    ``field``), e.g. ``tuning.training.entry_point: train.py is not a file in source_dir ./src``."""
    shown = _shown(source_dir, given)
    if not source_dir.is_dir():
        raise SourceDirInvalid(field, f"{shown} is not a directory (a relative source_dir is read from the "
                               "spec file's directory)")  # fmt: skip
    files = _files(source_dir, field)
    names = {name for name, _ in files}
    parent = field.rsplit(".", 1)[0]
    if entry_point not in names:
        raise SourceDirInvalid(f"{parent}.entry_point", f"{entry_point} is not a file in {shown}")
    if requirements is not None and requirements not in names:
        raise SourceDirInvalid(f"{parent}.requirements", f"{requirements} is not a file in {shown}")
    total = sum(path.stat().st_size for _, path in files)
    if total > MAX_SOURCE_BYTES:
        raise SourceDirInvalid(
            field, f"{source_dir} holds {total} bytes; at most {MAX_SOURCE_BYTES} (put data in a channel, not code)"
        )
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in files:
            info = tarfile.TarInfo(name)
            data = path.read_bytes()
            info.size = len(data)
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    data = compressed.getvalue()
    return SourceArchive(data=data, sha256=hashlib.sha256(data).hexdigest(), names=tuple(sorted(names)))
