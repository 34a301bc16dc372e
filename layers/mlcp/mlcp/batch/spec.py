"""The batch spec: a job profile for an AWS Batch array run (``batches/<profile>/batch.yaml`` or a manifest's
``spec`` field, the CLI's ``mlcp batch plan``).

A spec names where the items come from (an S3 manifest of item keys, a prefix to list, or an explicit count), the
container (image, vCPUs, memory, GPUs, command, environment), the candidate job queues with their capacity and price,
and the planner's constraints (target child duration, min/max items per child, child timeout, budget). The models
enforce AWS Batch's own limits (array size, retry attempts, evaluateOnExit, timeout >= 60 s). The JSON Schema in
docs/batch-spec.schema.json is generated from these models (``mlcp batch schema``); a test fails on drift.
"""

from __future__ import annotations

import json
import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlcp.common.documents import load_document, validate_document
from mlcp.common.validation import IMAGE_URI, S3_URI, Rules, field_errors
from mlcp.errors import BatchSpecInvalid

# --- AWS Batch limits (API reference) -------------------------------------------------------------------------
MIN_ARRAY_SIZE = 2
MAX_ARRAY_SIZE = 10_000
MAX_RETRY_ATTEMPTS = 10
MAX_EVALUATE_ON_EXIT = 5
MIN_TIMEOUT_S = 60
# Fargate uses fractional vCPUs (0.25, 0.5); EC2 integer vCPUs.
MAX_VCPUS_PER_JOB = 192.0
DEFAULT_TARGET_CHILD_S = 240  # AWS's guidance: 3-5 minutes per child job
FARGATE_VCPU_HOUR_USD = 0.04048  # us-east-1 on-demand, per vCPU-hour

PROFILE_NAME = r"^[a-z0-9](-?[a-z0-9])*$"
JOB_QUEUE = r"^(arn:aws[a-z\-]*:batch:[a-z0-9\-]+:[0-9]{12}:job-queue/)?[A-Za-z0-9_\-]{1,128}$"
COMPUTE_ENV = r"^(arn:aws[a-z\-]*:batch:[a-z0-9\-]+:[0-9]{12}:compute-environment/)?[A-Za-z0-9_\-]{1,128}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
# Reserved by the shard contract and by AWS Batch (AWS_BATCH_*); a spec may not set them.
SHARD_ENV = (
    "MLCP_ITEMS_PER_CHILD",
    "MLCP_ITEM_COUNT",
    "MLCP_MANIFEST_URI",
    "MLCP_MANIFEST_VERSION_ID",
    "MLCP_OUTPUT_URI",
    "MLCP_INDEX_MAP_URI",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built on first use (cold start)


class ItemsSource(_Model):
    """Exactly one of ``manifest`` / ``prefix`` / ``count``."""

    manifest: Annotated[
        str | None,
        Field(
            pattern=S3_URI,
            max_length=1024,
            description='S3 URI of a JSON manifest: {"items": ["key", ...]} or a JSON list of keys.',
        ),
    ] = None
    prefix: Annotated[
        str | None, Field(pattern=S3_URI, max_length=1024, description="S3 prefix whose objects are the items.")
    ] = None
    count: Annotated[
        int | None, Field(ge=1, description="An explicit number of items (the worker derives them from its index).")
    ] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ItemsSource:
        given = [n for n in ("manifest", "prefix", "count") if getattr(self, n) is not None]
        rules = Rules()
        got = ", ".join(given) or "none"
        rules.check(len(given) == 1, [], f"set exactly one of manifest, prefix, count (got {got})")
        rules.raise_if_any()
        return self


class RetryRule(_Model):
    """One entry of the job definition's ``retryStrategy.evaluateOnExit`` (AWS: at most 5)."""

    action: Literal["RETRY", "EXIT"]
    on_status_reason: Annotated[str | None, Field(max_length=512, examples=["Host EC2*"])] = None
    on_reason: Annotated[str | None, Field(max_length=512)] = None
    on_exit_code: Annotated[str | None, Field(pattern=r"^[0-9]*\*?$", max_length=512)] = None

    def to_aws(self) -> dict[str, str]:
        out: dict[str, str] = {"Action": self.action}
        for key, value in (
            ("OnStatusReason", self.on_status_reason),
            ("OnReason", self.on_reason),
            ("OnExitCode", self.on_exit_code),
        ):
            if value is not None:
                out[key] = str(value)
        return out


class RetrySpec(_Model):
    attempts: Annotated[int, Field(ge=1, le=MAX_RETRY_ATTEMPTS)] = 2
    evaluate_on_exit: Annotated[list[RetryRule], Field(max_length=MAX_EVALUATE_ON_EXIT)] = Field(
        default_factory=lambda: [
            RetryRule(action="RETRY", on_status_reason="Host EC2*"),  # Spot reclaim / host failure
            RetryRule(action="EXIT", on_reason="*"),
        ]
    )


COMMAND_PLACEHOLDERS = ("items_per_child", "item_count", "manifest", "output")


def _command_problem(part: str) -> str | None:
    """Why a command argument would fail ``str.format_map`` at plan time (unknown ``{placeholder}``), or None."""
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(part) if name is not None]
    except ValueError as exc:
        return f"is not a valid template ({exc}); write {{{{ and }}}} for literal braces"
    for name, spec, conv in fields:
        if name not in COMMAND_PLACEHOLDERS or spec or conv:
            known = ", ".join(f"{{{p}}}" for p in COMMAND_PLACEHOLDERS)
            return f"{{{name}}} is not a placeholder (known: {known}); write {{{{ and }}}} for literal braces"
    return None


