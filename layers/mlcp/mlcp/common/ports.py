"""What the core needs from AWS, as Protocols. mlcp.aws implements them with boto3; tests may pass fakes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class ObjectStore(Protocol):
    def read(self, uri: str, version_id: str | None = None, *, max_bytes: int | None = None) -> bytes:
        """GetObject (at ``version_id`` when given); raises ArtifactMissing when the object (version) is missing,
        DocumentTooLarge when it is larger than ``max_bytes``."""
        ...

    def exists(self, uri: str, version_id: str | None = None) -> bool:
        """HeadObject (at ``version_id`` when given): whether the object (version) exists."""
        ...

    def size(self, uri: str) -> int: ...


class Executions(Protocol):
    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> tuple[str, bool]:
        """Start an execution; return (execution ARN, accepted). accepted is False when an execution of that
        name exists with other input or has closed (StartExecution is idempotent for identical running ones)."""
        ...


class Notifier(Protocol):
    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> None: ...


class Meter(Protocol):
    """Where the core reports business metrics (Powertools EMF in Lambda)."""

    def add(self, name: str, value: float, unit: str) -> None: ...


# --- what the REST API needs beyond the pipeline's ports ----------------------------------------------------------
Page = tuple[list[dict[str, Any]], dict[str, Any] | None]  # items, the key to continue from (None: the end)


class ExecutionControl(Protocol):
    def describe(self, execution_arn: str) -> Mapping[str, Any] | None:
        """DescribeExecution, or None if the execution does not exist."""
        ...

    def stop(self, execution_arn: str, error: str, cause: str) -> None: ...

    def redrive(self, execution_arn: str, client_token: str) -> None:
        """RedriveExecution; raises Conflict when Step Functions says the execution is not redrivable."""
        ...


class Objects(ObjectStore, Protocol):
    """An object store that can also write objects and count the keys under a prefix (the batch pipeline)."""

    def write(self, uri: str, body: bytes, content_type: str = "application/json") -> None: ...

    def count(self, prefix_uri: str) -> int: ...


# --- the preflight: AWS's own request rules (mlcp.aws.service_models implements it with botocore's models) ------
@dataclass(frozen=True)
class RequestProblem:
    """One member of a request that AWS's service model refuses.

    ``path`` addresses the member in the request (``("TrainingJobDefinition", "Environment", "MY-VAR")``);
    ``key`` is True when the problem is a map's key (a name), not its value. The preflight translates the path
    into the spec field it came from: users never see request paths.
    """

    path: tuple[str | int, ...]
    message: str
    key: bool = False


class RequestChecker(Protocol):
    def check(self, service: str, operation: str, params: Mapping[str, Any]) -> list[RequestProblem]:
        """Every problem of ``params`` as the input of ``service``'s ``operation`` (botocore model names, e.g.
        ``sagemaker`` / ``CreateTrainingJob``); empty when the model accepts the request."""
        ...
