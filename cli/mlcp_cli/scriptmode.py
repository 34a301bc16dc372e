"""Script mode on the client side: what the CLI does to a spec before it validates or sends it.

For each stage with ``framework`` (``tuning.training``, ``compression``, ``augment``):

1. a local ``source_dir`` (relative to the spec file's directory) is packaged (mlcp_cli.sourcedir) and uploaded to
   ``s3://<artifact bucket>/code/<pipeline>/<sha256>/sourcedir.tar.gz`` unless that object exists already;
   ``source_dir`` becomes that URI;
2. for ``augment``, the FrameworkProcessor's ``runproc.sh`` (mlcp.training.script_mode.runproc_script) is uploaded
   next to it, where the processing request points (``runproc_uri``);
3. without ``image_uri``, the framework image is resolved for the stack's region (mlcp_cli.images).

Without an S3 client (``mlcp spec validate`` / ``plan``) nothing is uploaded: the URIs are computed the same way,
so the checked requests are the ones a deployed run sends.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from mlcp.errors import FieldError, SpecInvalid
from mlcp.training.preflight import script_stages
from mlcp.training.script_mode import ScriptMode, is_s3_source, runproc_script, runproc_uri
from mlcp.training.spec import PipelineSpec
from mlcp_cli.images import retrieve_framework_image
from mlcp_cli.sourcedir import SourceDirInvalid, package


@dataclass
class CodeTarget:
    """Where packaged code goes: the stack's artifact bucket and region; ``s3`` (a boto3 S3 client) uploads,
    None only computes the URIs."""

    bucket: str
    region: str
    s3: Any | None = None
    log: TextIO = field(default_factory=lambda: sys.stderr)
    sent: set[str] = field(default_factory=set)  # URIs already uploaded or found by this target


def _holder(document: dict[str, Any], where: str) -> dict[str, Any]:
    holder: dict[str, Any] = document
    for part in where.split("."):
        holder = holder[part]
    return holder


def _exists(s3: Any, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError  # noqa: PLC0415 - only when uploading

    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def _upload(target: CodeTarget, uri: str, data: bytes, content_type: str) -> str:
    """PutObject ``uri`` unless it exists (content-addressed: same key, same bytes)."""
    if target.s3 is None or uri in target.sent:
        return uri
    target.sent.add(uri)
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    if _exists(target.s3, bucket, key):
        print(f"unchanged {uri} (already uploaded)", file=target.log)
        return uri
    target.s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    print(f"uploaded {uri} ({len(data)} bytes)", file=target.log)
    return uri


def _package_stage(
    holder: dict[str, Any], stage: ScriptMode, where: str, *, name: str, base_dir: Path, target: CodeTarget
) -> str:
    if is_s3_source(stage.source_dir):
        return str(stage.source_dir)
    source = Path(str(stage.source_dir))
    directory = source if source.is_absolute() else base_dir / source
    archive = package(
        directory, entry_point=str(stage.entry_point), requirements=stage.requirements, field=f"{where}.source_dir"
    )
    uri = _upload(target, archive.uri(target.bucket, name), archive.data, "application/gzip")
    holder["source_dir"] = uri
    return uri


def prepare_document(
    document: dict[str, Any], spec: PipelineSpec, *, base_dir: Path, target: CodeTarget, source: str
) -> list[str]:
    """Package, upload and resolve every script-mode stage of ``document`` in place; return what changed as
    ``field: value`` lines. Raises SpecInvalid (field-level: a missing entry point, an unsupported framework
    version), ImageResolutionUnavailable, botocore errors of the upload."""
    changed: list[str] = []
    for where, stage in script_stages(spec):
        holder = _holder(document, where)
        try:
            uri = _package_stage(holder, stage, where, name=spec.name, base_dir=base_dir, target=target)
        except SourceDirInvalid as exc:
            raise SpecInvalid(source, [FieldError(exc.field, exc.message)]) from exc
        if uri != stage.source_dir:
            changed.append(f"{where}.source_dir: {uri}")
        if where == "augment" and stage.entry_point is not None:
            script = runproc_script(stage.entry_point, stage.requirements)
            runproc = runproc_uri(uri, stage.entry_point, stage.requirements)
            _upload(target, runproc, script.encode(), "text/x-shellscript")
        if stage.image_uri is None:
            image = retrieve_framework_image(
                framework=str(stage.framework),
                version=str(stage.framework_version),
                py_version=stage.py_version,
                instance_type=str(getattr(stage, "instance_type", "ml.m5.xlarge")),
                region=target.region,
                where=where,
                source=source,
            )
            holder["image_uri"] = image
            changed.append(f"{where}.image_uri: {image}")
    return changed


def needs_preparation(spec: PipelineSpec) -> bool:
    return any(not is_s3_source(s.source_dir) or s.image_uri is None for _, s in script_stages(spec))