class JobSpec(_Model):
    """The container every child runs (registered as, or matching, the Batch job definition)."""

    definition: Annotated[str, Field(min_length=1, max_length=256, description="Job definition name[:revision]")]
    image: Annotated[str | None, Field(pattern=IMAGE_URI, max_length=255)] = None
    vcpus: Annotated[float, Field(gt=0, le=MAX_VCPUS_PER_JOB)] = 1.0
    memory_mib: Annotated[int, Field(ge=128, le=4_000_000)] = 2048
    gpus: Annotated[int, Field(ge=0, le=16)] = 0
    platform: Annotated[
        Literal["FARGATE", "EC2"],
        Field(
            description="The job definition's platformCapabilities (the stack's mlcp-batch-worker: FARGATE). On "
            "Fargate, vcpus/memory_mib must be one of Fargate's pairs (the preflight checks them)."
        ),
    ] = "FARGATE"
    command: Annotated[
        list[str],
        Field(
            max_length=100,
            description="Container command; {items_per_child}, {item_count}, {manifest} and {output} are "
            "replaced at plan time (the child's index is AWS_BATCH_JOB_ARRAY_INDEX).",
        ),
    ] = Field(default_factory=list)
    environment: Annotated[dict[Annotated[str, Field(pattern=ENV_NAME)], str], Field(max_length=100)] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _reserved_env(self) -> JobSpec:
        rules = Rules()
        for i, part in enumerate(self.command):
            problem = _command_problem(part)
            rules.check(problem is None, ["command", i], problem or "")
        for name in self.environment:
            rules.check(
                # "Environment variables cannot start with AWS_BATCH" (API_KeyValuePair, AWS Batch API reference)
                name not in SHARD_ENV and not name.startswith("AWS_BATCH"),
                ["environment", name],
                "is reserved by the shard contract / AWS Batch",
            )
        rules.raise_if_any()
        return self


class QueueSpec(_Model):
    """A candidate job queue: where it runs, how much it may run at once, what it costs."""

    name: Annotated[str, Field(pattern=JOB_QUEUE)]
    compute_environment: Annotated[
        str | None, Field(pattern=COMPUTE_ENV, description="Compute environment to resize (optional)")
    ] = None
    max_vcpus: Annotated[int, Field(ge=1, le=1_000_000, description="Usable capacity (the CE's maxvCpus)")]
    price_per_vcpu_hour: Annotated[float, Field(ge=0)] = FARGATE_VCPU_HOUR_USD
    speed: Annotated[float, Field(gt=0, le=100, description="Relative speed of the instance family (1 = baseline)")] = (
        1.0
    )
    spot: bool = False


