"""The gate between compression and registration, and the CreateModelPackage request it lets through."""

from __future__ import annotations

import math
from typing import Any

from mlcp.common import naming
from mlcp.training.context import RunContext
from mlcp.training.payloads import BestModel, GateResult
from mlcp.training.spec import Neo
from mlcp.training.tuning_spec import ObjectiveType


def exceeds(value: float, limit: float) -> bool:
    """``value > limit`` for measured floats: a value equal to the limit up to rounding does not exceed it
    (0.90 - 0.88 is 0.020000000000000018 in binary floating point)."""
    return value > limit and not math.isclose(value, limit, rel_tol=1e-9, abs_tol=1e-12)


def metric_drop(objective: ObjectiveType, before: float, after: float) -> float:
    """How much worse ``after`` is than ``before`` (negative when it improved)."""
    return before - after if objective is ObjectiveType.MAXIMIZE else after - before


def evaluate(
    run: RunContext,
    best: BestModel,
    *,
    metric_after: float | None,
    size_before: int,
    size_after: int,
    compressed_artifact: str,
) -> GateResult:
    gate = run.spec.gate
    objective = run.spec.tuning.objective
    reasons: list[str] = []
    drop: float | None = None
    wants_metric = gate.max_metric_drop_absolute is not None or gate.max_metric_drop_relative is not None
    if metric_after is not None:
        drop = metric_drop(objective.type, best.objective_value, metric_after)
    elif wants_metric:
        reasons.append(f"the compressed model reported no value for {objective.metric!r}")
    if drop is not None and gate.max_metric_drop_absolute is not None and exceeds(drop, gate.max_metric_drop_absolute):
        reasons.append(
            f"{objective.metric} dropped by {drop:.6g} ({best.objective_value:.6g} -> {metric_after:.6g}); "
            f"allowed {gate.max_metric_drop_absolute:.6g}"
        )
    if drop is not None and gate.max_metric_drop_relative is not None:
        base = abs(best.objective_value)
        relative = drop / base if base > 0 else (math.inf if drop > 0 else 0.0)
        if exceeds(relative, gate.max_metric_drop_relative):
            reasons.append(
                f"{objective.metric} dropped by {relative:.2%} ({best.objective_value:.6g} -> "
                f"{metric_after:.6g}); allowed {gate.max_metric_drop_relative:.2%}"
            )
    reduction = 1.0 - size_after / size_before if size_before > 0 else 0.0
    if exceeds(gate.min_size_reduction, reduction):
        reasons.append(
            f"size reduced by {reduction:.2%} ({size_before} -> {size_after} bytes); "
            f"required {gate.min_size_reduction:.2%}"
        )
    passed = not reasons
    result = GateResult(
        passed=passed,
        objective_metric=objective.metric,
        metric_before=best.objective_value,
        metric_after=metric_after,
        metric_drop=drop,
        size_before=size_before,
        size_after=size_after,
        size_reduction=reduction,
        compressed_artifact=compressed_artifact,
        reasons=reasons,
    )
    if passed:
        result = result.model_copy(update={"registration_request": registration_request(run, best, result)})
    return result


_METADATA_PUNCTUATION = set("_.:/=+-@")


def metadata_value(text: str) -> str:
    """SageMaker metadata values allow letters, digits, white space and _.:/=+-@ only (<= 256 chars)."""
    clean = "".join(c if c.isalnum() or c == " " or c in _METADATA_PUNCTUATION else "_" for c in text)
    return clean[:256]


def registration_request(run: RunContext, best: BestModel, result: GateResult) -> dict[str, Any]:
    """CreateModelPackage request (a versioned package in the spec's model package group)."""
    registry = run.spec.registry
    image = registry.inference_image_uri or run.spec.tuning.training.image_uri
    measured = result.metric_after if result.metric_after is not None else best.objective_value
    metadata = {
        "mlcp:run": run.run_id,
        "mlcp:pipeline": run.pipeline,
        "mlcp:dataset-version": run.dataset_version,
        "mlcp:tuning-job": best.tuning_job_name,
        "mlcp:best-training-job": best.training_job_name,
        "mlcp:objective": f"{best.objective_metric}={measured}",
        "mlcp:compression": run.spec.compression.method,
        "mlcp:size-bytes": str(result.size_after),
        "mlcp:size-reduction": f"{result.size_reduction:.4f}",
    }
    description = registry.description or (
        f"{run.pipeline} run {run.run_id}: {run.spec.compression.method}"
        + ("" if isinstance(run.spec.compression, Neo) else f", {best.objective_metric} {result.metric_after}")
    )
    return {
        "ModelPackageGroupName": registry.model_package_group,
        "ModelPackageDescription": description[:1024],
        "ModelApprovalStatus": str(registry.approval_status),
        "InferenceSpecification": {
            "Containers": [{"Image": image, "ModelDataUrl": result.compressed_artifact}],
            "SupportedContentTypes": list(registry.content_types),
            "SupportedResponseMIMETypes": list(registry.response_types),
        },
        "CustomerMetadataProperties": {k: metadata_value(v) for k, v in metadata.items()},
        "ClientToken": naming.digest(run.run_id, "register", length=32),
    }
