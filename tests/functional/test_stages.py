"""The training_pipeline stage handlers, each called with the state input the state machine sends.

moto covers S3, DynamoDB and model package groups; the SageMaker Describe* responses that select_best and
evaluate_gate read are served by a botocore Stubber (moto does not report tuning results, metrics or artifacts).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from botocore.validate import validate_parameters

from mlcp.aws.dynamodb.training import DynamoRunStore
from mlcp.common import notifications
from mlcp.errors import (
    ArtifactMissing,
    CompressionFailed,
    DatasetNotFound,
    EventInvalid,
    GateFailed,
    ManifestInvalid,
    PipelineNotFound,
    SpecInvalid,
    TuningFailed,
)
from mlcp.training import run_record
from mlcp.training.payloads import RunInput, RunStatus, StageName, StageStatus
from mlcp.training.spec import parse_spec
from mlcp.training.stages import SPEC_ATTRIBUTE
from tests.functional.conftest import ACCOUNT, BUCKET, REGION, ROLE_ARN, Cloud
from tests.support import FakeLambdaContext, example_spec_text, load_event, load_handler

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")

# Every name comes from the samples (they are regenerated when naming changes): the run of the sample manifest.
_CONTEXT = load_event("training_pipeline/build_compression")
RUN_ID: str = _CONTEXT["run"]["run_id"]
EXECUTION_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:mlcp-training-pipeline:{RUN_ID}"
RUN_PREFIX = f"s3://{BUCKET}/runs/churn/{RUN_ID}/"
TUNING_JOB: str = _CONTEXT["run"]["names"]["tuning"]
BEST_JOB: str = _CONTEXT["best"]["training_job_name"]
COMPRESSION_JOB: str = _CONTEXT["run"]["names"]["compression"]
COMPILATION_JOB: str = _CONTEXT["run"]["names"]["compilation"]
BEST_ARTIFACT: str = _CONTEXT["best"]["model_artifact"]
COMPRESSED_ARTIFACT = f"{RUN_PREFIX}compression/{COMPRESSION_JOB}/output/model.tar.gz"
COMPILED_ARTIFACT = f"{RUN_PREFIX}compilation/model-ml_c5.tar.gz"
MANIFEST_KEY = "datasets/churn/2026-11-27/manifest.json"
NEO_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-neo-serve:1.4"
T0 = datetime(2026, 11, 27, 8, 5, tzinfo=UTC)
T1 = datetime(2026, 11, 27, 8, 31, tzinfo=UTC)

_SAGEMAKER_MODEL = botocore.session.get_session().get_service_model("sagemaker")


# --- helpers -------------------------------------------------------------------------------------------------
@dataclass
class StubbedSageMaker:
    client: Any
    stubber: Stubber


@pytest.fixture
def sagemaker(cloud: Cloud) -> Iterator[StubbedSageMaker]:
    """A real SageMaker client whose calls are answered (and checked) by a Stubber."""
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        yield StubbedSageMaker(client, stubber)


def invoke(function: str, event: Mapping[str, Any], sagemaker: StubbedSageMaker | None = None) -> dict[str, Any]:
    handler = load_handler(function)
    if sagemaker is not None:
        handler.deps().sagemaker._sm = sagemaker.client
    result: dict[str, Any] = handler.lambda_handler(copy.deepcopy(dict(event)), FakeLambdaContext())
    return result


def assert_valid_request(operation: str, request: Mapping[str, Any]) -> None:
    """The request a Task state passes to SageMaker satisfies the API's shape (moto does not check this)."""
    shape = _SAGEMAKER_MODEL.operation_model(operation).input_shape
    assert shape is not None
    validate_parameters(dict(request), shape)


def seed_run(
    cloud: Cloud, stages: Mapping[str, Mapping[str, Any]] | None = None, spec: Mapping[str, Any] | None = None
) -> DynamoRunStore:
    """The run record as start_run and validate_spec leave it: RUNNING, the run's spec (by reference for the later
    stages; default: the example spec), plus the given stage records."""
    store = DynamoRunStore(cloud.runs_table, cloud.dynamodb)
    run_input = RunInput.model_validate(load_event("training_pipeline/validate_spec")["input"])
    assert store.create(RUN_ID, run_record.new_run_item(run_input, T0))
    assert store.set_status(RUN_ID, RunStatus.RUNNING, T0, {"execution_arn": EXECUTION_ARN})
    document = parse_spec(dict(spec) if spec is not None else example_spec_text(), source="test")
    store.update(RUN_ID, {SPEC_ATTRIBUTE: document.model_dump_json(exclude_none=True)}, stages or {})
    return store


