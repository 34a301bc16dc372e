"""The training pipeline's preflight: build every request a run of a spec will send and check each before anything
launches (mlcp.common.preflight explains the checks).

Requests: CreateProcessingJob (augment), CreateHyperParameterTuningJob, the compression CreateTrainingJob or
CreateCompilationJob, CreateModelPackage, built by the same functions the stages use (preparation, tuning,
compression, gate) for a sample run (:func:`sample_run`) or, in validate_spec, for the run itself.

Raises :class:`mlcp.errors.SpecInvalid` naming spec fields (``compression.hyperparameters``), never request paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlcp.common import naming
from mlcp.common.payloads import Trigger, TriggerType
from mlcp.common.ports import RequestChecker
from mlcp.common.preflight import LIMITS, Findings, Route, StackReach, env_name_problems, env_names_message
from mlcp.common.preflight import model_findings as _model_findings
from mlcp.common.pricing import sagemaker_prices
from mlcp.errors import SpecInvalid
from mlcp.training import compression, gate, script_mode, tuning, warm_start
from mlcp.training.budget import budget_findings
from mlcp.training.context import RunContext
from mlcp.training.payloads import BestModel, DatasetRef, GateResult, RunInput
from mlcp.training.preparation import prepare_run, processing_request
from mlcp.training.spec import Neo, PipelineSpec, Pruning, Quantization

SAMPLE_VERSION = "2026-01-01T00-00-00Z"  # a dataset version of ordinary length for the sample run
SAMPLE_ROLE_ARN = "arn:aws:iam::123456789012:role/mlcp-SageMakerExecutionRole"
SAMPLE_BUCKET = "mlcp-artifacts-123456789012-us-east-1"
MLCP_HYPERPARAMETER_PREFIX = "mlcp_"

_COMMON: list[Route] = [(("RoleArn",), "role_arn"), (("Tags",), "tags"), (("Tags", "*"), "tags")]
_RESOURCES = {"InstanceType": "instance_type", "InstanceCount": "instance_count", "VolumeSizeInGB": "volume_size_gb"}
_TUNING: list[Route] = [
    *_COMMON,
    (("HyperParameterTuningJobName",), "name"),
    (("HyperParameterTuningJobConfig",), "tuning"),
    (("HyperParameterTuningJobConfig", "Strategy"), "tuning.strategy"),
    (("HyperParameterTuningJobConfig", "HyperParameterTuningJobObjective"), "tuning.objective"),
    (("HyperParameterTuningJobConfig", "ResourceLimits", "MaxNumberOfTrainingJobs"), "tuning.max_jobs"),
    (("HyperParameterTuningJobConfig", "ResourceLimits", "MaxParallelTrainingJobs"), "tuning.max_parallel_jobs"),
    (("HyperParameterTuningJobConfig", "ParameterRanges"), "tuning.parameter_ranges"),
    (
        ("HyperParameterTuningJobConfig", "ParameterRanges", "ContinuousParameterRanges", "*"),
        "tuning.parameter_ranges.continuous[{}]",
    ),
    (
        ("HyperParameterTuningJobConfig", "ParameterRanges", "IntegerParameterRanges", "*"),
        "tuning.parameter_ranges.integer[{}]",
    ),
    (
        ("HyperParameterTuningJobConfig", "ParameterRanges", "CategoricalParameterRanges", "*"),
        "tuning.parameter_ranges.categorical[{}]",
    ),
    (("HyperParameterTuningJobConfig", "RandomSeed"), "tuning.random_seed"),
    (("HyperParameterTuningJobConfig", "StrategyConfig"), "tuning.hyperband"),
    (("HyperParameterTuningJobConfig", "TrainingJobEarlyStoppingType"), "tuning.early_stopping"),
    (("TrainingJobDefinition",), "tuning.training"),
    (("TrainingJobDefinition", "RoleArn"), "role_arn"),
    (("TrainingJobDefinition", "StaticHyperParameters"), "tuning.static_hyperparameters"),
    (("TrainingJobDefinition", "StaticHyperParameters", "*"), "tuning.static_hyperparameters.{}"),
    (("TrainingJobDefinition", "AlgorithmSpecification", "TrainingImage"), "tuning.training.image_uri"),
    (("TrainingJobDefinition", "AlgorithmSpecification", "TrainingInputMode"), "tuning.training.input_mode"),
    (("TrainingJobDefinition", "AlgorithmSpecification", "MetricDefinitions"), "tuning.metric_definitions"),
    (("TrainingJobDefinition", "AlgorithmSpecification", "MetricDefinitions", "*"), "tuning.metric_definitions[{}]"),
    (("TrainingJobDefinition", "InputDataConfig"), "dataset.channels"),
    (("TrainingJobDefinition", "OutputDataConfig"), "output.s3_prefix"),
    (("TrainingJobDefinition", "CheckpointConfig"), "output.s3_prefix"),
    *((("TrainingJobDefinition", "ResourceConfig", k), f"tuning.training.{v}") for k, v in _RESOURCES.items()),
    (("TrainingJobDefinition", "StoppingCondition", "MaxRuntimeInSeconds"), "tuning.training.max_runtime_seconds"),
    (("TrainingJobDefinition", "StoppingCondition", "MaxWaitTimeInSeconds"), "tuning.training.spot.max_wait_seconds"),
    (("TrainingJobDefinition", "Environment"), "tuning.training.environment"),
    (("TrainingJobDefinition", "Environment", "*"), "tuning.training.environment.{}"),
    (("WarmStartConfig",), "tuning.warm_start"),
    (("WarmStartConfig", "ParentHyperParameterTuningJobs"), "tuning.warm_start.from"),
    (("WarmStartConfig", "WarmStartType"), "tuning.warm_start.type"),
]
_COMPRESSION: list[Route] = [
    *_COMMON,
    (("TrainingJobName",), "name"),
    (("AlgorithmSpecification", "TrainingImage"), "compression.image_uri"),
    (("AlgorithmSpecification", "MetricDefinitions"), "compression.extra_metrics"),
    (("HyperParameters",), "compression.hyperparameters"),
    (("HyperParameters", "*"), "compression.hyperparameters.{}"),
    (("InputDataConfig",), "dataset.channels"),
    (("OutputDataConfig",), "output.s3_prefix"),
    *((("ResourceConfig", k), f"compression.{v}") for k, v in _RESOURCES.items()),
    (("StoppingCondition", "MaxRuntimeInSeconds"), "compression.max_runtime_seconds"),
]
_COMPILATION: list[Route] = [
    *_COMMON,
    (("CompilationJobName",), "name"),
    (("InputConfig", "S3Uri"), "output.s3_prefix"),
    (("InputConfig", "DataInputConfig"), "compression.input_shape"),
    (("InputConfig", "Framework"), "compression.framework"),
    (("InputConfig", "FrameworkVersion"), "compression.framework_version"),
    (("OutputConfig", "S3OutputLocation"), "output.s3_prefix"),
    (("OutputConfig", "TargetDevice"), "compression.target_device"),
    (("OutputConfig", "TargetPlatform"), "compression.target_platform"),
    (("OutputConfig", "TargetPlatform", "Os"), "compression.target_platform.os"),
    (("OutputConfig", "TargetPlatform", "Arch"), "compression.target_platform.arch"),
    (("OutputConfig", "TargetPlatform", "Accelerator"), "compression.target_platform.accelerator"),
    (("OutputConfig", "CompilerOptions"), "compression.compiler_options"),
    (("StoppingCondition", "MaxRuntimeInSeconds"), "compression.max_runtime_seconds"),
]
_REGISTRY: list[Route] = [
    (("ModelPackageGroupName",), "registry.model_package_group"),
    (("ModelPackageDescription",), "registry.description"),
    (("ModelApprovalStatus",), "registry.approval_status"),
    (("InferenceSpecification", "Containers", "*", "ModelDataUrl"), "output.s3_prefix"),
    (("InferenceSpecification", "SupportedContentTypes"), "registry.content_types"),
    (("InferenceSpecification", "SupportedResponseMIMETypes"), "registry.response_types"),
    (("CustomerMetadataProperties",), "name"),
]


def _augment_routes(spec: PipelineSpec) -> list[Route]:
    inputs = (
        "augment.inputs[{}]" if spec.augment is not None and spec.augment.inputs is not None else "dataset.channels[{}]"
    )
    return [
        *_COMMON,
        (("ProcessingJobName",), "name"),
        (("AppSpecification", "ImageUri"), "augment.image_uri"),
        (("AppSpecification", "ContainerEntrypoint"), "augment.entrypoint"),
        (("AppSpecification", "ContainerArguments"), "augment.arguments"),
        *((("ProcessingResources", "ClusterConfig", k), f"augment.{v}") for k, v in _RESOURCES.items()),
        (("ProcessingInputs",), "augment.inputs"),
        (("ProcessingInputs", "*"), inputs),
        (("ProcessingOutputConfig", "Outputs"), "augment.outputs"),
        (("ProcessingOutputConfig", "Outputs", "*", "S3Output", "S3Uri"), "output.s3_prefix"),
        (("ProcessingOutputConfig", "Outputs", "*", "S3Output", "LocalPath"), "augment.outputs[{}].local_path"),
        (("StoppingCondition", "MaxRuntimeInSeconds"), "augment.max_runtime_seconds"),
        (("Environment",), "augment.environment"),
        (("Environment", "*"), "augment.environment.{}"),
    ]


# --- a sample run and its results ---------------------------------------------------------------------------------
def sample_run(spec: PipelineSpec, reach: StackReach | None = None) -> RunContext:
    """The RunContext validate_spec would build for ``spec`` on an ordinary dataset version (no manifest)."""
    bucket = reach.artifact_bucket if reach is not None else SAMPLE_BUCKET
    role = (reach.stack_role_arn if reach is not None else None) or SAMPLE_ROLE_ARN
    manifest = f"s3://{bucket}/datasets/{spec.name}/{SAMPLE_VERSION}/manifest.json"
    run_input = RunInput(
        run_id=naming.execution_name(spec.name, SAMPLE_VERSION, bucket, manifest),
        pipeline=spec.name,
        dataset=DatasetRef(name=spec.name, version=SAMPLE_VERSION, manifest_uri=manifest),
        trigger=Trigger(type=TriggerType.MANUAL, source="preflight"),
    )
    return prepare_run(
        run_input,
        execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:mlcp-training-pipeline:{run_input.run_id}",
        spec=spec,
        spec_version="preflight",
        manifest=None,
        default_role_arn=role,
        artifact_bucket=bucket,
    )


def sample_best(run: RunContext) -> BestModel:
    """The best trial a tuning job of ``run`` reports: one value per tuned hyperparameter, SageMaker's trial name."""
    ranges = run.spec.tuning.parameter_ranges
    values = {
        **{r.name: repr(r.min) for r in ranges.continuous},
        **{r.name: str(r.min) for r in ranges.integer},
        **{r.name: r.values[0] for r in ranges.categorical},
    }
    trial = f"{run.names.tuning}-001-1a2b3c4d"
    return BestModel(
        tuning_job_name=run.names.tuning,
        training_job_name=trial,
        hyperparameters=values,
        objective_metric=run.spec.tuning.objective.metric,
        objective_value=0.5,
        final_metrics={run.spec.tuning.objective.metric: 0.5},
        model_artifact=f"{run.output_prefix}tuning/{trial}/output/model.tar.gz",
    )


