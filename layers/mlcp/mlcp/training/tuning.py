"""Hyperparameter tuning: the CreateHyperParameterTuningJob request, and reading back the best trial."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlcp.errors import TuningFailed
from mlcp.training import script_mode
from mlcp.training.context import RunContext
from mlcp.training.payloads import BestModel
from mlcp.training.preparation import aws_tags, kms
from mlcp.training.tuning_spec import Strategy, TuningStage


def _num(value: float | int) -> str:
    # SageMaker takes range bounds as strings; repr keeps full float precision without exponent surprises.
    return repr(value) if isinstance(value, float) else str(value)


def parameter_ranges(stage: TuningStage) -> dict[str, list[dict[str, Any]]]:
    ranges = stage.parameter_ranges
    out: dict[str, list[dict[str, Any]]] = {}
    if ranges.continuous:
        out["ContinuousParameterRanges"] = [
            {"Name": r.name, "MinValue": _num(r.min), "MaxValue": _num(r.max), "ScalingType": str(r.scaling)}
            for r in ranges.continuous
        ]
    if ranges.integer:
        out["IntegerParameterRanges"] = [
            {"Name": r.name, "MinValue": _num(r.min), "MaxValue": _num(r.max), "ScalingType": str(r.scaling)}
            for r in ranges.integer
        ]
    if ranges.categorical:
        out["CategoricalParameterRanges"] = [{"Name": r.name, "Values": list(r.values)} for r in ranges.categorical]
    return out


def tuning_request(run: RunContext, warm_start: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The CreateHyperParameterTuningJob request of ``run``; ``warm_start``: its ``WarmStartConfig``
    (mlcp.training.warm_start.WarmStartPlan.config), None for a cold start."""
    stage = run.spec.tuning
    limits: dict[str, int] = {"MaxParallelTrainingJobs": stage.max_parallel_jobs}
    if stage.max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = stage.max_jobs
    config: dict[str, Any] = {
        "Strategy": str(stage.strategy),
        "HyperParameterTuningJobObjective": {
            "Type": str(stage.objective.type),
            "MetricName": stage.objective.metric,
        },
        "ResourceLimits": limits,
        "ParameterRanges": parameter_ranges(stage),
        "TrainingJobEarlyStoppingType": stage.early_stopping,
    }
    if stage.random_seed is not None:
        config["RandomSeed"] = stage.random_seed
    if stage.strategy is Strategy.HYPERBAND and stage.hyperband is not None:
        config["StrategyConfig"] = {
            "HyperbandStrategyConfig": {
                "MinResource": stage.hyperband.min_resource,
                "MaxResource": stage.hyperband.max_resource,
            }
        }
    training = stage.training
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": training.max_runtime_seconds}
    spot = training.spot is not None and training.spot.enabled
    if training.spot is not None and spot:
        stopping["MaxWaitTimeInSeconds"] = training.spot.max_wait_seconds
    channel_types = {c.name: c for c in run.spec.dataset.channels}
    definition: dict[str, Any] = {
        "StaticHyperParameters": static_hyperparameters(run),
        "AlgorithmSpecification": {
            "TrainingImage": training.image_uri,
            "TrainingInputMode": str(training.input_mode),
            "MetricDefinitions": [{"Name": m.name, "Regex": m.regex} for m in stage.metric_definitions],
        },
        "RoleArn": run.role_arn,
        "InputDataConfig": [
            _channel(name, uri, channel_types[name].content_type, channel_types[name].distribution)
            for name, uri in run.channels.items()
        ],
        "OutputDataConfig": {"S3OutputPath": run.output_prefix + "tuning/", **kms(run)},
        "ResourceConfig": {
            "InstanceType": training.instance_type,
            "InstanceCount": training.instance_count,
            "VolumeSizeInGB": training.volume_size_gb,
        },
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": spot,
    }
    if spot:
        definition["CheckpointConfig"] = {"S3Uri": run.output_prefix + "checkpoints/"}
    if training.environment:
        definition["Environment"] = dict(training.environment)
    request: dict[str, Any] = {
        "HyperParameterTuningJobName": run.names.tuning,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": definition,
        "Tags": aws_tags(run.tags),
    }
    if warm_start is not None:
        request["WarmStartConfig"] = dict(warm_start)
    return request


def static_hyperparameters(run: RunContext) -> dict[str, str]:
    """The spec's static hyperparameters as sent: unchanged for an image; in script mode JSON-encoded plus the
    framework container's own (mlcp.training.script_mode), as the SDK's HyperparameterTuner sends them."""
    stage = run.spec.tuning
    if not stage.training.script_mode:
        return dict(stage.static_hyperparameters)
    added = script_mode.training_hyperparameters(
        stage.training, job_name=run.names.tuning, region=script_mode.region_of(run.execution_arn), tuning=True
    )
    return {**script_mode.encoded(stage.static_hyperparameters), **added}


def _channel(name: str, uri: str, content_type: str | None, distribution: str) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": distribution}
        },
    }
    if content_type:
        channel["ContentType"] = content_type
    return channel


def final_metrics(description: Mapping[str, Any]) -> dict[str, float]:
    return {m["MetricName"]: float(m["Value"]) for m in description.get("FinalMetricDataList") or []}


def best_training_job_name(tuning: Mapping[str, Any]) -> str:
    """The best trial's name from DescribeHyperParameterTuningJob; TuningFailed when there is none."""
    name = (tuning.get("BestTrainingJob") or {}).get("TrainingJobName")
    if not name:
        counters = tuning.get("TrainingJobStatusCounters", {})
        raise TuningFailed(
            f"tuning job {tuning.get('HyperParameterTuningJobName')} has no best training job "
            f"(trials: {dict(counters)})"
        )
    return str(name)


def best_model(run: RunContext, tuning: Mapping[str, Any], training: Mapping[str, Any]) -> BestModel:
    """Read the best trial from DescribeHyperParameterTuningJob + DescribeTrainingJob responses."""
    stage = run.spec.tuning
    best = tuning.get("BestTrainingJob") or {}
    name = best_training_job_name(tuning)
    metrics = final_metrics(training)
    objective = (best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get("Value")
    value = float(objective) if objective is not None else metrics.get(stage.objective.metric)
    if value is None:
        raise TuningFailed(f"best training job {name} reported no value for {stage.objective.metric!r}")
    artifact = (training.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if not artifact:
        raise TuningFailed(f"best training job {name} has no model artifact")
    tuned = set(stage.parameter_ranges.names())
    hyperparameters = {k: str(v) for k, v in (training.get("HyperParameters") or {}).items() if k in tuned}
    seconds = training.get("TrainingTimeInSeconds")
    return BestModel(
        tuning_job_name=str(tuning.get("HyperParameterTuningJobName", run.names.tuning)),
        training_job_name=str(name),
        hyperparameters=hyperparameters,
        objective_metric=stage.objective.metric,
        objective_value=value,
        final_metrics=metrics,
        model_artifact=str(artifact),
        training_seconds=float(seconds) if seconds is not None else None,
    )
