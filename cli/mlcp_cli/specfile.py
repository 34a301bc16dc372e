"""A pipeline spec file as every command reads it (`mlcp spec validate|plan`, `mlcp pipelines put`,
`mlcp runs start --spec`): the core's loader (size caps, YAML errors with their line), images named by
``{framework, version}`` resolved first (mlcp[sagemaker]), then the spec's field-level validation, then script
mode (mlcp_cli.scriptmode: source_dir packaged, relative to the spec file's directory, and image_uri resolved) and
the validation of the result. So a file gets the same messages, once, from every command, before anything is sent
to the API.

Image lookups go through the on-disk cache (mlcp_cli.imagecache; ``use_cache=False``: `--no-cache`). An explicit
``image_uri`` that is not its stage's framework image is a warning on stderr (mlcp_cli.scriptmode.image_warnings).
A file that `mlcp spec package --dry-run` printed (its first line is DRY_RUN_MARKER) is refused: it names code that
was never uploaded; with an S3 client (`pipelines put`, `runs start --spec`, `spec package`), every S3 source_dir
is checked to exist.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from mlcp.errors import FieldError, SpecInvalid
from mlcp.training.preflight import script_stages
from mlcp.training.script_mode import is_s3_source
from mlcp.training.spec import PipelineSpec, parse_spec
from mlcp_cli.imagecache import ImageCache
from mlcp_cli.images import resolve_images
from mlcp_cli.scriptmode import CodeTarget, image_warnings, missing_code, needs_preparation, prepare_document

EXAMPLE_BUCKET = "mlcp-artifacts-example"
DRY_RUN_MARKER = "# mlcp spec package --dry-run: NOTHING WAS UPLOADED"
DRY_RUN_REFUSAL = (
    "written by `mlcp spec package --dry-run`: the code it names was never uploaded, so its jobs would fail; "
    "send the original spec (`mlcp pipelines put FILE` packages and uploads), or run `mlcp spec package` without "
    "--dry-run"
)


def default_region(region: str | None = None) -> str:
    return region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def load_spec(
    path: str,
    region: str | None = None,
    target: CodeTarget | Callable[[], CodeTarget] | None = None,
    *,
    use_cache: bool = True,
) -> tuple[dict[str, Any], PipelineSpec, list[str]]:
    """(the document to send, the validated spec, what was resolved or packaged as ``field: value`` lines).

    ``target``: where script-mode code goes (a callable is called only when the spec has a stage to package, or an
    S3 source_dir to check); None: nothing is uploaded, URIs name the example bucket. ``use_cache``: image lookups
    may be answered from the on-disk cache. Warnings (an image_uri that is not its framework's) go to stderr.
    Raises SpecInvalid (field-level errors, exit 1; also a dry run's output, or S3 code that does not exist),
    OSError (no such file), ImageResolutionUnavailable."""
    raw = Path(path).read_bytes()
    if raw.startswith(DRY_RUN_MARKER.encode()):
        raise SpecInvalid(path, [FieldError("", DRY_RUN_REFUSAL)])
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError:
        document = None  # parse_spec reports it with the line
    cache = ImageCache.open(enabled=use_cache)
    resolved: list[str] = []
    if isinstance(document, dict):
        resolved = resolve_images(document, default_region(region), cache)
    spec = parse_spec(document if resolved else raw, source=path)
    given = {where for where, stage in script_stages(spec) if stage.image_uri is not None}
    where = target if isinstance(target, CodeTarget) else None
    if isinstance(document, dict) and needs_preparation(spec):
        where = target() if callable(target) else target
        where = where or CodeTarget(bucket=EXAMPLE_BUCKET, region=default_region(region))
        resolved += prepare_document(document, spec, base_dir=Path(path).parent, target=where, source=path, cache=cache)
        spec = parse_spec(document, source=path)
    if callable(target) and where is None and any(is_s3_source(s.source_dir) for _, s in script_stages(spec)):
        where = target()  # an S3 client, to check the code the spec names
    if where is not None:
        missing_code(spec, where, path)
    for line in image_warnings(spec, where.region if where else default_region(region), cache, only=given):
        print(line, file=sys.stderr)
    return (document if isinstance(document, dict) else spec.model_dump(mode="json")), spec, resolved
