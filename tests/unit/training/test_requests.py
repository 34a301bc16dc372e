"""Every SageMaker request the core builds, checked against botocore's own service model and the ASL that sends it.

A request that fails here would fail at run time in Step Functions (unknown/missing keys, wrong types, names
too long, values outside SageMaker's enums and patterns) - hours into a run, after tuning already cost money.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcp.common import naming
from mlcp.errors import SpecInvalid
from mlcp.training import compression, gate, preparation, tuning
from mlcp.training.context import RunContext
from mlcp.training.payloads import BestModel
from mlcp.training.preparation import DatasetManifest
from mlcp.training.spec import NEO_TARGET_DEVICES, Neo, Pruning, Quantization, parse_spec
from mlcp.training.tuning_spec import TuningStage
from tests.unit.builders import (
    BEST_ARTIFACT,
    COMPRESSED_ARTIFACT,
    DEFAULT_ROLE_ARN,
    NEO_INFERENCE_IMAGE,
    asl_parameter_keys,
    asl_state,
    make_best,
    make_run,
    make_spec,
    neo_spec_data,
    param_report,
    pruning,
    quantization,
    request_problems,
    spec_data,
)

SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")

# state name -> (SageMaker operation, where the state reads the request from)
ASL_REQUESTS = {
    "Augment Data": ("CreateProcessingJob", "$.augment_request"),
    "Tune Hyperparameters": ("CreateHyperParameterTuningJob", "$.tuning"),
    "Compress Model": ("CreateTrainingJob", "$.compression.request"),
    "Start Neo Compilation": ("CreateCompilationJob", "$.compression.request"),
    "Register Model": ("CreateModelPackage", "$.gate.registration_request"),
}


def assert_valid(operation: str, params: dict[str, Any]) -> None:
    has_errors, report = param_report(operation, params)
    assert not has_errors, f"{operation}:\n{report}"
    problems = request_problems(operation, params)
    assert not problems, f"{operation}:\n" + "\n".join(problems)


def assert_asl_keys(state: str, request: dict[str, Any]) -> None:
    assert set(request) == asl_parameter_keys(state), f"{state}: request keys differ from the ASL Parameters"


# --- the checks themselves can fail ----------------------------------------------------------------------------
def test_the_model_check_rejects_a_broken_request() -> None:
    request = tuning.tuning_request(make_run())
    broken = {**request, "HyperParameterTuningJobName": "x" * 33, "Unknown": 1}
    del broken["TrainingJobDefinition"]
    has_errors, report = param_report("CreateHyperParameterTuningJob", broken)
    assert has_errors
    assert "Unknown" in report
    assert "TrainingJobDefinition" in report
    problems = request_problems("CreateHyperParameterTuningJob", broken)
    assert any("HyperParameterTuningJobName" in p and "at most 32" in p for p in problems)


def test_the_model_check_rejects_enum_and_pattern_violations() -> None:
    request = tuning.tuning_request(make_run())
    request["HyperParameterTuningJobConfig"] = {**request["HyperParameterTuningJobConfig"], "Strategy": "Genetic"}
    request["Tags"] = [{"Key": "team", "Value": "R&D"}]
    problems = request_problems("CreateHyperParameterTuningJob", request)
    assert any("Strategy" in p and "enum" in p for p in problems)
    assert any("Tags[0].Value" in p and "pattern" in p for p in problems)


# --- the ASL passes exactly the keys the builders produce ----------------------------------------------------
@pytest.mark.parametrize("state", sorted(ASL_REQUESTS))
def test_asl_state_calls_the_operation_and_reads_each_key_from_the_request(state: str) -> None:
    operation, prefix = ASL_REQUESTS[state]
    definition = asl_state(state)
    action = definition["Resource"].rsplit(":", 1)[-1].removesuffix(".sync")
    assert action[0].upper() + action[1:] == operation
    for key, path in definition["Parameters"].items():
        assert key.endswith(".$"), f"{state}.{key} is a constant, not read from the request"
        assert path == f"{prefix}.{key.removesuffix('.$')}"


# --- hyperparameter tuning -----------------------------------------------------------------------------------
def tuning_data(strategy: str, *, spot: bool = True, environment: dict[str, str] | None = None) -> dict[str, Any]:
    data = spec_data()
    stage = data["tuning"]
    stage["strategy"] = strategy
    if strategy == "Random":
        stage["max_jobs"] = 50
        stage["random_seed"] = 42
    elif strategy == "Grid":
        stage["parameter_ranges"] = {
            "categorical": [
                {"name": "booster", "values": ["gbtree", "dart"]},
                {"name": "max_depth", "values": ["3", "6", "9"]},
            ]
        }
        del stage["max_jobs"]
    elif strategy == "Hyperband":
        stage["hyperband"] = {"min_resource": 1, "max_resource": 27}
        stage["early_stopping"] = "Off"
        stage["max_jobs"] = 30
    if not spot:
        del stage["training"]["spot"]
    if environment:
        stage["training"]["environment"] = environment
    return data


STRATEGIES = ["Bayesian", "Random", "Grid", "Hyperband"]


@pytest.mark.parametrize("environment", [None, {"OMP_NUM_THREADS": "4", "LOG_LEVEL": "debug"}], ids=["env0", "env"])
@pytest.mark.parametrize("spot", [True, False], ids=["spot", "on-demand"])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_tuning_request_is_valid(strategy: str, spot: bool, environment: dict[str, str] | None) -> None:
    run = make_run(tuning_data(strategy, spot=spot, environment=environment))
    request = tuning.tuning_request(run)
    assert_valid("CreateHyperParameterTuningJob", request)
    assert_asl_keys("Tune Hyperparameters", request)
    config = request["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == strategy
    definition = request["TrainingJobDefinition"]
    if environment:
        assert definition["Environment"] == environment
    else:
        assert "Environment" not in definition


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_tuning_job_name_comes_from_run_names(strategy: str) -> None:
    run = make_run(tuning_data(strategy))
    name = tuning.tuning_request(run)["HyperParameterTuningJobName"]
    assert name == run.names.tuning == naming.tuning_job_name(run.run_id)
    assert len(name) <= naming.TUNING_JOB_NAME_MAX
    assert SAGEMAKER_NAME.match(name)


@given(run_id=st.from_regex(r"[A-Za-z0-9_-]{1,80}", fullmatch=True))
def test_every_job_name_respects_sagemaker_limits(run_id: str) -> None:
    names = [
        (naming.tuning_job_name(run_id), naming.TUNING_JOB_NAME_MAX),
        (naming.processing_job_name(run_id), naming.JOB_NAME_MAX),
        (naming.compression_job_name(run_id), naming.JOB_NAME_MAX),
        (naming.compilation_job_name(run_id), naming.JOB_NAME_MAX),
    ]
    for name, limit in names:
        assert len(name) <= limit
        assert SAGEMAKER_NAME.match(name), name
    assert len({name for name, _ in names}) == 4


def test_long_run_id_still_gives_a_valid_tuning_request() -> None:
    run = make_run(run_id="churn-" + "x" * 60 + "-0123456789")
    request = tuning.tuning_request(run)
    assert_valid("CreateHyperParameterTuningJob", request)
    assert len(request["HyperParameterTuningJobName"]) <= 32


def test_grid_has_no_max_number_of_training_jobs() -> None:
    config = tuning.tuning_request(make_run(tuning_data("Grid")))["HyperParameterTuningJobConfig"]
    assert "MaxNumberOfTrainingJobs" not in config["ResourceLimits"]
    assert config["ResourceLimits"]["MaxParallelTrainingJobs"] == 3
    assert "RandomSeed" not in config
    assert set(config["ParameterRanges"]) == {"CategoricalParameterRanges"}


@pytest.mark.parametrize(("strategy", "max_jobs"), [("Bayesian", 12), ("Random", 50), ("Hyperband", 30)])
def test_other_strategies_limit_the_number_of_training_jobs(strategy: str, max_jobs: int) -> None:
    config = tuning.tuning_request(make_run(tuning_data(strategy)))["HyperParameterTuningJobConfig"]
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == max_jobs


def test_random_seed_is_passed() -> None:
    config = tuning.tuning_request(make_run(tuning_data("Random")))["HyperParameterTuningJobConfig"]
    assert config["RandomSeed"] == 42
    assert "RandomSeed" not in tuning.tuning_request(make_run())["HyperParameterTuningJobConfig"]


def test_hyperband_config_only_with_hyperband() -> None:
    config = tuning.tuning_request(make_run(tuning_data("Hyperband")))["HyperParameterTuningJobConfig"]
    assert config["StrategyConfig"] == {"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 27}}
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    for strategy in ("Bayesian", "Random", "Grid"):
        assert (
            "StrategyConfig"
            not in tuning.tuning_request(make_run(tuning_data(strategy)))["HyperParameterTuningJobConfig"]
        )


def test_spot_sets_max_wait_and_checkpoints() -> None:
    run = make_run(tuning_data("Bayesian", spot=True))
    definition = tuning.tuning_request(run)["TrainingJobDefinition"]
    assert definition["EnableManagedSpotTraining"] is True
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert definition["CheckpointConfig"] == {"S3Uri": run.output_prefix + "checkpoints/"}


@pytest.mark.parametrize("spot", [None, {"enabled": False, "max_wait_seconds": 7200}], ids=["absent", "disabled"])
def test_without_spot_no_max_wait_and_no_checkpoints(spot: dict[str, Any] | None) -> None:
    data = tuning_data("Bayesian", spot=False)
    if spot is not None:
        data["tuning"]["training"]["spot"] = spot
    definition = tuning.tuning_request(make_run(data))["TrainingJobDefinition"]
    assert definition["EnableManagedSpotTraining"] is False
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert "CheckpointConfig" not in definition


def test_range_bounds_are_strings() -> None:
    ranges = tuning.tuning_request(make_run())["HyperParameterTuningJobConfig"]["ParameterRanges"]
    assert ranges["ContinuousParameterRanges"] == [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1.0", "ScalingType": "Auto"},
    ]
    assert ranges["IntegerParameterRanges"] == [
        {"Name": "max_depth", "MinValue": "3", "MaxValue": "10", "ScalingType": "Auto"}
    ]
    assert ranges["CategoricalParameterRanges"] == [{"Name": "booster", "Values": ["gbtree", "dart"]}]


_TUNING = spec_data()["tuning"]


@given(
    bounds=st.lists(
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
        min_size=2,
        max_size=2,
        unique=True,
    ),
    ints=st.lists(st.integers(min_value=-(10**9), max_value=10**9), min_size=2, max_size=2, unique=True),
)
def test_range_bounds_round_trip_exactly(bounds: list[float], ints: list[int]) -> None:
    low, high = sorted(bounds)
    ilow, ihigh = sorted(ints)
    stage = TuningStage.model_validate(
        {
            **_TUNING,
            "parameter_ranges": {
                "continuous": [{"name": "lr", "min": low, "max": high, "scaling": "Linear"}],
                "integer": [{"name": "depth", "min": ilow, "max": ihigh, "scaling": "Linear"}],
            },
        }
    )
    ranges = tuning.parameter_ranges(stage)
    (cont,) = ranges["ContinuousParameterRanges"]
    (integer,) = ranges["IntegerParameterRanges"]
    assert isinstance(cont["MinValue"], str)
    assert isinstance(cont["MaxValue"], str)
    assert (float(cont["MinValue"]), float(cont["MaxValue"])) == (low, high)
    assert (integer["MinValue"], integer["MaxValue"]) == (str(ilow), str(ihigh))


def test_augment_outputs_replace_the_matching_training_channels() -> None:
    run = make_run()
    channels = {c["ChannelName"]: c for c in tuning.tuning_request(run)["TrainingJobDefinition"]["InputDataConfig"]}
    augment = preparation.processing_request(run)
    assert augment is not None
    outputs = {o["OutputName"]: o["S3Output"]["S3Uri"] for o in augment["ProcessingOutputConfig"]["Outputs"]}
    assert channels["train"]["DataSource"]["S3DataSource"]["S3Uri"] == outputs["train"]
    assert outputs["train"] == run.output_prefix + "augment/train/"
    # a channel without an augment output keeps the dataset's own location
    assert channels["validation"]["DataSource"]["S3DataSource"]["S3Uri"] == run.dataset_channels["validation"]
    assert run.dataset_channels["validation"].endswith("/datasets/churn/2026-11-27/validation/")
    assert channels["train"]["ContentType"] == "text/csv"


def test_without_augment_training_reads_the_dataset() -> None:
    run = make_run(spec_data(augment=None))
    channels = {c["ChannelName"]: c for c in tuning.tuning_request(run)["TrainingJobDefinition"]["InputDataConfig"]}
    for name in ("train", "validation"):
        assert channels[name]["DataSource"]["S3DataSource"]["S3Uri"] == run.dataset_channels[name]


def test_tuning_request_carries_role_output_and_tags() -> None:
    run = make_run()
    request = tuning.tuning_request(run)
    definition = request["TrainingJobDefinition"]
    assert definition["RoleArn"] == DEFAULT_ROLE_ARN
    assert definition["OutputDataConfig"] == {"S3OutputPath": run.output_prefix + "tuning/"}
    assert definition["StaticHyperParameters"] == {"num_round": "200", "objective": "binary:logistic"}
    tags = request["Tags"]
    assert [t["Key"] for t in tags] == sorted(t["Key"] for t in tags)
    assert {"Key": "mlcp:run", "Value": run.run_id} in tags
    assert {"Key": "team", "Value": "growth"} in tags


# --- augment (processing) ------------------------------------------------------------------------------------
def test_processing_request_default_inputs() -> None:
    run = make_run()
    request = preparation.processing_request(run)
    assert request is not None
    assert_valid("CreateProcessingJob", request)
    assert_asl_keys("Augment Data", request)
    assert request["ProcessingJobName"] == run.names.processing
    inputs = {i["InputName"]: i["S3Input"] for i in request["ProcessingInputs"]}
    assert set(inputs) == {"train", "validation"}
    for name, s3 in inputs.items():
        # the augment job reads the dataset itself, never its own output
        assert s3["S3Uri"] == run.dataset_channels[name]
        assert s3["LocalPath"] == f"/opt/ml/processing/input/{name}"
    assert request["AppSpecification"]["ContainerArguments"] == ["--oversample-minority", "2.0"]
    assert "ContainerEntrypoint" not in request["AppSpecification"]


def test_processing_request_explicit_inputs_entrypoint_and_environment() -> None:
    data = spec_data()
    data["augment"]["inputs"] = [
        {"name": "raw", "s3_uri": "s3://raw-data-bucket/churn/export/", "local_path": "/opt/ml/processing/raw"},
        {"name": "lookup", "s3_uri": "s3://raw-data-bucket/lookup/", "local_path": "/opt/ml/processing/lookup"},
    ]
    data["augment"]["entrypoint"] = ["python3", "/opt/program/augment.py"]
    data["augment"]["environment"] = {"SEED": "7"}
    run = make_run(data)
    request = preparation.processing_request(run)
    assert request is not None
    assert_valid("CreateProcessingJob", request)
    assert_asl_keys("Augment Data", request)
    assert [
        (i["InputName"], i["S3Input"]["S3Uri"], i["S3Input"]["LocalPath"]) for i in request["ProcessingInputs"]
    ] == [
        ("raw", "s3://raw-data-bucket/churn/export/", "/opt/ml/processing/raw"),
        ("lookup", "s3://raw-data-bucket/lookup/", "/opt/ml/processing/lookup"),
    ]
    assert request["AppSpecification"]["ContainerEntrypoint"] == ["python3", "/opt/program/augment.py"]
    assert request["Environment"] == {"SEED": "7"}


def test_manifest_channels_feed_augment_and_training() -> None:
    manifest = DatasetManifest(channels={"train": "s3://other-bucket/exports/train/"})
    run = make_run(manifest=manifest)
    request = preparation.processing_request(run)
    assert request is not None
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"]}
    assert inputs["train"] == "s3://other-bucket/exports/train/"
    channels = {c["ChannelName"]: c for c in tuning.tuning_request(run)["TrainingJobDefinition"]["InputDataConfig"]}
    assert channels["train"]["DataSource"]["S3DataSource"]["S3Uri"] == run.output_prefix + "augment/train/"


def test_no_processing_request_without_augment() -> None:
    assert preparation.processing_request(make_run(spec_data(augment=None))) is None


# --- compression ---------------------------------------------------------------------------------------------
def _compression(run: RunContext) -> Pruning | Quantization:
    method = run.spec.compression
    assert isinstance(method, Pruning | Quantization)
    return method


@pytest.mark.parametrize("method", [pruning(), quantization()], ids=["pruning", "quantization"])
def test_compression_training_request_is_valid(method: dict[str, Any]) -> None:
    run = make_run(spec_data(compression=method))
    best = make_best(run)
    request = compression.training_request(run, best, _compression(run))
    assert_valid("CreateTrainingJob", request)
    assert_asl_keys("Compress Model", request)
    assert request["TrainingJobName"] == run.names.compression
    assert len(request["TrainingJobName"]) <= naming.JOB_NAME_MAX
    assert request["OutputDataConfig"] == {"S3OutputPath": run.output_prefix + "compression/"}
    hyper = request["HyperParameters"]
    assert all(isinstance(v, str) for v in hyper.values())
    assert hyper["mlcp_method"] == method["method"]
    assert hyper["mlcp_objective_metric"] == "validation:auc"
    assert hyper["eta"] == "0.1"


@pytest.mark.parametrize("method", [pruning(), quantization()], ids=["pruning", "quantization"])
def test_compression_reads_the_best_artifact_from_the_model_channel(method: dict[str, Any]) -> None:
    run = make_run(spec_data(compression=method))
    request = compression.training_request(run, make_best(run), _compression(run))
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]}
    assert channels == {
        "model": BEST_ARTIFACT,
        "train": run.output_prefix + "augment/train/",
        "validation": run.dataset_channels["validation"],
    }


def test_a_dataset_channel_named_model_is_rejected_with_compression_by_training() -> None:
    # the compression training job reserves the "model" channel for the best model's artifact
    data = spec_data(compression=pruning())
    data["dataset"]["channels"].append({"name": "model"})
    with pytest.raises(SpecInvalid) as caught:
        parse_spec(data)
    assert [e.field for e in caught.value.errors] == ["dataset.channels"]
    assert "reserved" in caught.value.errors[0].message


def test_pruning_and_quantization_hyperparameters() -> None:
    run = make_run(spec_data(compression=pruning()))
    hyper = compression.training_request(run, make_best(run), _compression(run))["HyperParameters"]
    assert hyper["mlcp_target_sparsity"] == "0.5"
    assert hyper["mlcp_structured"] == "true"
    assert hyper["prune_epochs"] == "3"
    request = compression.training_request(run, make_best(run), _compression(run))
    metrics = [m["Name"] for m in request["AlgorithmSpecification"]["MetricDefinitions"]]
    assert metrics == ["validation:auc", "train:loss", "sparsity"]

    run = make_run(spec_data(compression=quantization()))
    hyper = compression.training_request(run, make_best(run), _compression(run))["HyperParameters"]
    assert hyper["mlcp_dtype"] == "int8"
    assert hyper["mlcp_calibration_channel"] == "validation"
    assert "mlcp_target_sparsity" not in hyper


def test_compression_plan_picks_training_or_neo() -> None:
    run = make_run(spec_data(compression=pruning()))
    plan = compression.compression_plan(run, make_best(run), poll_seconds=30, max_polls=60)
    assert (plan.kind, plan.job_name) == ("training", run.names.compression)
    run = make_run(neo_spec_data())
    plan = compression.compression_plan(run, make_best(run), poll_seconds=30, max_polls=60)
    assert (plan.kind, plan.job_name) == ("neo", run.names.compilation)
    assert plan.request == compression.compilation_request(run, make_best(run), _neo(run))


# --- Neo -----------------------------------------------------------------------------------------------------
def _neo(run: RunContext) -> Neo:
    method = run.spec.compression
    assert isinstance(method, Neo)
    return method


NEO_TARGETS: dict[str, dict[str, Any]] = {
    "device": {"target_device": "ml_c5"},
    "platform": {"platform": {"os": "LINUX", "arch": "X86_64"}},
    "platform-accelerator": {"platform": {"os": "LINUX", "arch": "ARM64", "accelerator": "NVIDIA"}},
}


@pytest.mark.parametrize("target", sorted(NEO_TARGETS))
def test_compilation_request_is_valid(target: str) -> None:
    run = make_run(neo_spec_data(**NEO_TARGETS[target]))
    best = make_best(run)
    request = compression.compilation_request(run, best, _neo(run))
    assert_valid("CreateCompilationJob", request)
    assert_asl_keys("Start Neo Compilation", request)
    assert request["CompilationJobName"] == run.names.compilation
    assert request["InputConfig"]["S3Uri"] == best.model_artifact
    assert json.loads(request["InputConfig"]["DataInputConfig"]) == {"input0": [1, 3, 224, 224]}
    assert request["InputConfig"]["Framework"] == "PYTORCH"
    assert request["InputConfig"]["FrameworkVersion"] == "1.13"
    output = request["OutputConfig"]
    assert output["S3OutputLocation"] == run.output_prefix + "compilation/"
    assert ("TargetDevice" in output) != ("TargetPlatform" in output)


def test_compilation_target_device_and_platform() -> None:
    run = make_run(neo_spec_data(target_device="jetson_nano"))
    assert (
        compression.compilation_request(run, make_best(run), _neo(run))["OutputConfig"]["TargetDevice"] == "jetson_nano"
    )
    run = make_run(neo_spec_data(platform={"os": "ANDROID", "arch": "ARM64", "accelerator": "MALI"}))
    output = compression.compilation_request(run, make_best(run), _neo(run))["OutputConfig"]
    assert output["TargetPlatform"] == {"Os": "ANDROID", "Arch": "ARM64", "Accelerator": "MALI"}
    run = make_run(neo_spec_data(platform={"os": "LINUX", "arch": "X86_64"}))
    output = compression.compilation_request(run, make_best(run), _neo(run))["OutputConfig"]
    assert output["TargetPlatform"] == {"Os": "LINUX", "Arch": "X86_64"}


def test_neo_data_input_config_is_the_json_of_input_shape() -> None:
    data = neo_spec_data()
    shape = {"data": [1, 3, 299, 299], "mask": [1, 299]}
    data["compression"]["input_shape"] = shape
    del data["compression"]["framework_version"]
    run = make_run(data)
    request = compression.compilation_request(run, make_best(run), _neo(run))
    assert json.loads(request["InputConfig"]["DataInputConfig"]) == shape
    assert "FrameworkVersion" not in request["InputConfig"]
    assert_valid("CreateCompilationJob", request)


def test_every_neo_target_device_the_spec_accepts_is_accepted_by_sagemaker() -> None:
    for device in NEO_TARGET_DEVICES:
        run = make_run(neo_spec_data(target_device=device))
        assert_valid("CreateCompilationJob", compression.compilation_request(run, make_best(run), _neo(run)))


# --- registration --------------------------------------------------------------------------------------------
def _passed(run: RunContext, best: BestModel, *, metric_after: float | None) -> dict[str, Any]:
    result = gate.evaluate(
        run,
        best,
        metric_after=metric_after,
        size_before=4_000_000,
        size_after=1_000_000,
        compressed_artifact=COMPRESSED_ARTIFACT,
    )
    assert result.passed, result.reasons
    assert result.registration_request is not None
    assert result.registration_request == gate.registration_request(run, best, result)
    return result.registration_request


def test_registration_request_is_valid() -> None:
    run = make_run()
    request = _passed(run, make_best(run), metric_after=0.905)
    assert_valid("CreateModelPackage", request)
    assert_asl_keys("Register Model", request)
    assert request["ModelPackageGroupName"] == "churn-models"
    assert request["ModelApprovalStatus"] == "PendingManualApproval"
    (container,) = request["InferenceSpecification"]["Containers"]
    assert container == {"Image": run.spec.tuning.training.image_uri, "ModelDataUrl": COMPRESSED_ARTIFACT}
    metadata = request["CustomerMetadataProperties"]
    assert metadata["mlcp:run"] == run.run_id
    assert metadata["mlcp:objective"] == "validation:auc=0.905"
    assert metadata["mlcp:size-reduction"] == "0.7500"


def test_neo_registration_request_is_valid() -> None:
    run = make_run(neo_spec_data())
    request = _passed(run, make_best(run), metric_after=None)
    assert_valid("CreateModelPackage", request)
    assert_asl_keys("Register Model", request)
    assert request["InferenceSpecification"]["Containers"][0]["Image"] == NEO_INFERENCE_IMAGE
    assert request["CustomerMetadataProperties"]["mlcp:objective"] == "validation:auc=0.91"


def test_client_token_is_short_and_deterministic() -> None:
    run = make_run()
    token = _passed(run, make_best(run), metric_after=0.9)["ClientToken"]
    assert 1 <= len(token) <= 36
    assert re.fullmatch(r"[a-zA-Z0-9-]+", token)
    # a retry of the same run (even with other numbers) sends the same token; another run a different one
    again = make_run()
    assert _passed(again, make_best(again, objective_value=0.92), metric_after=0.915)["ClientToken"] == token
    other = make_run(run_id="churn-2026-11-28-0a1b2c3d4e")
    assert _passed(other, make_best(other), metric_after=0.9)["ClientToken"] != token


def test_long_registry_description_is_cut_to_the_limit() -> None:
    data = spec_data()
    data["registry"]["description"] = "d" * 1024
    run = make_run(data)
    request = _passed(run, make_best(run), metric_after=0.9)
    assert request["ModelPackageDescription"] == "d" * 1024
    assert_valid("CreateModelPackage", request)


# --- specs that validate but build requests SageMaker rejects ------------------------------------------------
def _accepted_or_rejected_up_front(data: dict[str, Any]) -> RunContext | None:
    """The contract of spec.py: a spec that validates builds requests SageMaker accepts."""
    try:
        spec = parse_spec(data)
    except SpecInvalid:
        return None
    return make_run(spec)


@pytest.mark.parametrize(
    "tags",
    [{"cost-center": "R&D"}, {"note": "x" * 257}, {"team#1": "growth"}],
    ids=["value-char", "value-length", "key-char"],
)
def test_spec_tags_that_validate_are_accepted_by_sagemaker(tags: dict[str, str]) -> None:
    run = _accepted_or_rejected_up_front(spec_data(tags=tags))
    if run is not None:
        assert_valid("CreateHyperParameterTuningJob", tuning.tuning_request(run))


def test_compression_with_the_most_channels_the_spec_allows() -> None:
    data = spec_data(compression=pruning(), augment=None)
    data["dataset"]["channels"] = [{"name": f"ch{i}"} for i in range(20)]
    run = _accepted_or_rejected_up_front(data)
    if run is not None:
        assert_valid("CreateTrainingJob", compression.training_request(run, make_best(run), _compression(run)))


def test_multiline_registry_description_is_accepted_by_sagemaker() -> None:
    data = spec_data()
    data["registry"]["description"] = "Churn classifier.\nTrained weekly on the CRM export."
    run = _accepted_or_rejected_up_front(data)
    if run is not None:
        assert_valid("CreateModelPackage", _passed(run, make_best(run), metric_after=0.9))


def test_objective_metric_with_parentheses_is_registrable() -> None:
    data = spec_data()
    data["tuning"]["objective"]["metric"] = "validation:f1(macro)"
    data["tuning"]["metric_definitions"][0]["name"] = "validation:f1(macro)"
    run = _accepted_or_rejected_up_front(data)
    if run is not None:
        assert_valid("CreateModelPackage", _passed(run, make_best(run), metric_after=0.9))


def test_make_spec_is_the_example() -> None:
    # guards the builders: the example spec is the one the assertions above describe
    spec = make_spec()
    assert isinstance(spec.compression, Quantization)
    assert spec.augment is not None
    assert [o.name for o in spec.augment.outputs] == ["train"]


# --- the stack's KMS key (template KmsKeyArn) -------------------------------------------------------------------
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_without_a_key_no_request_names_one() -> None:
    run = make_run(spec_data(compression=pruning()))
    requests = [
        preparation.processing_request(run),
        tuning.tuning_request(run),
        compression.training_request(run, make_best(run), _compression(run)),
    ]
    assert "KmsKeyId" not in json.dumps(requests)


def test_the_stacks_key_encrypts_every_jobs_s3_output_and_the_requests_stay_valid() -> None:
    run = make_run(spec_data(compression=pruning())).model_copy(update={"kms_key_id": KEY})
    augment = preparation.processing_request(run)
    assert augment is not None
    assert augment["ProcessingOutputConfig"]["KmsKeyId"] == KEY
    assert_valid("CreateProcessingJob", augment)
    tune = tuning.tuning_request(run)
    assert tune["TrainingJobDefinition"]["OutputDataConfig"]["KmsKeyId"] == KEY
    assert_valid("CreateHyperParameterTuningJob", tune)
    train = compression.training_request(run, make_best(run), _compression(run))
    assert train["OutputDataConfig"]["KmsKeyId"] == KEY
    assert_valid("CreateTrainingJob", train)
    neo_run = make_run(neo_spec_data()).model_copy(update={"kms_key_id": KEY})
    neo = compression.compilation_request(neo_run, make_best(neo_run), _neo(neo_run))
    assert neo["OutputConfig"]["KmsKeyId"] == KEY
    assert_valid("CreateCompilationJob", neo)
    # volumes: never VolumeKmsKeyId (SageMaker refuses it on instance types with local NVMe storage)
    assert "VolumeKmsKeyId" not in json.dumps([augment, tune, train, neo])
