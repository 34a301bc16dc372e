"""The pipeline spec: what a user uploads as ``pipelines/<name>/pipeline.yaml`` (YAML or JSON).

The models enforce SageMaker's own rules (limits, strategy constraints, name patterns) so a spec that validates
here is accepted by CreateHyperParameterTuningJob / CreateTrainingJob / CreateCompilationJob. The JSON Schema in
docs/pipeline-spec.schema.json is generated from these models (``mlcp spec schema``); a test fails on drift.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, ValidationError, model_validator

from mlcp.common.documents import load_document, validate_document
from mlcp.common.validation import S3_URI, Rules, duplicates, field_errors
from mlcp.errors import FieldError, SpecInvalid
from mlcp.training.sagemaker_limits import (
    CHANNEL_NAME,
    DESCRIPTION_TEXT,
    HYPERPARAMETER_NAME,
    MAX_PROCESSING_RUNTIME_S,
    MAX_TRAINING_CHANNELS,
    MAX_TRAINING_RUNTIME_S,
    PIPELINE_NAME,
    SAGEMAKER_NAME,
    TAG_TEXT,
    ImageUri,
    InstanceType,
    RoleArn,
    S3Uri,
    SpecModel,
)
from mlcp.training.script_mode import (
    PROCESSING_CODE_DIR,
    PROCESSING_CODE_INPUT,
    PROCESSING_ENTRYPOINT_DIR,
    PROCESSING_ENTRYPOINT_INPUT,
    RESERVED_PREFIX,
    ScriptMode,
)
from mlcp.training.tuning_spec import MetricDefinition, TuningStage


class Channel(SpecModel):
    """One input channel of the training jobs (``train``, ``validation``, ...)."""

    name: Annotated[str, Field(pattern=CHANNEL_NAME)]
    uri: Annotated[
        str | None,
        Field(
            pattern=S3_URI,
            max_length=1024,
            description="S3 prefix of the channel; `{version}` is replaced by the dataset version of the run. "
            "Default: s3://<artifact bucket>/datasets/<pipeline>/{version}/<channel>/ (next to the manifest).",
        ),
    ] = None
    content_type: Annotated[str | None, Field(max_length=256)] = None
    distribution: Literal["FullyReplicated", "ShardedByS3Key"] = "FullyReplicated"


class Dataset(SpecModel):
    channels: Annotated[list[Channel], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _unique_channels(self) -> Dataset:
        rules = Rules()
        seen: set[str] = set()
        for i, ch in enumerate(self.channels):
            rules.check(ch.name not in seen, ("channels", i, "name"), f"duplicate channel name {ch.name!r}")
            seen.add(ch.name)
        rules.raise_if_any()
        return self


class Output(SpecModel):
    s3_prefix: Annotated[S3Uri, Field(description="Where jobs write models, reports and compressed artifacts.")]


# --- augment (SageMaker Processing) --------------------------------------------------------------------------
class ProcessingInput(SpecModel):
    name: Annotated[str, Field(pattern=CHANNEL_NAME)]
    s3_uri: S3Uri
    local_path: Annotated[str, Field(pattern=r"^/opt/ml/processing/[A-Za-z0-9_.\-/]+$", max_length=256)]


class ProcessingOutput(SpecModel):
    name: Annotated[
        str,
        Field(
            pattern=CHANNEL_NAME,
            description="An output named like a dataset channel replaces that channel for tuning.",
        ),
    ]
    local_path: Annotated[str, Field(pattern=r"^/opt/ml/processing/[A-Za-z0-9_.\-/]+$", max_length=256)]


class AugmentStage(ScriptMode):
    """Optional data augmentation / preprocessing as a SageMaker Processing job, before tuning: an image
    (``image_uri``, ``entrypoint``), or script mode (``framework`` + ``entry_point`` + ``source_dir``) run as the
    SDK's FrameworkProcessor runs it (mlcp.training.script_mode)."""

    requirements_anywhere: ClassVar[bool] = True  # runproc.sh installs the file requirements names
    instance_type: InstanceType = "ml.m5.xlarge"
    instance_count: Annotated[int, Field(ge=1, le=100)] = 1
    volume_size_gb: Annotated[int, Field(ge=1, le=16384)] = 30
    max_runtime_seconds: Annotated[int, Field(ge=1, le=MAX_PROCESSING_RUNTIME_S)] = 3600
    entrypoint: Annotated[list[Annotated[str, Field(max_length=256)]], Field(max_length=100)] = []
    arguments: Annotated[list[Annotated[str, Field(max_length=256)]], Field(max_length=256)] = []
    environment: Annotated[dict[str, Annotated[str, Field(max_length=256)]], Field(max_length=100)] = {}
    inputs: Annotated[
        list[ProcessingInput] | None,
        Field(max_length=10, description="Default: every dataset channel at /opt/ml/processing/input/<name>."),
    ] = None
    outputs: Annotated[list[ProcessingOutput], Field(min_length=1, max_length=10)]

    @model_validator(mode="after")
    def _unique_names(self) -> AugmentStage:
        rules = Rules()
        names = [i.name for i in self.inputs or []] + [o.name for o in self.outputs]
        for name in duplicates(names):
            where = "outputs" if name in {o.name for o in self.outputs} else "inputs"
            rules.check(False, (where,), f"processing input/output name {name!r} is used twice")
        if self.script_mode:
            rules.check(
                not self.entrypoint,
                ("entrypoint",),
                "not with framework: in script mode the container runs runproc.sh, which runs entry_point",
            )
            for i, item in enumerate(self.inputs or []):
                rules.check(
                    item.name not in (PROCESSING_CODE_INPUT, PROCESSING_ENTRYPOINT_INPUT),
                    ("inputs", i, "name"),
                    f"{item.name!r} is the script-mode code input's name; rename it",
                )
                rules.check(
                    not item.local_path.rstrip("/").startswith(
                        (PROCESSING_CODE_DIR.rstrip("/"), PROCESSING_ENTRYPOINT_DIR.rstrip("/"))
                    ),
                    ("inputs", i, "local_path"),
                    f"{PROCESSING_CODE_DIR} and {PROCESSING_ENTRYPOINT_DIR} hold the script-mode code; use "
                    "another path",
                )
        rules.raise_if_any()
        return self