def record(cloud: Cloud) -> dict[str, Any]:
    found = cloud.run(RUN_ID)
    assert found is not None
    return found


def register_spec(cloud: Cloud, text: str | None = None) -> str:
    """Register a spec the way an upload does (through register_pipeline); return its S3 version id."""
    key = "pipelines/churn/pipeline.yaml"
    version = cloud.put(key, text or example_spec_text())
    event = copy.deepcopy(load_event("s3/pipeline_uploaded"))
    event["detail"]["object"].update({"key": key, "version-id": version})
    assert invoke("register_pipeline", event)["status"] == "registered"
    return version


def neo_spec() -> dict[str, Any]:
    """The example spec, compressed with Neo (no metric gate, a Neo serving image)."""
    spec = parse_spec(example_spec_text(), source="test").model_dump(mode="json")
    spec["compression"] = {
        "method": "neo",
        "framework": "XGBOOST",
        "framework_version": "1.7",
        "input_shape": {"data": [1, 20]},
        "target_device": "ml_c5",
        "max_runtime_seconds": 900,
    }
    spec["gate"] = {"max_metric_drop_absolute": None, "max_metric_drop_relative": None, "min_size_reduction": 0.3}
    spec["registry"]["inference_image_uri"] = NEO_IMAGE
    return spec


def tuning_description(*, best: bool = True) -> dict[str, Any]:
    description: dict[str, Any] = {
        "HyperParameterTuningJobName": TUNING_JOB,
        "HyperParameterTuningJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/{TUNING_JOB}",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 12, "MaxParallelTrainingJobs": 3},
            "TrainingJobEarlyStoppingType": "Auto",
        },
        "HyperParameterTuningJobStatus": "Completed",
        "CreationTime": T0,
        "HyperParameterTuningEndTime": T1,
        "LastModifiedTime": T1,
        "TrainingJobStatusCounters": {
            "Completed": 11 if best else 0,
            "InProgress": 0,
            "RetryableError": 0,
            "NonRetryableError": 1 if best else 12,
            "Stopped": 0,
        },
        "ObjectiveStatusCounters": {"Succeeded": 11 if best else 0, "Pending": 0, "Failed": 1 if best else 12},
    }
    if best:
        description["BestTrainingJob"] = {
            "TrainingJobName": BEST_JOB,
            "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{BEST_JOB}",
            "TuningJobName": TUNING_JOB,
            "CreationTime": T0,
            "TrainingStartTime": T0,
            "TrainingEndTime": T1,
            "TrainingJobStatus": "Completed",
            "TunedHyperParameters": {"eta": "0.0912", "subsample": "0.83", "max_depth": "6", "booster": "gbtree"},
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "validation:auc", "Value": 0.9123},
            "ObjectiveStatus": "Succeeded",
        }
    return description


def training_description(
    name: str,
    artifact: str,
    metrics: Mapping[str, float],
    *,
    hyperparameters: Mapping[str, str] | None = None,
    status: str = "Completed",
    failure_reason: str | None = None,
) -> dict[str, Any]:
    description: dict[str, Any] = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name}",
        "ModelArtifacts": {"S3ModelArtifacts": artifact},
        "TrainingJobStatus": status,
        "SecondaryStatus": status,
        "HyperParameters": dict(hyperparameters or {}),
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-train:1.4",
            "TrainingInputMode": "File",
        },
        "RoleArn": ROLE_ARN,
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
        "CreationTime": T0,
        "TrainingStartTime": T0,
        "TrainingEndTime": T1,
        "TrainingTimeInSeconds": 412,
        "BillableTimeInSeconds": 131,
        "EnableManagedSpotTraining": True,
        "FinalMetricDataList": [{"MetricName": k, "Value": v, "Timestamp": T1} for k, v in metrics.items()],
    }
    if failure_reason is not None:
        description["FailureReason"] = failure_reason
    return description


def compilation_description(status: str = "COMPLETED") -> dict[str, Any]:
    return {
        "CompilationJobName": COMPILATION_JOB,
        "CompilationJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:compilation-job/{COMPILATION_JOB}",
        "CompilationJobStatus": status,
        "StoppingCondition": {"MaxRuntimeInSeconds": 900},
        "CreationTime": T0,
        "LastModifiedTime": T1,
        "FailureReason": "",
        "ModelArtifacts": {"S3ModelArtifacts": COMPILED_ARTIFACT},
        "RoleArn": ROLE_ARN,
        "InputConfig": {"S3Uri": BEST_ARTIFACT, "DataInputConfig": '{"data":[1,20]}', "Framework": "XGBOOST"},
        "OutputConfig": {"S3OutputLocation": f"{RUN_PREFIX}compilation/", "TargetDevice": "ml_c5"},
    }