class ResizeSpec(_Model):
    """Raise or lower the compute environment's maxvCpus to fit the plan, within bounds; restored afterwards."""

    min_vcpus: Annotated[int, Field(ge=0)] = 0
    max_vcpus: Annotated[int, Field(ge=1, le=1_000_000)]

    @model_validator(mode="after")
    def _bounds(self) -> ResizeSpec:
        rules = Rules()
        rules.check(self.min_vcpus <= self.max_vcpus, ["min_vcpus"], "must be <= max_vcpus")
        rules.raise_if_any()
        return self


class EstimateSpec(_Model):
    """The prior the planner starts from when the profile has no history."""

    per_item_seconds: Annotated[float, Field(gt=0, le=86_400)] = 1.0
    startup_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0


class BatchSpec(_Model):
    """A job profile: what to run over which items, on which queues, under which constraints."""

    name: Annotated[str, Field(pattern=PROFILE_NAME, max_length=40, description="Job profile (self-tuning key)")]
    items: ItemsSource
    job: JobSpec
    queues: Annotated[list[QueueSpec], Field(min_length=1, max_length=10)]
    cost_weight: Annotated[
        float, Field(ge=0, le=1, description="Queue choice: 0 = fastest plan, 1 = cheapest plan")
    ] = 0.0
    target_child_seconds: Annotated[int | None, Field(ge=MIN_TIMEOUT_S, le=7 * 86_400)] = DEFAULT_TARGET_CHILD_S
    min_items_per_child: Annotated[int, Field(ge=1)] = 1
    max_items_per_child: Annotated[int | None, Field(ge=1)] = None
    child_timeout_seconds: Annotated[int | None, Field(ge=MIN_TIMEOUT_S, le=14 * 86_400)] = None
    budget_usd: Annotated[float | None, Field(gt=0)] = None
    retry: RetrySpec = Field(default_factory=RetrySpec)
    resize: ResizeSpec | None = None
    estimate: EstimateSpec = Field(default_factory=EstimateSpec)
    output: Annotated[str | None, Field(pattern=S3_URI, max_length=1024, description="Results prefix")] = None

    @model_validator(mode="after")
    def _cross_field(self) -> BatchSpec:
        rules = Rules()
        if self.max_items_per_child is not None:
            rules.check(
                self.min_items_per_child <= self.max_items_per_child,
                ["min_items_per_child"],
                f"must be <= max_items_per_child ({self.max_items_per_child})",
            )
        names = [q.name for q in self.queues]
        rules.check(len(set(names)) == len(names), ["queues"], "queue names must be unique")
        for i, queue in enumerate(self.queues):
            rules.check(
                queue.max_vcpus >= self.job.vcpus or self.resize is not None,
                ["queues", i, "max_vcpus"],
                f"is below the job's vcpus ({self.job.vcpus:g}): no child could ever run",
            )
        if self.resize is not None:
            rules.check(
                self.resize.max_vcpus >= self.job.vcpus,
                ["resize", "max_vcpus"],
                f"is below the job's vcpus ({self.job.vcpus:g})",
            )
        rules.raise_if_any()
        return self


def parse_batch_spec(document: str | bytes | dict[str, Any], *, source: str = "batch spec") -> BatchSpec:
    """Parse a batch spec from YAML/JSON text or a dict; raise BatchSpecInvalid with field-level errors."""
    data = load_document(document, source=source, error=BatchSpecInvalid)
    return validate_document(BatchSpec, data, source=source, error=BatchSpecInvalid, errors_of=field_errors)


def batch_spec_json_schema() -> dict[str, Any]:
    schema = BatchSpec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://mlcp.dev/schemas/batch-spec.schema.json"
    return schema


def batch_spec_schema_text() -> str:
    return json.dumps(batch_spec_json_schema(), indent=2, sort_keys=True) + "\n"
