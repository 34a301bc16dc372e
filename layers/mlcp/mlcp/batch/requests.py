"""The AWS requests of a batch run: SubmitJob (the array job) and UpdateComputeEnvironment (the resize), and the
preflight of a plan made offline. Pure: plan_batch (use_cases) and ``mlcp batch plan`` build them here."""

from __future__ import annotations

import math
from typing import Any

from mlcp.batch.payloads import Shards
from mlcp.batch.planner import BatchPlan
from mlcp.batch.preflight import check_requests
from mlcp.batch.spec import BatchSpec
from mlcp.common import naming
from mlcp.common.ports import RequestChecker
from mlcp.common.preflight import StackReach

MIN_SAFETY_TIMEOUT_S = 600  # without child_timeout_seconds: 3x the expected child, at least 10 minutes


def submit_request(spec: BatchSpec, plan: BatchPlan, run_id: str, shards: Shards, *, children: int) -> dict[str, Any]:
    """SubmitJob parameters (PascalCase, as Step Functions takes them) for the plan and the shard contract."""
    values = {
        "items_per_child": str(shards.items_per_child),
        "item_count": str(shards.item_count),
        "manifest": shards.manifest_uri or "",
        "output": shards.output_uri,
    }
    env = {
        **spec.job.environment,
        "MLCP_ITEMS_PER_CHILD": values["items_per_child"],
        "MLCP_ITEM_COUNT": values["item_count"],
        "MLCP_OUTPUT_URI": shards.output_uri,
    }
    if shards.manifest_uri:
        env["MLCP_MANIFEST_URI"] = shards.manifest_uri
    if shards.manifest_version_id:
        env["MLCP_MANIFEST_VERSION_ID"] = shards.manifest_version_id
    if shards.index_map_uri:
        env["MLCP_INDEX_MAP_URI"] = shards.index_map_uri
    overrides: dict[str, Any] = {
        "Environment": [{"Name": k, "Value": v} for k, v in sorted(env.items())],
        "ResourceRequirements": [
            {"Type": "VCPU", "Value": f"{spec.job.vcpus:g}"},
            {"Type": "MEMORY", "Value": str(spec.job.memory_mib)},
            *([{"Type": "GPU", "Value": str(spec.job.gpus)}] if spec.job.gpus else []),
        ],
    }
    if spec.job.command:
        overrides["Command"] = [part.format_map(values) for part in spec.job.command]
    timeout = spec.child_timeout_seconds or max(MIN_SAFETY_TIMEOUT_S, math.ceil(3 * plan.child_seconds))
    request: dict[str, Any] = {
        "JobName": run_id,
        "JobQueue": plan.queue,
        "JobDefinition": spec.job.definition,
        "ContainerOverrides": overrides,
        "RetryStrategy": {
            "Attempts": spec.retry.attempts,
            "EvaluateOnExit": [rule.to_aws() for rule in spec.retry.evaluate_on_exit],
        },
        "Timeout": {"AttemptDurationSeconds": timeout},
        "Tags": {"mlcp:profile": spec.name, "mlcp:run": run_id},
    }
    if children > 1:
        request["ArrayProperties"] = {"Size": children}
    return request


def resize_request(plan: BatchPlan) -> dict[str, Any] | None:
    if plan.resize_max_vcpus is None or plan.compute_environment is None:
        return None
    return {"ComputeEnvironment": plan.compute_environment, "MaxvCpus": plan.resize_max_vcpus}


def preflight_plan(
    spec: BatchSpec, plan: BatchPlan, *, reach: StackReach | None, checker: RequestChecker | None, source: str
) -> None:
    """The preflight of a plan made offline (``mlcp batch plan``): the requests of a sample run of it."""
    bucket = reach.artifact_bucket if reach is not None else "mlcp-artifacts-123456789012-us-east-1"
    run_id = naming.execution_name(spec.name, "preflight", bucket)
    shards = Shards(
        item_count=plan.item_count,
        items_per_child=plan.items_per_child,
        children=plan.children,
        manifest_uri=spec.items.manifest,
        output_uri=spec.output or f"s3://{bucket}/batches/{spec.name}/runs/{run_id}/results/",
    )
    submit = submit_request(spec, plan, run_id, shards, children=plan.children)
    check_requests(spec, submit, resize_request(plan), reach=reach, checker=checker, source=source)
