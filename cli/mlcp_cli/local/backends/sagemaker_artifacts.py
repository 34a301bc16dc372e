"""What a SageMaker job writes when it completes.

A completed training job writes ``<S3OutputPath>/<job>/output/model.tar.gz``: a real gzip'd tar holding
``mlcp-model.json`` (job, hyperparameters, metrics, objective) and ``model.bin`` (pseudo-random bytes, so the
archive's size tracks the payload; see :mod:`.landscape` and :mod:`.sagemaker_compression` for the payload sizes).
A compilation job writes its artifact the same way and reports its digest. Processing jobs write
``part-00000.csv`` under each ``ProcessingOutput`` S3 URI. A missing output bucket makes the job fail when it
uploads.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from typing import Any, Final

from mlcp_cli.local.backends.randomness import rng
from mlcp_cli.local.backends.storage import join_s3, write_s3
from mlcp_cli.local.backends.timelines import Job

_METADATA_FILE: Final = "mlcp-model.json"


def model_blob(meta: Mapping[str, Any], payload: int, seed: str) -> bytes:
    """A real model.tar.gz: metadata + ``payload`` incompressible bytes (so its size tracks ``payload``)."""
    raw = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        for name, data in (
            (_METADATA_FILE, json.dumps(meta, sort_keys=True, indent=1).encode()),
            ("model.bin", rng(seed, "payload").randbytes(payload)),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def read_meta(blob: bytes) -> dict[str, Any] | None:
    """The metadata of a model.tar.gz this backend wrote (None for any other blob)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            member = tar.extractfile(_METADATA_FILE)
            if member is None:
                return None
            meta = json.loads(member.read())
    except (tarfile.TarError, OSError, KeyError, ValueError, EOFError):
        return None
    return meta if isinstance(meta, dict) else None


def _csv_blob(seed: str, rows: int = 200) -> bytes:
    generator = rng(seed, "csv")
    lines = ["label,f1,f2,f3,f4,f5"]
    for _ in range(rows):
        lines.append(",".join([str(generator.randint(0, 1)), *(f"{generator.gauss(0, 1):.5f}" for _ in range(5))]))
    return ("\n".join(lines) + "\n").encode()


def _write_processing_outputs(job: Job) -> str | None:
    outputs = (job.fake.processing_output_config or {}).get("Outputs") or []
    for output in outputs:
        uri = (output.get("S3Output") or {}).get("S3Uri")
        if uri:
            blob = _csv_blob(f"{job.name}/{output.get('OutputName')}")
            error = write_s3(job.backend, join_s3(uri, "part-00000.csv"), blob)
            if error is not None:
                return error
    return None


def _model_meta(job: Job) -> dict[str, Any]:
    objective = job.outcome.objective
    return {
        "mlcp_local": 1,
        "job": job.name,
        "kind": job.kind,
        "metrics": job.outcome.metrics,
        "objective": None if objective is None else dict(zip(("MetricName", "Type", "Value"), objective, strict=True)),
        "payload_bytes": job.outcome.payload,
        **job.outcome.meta,
    }


def _write_files(job: Job, files: Mapping[str, bytes]) -> str | None:
    """A script job's real outputs (:mod:`.script_jobs`); the model artifact's size is recorded."""
    for uri, blob in files.items():
        error = write_s3(job.backend, uri, blob)
        if error is not None:
            return error
        if uri == job.outcome.artifact_uri:
            job.artifact_bytes = len(blob)
    return None


def finalize(job: Job) -> str | None:
    """Write the outputs of a job that just completed; a failure reason if that is impossible."""
    if job.outcome.files is not None:
        return _write_files(job, job.outcome.files)
    if job.kind == "processing":
        return _write_processing_outputs(job)
    uri = job.outcome.artifact_uri
    if uri is None:
        return None
    blob = model_blob(_model_meta(job), job.outcome.payload, job.name)
    error = write_s3(job.backend, uri, blob)
    if error is None:
        job.artifact_bytes = len(blob)
        if job.kind == "compilation":
            job.fake.model_digests = {"ArtifactDigest": hashlib.sha256(blob).hexdigest()}
    return error
