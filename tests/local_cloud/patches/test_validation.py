"""Guards of request_validation, the fix of cli/mlcp_cli/local/patches/validation.py: each test shows the gap on plain
moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlcp.common.ports import RequestProblem
from mlcp_cli.local.patches.iam import RoleSessions
from mlcp_cli.local.patches.validation import validation_message
from tests.local_cloud.patches.support import ACCOUNT, REGION, Sandbox, task

ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def job(name: str, environment: dict[str, str]) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1",
            "TrainingInputMode": "File",
        },
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
        "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        "Environment": environment,
    }


def principal(box: Sandbox, name: str) -> tuple[RoleSessions, str]:
    """IAM enforcement on, and a role that may do anything (so only validation can refuse)."""
    sessions = RoleSessions(account_id=ACCOUNT, region=REGION)
    box.context.iam = sessions
    box.runtime.credentials = sessions.credentials
    iam = box.client("iam")
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}))["Role"][
        "Arn"
    ]
    document = {"Version": "2012-10-17", "Statement": [ALLOW_ALL]}
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps(document))
    return sessions, arn


def as_role(sessions: RoleSessions, role_arn: str, service: str) -> Any:
    credentials = sessions.credentials(role_arn)
    return boto3.session.Session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        region_name=REGION,
    ).client(service)  # type: ignore[call-overload]


# --- request_validation ------------------------------------------------------------------------------------------
def test_request_validation_plain_moto_accepts_what_sagemaker_refuses(box: Sandbox) -> None:
    box.activate()  # no enforcement: moto as released
    box.client("sagemaker").create_training_job(**job("x" * 64, {"MY-VAR": "1"}))  # name max 63; env name pattern
    (summary,) = box.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
    assert summary["TrainingJobName"] == "x" * 64


def test_request_validation_refuses_what_the_model_refuses(box: Sandbox) -> None:
    sessions, role = principal(box, "function-role")
    box.activate()
    sagemaker = as_role(sessions, role, "sagemaker")
    with pytest.raises(ClientError) as refused:
        sagemaker.create_training_job(**job("x" * 64, {"MY-VAR": "1"}))
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("3 validation errors detected: Value at 'trainingJobName' failed to satisfy")
    assert "has 64 characters; at most 63" in error["Message"]  # the model's max, and its pattern's {0,62}
    assert "Value at 'environment.MY-VAR' failed to satisfy constraint: 'MY-VAR' does not match" in error["Message"]
    assert box.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []  # nothing reached moto
    sagemaker.create_training_job(**job("ok", {"MY_VAR": "1"}))  # a valid request goes through
    box.client("sagemaker").create_training_job(**job("y" * 64, {}))  # the operator's calls are not checked here


def test_request_validation_state_machine_tasks_see_the_service_error(box: Sandbox) -> None:
    """moto's interpreter calls boto3 with parameter_validation=False: the fix checks those calls too."""
    _, role = principal(box, "machine-role")
    box.activate()
    definition = task(
        "arn:aws:states:::aws-sdk:sagemaker:createTrainingJob",
        {
            **job("z" * 70, {}),
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        },
    )
    sfn = box.client("stepfunctions")
    arn = sfn.create_state_machine(name="create", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    result = box.wait(box.start(arn))
    assert result["status"] == "FAILED"
    assert result["error"] == "SageMaker.ValidationException"
    assert "Value at 'trainingJobName' failed to satisfy constraint" in result["cause"]


def test_request_validation_message_in_aws_words() -> None:
    problems = [
        RequestProblem(
            ("HyperParameterTuningJobConfig", "ParameterRanges", "IntegerParameterRanges", 0, "Name"), "is required"
        )
    ]
    assert validation_message(problems) == (
        "1 validation error detected: Value at 'hyperParameterTuningJobConfig.parameterRanges.integerParameterRanges.1"
        ".name' failed to satisfy constraint: is required"
    )
