"""Builders for the pure-core unit tests: specs, run contexts, best models, and checks of AWS requests.

Requests are checked against botocore's own SageMaker service model (no hand-written expectations):
``ParamValidator`` covers required members, unknown keys, types and minimums; :func:`constraint_problems` adds
what ParamValidator leaves out and SageMaker enforces server-side (maximum lengths and values, enums, patterns).
"""

from __future__ import annotations

import copy
import json
import sys
import types
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import botocore.session
import regex  # type: ignore[import-untyped]  # AWS patterns use \p{L}-style classes that `re` lacks
from botocore.model import ListShape, MapShape, OperationModel, Shape, StringShape, StructureShape
from botocore.validate import ParamValidator

from mlcp.common.payloads import Trigger, TriggerType
from mlcp.training.context import RunContext
from mlcp.training.payloads import BestModel, DatasetRef, RunInput
from mlcp.training.preparation import DatasetManifest, prepare_run
from mlcp.training.spec import PipelineSpec, parse_spec
from tests.support import STATEMACHINES, example_spec

ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = f"mlcp-artifacts-{ACCOUNT}"
DEFAULT_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/mlcp-SageMakerExecutionRole-7Q2W"
RUN_ID = "churn-2026-11-27-4ff98e78fd"
VERSION = "2026-11-27"
SPEC_VERSION = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
COMPRESS_IMAGE = f"{ECR}/model-compress:0.9"
NEO_INFERENCE_IMAGE = f"{ECR}/neo-inference:1.0"
BEST_ARTIFACT = f"s3://{BUCKET}/runs/churn/{RUN_ID}/tuning/best-job-007/output/model.tar.gz"
COMPRESSED_ARTIFACT = f"s3://{BUCKET}/runs/churn/{RUN_ID}/compression/job/output/model.tar.gz"


# --- specs and runs ------------------------------------------------------------------------------------------
def spec_data(**sections: Any) -> dict[str, Any]:
    """A deep copy of the churn example with top-level sections replaced (``None`` removes a section)."""
    data = copy.deepcopy(example_spec())
    for key, value in sections.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = copy.deepcopy(value)
    return data


def pruning() -> dict[str, Any]:
    return {
        "method": "pruning",
        "target_sparsity": 0.5,
        "structured": True,
        "image_uri": COMPRESS_IMAGE,
        "hyperparameters": {"prune_epochs": "3"},
        "extra_metrics": [{"name": "sparsity", "regex": "sparsity=([0-9.]+)"}],
    }


def quantization() -> dict[str, Any]:
    return {"method": "quantization", "dtype": "int8", "calibration_channel": "validation", "image_uri": COMPRESS_IMAGE}


def neo(*, target_device: str | None = "ml_c5", platform: dict[str, str] | None = None) -> dict[str, Any]:
    method: dict[str, Any] = {
        "method": "neo",
        "framework": "PYTORCH",
        "framework_version": "1.13",
        "input_shape": {"input0": [1, 3, 224, 224]},
    }
    if platform is not None:
        method["target_platform"] = platform
    else:
        method["target_device"] = target_device
    return method


def neo_spec_data(**neo_args: Any) -> dict[str, Any]:
    """A valid Neo spec: no metric-drop gate, and an inference image for the compiled model."""
    data = spec_data(compression=neo(**neo_args), gate={"min_size_reduction": 0.25})
    data["registry"]["inference_image_uri"] = NEO_INFERENCE_IMAGE
    return data


def make_spec(data: Mapping[str, Any] | None = None) -> PipelineSpec:
    return parse_spec(dict(data) if data is not None else spec_data())


def make_run(
    spec: PipelineSpec | Mapping[str, Any] | None = None,
    *,
    run_id: str = RUN_ID,
    version: str | None = VERSION,
    manifest: DatasetManifest | None = None,
) -> RunContext:
    """The RunContext validate_spec would build for ``spec`` (default: the churn example)."""
    parsed = spec if isinstance(spec, PipelineSpec) else make_spec(spec)
    dataset = (
        DatasetRef(
            name=parsed.name,
            version=version,
            manifest_uri=f"s3://{BUCKET}/datasets/{parsed.name}/{version}/manifest.json",
        )
        if version is not None
        else None
    )
    run_input = RunInput(
        run_id=run_id,
        pipeline=parsed.name,
        dataset=dataset,
        trigger=Trigger(type=TriggerType.S3, source=f"s3://{BUCKET}/datasets/{parsed.name}/{version}/manifest.json"),
    )
    return prepare_run(
        run_input,
        execution_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:mlcp-training-pipeline:{run_id}",
        spec=parsed,
        spec_version=SPEC_VERSION,
        manifest=manifest,
        default_role_arn=DEFAULT_ROLE_ARN,
        artifact_bucket=BUCKET,
    )


