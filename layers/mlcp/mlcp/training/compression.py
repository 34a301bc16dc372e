"""Model compression: pruning / quantization as a SageMaker training job, or Neo compilation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlcp.errors import CompressionFailed
from mlcp.training import script_mode
from mlcp.training.context import RunContext
from mlcp.training.payloads import BestModel, CompressedRef, CompressionPlan
from mlcp.training.preparation import aws_tags
from mlcp.training.spec import Neo, Pruning, Quantization
from mlcp.training.tuning import final_metrics

MODEL_CHANNEL = "model"


def compression_plan(run: RunContext, best: BestModel, *, poll_seconds: int, max_polls: int) -> CompressionPlan:
    method = run.spec.compression
    if isinstance(method, Neo):
        return CompressionPlan(
            kind="neo",
            job_name=run.names.compilation,
            request=compilation_request(run, best, method),
            poll_seconds=poll_seconds,
            max_polls=max(1, min(max_polls, -(-method.max_runtime_seconds // poll_seconds) + 2)),
        )
    return CompressionPlan(kind="training", job_name=run.names.compression, request=training_request(run, best, method))


def training_request(run: RunContext, best: BestModel, method: Pruning | Quantization) -> dict[str, Any]:
    """CreateTrainingJob request: the compression container reads the best model from the ``model`` channel,
    evaluates the result on the validation data and logs the objective metric like the tuning trials did."""
    hyper = compression_hyperparameters(run, best, method)
    channels: dict[str, str] = {MODEL_CHANNEL: best.model_artifact}
    for name, uri in run.channels.items():
        channels.setdefault(name, uri)
    metric_definitions = [
        {"Name": m.name, "Regex": m.regex} for m in (*run.spec.tuning.metric_definitions, *method.extra_metrics)
    ]
    return {
        "TrainingJobName": run.names.compression,
        "AlgorithmSpecification": {
            "TrainingImage": method.image_uri,
            "TrainingInputMode": "File",
            "MetricDefinitions": metric_definitions,
        },
        "RoleArn": run.role_arn,
        "HyperParameters": hyper,
        "InputDataConfig": [
            {
                "ChannelName": name,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for name, uri in channels.items()
        ],
        "OutputDataConfig": {"S3OutputPath": run.output_prefix + "compression/"},
        "ResourceConfig": {
            "InstanceType": method.instance_type,
            "InstanceCount": method.instance_count,
            "VolumeSizeInGB": method.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": method.max_runtime_seconds},
        "Environment": {},
        "Tags": aws_tags(run.tags),
    }


def compression_hyperparameters(run: RunContext, best: BestModel, method: Pruning | Quantization) -> dict[str, str]:
    """HyperParameters of the compression job: the best trial's tuned values (as SageMaker passed them to the
    trial), compression.hyperparameters and mlcp's ``mlcp_*``. In script mode the last two are JSON-encoded and the
    framework container's own are added, as the SDK's Framework estimator sends them (mlcp.training.script_mode)."""
    own: dict[str, Any] = {
        **method.hyperparameters,
        "mlcp_method": method.method,
        "mlcp_objective_metric": best.objective_metric,
    }
    if isinstance(method, Pruning):
        own["mlcp_target_sparsity"] = method.target_sparsity
        own["mlcp_structured"] = method.structured
    else:
        own["mlcp_dtype"] = method.dtype
        if method.calibration_channel:
            own["mlcp_calibration_channel"] = method.calibration_channel
    if not method.script_mode:
        plain = {
            k: (repr(v) if isinstance(v, float) else str(v).lower() if isinstance(v, bool) else v)
            for k, v in own.items()
        }
        return {**best.hyperparameters, **plain}
    added = script_mode.training_hyperparameters(
        method, job_name=run.names.compression, region=script_mode.region_of(run.execution_arn)
    )
    return {**best.hyperparameters, **script_mode.encoded(own), **added}


def compilation_request(run: RunContext, best: BestModel, method: Neo) -> dict[str, Any]:
    input_config: dict[str, Any] = {
        "S3Uri": best.model_artifact,
        "DataInputConfig": method.data_input_config(),
        "Framework": method.framework,
    }
    if method.framework_version:
        input_config["FrameworkVersion"] = method.framework_version
    output: dict[str, Any] = {"S3OutputLocation": run.output_prefix + "compilation/"}
    if method.target_device is not None:
        output["TargetDevice"] = method.target_device
    elif method.target_platform is not None:
        platform: dict[str, str] = {"Os": method.target_platform.os, "Arch": method.target_platform.arch}
        if method.target_platform.accelerator:
            platform["Accelerator"] = method.target_platform.accelerator
        output["TargetPlatform"] = platform
    options = method.compiler_options_text()
    if options is not None:
        output["CompilerOptions"] = options
    return {
        "CompilationJobName": run.names.compilation,
        "RoleArn": run.role_arn,
        "InputConfig": input_config,
        "OutputConfig": output,
        "StoppingCondition": {"MaxRuntimeInSeconds": method.max_runtime_seconds},
        "Tags": aws_tags(run.tags),
    }


def compressed_result(ref: CompressedRef, description: Mapping[str, Any]) -> tuple[str, dict[str, float]]:
    """(artifact URI, final metrics) from DescribeTrainingJob / DescribeCompilationJob."""
    status = description.get("TrainingJobStatus") or description.get("CompilationJobStatus")
    if status not in ("Completed", "COMPLETED"):
        reason = description.get("FailureReason", "no reason given")
        raise CompressionFailed(f"compression job {ref.job_name} ended {status}: {reason}")
    artifact = (description.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if not artifact:
        raise CompressionFailed(f"compression job {ref.job_name} has no model artifact")
    return str(artifact), final_metrics(description)