def _sample_gate(run: RunContext, best: BestModel) -> GateResult:
    job = run.names.compilation if isinstance(run.spec.compression, Neo) else run.names.compression
    return GateResult(
        passed=True,
        objective_metric=best.objective_metric,
        metric_before=best.objective_value,
        metric_after=None if isinstance(run.spec.compression, Neo) else best.objective_value,
        metric_drop=0.0,
        size_before=2_000_000,
        size_after=1_000_000,
        size_reduction=0.5,
        compressed_artifact=f"{run.output_prefix}compression/{job}/output/model.tar.gz",
    )


def requests(run: RunContext) -> list[tuple[str, dict[str, Any], Sequence[Route], str]]:
    """(operation, request, routes to spec fields, default field) of every SageMaker request of a run."""
    best = sample_best(run)
    found: list[tuple[str, dict[str, Any], Sequence[Route], str]] = []
    augment = processing_request(run)
    if augment is not None:
        found.append(("CreateProcessingJob", augment, _augment_routes(run.spec), "augment"))
    warm = warm_start.sample_plan(run)  # max_parents stand-in parents: the request at its largest
    request = tuning.tuning_request(run, warm.config() if warm is not None else None)
    found.append(("CreateHyperParameterTuningJob", request, _TUNING, "tuning"))
    plan = compression.compression_plan(run, best, poll_seconds=30, max_polls=10)
    if plan.kind == "neo":
        found.append(("CreateCompilationJob", plan.request, _COMPILATION, "compression"))
    else:
        found.append(("CreateTrainingJob", plan.request, _COMPRESSION, "compression"))
    registration = gate.registration_request(run, best, _sample_gate(run, best))
    found.append(("CreateModelPackage", registration, _REGISTRY, "registry"))
    return found