def put_artifact(cloud: Cloud, uri: str, size: int) -> None:
    key = uri.removeprefix(f"s3://{BUCKET}/")
    cloud.put(key, b"\0" * size)


# --- validate_spec -------------------------------------------------------------------------------------------
def test_validate_spec_prepares_the_run(cloud: Cloud) -> None:
    spec_version = register_spec(cloud)
    cloud.put(MANIFEST_KEY, json.dumps({"channels": {"validation": f"s3://{BUCKET}/exports/churn/validation/"}}))

    result = invoke("validate_spec", load_event("training_pipeline/validate_spec"))

    run = result["run"]
    assert run["run_id"] == RUN_ID
    assert run["execution_arn"] == EXECUTION_ARN
    assert run["spec_version"] == spec_version
    assert run["dataset_version"] == "2026-11-27"
    assert run["role_arn"] == ROLE_ARN
    assert run["output_prefix"] == RUN_PREFIX
    assert run["dataset_channels"] == {
        "train": f"s3://{BUCKET}/datasets/churn/2026-11-27/train/",
        "validation": f"s3://{BUCKET}/exports/churn/validation/",
    }
    assert run["channels"] == {
        "train": f"{RUN_PREFIX}augment/train/",
        "validation": f"s3://{BUCKET}/exports/churn/validation/",
    }
    assert run["names"] == load_event("training_pipeline/build_tuning")["run"]["names"]
    augment = result["augment_request"]
    assert augment["ProcessingJobName"] == run["names"]["processing"]
    assert {i["InputName"]: i["S3Input"]["S3Uri"] for i in augment["ProcessingInputs"]} == run["dataset_channels"]
    assert [o["S3Output"]["S3Uri"] for o in augment["ProcessingOutputConfig"]["Outputs"]] == [
        f"{RUN_PREFIX}augment/train/"
    ]
    assert_valid_request("CreateProcessingJob", augment)
    group = cloud.sagemaker.describe_model_package_group(ModelPackageGroupName="churn-models")
    assert group["ModelPackageGroupDescription"] == "Models of the mlcp pipeline churn"
    item = record(cloud)
    assert item["status"] == "RUNNING"
    assert item["execution_arn"] == EXECUTION_ARN
    assert item["spec_version"] == spec_version
    assert item["channels"] == run["channels"]
    assert item["stages"]["validate"]["status"] == "SUCCEEDED"
    assert item["stages"]["augment"]["status"] == "RUNNING"
    assert item["stages"]["augment"]["job_name"] == run["names"]["processing"]


def test_validate_spec_output_matches_the_stage_samples(cloud: Cloud) -> None:
    """The samples of the later stages carry what validate_spec really produces for the sample input."""
    register_spec(cloud)
    cloud.put(MANIFEST_KEY, "{}")

    result = invoke("validate_spec", load_event("training_pipeline/validate_spec"))

    expected = load_event("training_pipeline/build_tuning")["run"]
    assert {k: v for k, v in result["run"].items() if k != "spec_version"} == {
        k: v for k, v in expected.items() if k != "spec_version"
    }


def test_validate_spec_without_augment_skips_the_stage(cloud: Cloud) -> None:
    text = example_spec_text()
    start, end = text.index("augment:\n"), text.index("tuning:\n")
    register_spec(cloud, text[:start] + text[end:])
    cloud.put(MANIFEST_KEY, "{}")

    result = invoke("validate_spec", load_event("training_pipeline/validate_spec"))

    assert result["augment_request"] is None
    assert result["run"]["channels"] == result["run"]["dataset_channels"]
    assert record(cloud)["stages"]["augment"]["status"] == "SKIPPED"


def test_validate_spec_for_an_unregistered_pipeline(cloud: Cloud) -> None:
    cloud.put(MANIFEST_KEY, "{}")

    with pytest.raises(PipelineNotFound, match=re.escape("pipelines/churn/pipeline.yaml")):
        invoke("validate_spec", load_event("training_pipeline/validate_spec"))

    assert cloud.sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    assert record(cloud)["status"] == "PENDING"


