"""Operator-granted scope of Batch resources (mlcp.batch.scope): the stack's own and the granted ARNs only."""

from __future__ import annotations

from typing import Any

import pytest

from mlcp.batch.scope import BatchScope, check_scope
from mlcp.batch.settings import BatchSettings
from mlcp.batch.spec import parse_batch_spec
from mlcp.errors import BatchSpecInvalid

ENV = {
    "ARTIFACT_BUCKET": "mlcp-artifacts",
    "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:mlcp",
    "PROFILES_TABLE": "mlcp-profiles",
    "BATCH_RESOURCE_PREFIX": "mlcp-",
    "BATCH_EXTRA_JOB_DEFINITIONS": "arn:aws:batch:us-east-1:123456789012:job-definition/shared-gpu:*,"
    "arn:aws:batch:us-east-1:123456789012:job-definition/pinned:3",
    "BATCH_EXTRA_JOB_QUEUES": "arn:aws:batch:us-east-1:123456789012:job-queue/shared-*",
    "BATCH_EXTRA_COMPUTE_ENVIRONMENTS": "",
}


def _spec(definition: str, queue: str = "mlcp-batch-spot", environment: str | None = None) -> Any:
    return parse_batch_spec(
        {
            "name": "scoring",
            "items": {"count": 10},
            "job": {"definition": definition},
            "queues": [{"name": queue, "max_vcpus": 4, "compute_environment": environment}],
        }
    )


SETTINGS = BatchSettings.model_validate(ENV)


@pytest.mark.parametrize(
    "definition", ["mlcp-batch-worker", "mlcp-batch-worker:7", "shared-gpu", "shared-gpu:12", "pinned:3"]
)
def test_own_and_granted_job_definitions_are_allowed(definition: str) -> None:
    assert check_scope(_spec(definition, "shared-gpu-queue", "mlcp-batch-spot"), SETTINGS, source="s") is not None


@pytest.mark.parametrize(
    ("spec", "field", "parameter"),
    [
        (_spec("another-teams-job"), "job.definition", "BatchExtraJobDefinitions"),
        (_spec("pinned"), "job.definition", "BatchExtraJobDefinitions"),  # latest revision: not the granted 3
        (_spec("pinned:4"), "job.definition", "BatchExtraJobDefinitions"),
        (
            _spec("mlcp-batch-worker", "arn:aws:batch:us-east-1:123456789012:job-queue/prod-queue"),
            "queues[0].name",
            "BatchExtraJobQueues",
        ),
        (
            _spec("mlcp-batch-worker", environment="prod-ce"),
            "queues[0].compute_environment",
            "BatchExtraComputeEnvironments",
        ),
    ],
)
def test_anything_else_is_refused_naming_the_parameter(spec: Any, field: str, parameter: str) -> None:
    with pytest.raises(BatchSpecInvalid) as exc:
        check_scope(spec, SETTINGS, source="inline batch spec")
    assert [e.field for e in exc.value.errors] == [field]
    assert f"is not the stack's own (mlcp-*) nor granted by the parameter {parameter}" == exc.value.errors[0].message


def test_no_scope_configured_checks_nothing() -> None:
    settings = BatchSettings.model_validate({k: v for k, v in ENV.items() if not k.startswith("BATCH_")})
    assert BatchScope.from_settings(settings) is None
    assert check_scope(_spec("anything"), settings, source="s") is not None