# --- compression ---------------------------------------------------------------------------------------------
class CompressionJob(ScriptMode):
    """Pruning and quantization run as a SageMaker training job over the best model's artifact: an image
    (``image_uri``), or script mode (``framework`` + ``entry_point`` + ``source_dir``)."""

    instance_type: InstanceType = "ml.m5.xlarge"
    instance_count: Annotated[int, Field(ge=1, le=100)] = 1
    volume_size_gb: Annotated[int, Field(ge=1, le=16384)] = 30
    max_runtime_seconds: Annotated[int, Field(ge=1, le=MAX_TRAINING_RUNTIME_S)] = 3600
    hyperparameters: dict[
        Annotated[str, Field(pattern=HYPERPARAMETER_NAME, max_length=256)],
        Annotated[str, Field(max_length=2500)],
    ] = {}
    size_metric: Annotated[
        str,
        Field(
            min_length=1,
            max_length=255,
            description="Metric (from the tuning metric_definitions or extra_metrics) that reports model bytes; "
            "optional, the gate measures artifact sizes in S3 itself.",
        ),
    ] = "model_size_bytes"
    extra_metrics: Annotated[list[MetricDefinition], Field(max_length=10)] = []

    @model_validator(mode="after")
    def _no_framework_names(self) -> CompressionJob:
        """In script mode the sagemaker_* hyperparameters are the framework container's own (mlcp sets them, so a
        user's value would be overwritten without a word): refused, as in tuning.static_hyperparameters."""
        rules = Rules()
        if self.script_mode:
            for name in sorted(self.hyperparameters):
                rules.check(
                    not name.startswith(RESERVED_PREFIX),
                    ("hyperparameters",),
                    f"{name!r}: names starting with {RESERVED_PREFIX!r} are the framework container's "
                    "own in script mode; rename it",
                )
        rules.raise_if_any()
        return self


class Pruning(CompressionJob):
    method: Literal["pruning"]
    target_sparsity: Annotated[float, Field(gt=0, lt=1, description="Fraction of weights set to zero.")]
    structured: bool = False


class Quantization(CompressionJob):
    method: Literal["quantization"]
    dtype: Literal["int8", "fp16", "bf16"]
    calibration_channel: Annotated[
        str | None, Field(pattern=CHANNEL_NAME, description="Dataset channel used for calibration.")
    ] = None


class NeoTargetPlatform(SpecModel):
    os: Literal["ANDROID", "LINUX"]
    arch: Literal["X86_64", "X86", "ARM64", "ARM_EABI", "ARM_EABIHF"]
    accelerator: Literal["INTEL_GRAPHICS", "MALI", "NVIDIA", "NNA"] | None = None  # TargetPlatformAccelerator


