"""The ``box`` fixture of the patches' guard tests: one sandbox (plain moto until ``box.activate()``) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local_cloud.patches.support import Sandbox, sandbox


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox(tmp_path) as created:
        yield created
