"""Guards of api_faults, the fixes of cli/mlcp_cli/local/patches/core.py: each test shows the gap on plain moto, then
the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from mlcp_cli.local.faults import ApiFault
from tests.local_cloud.patches.support import (
    Sandbox,
    training_job,
)


# --- api_faults --------------------------------------------------------------------------------------------------
def test_api_faults_answer_a_call_with_an_error(box: Sandbox) -> None:
    sagemaker = box.client("sagemaker")
    fault = ApiFault(service="sagemaker", operation="CreateTrainingJob", code="ThrottlingException", times=1)
    box.faults.api.append(fault)
    sagemaker.create_training_job(**training_job("plain-1"))  # not active: moto as released
    assert fault.hits == 0

    box.activate()
    with pytest.raises(ClientError) as raised:
        sagemaker.create_training_job(**training_job("job-1"))
    assert raised.value.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    sagemaker.create_training_job(**training_job("job-1"))  # times=1: the retry goes through
    assert fault.hits == 1
    names = {j["TrainingJobName"] for j in sagemaker.list_training_jobs()["TrainingJobSummaries"]}
    assert names == {"plain-1", "job-1"}


def test_api_faults_target_glob(box: Sandbox) -> None:
    sagemaker = box.client("sagemaker")
    fault = ApiFault(
        service="sagemaker", operation="Create*Job", code="ResourceLimitExceeded", target="fail-*", times=None
    )
    box.faults.api.append(fault)
    box.activate()
    sagemaker.create_training_job(**training_job("keep-1"))
    for name in ("fail-1", "fail-2"):
        with pytest.raises(ClientError, match="ResourceLimitExceeded"):
            sagemaker.create_training_job(**training_job(name))
    assert fault.hits == 2
    assert [j["TrainingJobName"] for j in sagemaker.list_training_jobs()["TrainingJobSummaries"]] == ["keep-1"]


def test_api_faults_lambda_invoke(box: Sandbox) -> None:
    box.function("other")
    box.function("target-a")
    box.faults.api.append(
        ApiFault(service="lambda", operation="Invoke", code="TooManyRequestsException", status=429, target="target-*")
    )
    box.activate()
    assert box.client("lambda").invoke(FunctionName="other", Payload=b"{}")["StatusCode"] == 200
    with pytest.raises(ClientError) as raised:
        box.client("lambda").invoke(FunctionName="target-a", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert box.client("lambda").invoke(FunctionName="target-a", Payload=b"{}")["StatusCode"] == 200
    assert [name for name, _, _ in box.runtime.invocations] == ["other", "target-a"]


def test_api_faults_query_protocol_service(box: Sandbox) -> None:
    """SNS speaks the query protocol (XML errors): an injected fault reaches boto3 as the ClientError AWS gives."""
    sns = box.client("sns")
    topic = sns.create_topic(Name="notices")["TopicArn"]
    other = sns.create_topic(Name="other")["TopicArn"]
    box.faults.api.append(ApiFault(service="sns", operation="Publish", code="Throttling", target="*:notices"))
    box.activate()
    sns.publish(TopicArn=other, Message="hello")  # the fault's target names the topic (a form-encoded member)
    with pytest.raises(ClientError) as raised:
        sns.publish(TopicArn=topic, Message="hello")
    assert raised.value.response["Error"] == {"Type": "Sender", "Code": "Throttling", "Message": "Rate exceeded"}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    sns.publish(TopicArn=topic, Message="hello")  # times=1: the next call goes through
