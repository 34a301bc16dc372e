"""Prepare a run: resolve the dataset channels, name every job, and build the augment (Processing) request."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlcp.common import naming
from mlcp.common.validation import S3_URI, field_errors
from mlcp.errors import FieldError, ManifestInvalid
from mlcp.training import script_mode
from mlcp.training.context import RunContext
from mlcp.training.payloads import JobNames, RunInput
from mlcp.training.spec import PipelineSpec


class DatasetManifest(BaseModel):
    """``datasets/<pipeline>/<version>/manifest.json``: optional per-version channel locations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: dict[str, Annotated[str, Field(pattern=S3_URI, max_length=1024)]] = {}
    description: Annotated[str | None, Field(max_length=1024)] = None
    metadata: dict[str, str] = {}


def parse_manifest(raw: bytes, *, source: str, spec: PipelineSpec) -> DatasetManifest:
    try:
        manifest = DatasetManifest.model_validate_json(raw)
    except ValidationError as exc:
        raise ManifestInvalid(source, field_errors(exc)) from exc
    known = {c.name for c in spec.dataset.channels}
    unknown = [FieldError(f"channels.{n}", "is not a channel of the pipeline spec") for n in manifest.channels]
    unknown = [e for e in unknown if e.field.removeprefix("channels.") not in known]
    if unknown:
        raise ManifestInvalid(source, unknown)
    return manifest


def _join(prefix: str, *parts: str) -> str:
    return "/".join([prefix.rstrip("/"), *parts]) + "/"


def channel_uris(spec: PipelineSpec, version: str, artifact_bucket: str) -> dict[str, str]:
    """Each channel's S3 prefix for a dataset version (default: next to the manifest in the artifact bucket)."""
    default = f"s3://{artifact_bucket}/datasets/{spec.name}/{{version}}/{{channel}}/"
    return {
        c.name: (c.uri or default).replace("{version}", version).replace("{channel}", c.name)
        for c in spec.dataset.channels
    }


def prepare_run(
    run_input: RunInput,
    *,
    execution_arn: str,
    spec: PipelineSpec,
    spec_version: str,
    manifest: DatasetManifest | None,
    default_role_arn: str,
    artifact_bucket: str,
) -> RunContext:
    version = run_input.dataset.version if run_input.dataset else "latest"
    channels = channel_uris(spec, version, artifact_bucket)
    if manifest is not None:
        channels.update(manifest.channels)
    dataset_channels = dict(channels)
    output = spec.output.s3_prefix if spec.output else f"s3://{artifact_bucket}/runs/{spec.name}/"
    output_prefix = _join(output, run_input.run_id)
    if spec.augment is not None:
        for out in spec.augment.outputs:
            if out.name in channels:
                channels[out.name] = _join(output_prefix, "augment", out.name)
    run_id = run_input.run_id
    return RunContext(
        run_id=run_id,
        execution_arn=execution_arn,
        pipeline=spec.name,
        spec=spec,
        spec_version=spec_version,
        dataset_version=version,
        dataset_channels=dataset_channels,
        channels=channels,
        role_arn=spec.role_arn or default_role_arn,
        output_prefix=output_prefix,
        names=JobNames(
            tuning=naming.tuning_job_name(run_id),
            processing=naming.processing_job_name(run_id),
            compression=naming.compression_job_name(run_id),
            compilation=naming.compilation_job_name(run_id),
        ),
        tags={**spec.tags, "mlcp:pipeline": spec.name, "mlcp:run": run_id},
    )


def aws_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def processing_request(run: RunContext) -> dict[str, Any] | None:
    """CreateProcessingJob request for the augment stage, or None when the spec has none."""
    stage = run.spec.augment
    if stage is None:
        return None
    originals = run.dataset_channels
    if stage.inputs is None:
        inputs = [(name, uri, f"/opt/ml/processing/input/{name}") for name, uri in originals.items()]
    else:
        inputs = [(i.name, i.s3_uri, i.local_path) for i in stage.inputs]
    app: dict[str, Any] = {"ImageUri": stage.image_uri}
    if stage.entrypoint:
        app["ContainerEntrypoint"] = list(stage.entrypoint)
    if stage.script_mode and stage.source_dir is not None and stage.entry_point is not None:
        # FrameworkProcessor (sagemaker-python-sdk v2 src/sagemaker/processing.py): sourcedir.tar.gz as the
        # "code" input, runproc.sh as the "entrypoint" input, and bash running runproc.sh.
        app["ContainerEntrypoint"] = list(script_mode.PROCESSING_ENTRYPOINT)
        runproc = script_mode.runproc_uri(stage.source_dir, stage.entry_point, stage.requirements)
        inputs += [
            (script_mode.PROCESSING_CODE_INPUT, stage.source_dir, script_mode.PROCESSING_CODE_DIR),
            (script_mode.PROCESSING_ENTRYPOINT_INPUT, runproc, script_mode.PROCESSING_ENTRYPOINT_DIR),
        ]
    if stage.arguments:
        app["ContainerArguments"] = list(stage.arguments)
    return {
        "ProcessingJobName": run.names.processing,
        "RoleArn": run.role_arn,
        "AppSpecification": app,
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": stage.instance_count,
                "InstanceType": stage.instance_type,
                "VolumeSizeInGB": stage.volume_size_gb,
            }
        },
        "ProcessingInputs": [
            {
                "InputName": name,
                "S3Input": {
                    "S3Uri": uri,
                    "LocalPath": local,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                },
            }
            for name, uri, local in inputs
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": out.name,
                    "S3Output": {
                        "S3Uri": _join(run.output_prefix, "augment", out.name),
                        "LocalPath": out.local_path,
                        "S3UploadMode": "EndOfJob",
                    },
                }
                for out in stage.outputs
            ]
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": stage.max_runtime_seconds},
        "Environment": dict(stage.environment),
        "Tags": aws_tags(run.tags),
    }
