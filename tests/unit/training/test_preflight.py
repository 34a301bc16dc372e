"""The training preflight: every request a run sends, checked before anything launches.

The case files of tests/data/cases/preflight/ (the issue "Preflight") with their exact expected fields, and the
same kinds of fault from other sources (other hyperparameter sources, other env names, other buckets, Neo targets).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlcp.aws.service_models import ServiceModels
from mlcp.common.preflight import BUCKETS_PARAMETER, ROLES_PARAMETER, StackReach
from mlcp.errors import FieldError, SpecInvalid
from mlcp.training.preflight import preflight_spec, requests, sample_run
from mlcp.training.spec import PipelineSpec, parse_spec
from tests.unit.builders import COMPRESS_IMAGE, neo_spec_data, request_problems, spec_data

CASES = Path(__file__).resolve().parents[2] / "data" / "cases" / "preflight"
BUCKET = "mlcp-artifacts-123456789012-us-east-1"
STACK_ROLE = "arn:aws:iam::123456789012:role/mlcp-SageMakerExecutionRole-7Q2W"
TEAM_ROLE = "arn:aws:iam::123456789012:role/team-sagemaker-role"
REACH = StackReach(artifact_bucket=BUCKET, stack_role_arn=STACK_ROLE)
CHECKER = ServiceModels()


def _case(name: str) -> PipelineSpec:
    return parse_spec((CASES / name).read_bytes(), source=name)


def _errors(spec: PipelineSpec, reach: StackReach | None = REACH) -> list[FieldError]:
    with pytest.raises(SpecInvalid) as exc:
        preflight_spec(spec, reach=reach, checker=CHECKER)
    return exc.value.errors


def _passes(spec: PipelineSpec, reach: StackReach | None = REACH) -> None:
    preflight_spec(spec, reach=reach, checker=CHECKER)


# --- the cases ------------------------------------------------------------------------------------------------------
def test_compression_job_with_101_hyperparameters_is_refused_counting_the_three_sources() -> None:
    """GIVEN 1 tuned range, 97 compression hyperparameters and the 3 mlcp adds for quantization
    THEN the spec is refused on compression.hyperparameters with 101 against SageMaker's 100, source by source."""
    [error] = _errors(_case("compression-101-hyperparameters.yaml"))
    assert error.field == "compression.hyperparameters"
    assert "101 hyperparameters" in error.message
    assert "1 tuned" in error.message
    assert "97 from compression.hyperparameters" in error.message
    assert "3 that mlcp adds (mlcp_dtype, mlcp_method, mlcp_objective_metric)" in error.message
    assert "at most 100" in error.message
    assert "remove at least 1" in error.message


def test_pruning_adds_four_hyperparameters_of_its_own_and_tuned_ranges_count_too() -> None:
    """Another source mix: 5 tuned ranges + 92 own + 4 that pruning adds = 101."""
    data = spec_data()
    data["tuning"]["parameter_ranges"] = {"continuous": [{"name": f"p{i}", "min": 0.1, "max": 0.9} for i in range(5)]}
    data["tuning"]["static_hyperparameters"] = {}
    data["compression"] = {
        "method": "pruning",
        "target_sparsity": 0.5,
        "image_uri": COMPRESS_IMAGE,
        "hyperparameters": {f"h{i}": "1" for i in range(92)},
    }
    [error] = _errors(parse_spec(data))
    assert error.field == "compression.hyperparameters"
    assert "101 hyperparameters: 5 tuned" in error.message
    assert "92 from compression.hyperparameters and 4 that mlcp adds" in error.message
    data["compression"]["hyperparameters"] = {f"h{i}": "1" for i in range(91)}
    _passes(parse_spec(data))  # exactly 100


def test_names_mlcp_adds_cannot_be_overridden_silently() -> None:
    data = spec_data()
    data["compression"]["hyperparameters"] = {"mlcp_dtype": "fp16"}
    [error] = _errors(parse_spec(data))
    assert error.field == "compression.hyperparameters"
    assert "mlcp_dtype" in error.message


