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
    MODEL_URI                  s3:// model.tar.gz of a registered model (optional)

Shard ``j`` holds items ``[j*k, min((j+1)*k, N))``. The worker is idempotent: a retried child overwrites its own
result object, one JSON line per scored item: ``{"item": ..., "score": ...}`` (+ ``"label"`` when the data has one).

Two kinds of model:

- weights: model.tar.gz holds ``model.npz`` + ``model.json`` (examples/pipelines/breast-cancer: a one-hidden-layer
  perceptron, stored float32, int8 with a per-matrix scale, or pruned as bitmask + kept values). Each item is a
  row of a CSV file in S3, ``s3://bucket/key.csv#<row>`` (row 0 = the first line after the header; ``#`` omitted:
  every row of the file). A header whose first column is ``label`` marks that column as the label; the other
  columns are the model's features. The worker scores the rows with NumPy and writes the probability of label 1.
- no weights (``mlcp-model.json`` only, or no MODEL_URI): a deterministic stand-in score from the model's identity
  and the item key, for any kind of item.

A bad shard, item or model exits 2 (not worth a retry) with the reason on stderr. Run it as ``python worker.py`` in
the container: boto3, and NumPy for a model with weights (examples/batch/requirements.txt).
"""

from __future__ import annotations

import csv
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


WEIGHTS, META, STAND_IN = "model.npz", "model.json", "mlcp-model.json"


def _members(archive: tarfile.TarFile) -> dict[str, bytes]:
    """The files at the archive's root (``./`` prefix or not), by name."""
    files: dict[str, bytes] = {}
    for member in archive.getmembers():
        name = member.name[2:] if member.name.startswith("./") else member.name
        handle = archive.extractfile(member) if member.isfile() and "/" not in name else None
        if handle is not None:
            files[name] = handle.read()
    return files


def load_model(env: Mapping[str, str], storage: Storage) -> dict[str, Any]:
    """The registered model: its metadata, plus dense float32 ``weights`` when model.tar.gz holds model.npz and
    model.json; a stand-in without MODEL_URI. Raises ShardError for an archive holding neither kind of model."""
    if not env.get("MODEL_URI"):
        return {"job": "none", "objective": None}
    uri = env["MODEL_URI"]
    try:
        with tarfile.open(fileobj=io.BytesIO(storage.read(uri)), mode="r:gz") as archive:
            files = _members(archive)
    except tarfile.TarError as exc:
        raise ShardError(f"{uri} is not a gzipped tar archive: {exc}") from exc
    if WEIGHTS in files and META in files:
        meta: dict[str, Any] = json.loads(files[META])
        return {"job": uri, **meta, "weights": dense_weights(files[WEIGHTS], str(meta.get("format", "float32")))}
    if STAND_IN not in files:
        raise ShardError(f"{uri} has neither {WEIGHTS} + {META} nor {STAND_IN}")
    stand_in: dict[str, Any] = json.loads(files[STAND_IN])
    return stand_in


def dense_weights(npz: bytes, storage: str) -> dict[str, Any]:
    """float32 arrays from model.npz as stored: float32, int8 (``q_W`` x ``scale_W``) or pruned (``mask_W`` bits
    over ``shape_W``, ``kept_W`` values) - the format of examples/pipelines/breast-cancer/src/mlp.py."""
    import numpy as np  # noqa: PLC0415 - only a model with weights needs NumPy

    with np.load(io.BytesIO(npz)) as archive:
        arrays = {name: archive[name] for name in archive.files}
    out = {k: v for k, v in arrays.items() if not k.startswith(("q_", "scale_", "mask_", "kept_", "shape_"))}
    for name in ("W0", "W1"):
        if storage == "int8":
            out[name] = arrays["q_" + name].astype(np.float32) * arrays["scale_" + name]
        elif storage == "pruned":
            shape = tuple(int(n) for n in arrays["shape_" + name])
            mask = np.unpackbits(arrays["mask_" + name])[: int(np.prod(shape))].astype(bool)
            flat = np.zeros(mask.size, dtype=np.float32)
            flat[mask] = arrays["kept_" + name]
            out[name] = flat.reshape(shape)
    missing = {"mean", "scale", "W0", "b0", "W1", "b1"} - set(out)
    if missing:
        raise ShardError(f"{WEIGHTS} ({storage}) lacks {', '.join(sorted(missing))}")
    return out