def make_best(
    run: RunContext,
    *,
    objective_value: float = 0.91,
    artifact: str = BEST_ARTIFACT,
    hyperparameters: Mapping[str, str] | None = None,
) -> BestModel:
    return BestModel(
        tuning_job_name=run.names.tuning,
        training_job_name=f"{run.names.tuning}-007-1a2b3c4d",
        hyperparameters=dict(hyperparameters or {"eta": "0.1", "max_depth": "6", "booster": "gbtree"}),
        objective_metric=run.spec.tuning.objective.metric,
        objective_value=objective_value,
        final_metrics={run.spec.tuning.objective.metric: objective_value},
        model_artifact=artifact,
        training_seconds=812.0,
    )


# --- botocore's service model --------------------------------------------------------------------------------
@cache
def _sagemaker_operation(name: str) -> OperationModel:
    return botocore.session.get_session().get_service_model("sagemaker").operation_model(name)


def input_shape(operation: str) -> StructureShape:
    shape = _sagemaker_operation(operation).input_shape
    assert shape is not None, f"{operation} has no input shape"
    return shape


def param_report(operation: str, params: Mapping[str, Any]) -> tuple[bool, str]:
    """(has errors, report) of botocore's ParamValidator for a SageMaker operation's input."""
    report = ParamValidator().validate(params, input_shape(operation))
    return report.has_errors(), report.generate_report()


@cache
def _pattern(expression: str) -> Any:
    # A pattern of the service model that does not compile fails the test loudly rather than skipping the check.
    return regex.compile(expression)


def constraint_problems(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Maximum lengths/values, enums and patterns of ``shape`` that ``value`` violates (ParamValidator skips them)."""
    found: list[str] = []
    limit = shape.metadata.get("max")
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        for key, member_value in value.items():
            if key in shape.members:
                found += constraint_problems(shape.members[key], member_value, f"{path}.{key}" if path else key)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        if limit is not None and len(value) > limit:
            found.append(f"{path}: {len(value)} items, at most {limit}")
        for i, item in enumerate(value):
            found += constraint_problems(shape.member, item, f"{path}[{i}]")
    elif isinstance(shape, MapShape) and isinstance(value, Mapping):
        if limit is not None and len(value) > limit:
            found.append(f"{path}: {len(value)} entries, at most {limit}")
        for key, item in value.items():
            found += constraint_problems(shape.key, key, f"{path} key {key!r}")
            found += constraint_problems(shape.value, item, f"{path}[{key!r}]")
    elif isinstance(shape, StringShape) and isinstance(value, str):
        if limit is not None and len(value) > limit:
            found.append(f"{path}: {len(value)} characters, at most {limit}")
        if shape.enum and value not in shape.enum:
            found.append(f"{path}: {value!r} is not one of {shape.name}'s enum values")
        expression = shape.metadata.get("pattern")
        compiled = _pattern(expression) if expression else None
        if compiled is not None and compiled.fullmatch(value) is None:
            found.append(f"{path}: {value!r} does not match {shape.name}'s pattern {expression!r}")
    elif shape.type_name in ("integer", "long") and isinstance(value, int) and limit is not None and value > limit:
        found.append(f"{path}: {value} is greater than {limit}")
    return found


def request_problems(operation: str, params: Mapping[str, Any]) -> list[str]:
    """Everything botocore's model says is wrong with ``params`` as the input of a SageMaker ``operation``."""
    has_errors, report = param_report(operation, params)
    return ([report] if has_errors else []) + constraint_problems(input_shape(operation), params)


# --- the state machine ---------------------------------------------------------------------------------------
@cache
def _asl() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((STATEMACHINES / "training_pipeline.asl.json").read_text())
    return data


def _walk(states: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _walk(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _walk(state[key]["States"])


def asl_state(name: str) -> dict[str, Any]:
    states = dict(_walk(_asl()["States"]))
    assert name in states, f"no state {name!r} in training_pipeline.asl.json"
    return states[name]


def asl_parameter_keys(name: str) -> set[str]:
    """The top-level request keys a Task state passes to its service integration (``Key.$`` -> ``Key``)."""
    return {key.removesuffix(".$") for key in asl_state(name)["Parameters"]}


def install_fake_image_uris(monkeypatch: Any, retrieve: Any) -> None:
    """Make ``sagemaker.core.image_uris.retrieve`` the given fake for the test (the CLI's image lookup, without
    the real SDK); the modules are restored by ``monkeypatch``."""
    module = types.ModuleType("sagemaker.core.image_uris")
    module.retrieve = retrieve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sagemaker", types.ModuleType("sagemaker"))
    monkeypatch.setitem(sys.modules, "sagemaker.core", types.ModuleType("sagemaker.core"))
    monkeypatch.setitem(sys.modules, "sagemaker.core.image_uris", module)
