"""S3 as a job's container sees it: read an input, write an output, straight on moto's S3 backend (no API call)."""

from __future__ import annotations

from typing import Any

from moto.s3.exceptions import S3ClientError
from moto.s3.models import S3Backend, s3_backends
from moto.utilities.utils import get_partition


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def join_s3(prefix: str, *parts: str) -> str:
    return "/".join([prefix.rstrip("/"), *parts])


def _s3(backend: Any) -> S3Backend:
    store: S3Backend = s3_backends[backend.account_id][get_partition(backend.region_name)]
    return store


def read_s3(backend: Any, uri: str) -> bytes | None:
    """The object at ``uri`` in the S3 of ``backend``'s account and region (None if there is none)."""
    try:
        bucket, key = split_s3(uri)
        obj = _s3(backend).get_object(bucket, key)
    except (S3ClientError, ValueError):
        return None
    return None if obj is None else bytes(obj.value)


def write_s3(backend: Any, uri: str, data: bytes) -> str | None:
    """Put ``data`` at ``uri``; the error (as a SageMaker failure reason) when it cannot."""
    try:
        bucket, key = split_s3(uri)
        _s3(backend).put_object(bucket, key, data)
    except ValueError as exc:
        return f"ClientError: {exc}"
    except S3ClientError as exc:
        return f"ClientError: Failed to upload to {uri}: {getattr(exc, 'code', type(exc).__name__)}"
    return None


def list_s3(backend: Any, prefix_uri: str) -> list[tuple[str, bytes]] | None:
    """Every object under ``prefix_uri`` (an S3 prefix, or one object's key: SageMaker's ``S3Prefix`` matching) as
    (key relative to the prefix's last ``/``, bytes), sorted by key; None when the bucket does not exist."""
    try:
        bucket_name, prefix = split_s3(prefix_uri)
        bucket = _s3(backend).get_bucket(bucket_name)
    except (S3ClientError, ValueError):
        return None
    base = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    objects: list[tuple[str, bytes]] = []
    for key, obj in sorted(bucket.keys.items()):
        if key.startswith(prefix) and not key.endswith("/") and isinstance(getattr(obj, "value", None), bytes):
            objects.append((key[len(base) :], bytes(obj.value)))
    return objects
