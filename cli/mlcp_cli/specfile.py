"""A pipeline spec file as every command reads it (`mlcp spec validate|plan`, `mlcp pipelines put`,
`mlcp runs start --spec`): the core's loader (size caps, YAML errors with their line), images named by
``{framework, version}`` resolved first (mlcp[sagemaker]), then the spec's field-level validation. So a file gets
the same messages, once, from every command, before anything is sent to the API.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from mlcp.training.spec import PipelineSpec, parse_spec
from mlcp_cli.images import resolve_images


def load_spec(path: str, region: str | None = None) -> tuple[dict[str, Any], PipelineSpec, list[str]]:
    """(the document to send, the validated spec, the images resolved as ``path: uri`` lines).

    Raises SpecInvalid (field-level errors, exit 1), OSError (no such file), ImageResolutionUnavailable."""
    raw = Path(path).read_bytes()
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError:
        document = None  # parse_spec reports it with the line
    resolved: list[str] = []
    if isinstance(document, dict):
        resolved = resolve_images(document, region or os.environ.get("AWS_REGION") or "us-east-1")
    spec = parse_spec(document if resolved else raw, source=path)
    return (document if isinstance(document, dict) else spec.model_dump(mode="json")), spec, resolved
