"""The batch pipeline's preflight: check the SubmitJob and UpdateComputeEnvironment requests of a plan before
anything is resized or submitted (mlcp.common.preflight explains the checks).

The requests are the ones plan_batch builds (mlcp.batch.requests.submit_request; the CLI's ``mlcp batch plan``
builds them for a sample run). Beyond AWS's service model: Fargate's vCPU/memory pairs, the 8,192-character
container overrides, and the buckets the stack's batch workers may reach.

Raises :class:`mlcp.errors.BatchSpecInvalid` naming batch spec fields (``job.memory_mib``), never request paths.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlcp.batch.spec import BatchSpec
from mlcp.common.ports import RequestChecker
from mlcp.common.preflight import FARGATE_MEMORY_MIB, LIMITS, Findings, Route, StackReach, fargate_problem
from mlcp.common.preflight import model_findings as _model_findings
from mlcp.errors import BatchSpecInvalid

_SUBMIT: list[Route] = [
    (("JobName",), "name"),
    (("JobQueue",), "queues"),
    (("JobDefinition",), "job.definition"),
    (("ContainerOverrides",), "job"),
    (("ContainerOverrides", "Command"), "job.command"),
    (("ContainerOverrides", "Environment"), "job.environment"),
    (("ContainerOverrides", "ResourceRequirements"), "job.vcpus"),
    (("RetryStrategy", "Attempts"), "retry.attempts"),
    (("RetryStrategy", "EvaluateOnExit"), "retry.evaluate_on_exit"),
    (("RetryStrategy", "EvaluateOnExit", "*"), "retry.evaluate_on_exit[{}]"),
    (("Timeout",), "child_timeout_seconds"),
    (("ArrayProperties",), "items"),
    (("Tags",), "name"),
]
_RESIZE: list[Route] = [(("ComputeEnvironment",), "queues"), (("ComputeResources",), "resize.max_vcpus")]


def overrides_text(overrides: Mapping[str, Any]) -> str:
    """The container overrides as the Batch API (and ECS after it) receives them: camelCase JSON."""

    def api(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k[:1].lower() + k[1:]: api(v) for k, v in value.items()}
        if isinstance(value, list):
            return [api(v) for v in value]
        return value

    return json.dumps(api(overrides), separators=(",", ":"))


def _overrides_problem(spec: BatchSpec, overrides: Mapping[str, Any]) -> str | None:
    limit = int(LIMITS["container_overrides_chars"].value)
    size = len(overrides_text(overrides))
    if size <= limit:
        return None
    own = len(overrides_text({"Environment": [{"Name": k, "Value": v} for k, v in spec.job.environment.items()]}))
    command = len(overrides_text({"Command": overrides.get("Command", [])}))
    return (
        f"the container overrides come to {size:,} characters (job.environment about {own:,}, job.command about "
        f"{command:,}, the rest the MLCP_* variables and resources mlcp adds); AWS Batch allows at most {limit:,}: "
        "move long values out of the overrides, e.g. into the job definition's environment or an S3 object the "
        "worker reads (MLCP_MANIFEST_URI)"
    )


def _fargate_findings(spec: BatchSpec, findings: Findings) -> None:
    if spec.job.platform != "FARGATE":
        return
    problem = fargate_problem(spec.job.vcpus, spec.job.memory_mib)
    if problem:
        findings.add("job.vcpus" if float(spec.job.vcpus) not in FARGATE_MEMORY_MIB else "job.memory_mib", problem)
    if spec.job.gpus:
        findings.add(
            "job.gpus", "jobs on Fargate resources cannot request GPUs; use an EC2 job definition (platform: EC2)"
        )


def _reach_findings(spec: BatchSpec, submit: Mapping[str, Any], reach: StackReach, findings: Findings) -> None:
    """The buckets this run touches: the manifest it reads (the trigger's or items.manifest), the prefix it lists,
    its outputs, and any s3:// URI the worker is given in job.environment."""
    env = {e["Name"]: e["Value"] for e in submit.get("ContainerOverrides", {}).get("Environment", [])}
    manifest = env.get("MLCP_MANIFEST_URI")
    uris = [("items.manifest", manifest), ("output", env.get("MLCP_OUTPUT_URI"))]
    if manifest is None:
        uris.append(("items.prefix", spec.items.prefix))
    for name, value in spec.job.environment.items():
        uris += [(f"job.environment.{name}", part) for part in value.split(",") if part.strip().startswith("s3://")]
    for where, uri in uris:
        problem = reach.bucket_problem(uri.strip()) if uri else None
        if problem:
            findings.add(where, problem)
    image_problem = reach.image_problem(spec.job.image) if spec.job.image else None
    if image_problem:
        findings.add("job.image", image_problem)


def check_requests(
    spec: BatchSpec,
    submit: Mapping[str, Any],
    resize: Mapping[str, Any] | None,
    *,
    reach: StackReach | None,
    checker: RequestChecker | None,
    source: str,
) -> None:
    """Check a run's SubmitJob (PascalCase, as the state machine sends it) and resize; raise BatchSpecInvalid."""
    findings = Findings()
    _fargate_findings(spec, findings)
    overrides = submit.get("ContainerOverrides", {})
    problem = _overrides_problem(spec, overrides)
    if problem:  # on the field that makes up most of the overrides
        command = len(overrides_text({"Command": overrides.get("Command", [])}))
        environment = len(overrides_text({"Environment": overrides.get("Environment", [])}))
        findings.add("job.command" if command > environment else "job.environment", problem)
    if reach is not None:
        _reach_findings(spec, submit, reach, findings)
    _model_findings(checker, "batch", "SubmitJob", submit, routes=_SUBMIT, default="job", findings=findings)
    if resize is not None:
        request = {
            "ComputeEnvironment": resize["ComputeEnvironment"],
            "ComputeResources": {"MaxvCpus": resize["MaxvCpus"]},
        }
        _model_findings(
            checker, "batch", "UpdateComputeEnvironment", request, routes=_RESIZE, default="resize", findings=findings
        )
    if findings.errors:
        raise BatchSpecInvalid(source, findings.errors)
