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
