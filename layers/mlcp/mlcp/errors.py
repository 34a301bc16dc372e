"""Errors are a contract: the class name is the Lambda errorType that the state machines Retry/Catch on.

Keep the names stable; tests/static checks that every name caught in statemachines/ is defined here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a user's input, addressed by a dotted path (``tuning.max_jobs``)."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class MlcpError(Exception):
    """Base class; ``reason`` is a human-readable sentence for a run record or a notification."""

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


MAX_LISTED_ERRORS = 20  # in a reason (run records, DynamoDB items, SNS messages stay small whatever the input)
MAX_ERRORS = 100  # kept in ``errors``


class InputInvalid(MlcpError):
    """A user's input (spec, manifest, event, request) failed validation; carries field-level errors.

    At most MAX_ERRORS errors are kept and MAX_LISTED_ERRORS listed in the reason (a 256 KiB document can
    produce thousands; the reason goes into DynamoDB items and SNS messages)."""

    def __init__(self, subject: str, errors: list[FieldError]) -> None:
        self.subject = subject
        more = len(errors) - MAX_LISTED_ERRORS
        self.errors = errors[:MAX_ERRORS]
        listed = "; ".join(str(e) for e in errors[:MAX_LISTED_ERRORS]) + (f"; and {more} more" if more > 0 else "")
        super().__init__(f"{subject} is invalid: {listed}", errors=[e.as_dict() for e in self.errors])


class DocumentTooLarge(MlcpError):
    """An object is larger than the reader allows (checked from its ContentLength, before reading the body)."""

    def __init__(self, uri: str, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"{uri} is {size:,} bytes; the limit is {limit:,} bytes")


class SpecInvalid(InputInvalid):
    """The pipeline spec is invalid (field-level errors)."""


class ManifestInvalid(InputInvalid):
    """A dataset manifest is invalid (field-level errors)."""


class EventInvalid(InputInvalid):
    """A trigger event does not have the shape mlcp expects."""


class EventIgnored(MlcpError):
    """A trigger was handed an event it does not handle (e.g. an S3 "Object Deleted"): counted, nothing started."""


class PipelineNotFound(MlcpError):
    """A run was requested for a pipeline that has no registered spec."""


class DatasetNotFound(MlcpError):
    """No dataset version is known for the pipeline (scheduled runs need one)."""


class TuningFailed(MlcpError):
    """The tuning job produced no usable best training job."""


class CompressionFailed(MlcpError):
    """The compression job produced no usable artifact or metric."""


class GateFailed(MlcpError):
    """The compressed model did not pass the quality/size gate; the reason carries the numbers."""


class ArtifactMissing(MlcpError):
    """An S3 artifact a stage depends on does not exist."""


class PolicyInvalid(InputInvalid):
    """A node-group scaling policy is invalid (field-level errors)."""


class PolicyNotFound(MlcpError):
    """No scaling policy is registered for the alarm or schedule that triggered the controller."""


# --- API errors (the REST API maps them to HTTP statuses in one place; no state machine catches them) ----------
class NotFound(MlcpError):
    """A run or pipeline the request names does not exist (HTTP 404)."""


class Conflict(MlcpError):
    """The request conflicts with the resource's state, e.g. cancelling a run that ended (HTTP 409)."""


class Throttled(MlcpError):
    """An AWS service throttled the request; the caller should retry later (HTTP 429)."""


class NodegroupNotGranted(MlcpError):
    """An EKS node group outside the stack's template parameter ScalingNodegroupArns (found from the scope, or EKS
    answered AccessDeniedException): HTTP 403 from the API; the scaling controller records a failed decision and
    notifies it (mlcp.scaling.scope.not_granted builds the reason)."""


class BatchSpecInvalid(InputInvalid):
    """A batch spec (job profile) is invalid (field-level errors)."""


class PlanInfeasible(MlcpError):
    """No batch plan satisfies the constraints (array size, items per child, timeout, budget); says which."""


class BatchChildrenFailed(MlcpError):
    """Some children of a Batch array job failed; ``details`` lists the failed indices for a shard retry."""


class ConcurrentUpdate(MlcpError):
    """A record kept changing under an optimistic update (other writers won every attempt); retrying is safe."""
