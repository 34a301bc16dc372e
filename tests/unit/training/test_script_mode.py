"""Script mode in the spec (framework + entry_point + source_dir) and the requests it becomes: hyperparameters
JSON-encoded as the SageMaker Python SDK sends them, the FrameworkProcessor shape of the processing job, and
image-only jobs unchanged."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp.aws.service_models import ServiceModels
from mlcp.common.preflight import StackReach
from mlcp.errors import SpecInvalid
from mlcp.training import compression, preparation, script_mode, tuning
from mlcp.training.preflight import preflight_spec
from mlcp.training.spec import PipelineSpec, Quantization, parse_spec
from tests.unit.builders import BUCKET, REGION, make_best, make_run, request_problems, spec_data

DATA = Path(__file__).resolve().parents[2] / "data" / "script_mode"
SOURCE = f"s3://{BUCKET}/code/script-mode/{'a' * 64}/sourcedir.tar.gz"
IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def packaged() -> dict[str, Any]:
    """The test spec as the CLI sends it: source_dir uploaded, image resolved."""
    data: dict[str, Any] = yaml.safe_load((DATA / "pipeline.yaml").read_text())
    for stage in (data["augment"], data["tuning"]["training"], data["compression"]):
        stage["source_dir"] = SOURCE
        stage["image_uri"] = IMAGE
    return data


def errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecInvalid) as info:
        parse_spec(data)
    return {e.field: e.message for e in info.value.errors}


# --- spec fields ---------------------------------------------------------------------------------------------
def test_the_test_spec_parses_as_written_and_packaged() -> None:
    local = parse_spec((DATA / "pipeline.yaml").read_text())
    assert local.tuning.training.framework == "sklearn"
    assert local.tuning.training.image_uri is None
    assert local.tuning.training.source_dir == "src"
    spec = parse_spec(packaged())
    assert spec.tuning.training.script_mode
    assert spec.tuning.training.source_dir == SOURCE


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("../train.py", "tuning.training.entry_point"),
        ("/opt/train.py", "tuning.training.entry_point"),
        ("src/./train.py", "tuning.training.entry_point"),
        ("a//b.py", "tuning.training.entry_point"),
        ("train;rm.py", "tuning.training.entry_point"),
    ],
)
def test_entry_point_is_a_relative_path_inside_source_dir(value: str, field: str) -> None:
    data = packaged()
    data["tuning"]["training"]["entry_point"] = value
    assert field in errors(data)


def test_requirements_stays_inside_source_dir() -> None:
    data = packaged()
    data["augment"]["requirements"] = "../requirements.txt"
    assert "inside source_dir" in errors(data)["augment.requirements"]


def test_framework_needs_version_entry_point_and_source_dir() -> None:
    data = packaged()
    for key in ("framework_version", "entry_point", "source_dir"):
        del data["tuning"]["training"][key]
    found = errors(data)
    for key in ("framework_version", "entry_point", "source_dir"):
        assert found[f"tuning.training.{key}"] == "required with framework"


def test_script_fields_without_framework_are_refused_and_an_image_is_required() -> None:
    image_only = spec_data()  # image-only: the image's own names, passed through as written
    image_only["compression"]["hyperparameters"] = {"sagemaker_region": "eu-west-1"}
    assert parse_spec(image_only).compression.hyperparameters == {  # type: ignore[union-attr]
        "sagemaker_region": "eu-west-1"
    }


# --- requests ------------------------------------------------------------------------------------------------
def _run() -> Any:
    return make_run(PipelineSpec.model_validate(packaged()))


def test_tuning_static_hyperparameters_are_json_encoded_with_the_sdk_names() -> None:
    run = _run()
    request = tuning.tuning_request(run)
    static = request["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static == {
        "n_estimators": '"200"',
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": json.dumps(SOURCE),
        "sagemaker_container_log_level": "20",
        "sagemaker_job_name": json.dumps(run.names.tuning),
        "sagemaker_region": json.dumps(REGION),
        "sagemaker_estimator_class_name": '"SKLearn"',
        "sagemaker_estimator_module": '"sagemaker.sklearn.estimator"',
    }
    assert request["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert not request_problems("CreateHyperParameterTuningJob", request)


def test_compression_job_in_script_mode() -> None:
    run = _run()
    method = run.spec.compression
    assert isinstance(method, Quantization)
    best = make_best(run)
    request = compression.training_request(run, best, method)
    hyper = request["HyperParameters"]
    for name, value in best.hyperparameters.items():
        assert hyper[name] == value  # tuned values as SageMaker passed them to the trial
    assert hyper["mlcp_method"] == '"quantization"'
    assert hyper["mlcp_dtype"] == '"int8"'
    assert hyper["sagemaker_program"] == '"compress.py"'
    assert hyper["sagemaker_submit_directory"] == json.dumps(SOURCE)
    assert hyper["sagemaker_job_name"] == json.dumps(run.names.compression)
    assert "sagemaker_estimator_class_name" not in hyper
    assert not request_problems("CreateTrainingJob", request)


def test_processing_job_in_the_framework_processor_shape() -> None:
    run = _run()
    request = preparation.processing_request(run)
    assert request is not None
    app = request["AppSpecification"]
    assert app == {
        "ImageUri": IMAGE,
        "ContainerEntrypoint": ["/bin/bash", "/opt/ml/processing/input/entrypoint/runproc.sh"],
        "ContainerArguments": ["--noise", "0.01"],
    }
    inputs = {i["InputName"]: i["S3Input"] for i in request["ProcessingInputs"]}
    assert inputs["code"]["S3Uri"] == SOURCE
    assert inputs["code"]["LocalPath"] == "/opt/ml/processing/input/code/"
    runproc = inputs["entrypoint"]["S3Uri"]
    assert runproc == script_mode.runproc_uri(SOURCE, "augment.py", "requirements.txt")
    assert runproc.startswith(SOURCE.removesuffix("sourcedir.tar.gz"))
    assert runproc.endswith("/runproc.sh")
    assert inputs["entrypoint"]["LocalPath"] == "/opt/ml/processing/input/entrypoint/"
    assert not request_problems("CreateProcessingJob", request)


def test_runproc_runs_the_entry_point_with_the_job_arguments() -> None:
    text = script_mode.runproc_script("augment.py", "requirements.txt")
    lines = text.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "cd /opt/ml/processing/input/code/" in lines
    assert "tar -xzf sourcedir.tar.gz" in lines
    assert lines.index("set -e") > lines.index("tar -xzf sourcedir.tar.gz")
    assert "    python -m pip install -r 'requirements.txt'" in lines
    assert lines[-1] == "python 'augment.py' \"$@\""
    other = script_mode.runproc_uri(SOURCE, "other.py", None)
    assert other != script_mode.runproc_uri(SOURCE, "augment.py", "requirements.txt")


def test_image_only_jobs_are_unchanged() -> None:
    run = make_run()
    request = tuning.tuning_request(run)
    assert request["TrainingJobDefinition"]["StaticHyperParameters"] == dict(run.spec.tuning.static_hyperparameters)
    method = run.spec.compression
    assert isinstance(method, Quantization)
    hyper = compression.training_request(run, make_best(run), method)["HyperParameters"]
    assert hyper["mlcp_dtype"] == "int8"
    assert not any(k.startswith("sagemaker_") for k in hyper)
    augment = preparation.processing_request(run)
    assert augment is not None
    assert "ContainerEntrypoint" not in augment["AppSpecification"]
    assert {i["InputName"] for i in augment["ProcessingInputs"]} == {"train", "validation"}


def test_region_comes_from_the_run() -> None:
    data = copy.deepcopy(packaged())
    run = make_run(PipelineSpec.model_validate(data))
    assert script_mode.region_of(run.execution_arn) == REGION
    assert script_mode.region_of("arn:aws:states:eu-west-3:123456789012:execution:m:r") == "eu-west-3"


# --- preflight -----------------------------------------------------------------------------------------------
REACH = StackReach(artifact_bucket=BUCKET)
CHECKER = ServiceModels()


def preflight_errors(data: dict[str, Any], reach: StackReach = REACH) -> dict[str, str]:
    with pytest.raises(SpecInvalid) as info:
        preflight_spec(parse_spec(data), reach=reach, checker=CHECKER)
    return {e.field: e.message for e in info.value.errors}


def test_a_packaged_spec_passes_the_preflight() -> None:
    preflight_spec(parse_spec(packaged()), reach=REACH, checker=CHECKER)


def test_an_unpackaged_spec_reaching_the_service_is_refused_with_how_to_package() -> None:
    data: dict[str, Any] = yaml.safe_load((DATA / "pipeline.yaml").read_text())
    found = preflight_errors(data)
    for stage in ("augment", "tuning.training", "compression"):
        assert "mlcp spec package" in found[f"{stage}.source_dir"]
        assert "mlcp spec package" in found[f"{stage}.image_uri"]
    data = packaged()
    del data["compression"]["image_uri"]
    assert set(preflight_errors(data)) == {"compression.image_uri"}


def test_the_source_must_be_in_a_bucket_the_stack_reaches() -> None:
    data = packaged()
    data["tuning"]["training"]["source_dir"] = "s3://someone-elses-bucket/code/sourcedir.tar.gz"
    found = preflight_errors(data)
    assert set(found) == {"tuning.training.source_dir"}
    assert "DataBucketNames" in found["tuning.training.source_dir"]
    preflight_spec(parse_spec(data), reach=StackReach(BUCKET, data_buckets=("someone-elses-bucket",)), checker=CHECKER)


def test_script_mode_hyperparameters_count_against_the_limit() -> None:
    data = packaged()
    tuned = 2  # learning_rate, max_depth
    data["tuning"]["static_hyperparameters"] = {f"p{i}": "1" for i in range(100 - tuned)}  # 100 without script mode
    found = preflight_errors(data)
    message = found["tuning.static_hyperparameters"]
    assert "107 hyperparameters" in message
    assert "remove at least 7" in message
    data["tuning"]["static_hyperparameters"] = {f"p{i}": "1" for i in range(100 - tuned - 7)}
    preflight_spec(parse_spec(data), reach=REACH, checker=CHECKER)


def test_json_encoding_counts_against_the_value_limit() -> None:
    data = packaged()
    data["tuning"]["static_hyperparameters"]["notes"] = "x" * 2500  # fits as written, not once JSON-encoded
    found = preflight_errors(data)
    assert "tuning.static_hyperparameters.notes" in found
    data["tuning"]["static_hyperparameters"]["notes"] = "x" * 2498
    preflight_spec(parse_spec(data), reach=REACH, checker=CHECKER)


def test_a_training_container_installs_only_a_root_requirements_txt() -> None:
    data = packaged()
    data["tuning"]["training"]["requirements"] = "deps/requirements.txt"
    assert "requirements.txt at source_dir's root" in errors(data)["tuning.training.requirements"]
    data = packaged()
    data["augment"]["requirements"] = "deps/requirements-augment.txt"  # runproc.sh installs what it names
    assert parse_spec(data).augment is not None