# --- the rules the service models do not carry -------------------------------------------------------------------
def _hyperparameter_count(spec: PipelineSpec, method: Pruning | Quantization, request: dict[str, Any]) -> str | None:
    sent: dict[str, str] = request["HyperParameters"]
    limit = int(LIMITS["training_hyperparameters"].value)
    if len(sent) <= limit:
        return None
    own = set(method.hyperparameters)
    tuned = [n for n in spec.tuning.parameter_ranges.names() if n not in own]
    prefixes = (MLCP_HYPERPARAMETER_PREFIX, script_mode.RESERVED_PREFIX)
    added = [n for n in sent if n.startswith(prefixes) and n not in own]
    excess = len(sent) - limit
    return (
        f"the compression training job would carry {len(sent)} hyperparameters: {len(tuned)} tuned (the best "
        f"trial's), {len(own)} from compression.hyperparameters and {len(added)} that mlcp adds "
        f"({', '.join(sorted(added))}); SageMaker allows at most {limit}: remove at least {excess} from "
        "compression.hyperparameters"
    )


def _tuning_hyperparameter_count(spec: PipelineSpec, request: dict[str, Any]) -> str | None:
    """Script mode adds the framework container's static hyperparameters: tuned + static + those <= 100."""
    static: dict[str, str] = request["TrainingJobDefinition"]["StaticHyperParameters"]
    tuned = spec.tuning.parameter_ranges.names()
    limit = int(LIMITS["training_hyperparameters"].value)
    if len(static) + len(tuned) <= limit:
        return None
    added = len(static) - len(spec.tuning.static_hyperparameters)
    return (
        f"the trials would carry {len(static) + len(tuned)} hyperparameters: {len(tuned)} tuned, "
        f"{len(spec.tuning.static_hyperparameters)} static and {added} that script mode adds "
        f"({', '.join(script_mode.added_names(tuning=True))}); SageMaker allows at most {limit}: remove at least "
        f"{len(static) + len(tuned) - limit} from tuning.static_hyperparameters"
    )