def test_validate_spec_with_an_unknown_manifest_channel(cloud: Cloud) -> None:
    register_spec(cloud)
    cloud.put(MANIFEST_KEY, json.dumps({"channels": {"test": f"s3://{BUCKET}/exports/churn/test/"}}))

    with pytest.raises(ManifestInvalid) as caught:
        invoke("validate_spec", load_event("training_pipeline/validate_spec"))

    assert [e.field for e in caught.value.errors] == ["channels.test"]
    assert f"s3://{BUCKET}/{MANIFEST_KEY}" in caught.value.reason
    assert record(cloud)["status"] == "PENDING"


def test_validate_spec_runs_the_preflight_on_the_run_itself(cloud: Cloud) -> None:
    """GIVEN a manifest whose channel lies in a bucket the stack cannot read THEN the first state refuses the run
    (SpecInvalid naming the channel and DataBucketNames) before any job or model package group exists."""
    register_spec(cloud)
    cloud.put(MANIFEST_KEY, json.dumps({"channels": {"train": "s3://other-team-data/churn/train/"}}))

    with pytest.raises(SpecInvalid) as caught:
        invoke("validate_spec", load_event("training_pipeline/validate_spec"))

    assert [e.field for e in caught.value.errors] == ["dataset.channels ('train' from the manifest)"]
    assert "DataBucketNames" in caught.value.errors[0].message
    assert cloud.sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"] == []


def test_validate_spec_without_a_dataset(cloud: Cloud) -> None:
    register_spec(cloud)
    event = load_event("training_pipeline/validate_spec")
    del event["input"]["dataset"]

    with pytest.raises(DatasetNotFound, match=re.escape("datasets/churn/<version>/manifest.json")):
        invoke("validate_spec", event)

    assert record(cloud)["status"] == "PENDING"


def test_validate_spec_with_a_missing_manifest_object(cloud: Cloud) -> None:
    register_spec(cloud)

    with pytest.raises(ArtifactMissing, match=re.escape(MANIFEST_KEY)):
        invoke("validate_spec", load_event("training_pipeline/validate_spec"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e.pop("execution_arn"), "execution_arn"),
        (lambda e: e["input"].pop("run_id"), "input.run_id"),
        (lambda e: e["input"]["trigger"].update(type="email"), "input.trigger.type"),
    ],
    ids=["no-execution-arn", "no-run-id", "unknown-trigger"],
)
def test_validate_spec_input_that_does_not_match_the_model(cloud: Cloud, change: Any, field: str) -> None:
    register_spec(cloud)
    cloud.put(MANIFEST_KEY, "{}")
    event = load_event("training_pipeline/validate_spec")
    change(event)

    with pytest.raises(EventInvalid) as caught:
        invoke("validate_spec", event)

    assert [e.field for e in caught.value.errors] == [field]
    assert cloud.run(RUN_ID) is None


# --- build_tuning --------------------------------------------------------------------------------------------
def test_build_tuning_returns_the_request_and_marks_tune_running(cloud: Cloud) -> None:
    seed_run(cloud, {StageName.AUGMENT: run_record.stage(StageStatus.RUNNING, T0, started=T0)})
    event = load_event("training_pipeline/build_tuning")

    request = invoke("build_tuning", event)

    assert request["HyperParameterTuningJobName"] == TUNING_JOB == event["run"]["names"]["tuning"]
    config = request["HyperParameterTuningJobConfig"]
    assert config["ResourceLimits"] == {"MaxParallelTrainingJobs": 3, "MaxNumberOfTrainingJobs": 12}
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": "validation:auc"}
    definition = request["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"] == {"num_round": "200", "objective": "binary:logistic"}
    assert {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in definition["InputDataConfig"]} == (
        event["run"]["channels"]
    )
    assert definition["OutputDataConfig"] == {"S3OutputPath": f"{RUN_PREFIX}tuning/"}
    assert_valid_request("CreateHyperParameterTuningJob", request)
    item = record(cloud)
    assert item["status"] == "RUNNING"
    assert item["stages"]["tune"]["status"] == "RUNNING"
    assert item["stages"]["tune"]["job_name"] == TUNING_JOB
    assert "started_at" in item["stages"]["tune"]
    assert item["stages"]["augment"]["status"] == "SUCCEEDED"
    assert item["stages"]["augment"]["started_at"] == notifications.iso(T0)