NEO_TARGET_DEVICES = (
    "lambda", "ml_m4", "ml_m5", "ml_m6g", "ml_c4", "ml_c5", "ml_c6g", "ml_p2", "ml_p3", "ml_g4dn", "ml_inf1",
    "ml_inf2", "ml_trn1", "ml_eia2", "jetson_tx1", "jetson_tx2", "jetson_nano", "jetson_xavier", "rasp3b",
    "rasp4b", "imx8qm", "deeplens", "rk3399", "rk3288", "aisage", "sbe_c", "qcs605", "qcs603", "sitara_am57x",
    "amba_cv2", "amba_cv22", "amba_cv25", "x86_win32", "x86_win64", "coreml", "jacinto_tda4vm", "imx8mplus",
)  # fmt: skip


class Neo(SpecModel):
    """SageMaker Neo compilation of the best model for a device or platform."""

    method: Literal["neo"]
    framework: Literal["TENSORFLOW", "KERAS", "MXNET", "ONNX", "PYTORCH", "XGBOOST", "TFLITE", "DARKNET", "SKLEARN"]
    framework_version: Annotated[str | None, Field(pattern=r"^[0-9]\.[0-9]+(\.[0-9]+)?$")] = None
    input_shape: Annotated[
        dict[str, list[Annotated[int, Field(ge=1)]]],
        Field(min_length=1, description='Input name -> shape, e.g. {"input0": [1, 3, 224, 224]}'),
    ]
    target_device: Annotated[str | None, Field(json_schema_extra={"enum": list(NEO_TARGET_DEVICES)})] = None
    target_platform: NeoTargetPlatform | None = None
    compiler_options: Annotated[
        dict[str, Any] | None,
        Field(
            description="OutputConfig.CompilerOptions, sent as JSON. Required for a target_platform with the NVIDIA "
            'accelerator: {"gpu-code": "sm_72", "trt-ver": "8.2.1", "cuda-ver": "10.2"} (SageMaker API reference, '
            "OutputConfig); recommended for CPU targets.",
        ),
    ] = None
    max_runtime_seconds: Annotated[int, Field(ge=1, le=86400)] = 900

    @model_validator(mode="after")
    def _target(self) -> Neo:
        rules = Rules()
        rules.check(
            (self.target_device is None) != (self.target_platform is None),
            ("target_device",),
            "give exactly one of target_device and target_platform",
        )
        if self.target_device is not None:
            rules.check(
                self.target_device in NEO_TARGET_DEVICES,
                ("target_device",),
                f"unknown Neo target device {self.target_device!r}",
            )
        rules.raise_if_any()
        return self

    def data_input_config(self) -> str:
        return json.dumps(self.input_shape, separators=(",", ":"))

    def compiler_options_text(self) -> str | None:
        if self.compiler_options is None:
            return None
        return json.dumps(self.compiler_options, separators=(",", ":"), sort_keys=True)


Compression = Annotated[Pruning | Quantization | Neo, Field(discriminator="method")]
COMPRESSION_METHODS = ("pruning", "quantization", "neo")


# --- gate and registry ---------------------------------------------------------------------------------------
class Gate(SpecModel):
    """Accept the compressed model only if it kept its quality and got smaller enough."""

    max_metric_drop_absolute: Annotated[float | None, Field(ge=0)] = None
    max_metric_drop_relative: Annotated[float | None, Field(ge=0, le=1)] = None
    min_size_reduction: Annotated[
        float, Field(ge=0, lt=1, description="1 - compressed/original bytes; 0.5 means at least halved.")
    ] = 0.0

    @model_validator(mode="after")
    def _one_drop(self) -> Gate:
        rules = Rules()
        rules.check(
            not (self.max_metric_drop_absolute is not None and self.max_metric_drop_relative is not None),
            ("max_metric_drop_relative",),
            "give max_metric_drop_absolute or max_metric_drop_relative, not both",
        )
        rules.raise_if_any()
        return self


class ApprovalStatus(StrEnum):
    APPROVED = "Approved"
    REJECTED = "Rejected"
    PENDING = "PendingManualApproval"


