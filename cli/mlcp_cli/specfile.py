"""A pipeline spec file as every command reads it (`mlcp spec validate|plan`, `mlcp pipelines put`,
`mlcp runs start --spec`): the core's loader (size caps, YAML errors with their line), images named by
``{framework, version}`` resolved first (mlcp[sagemaker]), then the spec's field-level validation, then script
mode (mlcp_cli.scriptmode: source_dir packaged, relative to the spec file's directory, and image_uri resolved) and
the validation of the result. So a file gets the same messages, once, from every command, before anything is sent
to the API.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from mlcp.training.spec import PipelineSpec, parse_spec
from mlcp_cli.images import resolve_images
from mlcp_cli.scriptmode import CodeTarget, needs_preparation, prepare_document

EXAMPLE_BUCKET = "mlcp-artifacts-example"


def default_region(region: str | None = None) -> str:
    return region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def load_spec(
    path: str, region: str | None = None, target: CodeTarget | Callable[[], CodeTarget] | None = None
) -> tuple[dict[str, Any], PipelineSpec, list[str]]:
    """(the document to send, the validated spec, what was resolved or packaged as ``field: value`` lines).

    ``target``: where script-mode code goes (a callable is called only when the spec has a stage to package or
    resolve); None: nothing is uploaded, URIs name the example bucket.
    Raises SpecInvalid (field-level errors, exit 1), OSError (no such file), ImageResolutionUnavailable."""
    raw = Path(path).read_bytes()
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError:
        document = None  # parse_spec reports it with the line
    resolved: list[str] = []
    if isinstance(document, dict):
        resolved = resolve_images(document, default_region(region))
    spec = parse_spec(document if resolved else raw, source=path)
    if isinstance(document, dict) and needs_preparation(spec):
        where = target() if callable(target) else target
        where = where or CodeTarget(bucket=EXAMPLE_BUCKET, region=default_region(region))
        resolved += prepare_document(document, spec, base_dir=Path(path).parent, target=where, source=path)
        spec = parse_spec(document, source=path)
    return (document if isinstance(document, dict) else spec.model_dump(mode="json")), spec, resolved