# --- select_best ---------------------------------------------------------------------------------------------
def test_select_best_reads_the_best_trial(cloud: Cloud, sagemaker: StubbedSageMaker) -> None:
    seed_run(cloud, {StageName.TUNE: run_record.stage(StageStatus.RUNNING, T0, started=T0, job_name=TUNING_JOB)})
    sagemaker.stubber.add_response(
        "describe_hyper_parameter_tuning_job",
        tuning_description(),
        expected_params={"HyperParameterTuningJobName": TUNING_JOB},
    )
    sagemaker.stubber.add_response(
        "describe_training_job",
        training_description(
            BEST_JOB,
            BEST_ARTIFACT,
            {"validation:auc": 0.9123, "train:loss": 0.211},
            hyperparameters={
                "eta": "0.0912",
                "subsample": "0.83",
                "max_depth": "6",
                "booster": "gbtree",
                "num_round": "200",
                "objective": "binary:logistic",
                "_tuning_objective_metric": "validation:auc",
            },
        ),
        expected_params={"TrainingJobName": BEST_JOB},
    )

    best = invoke("select_best", load_event("training_pipeline/select_best"), sagemaker)

    sagemaker.stubber.assert_no_pending_responses()
    assert best["hyperparameters"] == {"eta": "0.0912", "subsample": "0.83", "max_depth": "6", "booster": "gbtree"}
    assert best["objective_metric"] == "validation:auc"
    assert best["objective_value"] == 0.9123
    assert best["model_artifact"] == BEST_ARTIFACT
    assert best == load_event("training_pipeline/build_compression")["best"]
    item = record(cloud)
    assert item["best"] == best
    assert item["trials"]["Completed"] == 11
    assert item["trials"]["NonRetryableError"] == 1
    assert item["stages"]["tune"]["status"] == "SUCCEEDED"
    assert item["stages"]["tune"]["started_at"] == notifications.iso(T0)
    assert "ended_at" in item["stages"]["tune"]


def test_select_best_without_a_best_training_job(cloud: Cloud, sagemaker: StubbedSageMaker) -> None:
    seed_run(cloud, {StageName.TUNE: run_record.stage(StageStatus.RUNNING, T0, started=T0, job_name=TUNING_JOB)})
    sagemaker.stubber.add_response(
        "describe_hyper_parameter_tuning_job",
        tuning_description(best=False),
        expected_params={"HyperParameterTuningJobName": TUNING_JOB},
    )
    # Today select_best also describes the job the state's summary names before it looks at the tuning job's
    # BestTrainingJob; answer that call too (without requiring it) so this test is about the outcome.
    sagemaker.stubber.add_response(
        "describe_training_job",
        training_description(BEST_JOB, BEST_ARTIFACT, {}, status="Failed", failure_reason="AlgorithmError"),
        expected_params={"TrainingJobName": BEST_JOB},
    )

    with pytest.raises(TuningFailed) as caught:
        invoke("select_best", load_event("training_pipeline/select_best"), sagemaker)

    assert f"tuning job {TUNING_JOB} has no best training job" in caught.value.reason
    assert "'NonRetryableError': 12" in caught.value.reason
    item = record(cloud)
    assert "best" not in item
    assert item["stages"]["tune"]["status"] == "RUNNING"


def test_select_best_without_an_objective_value(cloud: Cloud, sagemaker: StubbedSageMaker) -> None:
    seed_run(cloud)
    description = tuning_description()
    del description["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]
    sagemaker.stubber.add_response(
        "describe_hyper_parameter_tuning_job", description, expected_params={"HyperParameterTuningJobName": TUNING_JOB}
    )
    sagemaker.stubber.add_response(
        "describe_training_job",
        training_description(BEST_JOB, BEST_ARTIFACT, {"train:loss": 0.211}),
        expected_params={"TrainingJobName": BEST_JOB},
    )

    with pytest.raises(TuningFailed, match="reported no value for 'validation:auc'"):
        invoke("select_best", load_event("training_pipeline/select_best"), sagemaker)

    sagemaker.stubber.assert_no_pending_responses()
    assert "best" not in record(cloud)


# --- build_compression ---------------------------------------------------------------------------------------
def test_build_compression_for_quantization(cloud: Cloud) -> None:
    seed_run(cloud)
    event = load_event("training_pipeline/build_compression")

    plan = invoke("build_compression", event)

    assert plan["kind"] == "training"
    assert plan["job_name"] == COMPRESSION_JOB
    request = plan["request"]
    assert request["TrainingJobName"] == COMPRESSION_JOB
    assert request["HyperParameters"] == {
        **event["best"]["hyperparameters"],
        "mlcp_method": "quantization",
        "mlcp_objective_metric": "validation:auc",
        "mlcp_dtype": "int8",
        "mlcp_calibration_channel": "validation",
    }
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]}
    assert channels == {"model": BEST_ARTIFACT, **event["run"]["channels"]}
    assert request["OutputDataConfig"] == {"S3OutputPath": f"{RUN_PREFIX}compression/"}
    assert_valid_request("CreateTrainingJob", request)
    stage = record(cloud)["stages"]["compress"]
    assert stage["status"] == "RUNNING"
    assert stage["job_name"] == COMPRESSION_JOB