class Registry(SpecModel):
    model_package_group: Annotated[str, Field(pattern=SAGEMAKER_NAME, max_length=63)]
    approval_status: ApprovalStatus = ApprovalStatus.PENDING
    inference_image_uri: Annotated[
        ImageUri | None, Field(description="Serving image; default: the tuning training image.")
    ] = None
    content_types: Annotated[list[str], Field(min_length=1, max_length=10)] = ["application/json"]
    response_types: Annotated[list[str], Field(min_length=1, max_length=10)] = ["application/json"]
    description: Annotated[str | None, Field(max_length=1024, pattern=DESCRIPTION_TEXT)] = None


class Budget(SpecModel):
    """The most a run may cost: the preflight refuses a spec whose worst case exceeds it (mlcp.training.budget)."""

    max_usd: Annotated[
        float,
        Field(
            gt=0,
            le=10_000_000,
            description="USD. Worst case: every job at its MaxRuntimeInSeconds, times instances, times the shipped "
            "price table's On-Demand price in the stack's Region.",
        ),
    ]


# --- the spec ------------------------------------------------------------------------------------------------
class PipelineSpec(SpecModel):
    """A training pipeline: dataset → [augment] → tune → compress → gate → register."""

    api_version: Literal["mlcp/v1"] = "mlcp/v1"
    name: Annotated[str, Field(min_length=1, max_length=40, pattern=PIPELINE_NAME)]
    description: Annotated[str | None, Field(max_length=1024)] = None
    role_arn: Annotated[RoleArn | None, Field(description="SageMaker execution role; default: the stack's role.")] = (
        None
    )
    dataset: Dataset
    output: Annotated[
        Output | None, Field(description="Default: s3://<artifact bucket>/runs/<pipeline>/ (one folder per run).")
    ] = None
    augment: AugmentStage | None = None
    tuning: TuningStage
    compression: Compression
    gate: Gate = Gate()
    registry: Registry
    budget: Annotated[Budget | None, Field(description="Refuse runs whose worst-case cost exceeds max_usd.")] = None
    tags: Annotated[
        dict[
            Annotated[str, Field(min_length=1, max_length=128, pattern=TAG_TEXT)],
            Annotated[str, Field(max_length=256, pattern=TAG_TEXT)],
        ],
        Field(max_length=40),
    ] = {}

    @model_validator(mode="after")
    def _cross_stage(self) -> PipelineSpec:
        rules = Rules()
        channels = {c.name for c in self.dataset.channels}
        if isinstance(self.compression, Pruning | Quantization):
            # The compression training job gets the dataset channels plus the best model's "model" channel.
            rules.check(
                len(channels) < MAX_TRAINING_CHANNELS,
                ("dataset", "channels"),
                f"at most {MAX_TRAINING_CHANNELS - 1} channels with {self.compression.method} (the compression job "
                f"adds the 'model' channel; SageMaker allows {MAX_TRAINING_CHANNELS})",
            )
            rules.check(
                "model" not in channels,
                ("dataset", "channels"),
                "the channel name 'model' is reserved for the best model in the compression job",
            )
        if isinstance(self.compression, Quantization) and self.compression.calibration_channel:
            rules.check(
                self.compression.calibration_channel in channels,
                ("compression", "calibration_channel"),
                f"is not a dataset channel ({', '.join(sorted(channels))})",
            )
        if isinstance(self.compression, Neo):
            rules.check(
                self.gate.max_metric_drop_absolute is None and self.gate.max_metric_drop_relative is None,
                ("gate",),
                "Neo compilation does not re-evaluate the model; a metric-drop gate needs pruning or quantization",
            )
            rules.check(
                self.registry.inference_image_uri is not None,
                ("registry", "inference_image_uri"),
                "required with Neo compilation (the compiled model needs a Neo inference image)",
            )
        for key in self.tags:
            rules.check(not key.lower().startswith("aws:"), ("tags", key), "the aws: prefix is reserved")
        rules.raise_if_any()
        return self


def spec_errors(exc: ValidationError) -> list[FieldError]:
    return field_errors(exc, union_tags={"compression": COMPRESSION_METHODS})


def parse_spec(document: str | bytes | dict[str, Any], *, source: str = "pipeline spec") -> PipelineSpec:
    """Parse a spec from YAML/JSON text or a dict; raise SpecInvalid with field-level errors."""
    data = load_document(document, source=source, error=SpecInvalid)
    return validate_document(PipelineSpec, data, source=source, error=SpecInvalid, errors_of=spec_errors)


def spec_json_schema() -> dict[str, Any]:
    schema = PipelineSpec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://mlcp.dev/schemas/pipeline-spec.schema.json"
    return schema
