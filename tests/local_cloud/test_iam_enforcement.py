"""IAM from template.yaml's own roles, enforced in the local cloud: what AWS refuses, the local cloud refuses.

The whole local-cloud tier runs with enforcement on (LocalCloud's default), so every other test here also proves
that the template grants what the functions and state machines use. These tests show the other side: a call the
template does not grant fails offline with AWS's AccessDenied, for the two faults that used to pass offline and fail
on AWS (a spec role the state machine may not pass, a bucket the functions may not read), and for a statement
deleted from a role (test_iam_template_copy.py, a cloud of its own).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlcp_cli.local.cloud import EXAMPLES, LocalCloud


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(speed=5000.0) as local:
        yield local


def as_role(cloud: LocalCloud, logical_id: str, service: str) -> Any:
    """A client of ``service`` that signs with the credentials of the template's role ``logical_id``."""
    assert cloud.iam is not None
    assert cloud.deployment is not None
    role_arn = cloud.client("iam").get_role(RoleName=cloud.deployment.resource(logical_id))["Role"]["Arn"]
    credentials = cloud.iam.credentials(role_arn)
    return boto3.session.Session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        region_name=cloud.region,
    ).client(service)  # type: ignore[call-overload]


def training_job(name: str, role_arn: str, bucket: str) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1",
            "TrainingInputMode": "File",
        },
        "RoleArn": role_arn,
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/runs/iam-test/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }


def test_the_state_machine_may_pass_only_the_stacks_sagemaker_role(cloud: LocalCloud) -> None:
    """../shared/cases/preflight/role-override.yaml: a spec's own role_arn is AccessDenied on iam:PassRole."""
    assert cloud.deployment is not None
    sagemaker = as_role(cloud, "TrainingPipelineRole", "sagemaker")
    bucket = cloud.bucket
    stack_role = cloud.client("iam").get_role(RoleName=cloud.deployment.resource("SageMakerExecutionRole"))["Role"][
        "Arn"
    ]
    team_role = "arn:aws:iam::123456789012:role/team-sagemaker-role"  # the case's role_arn

    sagemaker.create_training_job(**training_job("iam-stack-role", stack_role, bucket))
    with pytest.raises(ClientError) as refused:
        sagemaker.create_training_job(**training_job("iam-team-role", team_role, bucket))
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert re.search(rf"not authorized to perform: iam:PassRole on resource: {team_role}\b", str(refused.value))


def test_functions_read_only_the_artifact_bucket(cloud: LocalCloud) -> None:
    """../shared/cases/preflight/data-outside-artifact-bucket.yaml: evaluate_gate cannot read another bucket."""
    cloud.client("s3").create_bucket(Bucket="another-teams-data")
    cloud.client("s3").put_object(Bucket="another-teams-data", Key="metrics.json", Body=b"{}")
    cloud.client("s3").put_object(Bucket=cloud.bucket, Key="runs/iam-test/metrics.json", Body=b"{}")
    s3 = as_role(cloud, "EvaluateGateFunctionRole", "s3")

    assert s3.get_object(Bucket=cloud.bucket, Key="runs/iam-test/metrics.json")["Body"].read() == b"{}"
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket="another-teams-data", Key="metrics.json")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_every_call_of_a_run_is_authorised_against_its_role(cloud: LocalCloud) -> None:
    """A whole run under enforcement: functions sign as their roles, tasks as the state machine's, all allowed."""
    assert cloud.iam is not None
    cloud.upload_spec("churn", (EXAMPLES / "pipelines" / "churn" / "pipeline.yaml").read_bytes())
    cloud.settle()
    before = len(cloud.iam.decisions)
    started = {e["executionArn"] for e in cloud.executions()}
    cloud.upload_dataset("churn", "iam-v1", {"description": "iam"})
    (execution,) = [e for e in cloud.settle() if e["executionArn"] not in started]
    assert execution["status"] == "SUCCEEDED"
    decisions = cloud.iam.decisions[before:]
    roles = {d.principal.split("/")[1].removeprefix(f"{cloud.stack_name}-").rsplit("-", 1)[0] for d in decisions}
    assert {"StartRunFunctionRole", "ValidateSpecFunctionRole", "TrainingPipelineRole"} <= roles
    assert [d for d in decisions if not d.allowed] == []
    actions = {d.action for d in decisions}
    assert {
        "states:StartExecution",
        "lambda:InvokeFunction",
        "iam:PassRole",
        "sagemaker:CreateHyperParameterTuningJob",
    } <= actions