@pytest.mark.parametrize(
    ("env", "poll_seconds", "max_polls"),
    [
        ({}, 5, 10),  # the fixture's NEO_POLL_SECONDS=5 / NEO_MAX_POLLS=10: the setting caps the polls
        ({"NEO_POLL_SECONDS": "60", "NEO_MAX_POLLS": "100"}, 60, 17),  # 900 s runtime / 60 s + 2
    ],
    ids=["capped-by-setting", "capped-by-runtime"],
)
def test_build_compression_for_neo(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], poll_seconds: int, max_polls: int
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    seed_run(cloud, spec=neo_spec())

    plan = invoke("build_compression", load_event("training_pipeline/build_compression"))

    assert plan["kind"] == "neo"
    assert plan["job_name"] == COMPILATION_JOB
    assert plan["poll_seconds"] == poll_seconds
    assert plan["max_polls"] == max_polls
    assert plan["request"] == {
        "CompilationJobName": COMPILATION_JOB,
        "RoleArn": ROLE_ARN,
        "InputConfig": {
            "S3Uri": BEST_ARTIFACT,
            "DataInputConfig": '{"data":[1,20]}',
            "Framework": "XGBOOST",
            "FrameworkVersion": "1.7",
        },
        "OutputConfig": {"S3OutputLocation": f"{RUN_PREFIX}compilation/", "TargetDevice": "ml_c5"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 900},
        "Tags": [
            {"Key": "mlcp:pipeline", "Value": "churn"},
            {"Key": "mlcp:run", "Value": RUN_ID},
            {"Key": "team", "Value": "growth"},
        ],
    }
    assert_valid_request("CreateCompilationJob", plan["request"])
    stage = record(cloud)["stages"]["compress"]
    assert stage["status"] == "RUNNING"
    assert stage["job_name"] == COMPILATION_JOB


# --- evaluate_gate -------------------------------------------------------------------------------------------
def stub_compression_job(sagemaker: StubbedSageMaker, auc: float) -> None:
    sagemaker.stubber.add_response(
        "describe_training_job",
        training_description(
            COMPRESSION_JOB, COMPRESSED_ARTIFACT, {"validation:auc": auc, "train:loss": 0.214, "model_size_bytes": 1e3}
        ),
        expected_params={"TrainingJobName": COMPRESSION_JOB},
    )


def compress_running() -> dict[str, dict[str, Any]]:
    return {StageName.COMPRESS: run_record.stage(StageStatus.RUNNING, T0, started=T0, job_name=COMPRESSION_JOB)}


