"""Guards of iam_enforcement and state_machine_credentials, the fixes of cli/mlcp_cli/local/patches/iam.py: each test
shows the gap on plain moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlcp_cli.local.patches.iam import RoleSessions
from mlcp_cli.local.patches.iam_actions import Requested
from tests.local_cloud.patches.support import ACCOUNT, REGION, Sandbox, dummy_zip, task

# A function that writes one item to the table named in its event, with a client of its own session (so it signs
# with the credentials the runtime put in its environment), and reports the error code if the call is refused.
WRITER = """
import boto3
from botocore.exceptions import ClientError


def lambda_handler(event, context):
    ddb = boto3.session.Session().client("dynamodb", region_name="us-east-1")
    try:
        ddb.put_item(TableName=event["table"], Item={"pk": {"S": "k"}})
    except ClientError as exc:
        return {"error": exc.response["Error"]["Code"], "message": exc.response["Error"]["Message"]}
    return {"error": None}
"""


def enforce(box: Sandbox) -> RoleSessions:
    """IAM enforcement on, as LocalCloud(enforce_iam=True) sets it."""
    sessions = RoleSessions(account_id=ACCOUNT, region=REGION)
    box.context.iam = sessions
    box.runtime.credentials = sessions.credentials
    return sessions


def role(box: Sandbox, name: str, *statements: dict[str, Any]) -> str:
    iam = box.client("iam")
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}))["Role"][
        "Arn"
    ]
    if statements:
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(document))
    return arn


def table(box: Sandbox, name: str) -> str:
    described = box.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn: str = described["TableDescription"]["TableArn"]
    return arn


def writer(box: Sandbox, name: str, role_arn: str) -> None:
    code_dir = box.tmp_path / name
    code_dir.mkdir()
    (code_dir / "app.py").write_text(WRITER)
    box.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role_arn,
        Handler="app.lambda_handler",
        Code={"ZipFile": dummy_zip()},
    )
    box.runtime.register(name, code_dir)


def invoke(box: Sandbox, name: str, event: dict[str, Any]) -> Any:
    response = box.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return json.loads(response["Payload"].read())


# --- iam_enforcement ---------------------------------------------------------------------------------------------
def test_iam_enforcement_plain_moto_allows_everything(box: Sandbox) -> None:
    table(box, "runs")
    writer(box, "writer", role(box, "no-permissions"))
    box.activate()  # enforcement off (LocalContext.iam is None): moto as released
    assert invoke(box, "writer", {"table": "runs"}) == {"error": None}


def test_iam_enforcement_function_role_resource_arn(box: Sandbox) -> None:
    runs = table(box, "runs")
    table(box, "other")
    allow = {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": runs}
    writer(box, "writer", role(box, "writer-role", allow))
    sessions = enforce(box)
    box.activate()
    assert invoke(box, "writer", {"table": "runs"}) == {"error": None}
    refused = invoke(box, "writer", {"table": "other"})
    assert refused["error"] == "AccessDeniedException"  # DynamoDB's code for a denied call
    assert refused["message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/writer-role/writer-role is not authorized to perform: "
        f"dynamodb:PutItem on resource: {runs.replace('runs', 'other')} because no identity-based policy allows "
        "the dynamodb:PutItem action"
    )
    assert [(d.action, d.resource.rsplit("/", 1)[1], d.allowed) for d in sessions.decisions] == [
        ("dynamodb:PutItem", "runs", True),
        ("dynamodb:PutItem", "other", False),
    ]
    # The operator's own calls (tests, CLI, deploy) are not restricted.
    box.client("dynamodb").put_item(TableName="other", Item={"pk": {"S": "operator"}})


def test_iam_enforcement_explicit_deny_wins_and_actions_ignore_case(box: Sandbox) -> None:
    runs = table(box, "runs")
    statements = (
        {"Effect": "Allow", "Action": "DynamoDB:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:putitem", "Resource": runs},
    )
    writer(box, "writer", role(box, "writer-role", *statements))
    enforce(box)
    box.activate()
    assert invoke(box, "writer", {"table": "runs"})["error"] == "AccessDeniedException"


def test_iam_enforcement_pass_role_condition(box: Sandbox) -> None:
    """iam:PassRole is checked for every RoleArn a request passes, with iam:PassedToService."""
    job_role = role(box, "sagemaker-job-role")
    other_role = role(box, "another-teams-role")
    machine_role = role(
        box,
        "machine-role",
        {"Effect": "Allow", "Action": "sagemaker:CreateTrainingJob", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": job_role,
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
    )
    sessions = enforce(box)
    box.activate()
    sagemaker = box.client("sagemaker")
    credentials = sessions.credentials(machine_role)
    import boto3  # noqa: PLC0415

    as_machine = boto3.session.Session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        region_name=REGION,
    ).client("sagemaker")

    def create(name: str, role_arn: str) -> None:
        as_machine.create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
            RoleArn=role_arn,
            OutputDataConfig={"S3OutputPath": "s3://b/out"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
            StoppingCondition={"MaxRuntimeInSeconds": 60},
        )

    create("allowed", job_role)
    with pytest.raises(ClientError) as refused:
        create("refused", other_role)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "iam:PassRole on resource: arn:aws:iam::123456789012:role/another-teams-role" in str(refused.value)
    assert [j["TrainingJobName"] for j in sagemaker.list_training_jobs()["TrainingJobSummaries"]] == ["allowed"]
    passes = [d for d in sessions.decisions if d.action == "iam:PassRole"]
    assert [(d.resource.rsplit("/", 1)[1], d.allowed) for d in passes] == [
        ("sagemaker-job-role", True),
        ("another-teams-role", False),
    ]


def test_iam_enforcement_condition_must_hold() -> None:
    """An Allow whose condition does not hold allows nothing (moto's evaluator turns it into a Deny instead)."""
    from mlcp_cli.local.patches.iam import allowed  # noqa: PLC0415

    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            },
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/any-service"},
        ]
    }
    to_batch = Requested("iam:PassRole", "arn:aws:iam::1:role/x", (("iam:PassedToService", "batch.amazonaws.com"),))
    to_sagemaker = Requested(
        "iam:PassRole", "arn:aws:iam::1:role/x", (("iam:PassedToService", "sagemaker.amazonaws.com"),)
    )
    any_service = Requested("iam:PassRole", "arn:aws:iam::1:role/any-service", to_batch.conditions)
    assert not allowed([document], to_batch)
    assert allowed([document], to_sagemaker)
    assert allowed([document], any_service)  # the unmet condition of the first statement is no Deny


# --- state_machine_credentials -----------------------------------------------------------------------------------
def test_state_machine_credentials_tasks_run_under_the_machine_role(box: Sandbox) -> None:
    runs = table(box, "runs")
    machine_role = role(box, "machine-role", {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": runs})
    sessions = enforce(box)
    box.activate()
    sfn = box.client("stepfunctions")

    def run(table_name: str) -> dict[str, Any]:
        definition = task("arn:aws:states:::dynamodb:putItem", {"TableName": table_name, "Item": {"pk": {"S": "k"}}})
        arn = sfn.create_state_machine(
            name=f"put-{table_name}", definition=json.dumps(definition), roleArn=machine_role
        )["stateMachineArn"]
        return box.wait(box.start(arn))

    table(box, "other")
    assert run("runs")["status"] == "SUCCEEDED"
    refused = run("other")
    assert refused["status"] == "FAILED"
    assert refused["error"] == "DynamoDB.AccessDeniedException"  # the integration names the service's error code
    assert "dynamodb:PutItem on resource" in refused["cause"]
    assert {d.principal.split("/")[1] for d in sessions.decisions} == {"machine-role"}
