"""Reference AWS Batch worker for mlcp's batch pipeline: one array child processes one shard of the items.

The shard contract (set by the batch pipeline in the container's environment):

    AWS_BATCH_JOB_ARRAY_INDEX  this child's index (absent for a single, non-array job: index 0)
    MLCP_ITEMS_PER_CHILD       k, items per shard
    MLCP_ITEM_COUNT            N, items in the run
    MLCP_MANIFEST_URI          s3:// JSON manifest: a list of item keys or {"items": [...]} (optional: without it the
                               items are the numbers 0..N-1)
    MLCP_MANIFEST_VERSION_ID   the manifest's S3 version id (an uploaded manifest that triggered the run: the worker
                               reads that version, not a newer upload; optional)
    MLCP_INDEX_MAP_URI         s3:// JSON list child index -> shard index (a shard retry; optional)
    MLCP_OUTPUT_URI            s3:// prefix; the child writes <prefix>shard-<shard>.jsonl
    MODEL_URI                  s3:// model.tar.gz of a registered model (optional; its mlcp-model.json is read)

Shard ``j`` holds items ``[j*k, min((j+1)*k, N))``. The worker is idempotent: a retried child overwrites its own
result object. Batch inference here is a stand-in: each item gets a deterministic score from the model's metadata
and the item key. Run it as ``python worker.py`` in the container (boto3 is the only dependency).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlparse


class Storage(Protocol):
    def read(self, uri: str, version_id: str | None = None) -> bytes: ...

    def write(self, uri: str, body: bytes) -> None: ...


class S3Storage:
    """The container's storage: S3 through boto3 (imported lazily so tests need no AWS)."""

    def __init__(self) -> None:
        import boto3  # noqa: PLC0415 - the container's only dependency

        self.s3 = boto3.client("s3")

    @staticmethod
    def _split(uri: str) -> tuple[str, str]:
        parsed = urlparse(uri)
        return parsed.netloc, parsed.path.lstrip("/")

    def read(self, uri: str, version_id: str | None = None) -> bytes:
        bucket, key = self._split(uri)
        if version_id:
            response = self.s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)
        else:
            response = self.s3.get_object(Bucket=bucket, Key=key)
        body: bytes = response["Body"].read()
        return body

    def write(self, uri: str, body: bytes) -> None:
        bucket, key = self._split(uri)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)


class ShardError(ValueError):
    """The environment does not describe a valid shard (the child exits 2: not worth a retry)."""


def _int(env: Mapping[str, str], name: str, default: int | None = None) -> int:
    raw = env.get(name)
    if raw is None:
        if default is None:
            raise ShardError(f"{name} is not set")
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ShardError(f"{name} must be an integer, got {raw!r}") from exc


def shard_of(env: Mapping[str, str], storage: Storage) -> tuple[int, range]:
    """(shard index, item positions) of this child, from the shard contract."""
    index = _int(env, "AWS_BATCH_JOB_ARRAY_INDEX", 0)
    per_child = _int(env, "MLCP_ITEMS_PER_CHILD")
    count = _int(env, "MLCP_ITEM_COUNT")
    if per_child < 1 or count < 1 or index < 0:
        raise ShardError("MLCP_ITEMS_PER_CHILD and MLCP_ITEM_COUNT must be >= 1, the index >= 0")
    shard = index
    if env.get("MLCP_INDEX_MAP_URI"):
        mapping = json.loads(storage.read(env["MLCP_INDEX_MAP_URI"]))
        if index >= len(mapping):
            raise ShardError(f"index {index} is beyond the index map ({len(mapping)} entries)")
        shard = int(mapping[index])
    start = shard * per_child
    if start >= count:
        raise ShardError(f"shard {shard} starts at item {start}, beyond the {count} items")
    return shard, range(start, min(start + per_child, count))


def item_keys(env: Mapping[str, str], storage: Storage, positions: range) -> list[str]:
    if not env.get("MLCP_MANIFEST_URI"):
        return [str(i) for i in positions]
    document = json.loads(storage.read(env["MLCP_MANIFEST_URI"], env.get("MLCP_MANIFEST_VERSION_ID") or None))
    items: Sequence[Any] = document["items"] if isinstance(document, dict) else document
    return [str(items[i]) for i in positions if i < len(items)]


def load_model(env: Mapping[str, str], storage: Storage) -> dict[str, Any]:
    """The registered model's metadata (mlcp-model.json inside model.tar.gz), or a stand-in without MODEL_URI."""
    if not env.get("MODEL_URI"):
        return {"job": "none", "objective": None}
    with tarfile.open(fileobj=io.BytesIO(storage.read(env["MODEL_URI"])), mode="r:gz") as archive:
        member = archive.extractfile("mlcp-model.json")
        if member is None:
            raise ShardError(f"{env['MODEL_URI']} has no mlcp-model.json")
        meta: dict[str, Any] = json.loads(member.read())
        return meta


def predict(model: Mapping[str, Any], key: str) -> float:
    """A deterministic stand-in for inference: a score in [0, 1) from the model identity and the item."""
    digest = hashlib.sha256(f"{model.get('job')}|{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def run(env: Mapping[str, str], storage: Storage, clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """Process this child's shard and write its results; returns a summary (also printed as the last log line)."""
    started = clock()
    shard, positions = shard_of(env, storage)
    keys = item_keys(env, storage, positions)
    model = load_model(env, storage)
    lines = [json.dumps({"item": key, "score": round(predict(model, key), 6)}) for key in keys]
    output = env.get("MLCP_OUTPUT_URI", "").rstrip("/")
    if not output:
        raise ShardError("MLCP_OUTPUT_URI is not set")
    result_uri = f"{output}/shard-{shard:05d}.jsonl"
    storage.write(result_uri, ("\n".join(lines) + "\n").encode())
    return {"shard": shard, "items": len(keys), "result": result_uri, "seconds": round(clock() - started, 3)}


def main() -> int:
    try:
        summary = run(os.environ, S3Storage())
    except ShardError as exc:
        print(json.dumps({"error": str(exc)}), file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
