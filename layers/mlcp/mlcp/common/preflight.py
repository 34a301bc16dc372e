"""The preflight's shared parts: the limits AWS's service models do not carry, the stack's reach, and turning a
problem with a request into an error that names the spec field it came from.

Each capability has its own preflight (mlcp.training.preflight, mlcp.batch.preflight, mlcp.scaling.preflight): it
builds every request a run will send with the capability's own builders and checks each against

- AWS's service model (through :class:`mlcp.common.ports.RequestChecker`, botocore's models in mlcp.aws), and
- :data:`LIMITS`, the rules the models do not carry, each with the documentation page that states it.

Errors name the spec field (never a request path), give the number and the limit, and say what to change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlcp.common.images import ImageScope
from mlcp.common.ports import RequestChecker, RequestProblem
from mlcp.errors import FieldError


@dataclass(frozen=True)
class Limit:
    """A rule AWS enforces that its botocore service model does not say (value, what it limits, the source)."""

    value: Any
    what: str
    source: str


# Fargate: the vCPU values and, for each, the memory values (MiB) a job may request.
FARGATE_MEMORY_MIB: dict[float, tuple[int, ...]] = {
    0.25: (512, 1024, 2048),
    0.5: tuple(range(1024, 4096 + 1, 1024)),
    1.0: tuple(range(2048, 8192 + 1, 1024)),
    2.0: tuple(range(4096, 16384 + 1, 1024)),
    4.0: tuple(range(8192, 30720 + 1, 1024)),
    8.0: tuple(range(16384, 61440 + 1, 4096)),
    16.0: tuple(range(32768, 122880 + 1, 8192)),
}

LIMITS: dict[str, Limit] = {
    "fargate_resources": Limit(
        FARGATE_MEMORY_MIB,
        "vCPU/memory pairs a job on Fargate resources may request",
        "https://docs.aws.amazon.com/batch/latest/APIReference/API_ResourceRequirement.html",
    ),
    "container_overrides_chars": Limit(
        8192,
        "characters of a job's container overrides (JSON, formatting included); AWS Batch on ECS/Fargate answers "
        "'Container Overrides length must be at most 8192'",
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html",
    ),
    "state_payload_bytes": Limit(
        256 * 1024,
        "bytes of a Step Functions state's input or output",
        "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html",
    ),
    "execution_name_chars": Limit(
        80,
        "characters of a Step Functions execution name",
        "https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html",
    ),
    "training_hyperparameters": Limit(
        100,
        "hyperparameters of one training job (tuned + static + those mlcp adds)",
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html",
    ),
    "tuned_hyperparameters": Limit(
        30,
        "hyperparameter ranges of one tuning job",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-limits.html",
    ),
    "tuning_metric_definitions": Limit(
        20,
        "metric definitions of one tuning job",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-limits.html",
    ),
    "container_env_name": Limit(
        r"[a-zA-Z_][a-zA-Z0-9_]*",
        "container environment variable names (SageMaker's pattern; Batch passes them to the shell)",
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html",
    ),
    "neo_nvidia_compiler_options": Limit(
        ("gpu-code", "trt-ver", "cuda-ver"),
        "CompilerOptions a compilation for a TargetPlatform with the NVIDIA accelerator must give",
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputConfig.html",
    ),
    "processing_runtime_seconds": Limit(
        777_600,
        "MaxRuntimeInSeconds of a processing job (9 days; also in the service model)",
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingStoppingCondition.html",
    ),
}

ENV_NAME = re.compile(LIMITS["container_env_name"].value)
ROLES_PARAMETER = "ExtraSageMakerExecutionRoleArns"
BUCKETS_PARAMETER = "DataBucketNames"


def split_list(text: str) -> tuple[str, ...]:
    """A CloudFormation CommaDelimitedList as the functions receive it (``"a,b"``; empty: none)."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def bucket_of(uri: str) -> str:
    return uri.removeprefix("s3://").split("/", 1)[0]


