"""Training images from ``{framework, version}`` (optional extra ``mlcp[sagemaker]``, client side only).

A spec may name an image as ``image: {framework: xgboost, version: "1.7-1"}`` wherever it takes ``image_uri``,
and a script-mode stage (``framework`` + ``framework_version``) gets its ``image_uri`` the same way: the CLI
resolves it with the SageMaker Python SDK's ``image_uris.retrieve`` before it validates or sends the spec. The
extra installs ``sagemaker-core`` (the SDK v3's core, ``sagemaker.core.image_uris``; the v2 SDK's
``sagemaker.image_uris`` is used when that is what is installed). The SDK is never imported by a Lambda (about
10 s to import, hundreds of MB installed; tests/static/test_layout.py checks): the service only sees image URIs.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import re
import sys
from typing import Any

from mlcp.errors import FieldError, SpecInvalid

INSTALL_HINT = "pip install 'mlcp[sagemaker]'"
MODULES = ("sagemaker.core.image_uris", "sagemaker.image_uris")  # SDK v3 (sagemaker-core), SDK v2
_UNSUPPORTED = re.compile(r"Unsupported (?P<what>.+?): (?P<arg>.*?)\. .*Supported .+?\(s\): (?P<options>.*)\.$", re.S)


class ImageResolutionUnavailable(Exception):
    """The spec names images by framework but the sagemaker SDK is not installed."""


def _retrieve() -> Any:
    error: ImportError | None = None
    for name in MODULES:
        try:
            # sagemaker.config logs "Not applying SDK defaults" to the stdout of import time (a handler that keeps
            # that stream): keep the command's stdout (`mlcp spec package` prints the spec there) and stderr clean.
            with contextlib.redirect_stdout(io.StringIO()):
                module = importlib.import_module(name)
        except ImportError as exc:
            error = exc
            continue
        for logger in ("sagemaker", "sagemaker.config", name):
            logging.getLogger(logger).setLevel(logging.WARNING)
        return module.retrieve
    raise ImageResolutionUnavailable(
        "this spec names an image by {framework, version}; resolving it needs the SageMaker Python SDK: "
        f"{INSTALL_HINT} (or write image_uri instead)"
    ) from error


def _field_of(what: str, where: str) -> str:
    lowered = what.lower()
    if lowered == "python version":
        return f"{where}.py_version"
    if lowered.endswith("version"):
        return f"{where}.framework_version"
    if lowered == "processor":
        return f"{where}.instance_type"
    return f"{where}.framework"


def retrieve_framework_image(
    *, framework: str, version: str, py_version: str | None, instance_type: str, region: str, where: str, source: str
) -> str:
    """The framework container image of a script-mode stage (``where``: its spec field) for ``region``, as the SDK's
    Framework estimators retrieve it (``image_scope="training"``; a FrameworkProcessor runs the same image).

    Raises SpecInvalid naming the field with the versions the SDK supports, ImageResolutionUnavailable."""
    retrieve = _retrieve()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            uri = retrieve(
                framework=framework,
                region=region,
                version=version,
                py_version=py_version,
                instance_type=instance_type,
                image_scope="training",
            )
    except ValueError as exc:
        text = str(exc)
        found = _UNSUPPORTED.search(text)
        if found is None:
            raise SpecInvalid(source, [FieldError(f"{where}.framework", f"image_uris.retrieve: {text}")]) from exc
        field = "region" if found["what"] == "region" else _field_of(found["what"], where)
        message = f"unsupported {found['what']} {found['arg']!r}; supported: {found['options']}"
        if field == "region":
            message = f"{framework} has no image in region {region!r}; it has images in: {found['options']}"
        raise SpecInvalid(source, [FieldError(field, message)]) from exc
    return str(uri)


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
