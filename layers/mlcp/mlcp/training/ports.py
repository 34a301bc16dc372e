"""What the training pipeline needs from AWS, as Protocols (mlcp.aws implements them with boto3; tests pass fakes)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from mlcp.common.ports import Page
from mlcp.training.payloads import DatasetRef, RunStatus


class SageMaker(Protocol):
    def describe_tuning_job(self, name: str) -> Mapping[str, Any]: ...

    def describe_training_job(self, name: str) -> Mapping[str, Any]: ...

    def describe_compilation_job(self, name: str) -> Mapping[str, Any]: ...

    def describe_processing_job(self, name: str) -> Mapping[str, Any]:
        """DescribeProcessingJob: ProcessingStartTime/ProcessingEndTime, ProcessingResources.ClusterConfig."""
        ...

    def list_tuning_trials(self, name: str) -> list[Mapping[str, Any]]:
        """Every trial of a tuning job (ListTrainingJobsForHyperParameterTuningJob summaries), oldest first.
        Raises NotFound when SageMaker has no tuning job of that name."""
        ...

    def ensure_model_package_group(self, name: str, description: str, tags: Mapping[str, str]) -> None: ...


class RunStore(Protocol):
    def create(self, run_id: str, item: Mapping[str, Any]) -> bool:
        """Create the run record if it does not exist; return False if it did."""
        ...

    def update(
        self, run_id: str, fields: Mapping[str, Any], stages: Mapping[str, Mapping[str, Any]]
    ) -> Mapping[str, Any]:
        """Set top-level fields and merge stage records; return the whole record as it is now."""
        ...

    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        at: datetime,
        fields: Mapping[str, Any] | None = None,
        redrive_count: int | None = None,
    ) -> bool:
        """Move the run to ``status`` unless it is already terminal (or, with ``redrive_count``, the record belongs
        to a later redrive of the execution); return whether it changed."""
        ...

    def reopen(self, run_id: str, at: datetime, redrive_count: int) -> bool:
        """A redriven run is RUNNING again: clear its end and failure, count the redrive (unless counted)."""
        ...

    def mark_started(self, run_id: str, execution_arn: str) -> bool:
        """Record the execution of a run once; return False if a trigger already did (a duplicate)."""
        ...

    def discard_unstarted(self, run_id: str) -> bool:
        """Delete the record if no execution ever took it up (still PENDING, no start recorded); return whether
        it did. A StartExecution that fails leaves no orphan PENDING run behind."""
        ...

    def get(self, run_id: str) -> dict[str, Any] | None: ...


class NoticeLedger(Protocol):
    """Who notified an execution's failure: the first conditional claim wins, so it is notified exactly once."""

    def claim(self, execution_arn: str, by: str, at: datetime) -> bool:
        """Claim the execution's failure notice; False if a Catch path or an earlier event already did."""
        ...

    def release(self, execution_arn: str) -> None:
        """A redriven execution may fail (and be notified) again."""
        ...


class PipelineStore(Protocol):
    def get_spec(self, name: str) -> tuple[dict[str, Any], str] | None:
        """The registered spec document and its version, or None."""
        ...

    def put_spec(self, name: str, spec: Mapping[str, Any], version: str, source: str, order: str) -> bool:
        """Store a validated spec unless a newer upload (by ``order``) is already stored."""
        ...

    def record_rejection(self, name: str, source: str, errors: list[dict[str, str]], at: datetime) -> None: ...

    def record_refusal(self, name: str, source: str, reason: str, at: datetime) -> bool:
        """Keep a refused trigger upload on the pipeline's item; False if this upload was already kept."""
        ...

    def set_latest_dataset(self, name: str, dataset: DatasetRef, order: str) -> None:
        """Make ``dataset`` the latest unless a later one (by ``order``, a string) is already stored."""
        ...

    def latest_dataset(self, name: str) -> DatasetRef | None: ...


class RunIndex(Protocol):
    def page(self, pipeline: str | None, status: str | None, limit: int, start: dict[str, Any] | None) -> Page:
        """Runs, newest first for one pipeline (the by_pipeline index), else in table order; filtered by status."""
        ...


class PipelineCatalog(Protocol):
    def item(self, name: str) -> dict[str, Any] | None: ...

    def page(self, limit: int, start: dict[str, Any] | None) -> Page: ...