def test_environment_names_sagemaker_refuses_are_refused_on_the_environment_field() -> None:
    [error] = _errors(_case("training-env-names.yaml"))
    assert error.field == "tuning.training.environment"
    assert "[a-zA-Z_][a-zA-Z0-9_]*" in error.message
    assert "'MY-VAR'" in error.message
    assert "'1ABC'" in error.message


@pytest.mark.parametrize("name", ["A.B", "with space", "ÄPFEL", "x=y", "-lead"])
def test_other_environment_names_in_augment_and_training_are_refused(name: str) -> None:
    data = spec_data()
    data["augment"]["environment"] = {name: "1", "OK_NAME": "2"}
    data["tuning"]["training"]["environment"] = {name: "1"}
    errors = _errors(parse_spec(data))
    assert {e.field for e in errors} == {"augment.environment", "tuning.training.environment"}
    assert all(repr(name) in e.message and "OK_NAME" not in e.message for e in errors)


def test_a_role_the_stack_may_not_pass_is_refused_naming_the_template_parameter() -> None:
    spec = _case("role-override.yaml")
    [error] = _errors(spec)
    assert error.field == "role_arn"
    assert ROLES_PARAMETER in error.message
    assert TEAM_ROLE in error.message
    _passes(spec, StackReach(artifact_bucket=BUCKET, stack_role_arn=STACK_ROLE, extra_role_arns=(TEAM_ROLE,)))


def test_the_stacks_own_role_is_always_allowed() -> None:
    data = spec_data(role_arn=STACK_ROLE)
    _passes(parse_spec(data))


def test_data_outside_the_stacks_buckets_is_refused_naming_the_template_parameter() -> None:
    errors = _errors(_case("data-outside-artifact-bucket.yaml"))
    assert [e.field for e in errors] == ["dataset.channels[0].uri", "dataset.channels[1].uri", "output.s3_prefix"]
    assert all(BUCKETS_PARAMETER in e.message for e in errors)
    assert "'other-team-data'" in errors[0].message
    assert "'other-team-results'" in errors[2].message
    buckets = ("other-team-data", "other-team-results")
    granted = StackReach(artifact_bucket=BUCKET, stack_role_arn=STACK_ROLE, data_buckets=buckets)
    _passes(_case("data-outside-artifact-bucket.yaml"), granted)


def test_augment_inputs_outside_the_stacks_buckets_are_refused() -> None:
    data = spec_data()
    data["augment"]["inputs"] = [
        {"name": "raw", "s3_uri": "s3://somebody-elses-bucket/raw/", "local_path": "/opt/ml/processing/input/raw"}
    ]
    [error] = _errors(parse_spec(data))
    assert error.field == "augment.inputs[0].s3_uri"
    assert "'somebody-elses-bucket'" in error.message


def test_a_manifests_channels_outside_the_stacks_buckets_are_refused_at_the_run() -> None:
    from mlcp.training.preflight import check_run  # noqa: PLC0415
    from mlcp.training.preparation import DatasetManifest  # noqa: PLC0415
    from tests.unit.builders import make_run  # noqa: PLC0415

    run = make_run(manifest=DatasetManifest(channels={"train": "s3://elsewhere/train/"}))
    with pytest.raises(SpecInvalid) as exc:
        check_run(run, reach=StackReach(artifact_bucket=run.output_prefix.split("/")[2]), checker=CHECKER, source="r")
    assert [e.field for e in exc.value.errors] == ["dataset.channels ('train' from the manifest)"]


