"""S3 adapter: read objects and their sizes by s3:// URI."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from mlcp.aws.clients import client, error_code
from mlcp.errors import ArtifactMissing, DocumentTooLarge

_MISSING = {"NoSuchKey", "404", "NotFound", "NoSuchVersion", "NoSuchBucket"}


def split_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


class S3ObjectStore:
    def __init__(self, s3: Any | None = None) -> None:
        self._s3 = s3

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = client("s3")
        return self._s3

    def read(self, uri: str, version_id: str | None = None, *, max_bytes: int | None = None) -> bytes:
        """The object's bytes; DocumentTooLarge (from ContentLength, the body unread) when over ``max_bytes``."""
        bucket, key = split_uri(uri)
        extra = {"VersionId": version_id} if version_id else {}
        try:
            response = self.s3.get_object(Bucket=bucket, Key=key, **extra)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise ArtifactMissing(f"{uri} does not exist") from exc
            raise
        size = int(response.get("ContentLength") or 0)
        if max_bytes is not None and size > max_bytes:
            response["Body"].close()
            raise DocumentTooLarge(uri, size, max_bytes)
        body: bytes = response["Body"].read(max_bytes + 1 if max_bytes is not None else None)
        if max_bytes is not None and len(body) > max_bytes:  # no ContentLength (never on S3; a fake might)
            raise DocumentTooLarge(uri, len(body), max_bytes)
        return body

    def exists(self, uri: str, version_id: str | None = None) -> bool:
        bucket, key = split_uri(uri)
        extra = {"VersionId": version_id} if version_id else {}
        try:
            self.s3.head_object(Bucket=bucket, Key=key, **extra)
        except ClientError as exc:
            # HeadObject of a missing version of an existing key answers 400 (not 404) in some cases: both mean no.
            if error_code(exc) in _MISSING or error_code(exc) in {"400", "BadRequest", "InvalidArgument"}:
                return False
            raise
        return True

    def size(self, uri: str) -> int:
        bucket, key = split_uri(uri)
        try:
            return int(self.s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise ArtifactMissing(f"{uri} does not exist") from exc
            raise

    def write(self, uri: str, body: bytes, content_type: str = "application/json") -> None:
        bucket, key = split_uri(uri)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def count(self, prefix_uri: str) -> int:
        """Objects under a prefix (ListObjectsV2, 1,000 keys a page); "folder" markers ending in / do not count."""
        bucket, prefix = split_uri(prefix_uri)
        total = 0
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            total += sum(1 for obj in page.get("Contents", []) if not str(obj["Key"]).endswith("/"))
        return total
