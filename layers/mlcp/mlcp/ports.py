"""What the core needs from AWS, as Protocols. mlcp.aws implements them with boto3; tests may pass fakes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from mlcp.models.run import DatasetRef, RunStatus


class ObjectStore(Protocol):
    def read(self, uri: str, version_id: str | None = None) -> bytes: ...

    def size(self, uri: str) -> int: ...


class SageMaker(Protocol):
    def describe_tuning_job(self, name: str) -> Mapping[str, Any]: ...

    def describe_training_job(self, name: str) -> Mapping[str, Any]: ...

    def describe_compilation_job(self, name: str) -> Mapping[str, Any]: ...

    def ensure_model_package_group(self, name: str, description: str, tags: Mapping[str, str]) -> None: ...


class Executions(Protocol):
    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> tuple[str, bool]:
        """Start an execution; return (execution ARN, accepted). accepted is False when an execution of that
        name exists with other input or has closed (StartExecution is idempotent for identical running ones)."""
        ...


class Notifier(Protocol):
    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> None: ...


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

    def get(self, run_id: str) -> dict[str, Any] | None: ...


class PipelineStore(Protocol):
    def get_spec(self, name: str) -> tuple[dict[str, Any], str] | None:
        """The registered spec document and its version, or None."""
        ...

    def put_spec(self, name: str, spec: Mapping[str, Any], version: str, source: str, order: str) -> bool:
        """Store a validated spec unless a newer upload (by ``order``) is already stored."""
        ...

    def record_rejection(self, name: str, source: str, errors: list[dict[str, str]], at: datetime) -> None: ...

    def set_latest_dataset(self, name: str, dataset: DatasetRef, order: str) -> None: ...

    def latest_dataset(self, name: str) -> DatasetRef | None: ...


class Meter(Protocol):
    """Where the core reports business metrics (Powertools EMF in Lambda)."""

    def add(self, name: str, value: float, unit: str) -> None: ...


# --- node-group scaling controller ------------------------------------------------------------------------------
class Nodegroups(Protocol):
    def describe_nodegroup(self, cluster: str, nodegroup: str) -> Mapping[str, Any] | None:
        """DescribeNodegroup's ``nodegroup``; None when the node group does not exist."""
        ...


class ScalingPolicyStore(Protocol):
    def get_policy(self, key: str) -> dict[str, Any] | None: ...

    def policy_for_alarm(self, alarm: str) -> str | None: ...

    def put_policy(self, key: str, policy: Mapping[str, Any], alarms: list[str], version: str, source: str) -> None: ...

    def record_rejection(self, key: str, source: str, errors: list[dict[str, str]], at: datetime) -> None: ...


class ScalingStateStore(Protocol):
    def get_state(self, policy: str) -> dict[str, Any] | None: ...

    def put_state(self, policy: str, state: Mapping[str, Any], expected_version: int) -> bool:
        """Write the state as version ``expected_version + 1`` if the stored one is still ``expected_version``."""
        ...


class DecisionLog(Protocol):
    def add(self, policy: str, decision_key: str, item: Mapping[str, Any]) -> bool:
        """Add a decision; False when one with this key exists (a duplicate trigger)."""
        ...

    def complete(self, policy: str, decision_key: str, fields: Mapping[str, Any]) -> None: ...


# --- what the REST API needs beyond the pipeline's ports ----------------------------------------------------------
Page = tuple[list[dict[str, Any]], dict[str, Any] | None]  # items, the key to continue from (None: the end)


class ScalingPolicyIndex(Protocol):
    def policy_for_nodegroup(self, cluster: str, nodegroup: str) -> str | None:
        """The key (``<cluster>/<name>``) of the registered policy covering the node group, or None."""
        ...


class DecisionHistory(Protocol):
    def recent(self, policy: str, limit: int) -> list[dict[str, Any]]:
        """The policy's last decisions, newest first."""
        ...


class ExecutionControl(Protocol):
    def describe(self, execution_arn: str) -> Mapping[str, Any] | None:
        """DescribeExecution, or None if the execution does not exist."""
        ...

    def stop(self, execution_arn: str, error: str, cause: str) -> None: ...

    def redrive(self, execution_arn: str, client_token: str) -> None:
        """RedriveExecution; raises Conflict when Step Functions says the execution is not redrivable."""
        ...


class RunIndex(Protocol):
    def page(self, pipeline: str | None, status: str | None, limit: int, start: dict[str, Any] | None) -> Page:
        """Runs, newest first for one pipeline (the by_pipeline index), else in table order; filtered by status."""
        ...


class PipelineCatalog(Protocol):
    def item(self, name: str) -> dict[str, Any] | None: ...

    def page(self, limit: int, start: dict[str, Any] | None) -> Page: ...


class Objects(ObjectStore, Protocol):
    """An object store that can also write objects and count the keys under a prefix (the batch pipeline)."""

    def write(self, uri: str, body: bytes, content_type: str = "application/json") -> None: ...

    def count(self, prefix_uri: str) -> int: ...


class BatchJobs(Protocol):
    def describe_jobs(self, job_ids: list[str]) -> list[Mapping[str, Any]]:
        """DescribeJobs for any number of ids (100 per call, AWS's limit), in the order given; unknown ids omitted."""
        ...


class ProfileStore(Protocol):
    """Per job profile, what the batch planner learnt (mlcp.batching.Profile as a dict)."""

    def get(self, profile: str) -> dict[str, Any] | None: ...

    def put(self, profile: str, item: Mapping[str, Any], expected_runs: int | None) -> bool:
        """Store the profile unless another run updated it first: ``expected_runs`` is the ``runs`` count it was
        read with (None: it did not exist). Return False when the stored profile has moved on."""
        ...
