"""What the batch pipeline needs from AWS, as Protocols."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol


class BatchJobs(Protocol):
    def describe_jobs(self, job_ids: list[str]) -> list[Mapping[str, Any]]:
        """DescribeJobs for any number of ids (100 per call, AWS's limit), in the order given; unknown ids omitted."""
        ...


class ProfileStore(Protocol):
    """Per job profile, what the batch planner learnt (mlcp.batch.planner.Profile as a dict)."""

    def get(self, profile: str) -> dict[str, Any] | None: ...

    def put(self, profile: str, item: Mapping[str, Any], expected_runs: int | None) -> bool:
        """Store the profile unless another run updated it first: ``expected_runs`` is the ``runs`` count it was
        read with (None: it did not exist). Return False when the stored profile has moved on."""
        ...

    def record_refusal(self, name: str, source: str, reason: str, at: datetime) -> bool:
        """Keep a refused trigger upload on the profile's item; False if this upload was already kept."""
        ...
