"""An on-disk cache of framework image lookups (client side), so that only the first command pays for the
SageMaker SDK (importing sagemaker-core and one ``image_uris.retrieve`` take 5-6 s; a cached answer takes
milliseconds and imports nothing).

The file is ``$XDG_CACHE_HOME/mlcp/images.json`` (default ``~/.cache/mlcp/images.json``, the XDG Base Directory
default: https://specifications.freedesktop.org/basedir-spec/latest/). It maps the arguments of one lookup
(framework, version, py_version, region, instance type, image scope) to the image URI, and records the SDK
distributions it came from (``sagemaker-core`` and ``sagemaker`` versions, read from their installed metadata
without importing them): when those change (an upgrade may add or move images), the whole file is ignored and
rewritten. Only successful lookups are kept; an unsupported version is asked again each time (with its message).

``--no-cache`` on the commands that resolve images, or ``MLCP_NO_IMAGE_CACHE=1``, bypasses the file (neither
read nor written). An unreadable or corrupt file is treated as empty; a file that cannot be written (read-only
home) is skipped: the cache only ever saves time.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ENV_DISABLE = "MLCP_NO_IMAGE_CACHE"
FILE_NAME = "images.json"
SDK_DISTRIBUTIONS = ("sagemaker-core", "sagemaker")  # mlcp_cli.images imports sagemaker.core, else sagemaker (v2)


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mlcp`` (an absolute XDG_CACHE_HOME only, as the spec says), else ``~/.cache/mlcp``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "mlcp"


def sdk_identity() -> str:
    """``sagemaker-core==2.17.0 sagemaker=absent``: the installed SDK distributions the answers come from."""
    parts = []
    for name in SDK_DISTRIBUTIONS:
        try:
            parts.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}=absent")
    return " ".join(parts)


def lookup_key(**arguments: str | None) -> str:
    """One lookup's arguments as a stable key (sorted names; None kept as null)."""
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"))


@dataclass
class ImageCache:
    """Image URIs by lookup key, loaded from ``path`` when its SDK identity matches ``sdk``; ``enabled=False``
    neither reads nor writes the file (lookups are still shared within the command)."""

    path: Path
    sdk: str
    enabled: bool = True
    images: dict[str, str] = field(default_factory=dict)
    hits: int = 0

    @classmethod
    def open(cls, *, enabled: bool = True) -> ImageCache:
        """The user's cache (disabled by ``enabled=False`` or MLCP_NO_IMAGE_CACHE set to anything but ``0``)."""
        enabled = enabled and os.environ.get(ENV_DISABLE, "0") in ("", "0")
        cache = cls(path=cache_dir() / FILE_NAME, sdk=sdk_identity() if enabled else "", enabled=enabled)
        if enabled:
            cache.images = cache._read()
        return cache

    def _read(self) -> dict[str, str]:
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("sdk") != self.sdk or not isinstance(data.get("images"), dict):
            return {}  # another SDK version (or not ours): its answers may be stale
        return {str(k): str(v) for k, v in data["images"].items()}

    def get(self, key: str) -> str | None:
        found = self.images.get(key)
        self.hits += found is not None
        return found

    def put(self, key: str, uri: str) -> None:
        """Remember ``uri`` and rewrite the file atomically (a temporary file renamed over it)."""
        if self.images.get(key) == uri:
            return
        self.images[key] = uri
        if not self.enabled:
            return
        text = json.dumps({"sdk": self.sdk, "images": self.images}, indent=1, sort_keys=True)
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".images.", suffix=".json")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                Path(temporary).replace(self.path)
            finally:
                Path(temporary).unlink(missing_ok=True)


def add_cache_argument(parser: Any) -> None:
    """``--no-cache`` on a command that may resolve framework images (argparse parser)."""
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help=f"look framework images up with the SageMaker SDK, bypassing {cache_dir() / FILE_NAME} "
        f"(also: {ENV_DISABLE}=1)",
    )