@dataclass(frozen=True)
class StackReach:
    """What the deployed stack may do: pass its own SageMaker role and the extra roles of the template parameter
    ExtraSageMakerExecutionRoleArns; read/write its artifact bucket and the DataBucketNames buckets; run images
    from the registries of :class:`mlcp.common.images.ImageScope` (ExtraImageRegistries)."""

    artifact_bucket: str
    stack_role_arn: str | None = None
    extra_role_arns: tuple[str, ...] = ()
    data_buckets: tuple[str, ...] = ()
    images: ImageScope | None = None  # the image registries (None: images not checked)

    def image_problem(self, image: str) -> str | None:
        return self.images.problem(image) if self.images is not None else None

    def role_problem(self, role_arn: str) -> str | None:
        if role_arn == self.stack_role_arn or role_arn in self.extra_role_arns:
            return None
        allowed = ", ".join(self.extra_role_arns) or "none"
        return (
            f"the stack may pass only its own SageMaker role and those of the template parameter {ROLES_PARAMETER} "
            f"(now: {allowed}); add {role_arn} to {ROLES_PARAMETER} and redeploy, or remove role_arn"
        )

    def bucket_problem(self, uri: str) -> str | None:
        bucket = bucket_of(uri)
        if bucket == self.artifact_bucket or bucket in self.data_buckets:
            return None
        allowed = ", ".join((self.artifact_bucket, *self.data_buckets))
        return (
            f"bucket {bucket!r} is outside the stack's reach (it may read/write {allowed}); add {bucket} to the "
            f"template parameter {BUCKETS_PARAMETER} and redeploy, or use the artifact bucket"
        )


@dataclass
class Findings:
    """Field-level problems found by a preflight, in order, without duplicates."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, spec_field: str, message: str) -> None:
        error = FieldError(spec_field, message)
        if error not in self.errors:
            self.errors.append(error)

    def fields(self) -> set[str]:
        return {e.field for e in self.errors}


def env_name_problems(names: Iterable[str]) -> list[str]:
    """The names of ``names`` that a container environment refuses."""
    return [name for name in names if not ENV_NAME.fullmatch(name)]


def env_names_message(bad: Sequence[str]) -> str:
    listed = ", ".join(repr(n) for n in bad)
    return (
        f"{len(bad)} environment variable name(s) that AWS refuses: {listed}; names must match "
        f"{LIMITS['container_env_name'].value} (letters, digits and underscores, not starting with a digit)"
    )


def nearest_fargate_pairs(vcpus: float, memory_mib: int, count: int = 3) -> list[tuple[float, int]]:
    """The ``count`` valid Fargate (vCPU, MiB) pairs closest to the requested one (log distance)."""
    pairs = [(v, m) for v, mems in FARGATE_MEMORY_MIB.items() for m in mems]

    def distance(pair: tuple[float, int]) -> float:
        return abs(math.log2(pair[0] / vcpus)) + abs(math.log2(pair[1] / memory_mib))

    return sorted(pairs, key=distance)[:count]


def fargate_problem(vcpus: float, memory_mib: int) -> str | None:
    if memory_mib in FARGATE_MEMORY_MIB.get(float(vcpus), ()):
        return None
    nearest = ", ".join(f"{v:g} vCPU/{m} MiB" for v, m in nearest_fargate_pairs(vcpus, memory_mib))
    return (
        f"{vcpus:g} vCPU with {memory_mib} MiB is not a Fargate combination (AWS Batch refuses it at SubmitJob); "
        f"nearest valid pairs: {nearest}"
    )


Route = tuple[tuple[str, ...], str]  # (request path pattern, spec field); "*" matches one element, "{}" in the
# field is replaced by what the "*"s matched, in order


def spec_field(path: Sequence[str | int], routes: Sequence[Route], default: str) -> str:
    """The spec field a request member comes from: the longest route whose pattern is a prefix of ``path``."""
    best: tuple[int, str] | None = None
    for pattern, target in routes:
        if len(pattern) > len(path) or (best is not None and len(pattern) <= best[0]):
            continue
        captured: list[str] = []
        for want, got in zip(pattern, path, strict=False):
            if want == "*":
                captured.append(str(got))
            elif want != got:
                break
        else:
            best = (len(pattern), target.format(*captured))
    return best[1] if best is not None else default


def model_findings(
    checker: RequestChecker | None,
    service: str,
    operation: str,
    request: Mapping[str, Any],
    *,
    routes: Sequence[Route],
    default: str,
    findings: Findings,
) -> None:
    """Check ``request`` against AWS's model and record each problem under the spec field it comes from (a field
    that the limits table already reported keeps that, more specific, message)."""
    if checker is None:
        return
    reported = findings.fields()
    for problem in checker.check(service, operation, request):
        path = problem.path[:-1] if problem.key else problem.path  # a bad name: the field is the map itself
        where = spec_field(path, routes, default)
        if where not in reported:
            findings.add(where, _describe(problem, operation))


def _describe(problem: RequestProblem, operation: str) -> str:
    what = f"name {problem.path[-1]!r}: " if problem.key and problem.path else ""
    return f"{what}{problem.message} (AWS {operation} refuses it)"
