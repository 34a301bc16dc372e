"""Test-wide settings: fake AWS credentials so that nothing can reach a real account by accident."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_SECURITY_TOKEN"] = "testing"
os.environ["AWS_SESSION_TOKEN"] = "testing"
os.environ.pop("AWS_PROFILE", None)
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "mlcp")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "mlcp")
# No test reads or writes the user's image cache (~/.cache/mlcp/images.json): fake SDKs would poison it. The cache's
# own tests unset this and point XDG_CACHE_HOME at a temporary directory.
os.environ["MLCP_NO_IMAGE_CACHE"] = "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/unit/" in str(item.path):
            item.add_marker(pytest.mark.unit)