def script_stages(spec: PipelineSpec) -> list[tuple[str, script_mode.ScriptMode]]:
    """(spec field, stage) of every stage in script mode."""
    stages: list[tuple[str, script_mode.ScriptMode]] = [("tuning.training", spec.tuning.training)]
    if isinstance(spec.compression, Pruning | Quantization):
        stages.append(("compression", spec.compression))
    if spec.augment is not None:
        stages.append(("augment", spec.augment))
    return [(where, stage) for where, stage in stages if stage.script_mode]


def unpackaged_findings(spec: PipelineSpec) -> Findings:
    """A script-mode stage the service cannot send as is (local source_dir, no image_uri): the CLI packages and
    resolves them, so a spec uploaded straight to S3 or sent to the API without it gets a field-level refusal."""
    findings = Findings()
    for where, stage in script_stages(spec):
        for name, message in script_mode.lambda_problems(stage):
            findings.add(f"{where}.{name}", message)
    return findings


def _table_findings(spec: PipelineSpec, built: list[tuple[str, dict[str, Any], Sequence[Route], str]]) -> Findings:
    findings = Findings()
    request = next(r for op, r, _, _ in built if op == "CreateHyperParameterTuningJob")
    count = _tuning_hyperparameter_count(spec, request)
    if count:
        findings.add("tuning.static_hyperparameters", count)
    for where, env in (
        ("tuning.training.environment", spec.tuning.training.environment),
        ("augment.environment", spec.augment.environment if spec.augment else {}),
    ):
        bad = env_name_problems(env)
        if bad:
            findings.add(where, env_names_message(bad))
    method = spec.compression
    if isinstance(method, Pruning | Quantization):
        reserved = sorted(n for n in method.hyperparameters if n.startswith(MLCP_HYPERPARAMETER_PREFIX))
        if reserved:
            findings.add(
                "compression.hyperparameters",
                f"names starting with {MLCP_HYPERPARAMETER_PREFIX!r} are mlcp's own ({', '.join(reserved)}): "
                "rename them",
            )
        request = next(r for op, r, _, _ in built if op == "CreateTrainingJob")
        message = _hyperparameter_count(spec, method, request)
        if message:
            findings.add("compression.hyperparameters", message)
    elif method.target_platform is not None and method.target_platform.accelerator == "NVIDIA":
        needed = tuple(LIMITS["neo_nvidia_compiler_options"].value)
        missing = [k for k in needed if k not in (method.compiler_options or {})]
        if missing:
            findings.add(
                "compression.compiler_options",
                f"compiling for an NVIDIA accelerator needs the compiler options {', '.join(needed)} "
                f'(missing: {", ".join(missing)}), e.g. {{"gpu-code": "sm_72", "trt-ver": "8.2.1", '
                '"cuda-ver": "10.2"}',
            )
    return findings


