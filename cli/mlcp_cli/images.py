"""Training images from ``{framework, version}`` (optional extra ``mlcp[sagemaker]``, client side only).

A spec may name an image as ``image: {framework: xgboost, version: "1.7-1"}`` wherever it takes ``image_uri``;
the CLI resolves it with the SageMaker Python SDK's ``image_uris.retrieve`` before it validates or sends the spec.
The SDK is never imported by a Lambda (about 1 s to import, about 1 GB installed): the service only sees image URIs.
"""

from __future__ import annotations

import importlib
from typing import Any

INSTALL_HINT = "pip install 'mlcp[sagemaker]'"


class ImageResolutionUnavailable(Exception):
    """The spec names images by framework but the sagemaker SDK is not installed."""


def _retrieve() -> Any:
    try:
        module = importlib.import_module("sagemaker.image_uris")
    except ImportError as exc:
        raise ImageResolutionUnavailable(
            "this spec names an image by {framework, version}; resolving it needs the SageMaker Python SDK: "
            f"{INSTALL_HINT} (or write image_uri instead)"
        ) from exc
    return module.retrieve


def _references(document: Any, path: str = "") -> list[tuple[dict[str, Any], str]]:
    """Every mapping that holds ``image: {framework, ...}``, with its dotted path."""
    found: list[tuple[dict[str, Any], str]] = []
    if isinstance(document, dict):
        image = document.get("image")
        if isinstance(image, dict) and "framework" in image:
            found.append((document, path))
        for key, value in document.items():
            found.extend(_references(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(_references(value, f"{path}[{index}]"))
    return found


def resolve_images(document: dict[str, Any], region: str) -> list[str]:
    """Replace each ``image: {framework, version[, image_scope, instance_type]}`` by ``image_uri`` in place;
    return what was resolved (``path: uri``). Without such references, nothing is imported."""
    references = _references(document)
    if not references:
        return []
    retrieve = _retrieve()
    resolved = []
    for holder, path in references:
        image = holder.pop("image")
        uri = str(
            retrieve(
                framework=str(image["framework"]),
                region=region,
                version=str(image.get("version")) if image.get("version") is not None else None,
                image_scope=str(image.get("image_scope", "training")),
                instance_type=holder.get("instance_type"),
            )
        )
        holder["image_uri"] = uri
        resolved.append(f"{path}.image_uri: {uri}")
    return resolved