def probabilities(weights: Mapping[str, Any], features: Sequence[Sequence[float]]) -> list[float]:
    """P(label = 1) of each row of raw features: standardise, ReLU hidden layer, sigmoid output."""
    import numpy as np  # noqa: PLC0415

    x = (np.asarray(features, dtype=np.float32) - weights["mean"]) / weights["scale"]
    hidden = np.maximum(x @ weights["W0"] + weights["b0"], 0.0)
    logits = np.clip(hidden @ weights["W1"] + weights["b1"], -30.0, 30.0)
    return [float(p) for p in 1.0 / (1.0 + np.exp(-logits[:, 0]))]


def _table(uri: str, storage: Storage) -> tuple[bool, list[list[str]]]:
    """(has a label column, data rows) of a CSV file with a header row."""
    rows = [row for row in csv.reader(io.StringIO(storage.read(uri).decode())) if row]
    if not rows:
        raise ShardError(f"{uri} is empty (a header row is expected)")
    return rows[0][0].strip().lower() == "label", rows[1:]


def _row(key: str, table: tuple[bool, list[list[str]]], position: int, width: int) -> tuple[list[float], float | None]:
    """(features, label or None) of data row ``position`` of a CSV table."""
    labelled, rows = table
    if position >= len(rows):
        raise ShardError(f"item {key!r}: the file has {len(rows)} rows")
    values = rows[position][1:] if labelled else rows[position]
    if len(values) != width:
        raise ShardError(f"item {key!r}: {len(values)} features, the model takes {width}")
    try:
        return [float(v) for v in values], float(rows[position][0]) if labelled else None
    except ValueError as exc:
        raise ShardError(f"item {key!r}: {exc}") from exc


def score_rows(model: Mapping[str, Any], keys: Sequence[str], storage: Storage) -> list[dict[str, Any]]:
    """Score the CSV rows ``keys`` (``s3://bucket/key.csv#<row>``, module docstring) with the model's weights."""
    weights = model["weights"]
    width = int(weights["mean"].shape[0])
    tables: dict[str, tuple[bool, list[list[str]]]] = {}
    records: list[dict[str, Any]] = []
    features: list[list[float]] = []
    for key in keys:
        uri, _, row = key.partition("#")
        if not uri.startswith("s3://") or not uri.endswith(".csv") or not (row.isdigit() or row == ""):
            raise ShardError(
                f"item {key!r} is not a CSV row (s3://bucket/key.csv#<row>), as a model with weights needs"
            )
        if uri not in tables:
            tables[uri] = _table(uri, storage)
        for position in range(len(tables[uri][1])) if row == "" else [int(row)]:
            values, label = _row(key, tables[uri], position, width)
            features.append(values)
            record: dict[str, Any] = {"item": key if row else f"{uri}#{position}"}
            if label is not None:
                record["label"] = int(label) if label.is_integer() else label
            records.append(record)
    scores = probabilities(weights, features) if features else []
    return [{**record, "score": round(score, 6)} for record, score in zip(records, scores, strict=True)]


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
    if "weights" in model:
        results = score_rows(model, keys, storage)
    else:
        results = [{"item": key, "score": round(predict(model, key), 6)} for key in keys]
    lines = [json.dumps(result) for result in results]
    output = env.get("MLCP_OUTPUT_URI", "").rstrip("/")
    if not output:
        raise ShardError("MLCP_OUTPUT_URI is not set")
    result_uri = f"{output}/shard-{shard:05d}.jsonl"
    storage.write(result_uri, ("\n".join(lines) + "\n").encode())
    summary = {"shard": shard, "items": len(keys), "result": result_uri, "seconds": round(clock() - started, 3)}
    return {**summary, "rows": len(results)} if "weights" in model else summary


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
