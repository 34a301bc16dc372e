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

from mlcp.common.images import ECR_IMAGE
from mlcp.errors import FieldError, SpecInvalid
from mlcp_cli.imagecache import ImageCache, lookup_key

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


def cached_retrieve(cache: ImageCache | None, **arguments: str | None) -> str:
    """``image_uris.retrieve(**arguments)``, answered from ``cache`` (mlcp_cli.imagecache) when it holds them: then
    the SDK is not even imported. Raises what retrieve raises (ValueError), ImageResolutionUnavailable."""
    key = lookup_key(**arguments)
    found = cache.get(key) if cache is not None else None
    if found is not None:
        return found
    retrieve = _retrieve()
    with contextlib.redirect_stdout(sys.stderr):
        uri = str(retrieve(**arguments))
    if cache is not None:
        cache.put(key, uri)
    return uri


def retrieve_framework_image(
    *,
    framework: str,
    version: str,
    py_version: str | None,
    instance_type: str,
    region: str,
    where: str,
    source: str,
    cache: ImageCache | None = None,
) -> str:
    """The framework container image of a script-mode stage (``where``: its spec field) for ``region``, as the SDK's
    Framework estimators retrieve it (``image_scope="training"``; a FrameworkProcessor runs the same image).

    Raises SpecInvalid naming the field with the versions the SDK supports, ImageResolutionUnavailable."""
    try:
        uri = cached_retrieve(
            cache,
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


def resolve_images(document: dict[str, Any], region: str, cache: ImageCache | None = None) -> list[str]:
    """Replace each ``image: {framework, version[, image_scope, instance_type]}`` by ``image_uri`` in place;
    return what was resolved (``path: uri``). Without such references (or with all of them in ``cache``), nothing
    is imported."""
    resolved = []
    for holder, path in _references(document):
        image = holder.pop("image")
        instance_type = holder.get("instance_type")
        uri = cached_retrieve(
            cache,
            framework=str(image["framework"]),
            region=region,
            version=str(image.get("version")) if image.get("version") is not None else None,
            image_scope=str(image.get("image_scope", "training")),
            instance_type=str(instance_type) if instance_type is not None else None,
        )
        holder["image_uri"] = uri
        resolved.append(f"{path}.image_uri: {uri}")
    return resolved


def _parts(image: str) -> tuple[str | None, str, str]:
    """(registry Region or None when not an ECR URI, repository, tag or '') of an image URI."""
    match = ECR_IMAGE.match(image)
    _, _, path = image.partition("/") if "/" in image else ("", "", image)
    name, _, tag = path.partition("@")[0].partition(":")
    return (match["region"] if match else None), name, tag


def disagreement(image_uri: str, expected: str | None, region: str) -> str | None:
    """Why an explicit ``image_uri`` is not the image its ``framework`` names (``expected``; None: unknown, only the
    Region is compared): another Region's registry, another repository, another tag. None when they agree."""
    given_region, repository, tag = _parts(image_uri)
    if given_region is not None and given_region != region:
        return f"its registry is in {given_region}, the jobs run in {region}"
    if expected is None:
        return None
    _, expected_repository, expected_tag = _parts(expected)
    if repository != expected_repository:
        return f"repository {repository}, not {expected_repository}"
    if tag and tag != expected_tag:
        return f"tag {tag}, not {expected_tag}"
    return None
