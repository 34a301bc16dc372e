"""AWS Batch adapter: DescribeJobs in pages of 100 ids (the API's limit)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlcp.aws.clients import client

DESCRIBE_JOBS_MAX = 100


class BatchAdapter:
    def __init__(self, batch: Any | None = None) -> None:
        self._batch = batch

    @property
    def batch(self) -> Any:
        if self._batch is None:
            self._batch = client("batch")
        return self._batch

    def describe_jobs(self, job_ids: list[str]) -> list[Mapping[str, Any]]:
        found: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(job_ids), DESCRIBE_JOBS_MAX):
            for job in self.batch.describe_jobs(jobs=job_ids[start : start + DESCRIBE_JOBS_MAX])["jobs"]:
                found[str(job["jobId"])] = job
        return [found[i] for i in job_ids if i in found]