def test_numeric_categorical_values_become_the_strings_sagemaker_expects() -> None:
    spec = _case("grid-numeric-categories.yaml")
    values = {r.name: r.values for r in spec.tuning.parameter_ranges.categorical}
    assert values == {
        "learning_rate": ["0.01", "0.05"],
        "batch_size": ["16", "32", "64", "128"],
        "epochs": ["5", "10", "15"],
    }
    _passes(spec)
    request = requests(sample_run(spec))[0][1]
    ranges = request["HyperParameterTuningJobConfig"]["ParameterRanges"]["CategoricalParameterRanges"]
    assert ranges[0] == {"Name": "learning_rate", "Values": ["0.01", "0.05"]}


def test_booleans_are_still_not_categorical_values() -> None:
    data = spec_data()
    data["tuning"]["parameter_ranges"]["categorical"] = [{"name": "flag", "values": [True, False]}]
    with pytest.raises(SpecInvalid):
        parse_spec(data)


def test_processing_jobs_may_run_nine_days_as_aws_allows() -> None:
    data = spec_data()
    data["augment"]["max_runtime_seconds"] = 777_600
    _passes(parse_spec(data))
    data["augment"]["max_runtime_seconds"] = 777_601
    with pytest.raises(SpecInvalid) as exc:
        parse_spec(data)
    assert exc.value.errors[0].field == "augment.max_runtime_seconds"


def test_neo_for_an_nvidia_platform_needs_compiler_options() -> None:
    platform = {"os": "LINUX", "arch": "ARM64", "accelerator": "NVIDIA"}
    data = neo_spec_data(platform=platform)
    [error] = _errors(parse_spec(data))
    assert error.field == "compression.compiler_options"
    assert "gpu-code, trt-ver, cuda-ver" in error.message
    data["compression"]["compiler_options"] = {"gpu-code": "sm_72", "trt-ver": "8.2.1", "cuda-ver": "10.2"}
    spec = parse_spec(data)
    _passes(spec)
    compile_request = next(r for op, r, _, _ in requests(sample_run(spec)) if op == "CreateCompilationJob")
    options = compile_request["OutputConfig"]["CompilerOptions"]
    assert options == '{"cuda-ver":"10.2","gpu-code":"sm_72","trt-ver":"8.2.1"}'


@pytest.mark.parametrize("accelerator", ["MALI", "INTEL_GRAPHICS", "NNA"])
def test_neo_accelerators_aws_lists_are_accepted(accelerator: str) -> None:
    _passes(parse_spec(neo_spec_data(platform={"os": "LINUX", "arch": "ARM64", "accelerator": accelerator})))


def test_a_value_only_the_service_model_refuses_is_reported_on_its_spec_field() -> None:
    """The spec does not bound content types; CreateModelPackage does (256 characters)."""
    data = spec_data()
    data["registry"]["content_types"] = ["text/" + "x" * 300]
    errors = _errors(parse_spec(data))
    assert [e.field for e in errors] == ["registry.content_types"]
    assert "at most 256" in errors[0].message
    assert "CreateModelPackage" in errors[0].message


def test_without_the_stacks_reach_roles_and_buckets_are_not_judged() -> None:
    _passes(_case("role-override.yaml"), reach=None)
    _passes(_case("data-outside-artifact-bucket.yaml"), reach=None)


def test_every_request_of_the_example_passes_botocores_own_validation() -> None:
    spec = parse_spec(spec_data())
    for operation, request, _, _ in requests(sample_run(spec, REACH)):
        assert request_problems(operation, request) == [], operation


def _fields(errors: list[FieldError]) -> list[str]:
    return [e.field for e in errors]


def _top(field: str) -> str:
    return re.split(r"[.\[ ]", field, maxsplit=1)[0]


def test_error_fields_are_spec_fields_not_request_paths() -> None:
    top_level: set[str] = set(PipelineSpec.model_fields)
    for case in ("compression-101-hyperparameters.yaml", "training-env-names.yaml", "role-override.yaml"):
        for field in _fields(_errors(_case(case))):
            assert _top(field) in top_level, field
