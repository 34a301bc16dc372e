"""Script mode on the client side: what the CLI does to a spec before it validates or sends it.

For each stage with ``framework`` (``tuning.training``, ``compression``, ``augment``):

1. a local ``source_dir`` (relative to the spec file's directory) is packaged (mlcp_cli.sourcedir) and uploaded to
   ``s3://<artifact bucket>/code/<pipeline>/<sha256>/sourcedir.tar.gz`` unless that object exists already;
   ``source_dir`` becomes that URI;
2. for ``augment``, the FrameworkProcessor's ``runproc.sh`` (mlcp.training.script_mode.runproc_script) is uploaded
   next to it, where the processing request points (``runproc_uri``);
3. without ``image_uri``, the framework image is resolved for the stack's region (mlcp_cli.images).

Without an S3 client (``mlcp spec validate`` / ``plan``, ``mlcp spec package --dry-run``) nothing is uploaded: the
URIs are computed the same way, so the checked requests are the ones a deployed run sends. With one, a stage whose
``source_dir`` is already an S3 URI is checked to exist (HeadObject; :func:`missing_code`), so a spec naming code
that was never uploaded (a dry run's output) is refused before it registers.

An explicit ``image_uri`` wins over ``framework`` (the SDK's Framework estimators: "If specified, the estimator will
use this image for training and hosting, instead of selecting the appropriate SageMaker official image based on
framework_version and py_version", sagemaker-python-sdk v2 ``src/sagemaker/sklearn/estimator.py``,
https://sagemaker.readthedocs.io/en/stable/frameworks/sklearn/sagemaker.sklearn.html); when it is not the
framework's image (another repository, tag or Region), :func:`image_warnings` says so, one line per stage.
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
from mlcp_cli.imagecache import ImageCache
from mlcp_cli.images import ImageResolutionUnavailable, disagreement, retrieve_framework_image
from mlcp_cli.sourcedir import SourceDirInvalid, package


@dataclass
class CodeTarget:
    """Where packaged code goes: the stack's artifact bucket and region; ``s3`` (a boto3 S3 client) uploads,
    None only computes the URIs (``dry_run``: and logs what it would upload)."""

    bucket: str
    region: str
    s3: Any | None = None
    dry_run: bool = False
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
        if target.dry_run and uri not in target.sent:
            print(f"not uploaded (dry run): {uri} ({len(data)} bytes)", file=target.log)
        target.sent.add(uri)
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
        directory,
        entry_point=str(stage.entry_point),
        requirements=stage.requirements,
        field=f"{where}.source_dir",
        given=str(stage.source_dir),
    )
    uri = _upload(target, archive.uri(target.bucket, name), archive.data, "application/gzip")
    holder["source_dir"] = uri
    return uri


def prepare_document(
    document: dict[str, Any],
    spec: PipelineSpec,
    *,
    base_dir: Path,
    target: CodeTarget,
    source: str,
    cache: ImageCache | None = None,
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
                cache=cache,
            )
            holder["image_uri"] = image
            changed.append(f"{where}.image_uri: {image}")
    return changed


def needs_preparation(spec: PipelineSpec) -> bool:
    return any(not is_s3_source(s.source_dir) or s.image_uri is None for _, s in script_stages(spec))


def image_warnings(
    spec: PipelineSpec, region: str, cache: ImageCache | None = None, *, only: set[str] | None = None
) -> list[str]:
    """One line per script-mode stage (of ``only``, the spec fields, if given) whose explicit ``image_uri`` is not
    its framework's image for ``region`` (the field and both values). Without the SDK, or for a version it does not
    know, only the Region is compared."""
    found = []
    for where, stage in script_stages(spec):
        if stage.image_uri is None or (only is not None and where not in only):
            continue
        try:
            expected: str | None = retrieve_framework_image(
                framework=str(stage.framework),
                version=str(stage.framework_version),
                py_version=stage.py_version,
                instance_type=str(getattr(stage, "instance_type", "ml.m5.xlarge")),
                region=region,
                where=where,
                source="",
                cache=cache,
            )
        except (SpecInvalid, ImageResolutionUnavailable):
            expected = None
        reason = disagreement(stage.image_uri, expected, region)
        if reason is not None:
            framework = f"{stage.framework} {stage.framework_version}"
            wanted = f" ({expected})" if expected else ""
            found.append(
                f"warning: {where}.image_uri {stage.image_uri} is not the image of framework {framework}{wanted}: "
                f"{reason}; image_uri is used (it overrides framework, as in the SageMaker SDK)"
            )
    return found


def missing_code(spec: PipelineSpec, target: CodeTarget, source: str) -> None:
    """HeadObject every S3 ``source_dir`` (and augment's runproc.sh) this target did not upload itself; raise
    SpecInvalid naming the field when one is not there (a spec from `mlcp spec package --dry-run`, or code since
    deleted). An object the caller may not read (403) is not judged: the service's role may still read it."""
    errors = []
    for where, stage in script_stages(spec):
        uris = [(f"{where}.source_dir", str(stage.source_dir))] if is_s3_source(stage.source_dir) else []
        if uris and where == "augment" and stage.entry_point is not None:
            runproc = runproc_uri(str(stage.source_dir), stage.entry_point, stage.requirements)
            uris.append((f"{where}.source_dir", runproc))
        for field_name, uri in uris:
            if uri in target.sent or target.s3 is None:
                continue
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            if _readable_absent(target.s3, bucket, key):
                errors.append(FieldError(field_name, f"{uri} does not exist: {NOT_UPLOADED}"))
            else:
                target.sent.add(uri)
    if errors:
        raise SpecInvalid(source, errors)


NOT_UPLOADED = (
    "the code was never uploaded (a spec written by `mlcp spec package --dry-run`?) or was deleted; give the local "
    "source_dir and send the spec with `mlcp pipelines put FILE`, or run `mlcp spec package` without --dry-run"
)


def _readable_absent(s3: Any, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError  # noqa: PLC0415 - only with an S3 client

    try:
        return not _exists(s3, bucket, key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("403", "AccessDenied", "Forbidden"):
            return False
        raise


def plan_rows(spec: PipelineSpec, original: dict[str, Any], region: str) -> list[tuple[str, str]]:
    """`mlcp spec plan`'s lines for each script-mode stage: framework and version, entry point, source_dir as
    written -> the code URI, and the image (given, or resolved for ``region``). ``original``: the file as written."""
    rows = []
    for where, stage in script_stages(spec):
        written = _holder(original, where)
        label = where.split(".")[0]
        python = f" {stage.py_version}" if stage.py_version else ""
        rows.append((f"{label} script", f"{stage.framework} {stage.framework_version}{python}: {stage.entry_point}"))
        given = str(written.get("source_dir"))
        code = str(stage.source_dir) if given == stage.source_dir else f"{given} -> {stage.source_dir}"
        rows.append((f"{label} code", code))
        how = "image_uri as given" if written.get("image_uri") else f"resolved for {region}"
        rows.append((f"{label} image", f"{stage.image_uri} ({how})"))
    return rows