def test_evaluate_gate_passes(cloud: Cloud, sagemaker: StubbedSageMaker) -> None:
    seed_run(cloud, compress_running())
    put_artifact(cloud, BEST_ARTIFACT, 4000)
    put_artifact(cloud, COMPRESSED_ARTIFACT, 1000)
    stub_compression_job(sagemaker, auc=0.9101)

    result = invoke("evaluate_gate", load_event("training_pipeline/evaluate_gate"), sagemaker)

    sagemaker.stubber.assert_no_pending_responses()
    assert result["passed"] is True
    assert result["reasons"] == []
    assert result["metric_before"] == 0.9123
    assert result["metric_after"] == 0.9101
    assert result["metric_drop"] == pytest.approx(0.0022)
    assert (result["size_before"], result["size_after"], result["size_reduction"]) == (4000, 1000, 0.75)
    assert result["compressed_artifact"] == COMPRESSED_ARTIFACT
    registration = result["registration_request"]
    assert registration["ModelPackageGroupName"] == "churn-models"
    assert registration["ModelApprovalStatus"] == "PendingManualApproval"
    assert registration["InferenceSpecification"]["Containers"] == [
        {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-train:1.4", "ModelDataUrl": COMPRESSED_ARTIFACT}
    ]
    assert registration["CustomerMetadataProperties"]["mlcp:size-bytes"] == "1000"
    assert_valid_request("CreateModelPackage", registration)
    item = record(cloud)
    assert item["gate"]["passed"] is True
    assert (item["gate"]["size_before"], item["gate"]["size_after"]) == (4000, 1000)
    assert item["gate"]["metric_after"] == 0.9101
    assert "registration_request" not in item["gate"]
    assert item["stages"]["compress"]["status"] == "SUCCEEDED"
    assert item["stages"]["compress"]["started_at"] == notifications.iso(T0)
    assert item["stages"]["gate"]["status"] == "SUCCEEDED"
    assert item["stages"]["register"]["status"] == "RUNNING"


def test_evaluate_gate_fails_with_the_numbers(cloud: Cloud, sagemaker: StubbedSageMaker) -> None:
    seed_run(cloud, compress_running())
    put_artifact(cloud, BEST_ARTIFACT, 4000)
    put_artifact(cloud, COMPRESSED_ARTIFACT, 3520)
    stub_compression_job(sagemaker, auc=0.85)

    with pytest.raises(GateFailed) as caught:
        invoke("evaluate_gate", load_event("training_pipeline/evaluate_gate"), sagemaker)

    message = str(caught.value)
    assert "validation:auc dropped by 6.83% (0.9123 -> 0.85); allowed 2.00%" in message
    assert "size reduced by 12.00% (4000 -> 3520 bytes); required 50.00%" in message
    assert caught.value.details["size_after"] == 3520
    item = record(cloud)
    gate = item["gate"]
    assert gate["passed"] is False
    assert (gate["size_before"], gate["size_after"]) == (4000, 3520)
    assert gate["size_reduction"] == pytest.approx(0.12)
    assert (gate["metric_before"], gate["metric_after"]) == (0.9123, 0.85)
    assert gate["metric_drop"] == pytest.approx(0.0623)
    assert len(gate["reasons"]) == 2
    assert item["stages"]["gate"]["status"] == "FAILED"
    assert "required 50.00%" in item["stages"]["gate"]["detail"]
    assert item["stages"]["compress"]["status"] == "SUCCEEDED"
    assert "register" not in item["stages"]


def test_evaluate_gate_for_a_neo_compilation(cloud: Cloud, sagemaker: StubbedSageMaker) -> None:
    seed_run(cloud, spec=neo_spec())
    put_artifact(cloud, BEST_ARTIFACT, 4000)
    put_artifact(cloud, COMPILED_ARTIFACT, 2400)
    sagemaker.stubber.add_response(
        "describe_compilation_job",
        compilation_description(),
        expected_params={"CompilationJobName": COMPILATION_JOB},
    )
    event = copy.deepcopy(load_event("training_pipeline/evaluate_gate"))
    event["compressed"] = {"kind": "neo", "job_name": COMPILATION_JOB}

    result = invoke("evaluate_gate", event, sagemaker)

    sagemaker.stubber.assert_no_pending_responses()
    assert result["passed"] is True
    assert result["metric_after"] is None
    assert result["size_reduction"] == pytest.approx(0.4)
    containers = result["registration_request"]["InferenceSpecification"]["Containers"]
    assert containers == [{"Image": NEO_IMAGE, "ModelDataUrl": COMPILED_ARTIFACT}]
    assert_valid_request("CreateModelPackage", result["registration_request"])
    assert record(cloud)["gate"]["size_after"] == 2400


def test_evaluate_gate_when_the_compression_job_failed(cloud: Cloud, sagemaker: StubbedSageMaker) -> None:
    seed_run(cloud, compress_running())
    sagemaker.stubber.add_response(
        "describe_training_job",
        training_description(
            COMPRESSION_JOB, COMPRESSED_ARTIFACT, {}, status="Failed", failure_reason="AlgorithmError: out of memory"
        ),
        expected_params={"TrainingJobName": COMPRESSION_JOB},
    )

    with pytest.raises(CompressionFailed, match="ended Failed: AlgorithmError: out of memory"):
        invoke("evaluate_gate", load_event("training_pipeline/evaluate_gate"), sagemaker)

    assert "gate" not in record(cloud)


def test_evaluate_gate_when_the_compressed_artifact_is_missing(cloud: Cloud, sagemaker: StubbedSageMaker) -> None:
    seed_run(cloud, compress_running())
    put_artifact(cloud, BEST_ARTIFACT, 4000)
    stub_compression_job(sagemaker, auc=0.9101)

    with pytest.raises(ArtifactMissing, match="compression"):
        invoke("evaluate_gate", load_event("training_pipeline/evaluate_gate"), sagemaker)

    assert "gate" not in record(cloud)


# --- record_success / record_failure -------------------------------------------------------------------------
def test_record_success_stores_the_model_package(cloud: Cloud) -> None:
    seed_run(cloud, {StageName.REGISTER: run_record.stage(StageStatus.RUNNING, T0, started=T0)})
    event = load_event("training_pipeline/record_success")
    arn = event["registered"]["model_package_arn"]

    notification = invoke("record_success", event)

    assert notification["subject"] == f"mlcp: run {RUN_ID} SUCCEEDED"
    assert arn in notification["message"]
    assert "75.0% smaller" in notification["message"]
    assert "booster=gbtree, eta=0.0912, max_depth=6, subsample=0.83" in notification["message"]
    item = record(cloud)
    assert item["model_package_arn"] == arn
    assert item["stages"]["register"]["status"] == "SUCCEEDED"
    assert item["stages"]["register"]["started_at"] == notifications.iso(T0)
    assert "ended_at" in item["stages"]["register"]


def test_record_failure_after_a_gate_failure(cloud: Cloud) -> None:
    seed_run(
        cloud,
        {
            StageName.COMPRESS: run_record.stage(StageStatus.SUCCEEDED, T1, started=T0, job_name=COMPRESSION_JOB),
            StageName.GATE: run_record.stage(StageStatus.FAILED, T1, started=T1, detail="size reduced by 12.00%"),
        },
    )
    event = load_event("training_pipeline/record_failure_gate")
    reason = json.loads(event["error"]["Cause"])["errorMessage"]
    assert reason.startswith("gate failed: size reduced by 12.00%")

    notification = invoke("record_failure", event)

    assert notification["subject"] == f"mlcp: run {RUN_ID} FAILED at gate"
    assert reason in notification["message"]
    item = record(cloud)
    assert item["status"] == "FAILED"
    assert item["failure"] == {"stage": "gate", "error": "GateFailed", "reason": reason}
    assert item["pipeline"] == "churn"
    assert "ended_at" in item
    assert item["stages"]["gate"]["status"] == "FAILED"
    assert item["stages"]["compress"]["status"] == "SUCCEEDED"


def test_record_failure_after_a_tuning_failure(cloud: Cloud) -> None:
    seed_run(cloud)
    invoke("build_tuning", load_event("training_pipeline/build_tuning"))  # tune RUNNING, as the failure finds it

    notification = invoke("record_failure", load_event("training_pipeline/record_failure_tuning"))

    reason = f"{TUNING_JOB}: All training jobs failed: ClientError: image not found"
    assert notification["subject"] == f"mlcp: run {RUN_ID} FAILED at tune"
    assert reason in notification["message"]
    item = record(cloud)
    assert item["status"] == "FAILED"
    assert item["failure"] == {"stage": "tune", "error": "States.TaskFailed", "reason": reason}
    assert item["stages"]["tune"]["status"] == "FAILED"
    assert item["stages"]["tune"]["detail"] == reason
    assert item["stages"]["tune"]["job_name"] == TUNING_JOB


def test_second_record_failure_does_not_change_the_status_again(cloud: Cloud) -> None:
    seed_run(cloud)
    invoke("build_tuning", load_event("training_pipeline/build_tuning"))
    invoke("record_failure", load_event("training_pipeline/record_failure_tuning"))
    first = record(cloud)

    invoke("record_failure", load_event("training_pipeline/record_failure_gate"))

    second = record(cloud)
    assert second["status"] == "FAILED"
    assert second["failure"] == first["failure"]
    assert second["failure"]["stage"] == "tune"
    assert second["ended_at"] == first["ended_at"]


def test_record_failure_with_a_malformed_input(cloud: Cloud) -> None:
    event = load_event("training_pipeline/record_failure_gate")
    event["error"] = "GateFailed"

    with pytest.raises(EventInvalid) as caught:
        invoke("record_failure", event)

    assert [e.field for e in caught.value.errors] == ["error"]
    assert cloud.run(RUN_ID) is None


def test_the_stacks_kms_key_reaches_the_run_and_its_job_requests(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN the template parameter KmsKeyArn (ValidateSpecFunction's KMS_KEY_ARN) THEN the run carries it and the
    augment request encrypts its outputs with it; without it (the samples) the run has none."""
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    monkeypatch.setenv("KMS_KEY_ARN", key)
    register_spec(cloud)
    cloud.put(MANIFEST_KEY, "{}")

    result = invoke("validate_spec", load_event("training_pipeline/validate_spec"))

    assert result["run"]["kms_key_id"] == key
    assert result["augment_request"]["ProcessingOutputConfig"]["KmsKeyId"] == key