def _reach_findings(spec: PipelineSpec, run: RunContext, reach: StackReach, findings: Findings) -> None:
    if spec.role_arn is not None:
        problem = reach.role_problem(spec.role_arn)
        if problem:
            findings.add("role_arn", problem)
    uris: list[tuple[str, str]] = [
        (f"dataset.channels[{i}].uri", c.uri) for i, c in enumerate(spec.dataset.channels) if c.uri
    ]
    if spec.output is not None:
        uris.append(("output.s3_prefix", spec.output.s3_prefix))
    if spec.augment is not None:
        uris += [(f"augment.inputs[{i}].s3_uri", p.s3_uri) for i, p in enumerate(spec.augment.inputs or [])]
    uris += [(f"{where}.source_dir", str(stage.source_dir)) for where, stage in script_stages(spec)]
    spec_channels = {c.name for c in spec.dataset.channels if c.uri}
    uris += [
        (f"dataset.channels ({n!r} from the manifest)", u)
        for n, u in run.dataset_channels.items()
        if n not in spec_channels
    ]
    for where, uri in uris:
        problem = reach.bucket_problem(uri)
        if problem:
            findings.add(where, problem)
    for where, image in _images(spec):
        problem = reach.image_problem(image)
        if problem:
            findings.add(where, problem)


def _images(spec: PipelineSpec) -> list[tuple[str, str]]:
    """(spec field, image URI) of every container image a run of ``spec`` uses (an image a script-mode stage has
    not resolved yet is left out: ``unpackaged_findings`` refuses that spec first)."""
    named: list[tuple[str, str | None]] = [("tuning.training.image_uri", spec.tuning.training.image_uri)]
    if spec.augment is not None:
        named.append(("augment.image_uri", spec.augment.image_uri))
    if isinstance(spec.compression, Pruning | Quantization):
        named.append(("compression.image_uri", spec.compression.image_uri))
    named.append(("registry.inference_image_uri", spec.registry.inference_image_uri))
    return [(where, image) for where, image in named if image is not None]


def check_run(run: RunContext, *, reach: StackReach | None, checker: RequestChecker | None, source: str) -> None:
    """Check every request of ``run``; raise SpecInvalid naming the spec fields at fault."""
    unpackaged = unpackaged_findings(run.spec)
    if unpackaged.errors:  # the requests would name a local directory: nothing more to check until it is packaged
        raise SpecInvalid(source, unpackaged.errors)
    built = requests(run)
    findings = _table_findings(run.spec, built)
    if reach is not None:
        _reach_findings(run.spec, run, reach, findings)
    for operation, request, routes, default in built:
        _model_findings(checker, "sagemaker", operation, request, routes=routes, default=default, findings=findings)
    if findings.errors:
        raise SpecInvalid(source, findings.errors)


def preflight_spec(
    spec: PipelineSpec,
    *,
    reach: StackReach | None,
    checker: RequestChecker | None,
    source: str = "pipeline spec",
    region: str | None = None,
) -> None:
    """Check the requests a run of ``spec`` would send (a sample run) and its ``budget`` (mlcp.training.budget,
    prices of ``region``: the stack's; default the reach's image Region, else us-east-1); raise SpecInvalid with
    spec fields."""
    over = budget_findings(spec, sagemaker_prices(), region or _region(reach))
    try:
        check_run(sample_run(spec, reach), reach=reach, checker=checker, source=source)
    except SpecInvalid as exc:
        raise SpecInvalid(source, [*exc.errors, *over]) from None
    if over:
        raise SpecInvalid(source, over)


def check_budget(spec: PipelineSpec, *, region: str, source: str) -> None:
    """Raise SpecInvalid (field ``budget``/``budget.max_usd``) when the spec's worst case exceeds its budget."""
    over = budget_findings(spec, sagemaker_prices(), region)
    if over:
        raise SpecInvalid(source, over)


def _region(reach: StackReach | None) -> str:
    return reach.images.region if reach is not None and reach.images is not None else "us-east-1"
