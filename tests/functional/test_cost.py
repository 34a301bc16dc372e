"""The run's cost on its record, through the handlers that end a run (record_success, record_failure, the run
recorder), with SageMaker's answers checked against the API's shapes (botocore Stubber) and the runs table in moto.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mlcp.common.pricing import sagemaker_prices, usd_text
from mlcp.training import run_record
from mlcp.training.payloads import StageName, StageStatus
from tests.functional.conftest import ACCOUNT, REGION, ROLE_ARN, Cloud
from tests.functional.test_stages import (
    RUN_ID,
    T0,
    T1,
    TUNING_JOB,
    StubbedSageMaker,
    invoke,
    record,
    seed_run,
    training_description,
)
from tests.support import FakeLambdaContext, load_event, load_handler

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")

_CONTEXT = load_event("training_pipeline/build_compression")
PROCESSING_JOB: str = _CONTEXT["run"]["names"]["processing"]
COMPRESSION_JOB: str = _CONTEXT["run"]["names"]["compression"]
PRICE = sagemaker_prices().price(REGION, "ml.m5.xlarge")
TRIALS = [f"{TUNING_JOB}-00{i}-abcdef12" for i in (1, 2, 3)]
# (BillableTimeInSeconds, TrainingTimeInSeconds) of each trial: managed spot training; the third never started
# (AWS omits both: their minimum is 1)
TRIAL_SECONDS = {TRIALS[0]: (131, 412), TRIALS[1]: (200, 200), TRIALS[2]: (0, 0)}


@pytest.fixture
def sagemaker(cloud: Cloud) -> Iterator[StubbedSageMaker]:
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        yield StubbedSageMaker(client, stubber)


def _processing_description() -> dict[str, Any]:
    return {
        "ProcessingJobName": PROCESSING_JOB,
        "ProcessingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{PROCESSING_JOB}",
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30}
        },
        "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-preprocess:1.4"},
        "ProcessingJobStatus": "Completed",
        "CreationTime": T0,
        "ProcessingStartTime": T0,
        "ProcessingEndTime": T0 + timedelta(seconds=450),
        "RoleArn": ROLE_ARN,
    }


def _trial(name: str, status: str = "Completed") -> dict[str, Any]:
    billable, seconds = TRIAL_SECONDS[name]
    d = training_description(name, f"s3://b/{name}/model.tar.gz", {}, status=status)
    d["BillableTimeInSeconds"], d["TrainingTimeInSeconds"] = billable, seconds
    if not seconds:
        del d["BillableTimeInSeconds"], d["TrainingTimeInSeconds"]
    return d


def _stub_tuning(stub: Stubber, status: str = "Completed") -> None:
    stub.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": n,
                    "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{n}",
                    "CreationTime": T0,
                    "TrainingJobStatus": status,
                    "TunedHyperParameters": {"eta": "0.1"},
                }
                for n in TRIALS
            ]
        },
        {
            "HyperParameterTuningJobName": TUNING_JOB,
            "SortBy": "CreationTime",
            "SortOrder": "Ascending",
            "MaxResults": 100,
        },
    )
    for name in TRIALS:
        stub.add_response("describe_training_job", _trial(name, status), {"TrainingJobName": name})


def _tune_usd() -> float:
    assert PRICE is not None
    return sum(b for b, _ in TRIAL_SECONDS.values()) * PRICE / 3600


def test_record_success_puts_the_cost_on_the_record_and_in_the_notification(
    cloud: Cloud, sagemaker: StubbedSageMaker
) -> None:
    seed_run(
        cloud,
        {
            StageName.AUGMENT: run_record.stage(StageStatus.SUCCEEDED, T0, started=T0, job_name=PROCESSING_JOB),
            StageName.TUNE: run_record.stage(StageStatus.SUCCEEDED, T1, started=T0, job_name=TUNING_JOB),
            StageName.COMPRESS: run_record.stage(StageStatus.SUCCEEDED, T1, started=T1, job_name=COMPRESSION_JOB),
            StageName.REGISTER: run_record.stage(StageStatus.RUNNING, T1, started=T1),
        },
    )
    stub = sagemaker.stubber
    stub.add_response("describe_processing_job", _processing_description(), {"ProcessingJobName": PROCESSING_JOB})
    _stub_tuning(stub)
    compression = training_description(COMPRESSION_JOB, "s3://b/c/model.tar.gz", {})  # 131 billable of 412, spot
    stub.add_response("describe_training_job", compression, {"TrainingJobName": COMPRESSION_JOB})

    notification = invoke("record_success", load_event("training_pipeline/record_success"), sagemaker)

    stub.assert_no_pending_responses()
    assert PRICE is not None
    augment, tune, compress = 450 * 2 * PRICE / 3600, _tune_usd(), 131 * PRICE / 3600
    cost = json.loads(json.dumps(record(cloud)["cost"], default=float))
    assert cost["price_table"] == {
        "source": "https://aws.amazon.com/sagemaker/pricing/",
        "as_of": sagemaker_prices().as_of,
        "region": REGION,
    }
    assert cost["stages"]["augment"]["usd"] == pytest.approx(augment, abs=1e-6)
    assert cost["stages"]["augment"]["billable_seconds"] == 900
    assert cost["stages"]["tune"]["usd"] == pytest.approx(tune, abs=1e-6)
    assert cost["stages"]["tune"]["jobs"] == 3
    assert cost["stages"]["tune"]["spot_savings_usd"] == pytest.approx((412 - 131) * PRICE / 3600, abs=1e-6)
    assert cost["stages"]["compress"]["usd"] == pytest.approx(compress, abs=1e-6)
    assert cost["total"] == pytest.approx(augment + tune + compress, abs=1e-5)
    assert (
        f"Cost: {usd_text(augment + tune + compress)} (augment {usd_text(augment)}, tune {usd_text(tune)}"
        in notification["message"]
    )


def test_record_failure_counts_what_a_failed_run_ran(cloud: Cloud, sagemaker: StubbedSageMaker) -> None:
    seed_run(cloud)
    invoke("build_tuning", load_event("training_pipeline/build_tuning"))  # tune RUNNING, as the failure finds it
    _stub_tuning(sagemaker.stubber, status="Failed")

    notification = invoke("record_failure", load_event("training_pipeline/record_failure_tuning"), sagemaker)

    sagemaker.stubber.assert_no_pending_responses()
    item = record(cloud)
    assert item["status"] == "FAILED"
    assert float(item["cost"]["total"]) == pytest.approx(_tune_usd(), abs=1e-6)
    assert set(item["cost"]["stages"]) == {"tune"}
    assert f"Cost: {usd_text(_tune_usd())} (tune {usd_text(_tune_usd())})" in notification["message"]


def test_the_recorder_counts_a_run_that_ended_with_no_catch_path(cloud: Cloud, sagemaker: StubbedSageMaker) -> None:
    """A timed-out (or aborted) execution runs no Catch path: the run recorder puts the cost on the record."""
    seed_run(cloud, {StageName.TUNE: run_record.stage(StageStatus.RUNNING, T0, started=T0, job_name=TUNING_JOB)})
    _stub_tuning(sagemaker.stubber, status="Stopped")
    handler = load_handler("record_execution")
    handler.deps().sagemaker._sm = sagemaker.client
    event = load_event("stepfunctions/execution_timed_out")
    event["detail"]["name"] = RUN_ID

    handler.lambda_handler(event, FakeLambdaContext())

    sagemaker.stubber.assert_no_pending_responses()
    item = record(cloud)
    assert item["status"] == "TIMED_OUT"
    assert float(item["cost"]["stages"]["tune"]["usd"]) == pytest.approx(_tune_usd(), abs=1e-6)


def test_the_recorder_does_not_count_again_what_record_success_counted(
    cloud: Cloud, sagemaker: StubbedSageMaker
) -> None:
    seed_run(cloud, {StageName.TUNE: run_record.stage(StageStatus.SUCCEEDED, T1, started=T0, job_name=TUNING_JOB)})
    handler = load_handler("record_execution")
    handler.deps().sagemaker._sm = sagemaker.client
    handler.deps().runs.update(RUN_ID, {"cost": {"total": 1.5}}, {})
    event = load_event("stepfunctions/execution_succeeded")
    event["detail"]["name"] = RUN_ID

    handler.lambda_handler(event, FakeLambdaContext())  # the Stubber has no response: any Describe would fail

    assert float(record(cloud)["cost"]["total"]) == 1.5
