"""Functional tests: the real handlers, in-process, against moto (tables created from template.yaml)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from moto import mock_aws

from mlcp.aws.dynamodb.training import DynamoPipelineStore, DynamoRunStore
from tests.support import aws_client, example_spec_text, load_template

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "mlcp-artifacts-123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/mlcp-SageMakerExecutionRole-7Q2W"
STATE_MACHINE_NAME = "mlcp-training-pipeline"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}"


@dataclass
class Cloud:
    """Handles on the moto resources the handlers use."""

    s3: Any
    dynamodb: Any
    sqs: Any
    sfn: Any
    sagemaker: Any
    queue_url: str
    runs_table: str
    pipelines_table: str
    topic_arn: str

    def notifications(self) -> list[dict[str, Any]]:
        """Every SNS notification published so far (drained from the subscribed queue)."""
        found: list[dict[str, Any]] = []
        while True:
            response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = response.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def run(self, run_id: str) -> dict[str, Any] | None:
        return DynamoRunStore(self.runs_table, self.dynamodb).get(run_id)

    def put(self, key: str, body: str | bytes) -> str:
        """Upload an object; return its version id (the bucket is versioned)."""
        response = self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        return str(response["VersionId"])


def _create_table(dynamodb: Any, logical_id: str, name: str) -> None:
    props = load_template()["Resources"][logical_id]["Properties"]
    kwargs: dict[str, Any] = {
        "TableName": name,
        "BillingMode": props["BillingMode"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
    }
    if "GlobalSecondaryIndexes" in props:
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    dynamodb.create_table(**kwargs)


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    with mock_aws():
        s3 = aws_client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        dynamodb = aws_client("dynamodb")
        _create_table(dynamodb, "RunsTable", "mlcp-runs")
        _create_table(dynamodb, "PipelinesTable", "mlcp-pipelines")
        _create_table(dynamodb, "NoticesTable", "mlcp-notices")
        sns = aws_client("sns")
        topic_arn = sns.create_topic(Name="mlcp-notifications")["TopicArn"]
        sqs = aws_client("sqs")
        queue_url = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        sfn = aws_client("stepfunctions")
        sfn.create_state_machine(
            name=STATE_MACHINE_NAME,
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/mlcp-states",
        )
        env = {
            "MLCP_ENVIRONMENT": "test",
            "RUNS_TABLE": "mlcp-runs",
            "PIPELINES_TABLE": "mlcp-pipelines",
            "NOTICES_TABLE": "mlcp-notices",
            "ARTIFACT_BUCKET": BUCKET,
            "SAGEMAKER_ROLE_ARN": ROLE_ARN,
            "NOTIFICATION_TOPIC_ARN": topic_arn,
            "TRAINING_STATE_MACHINE_ARN": STATE_MACHINE_ARN,
            "NEO_POLL_SECONDS": "5",
            "NEO_MAX_POLLS": "10",
            # the operator grants the examples' second bucket (examples/batch/batch.yaml's model): DataBucketNames
            "DATA_BUCKET_NAMES": "mlcp-artifacts-example",
            # the template's STACK_ACCOUNT_ID (!Ref AWS::AccountId): the examples' images are this account's
            "STACK_ACCOUNT_ID": ACCOUNT,
            "AWS_REGION": REGION,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield Cloud(
            s3=s3,
            dynamodb=dynamodb,
            sqs=sqs,
            sfn=sfn,
            sagemaker=aws_client("sagemaker"),
            queue_url=queue_url,
            runs_table="mlcp-runs",
            pipelines_table="mlcp-pipelines",
            topic_arn=topic_arn,
        )


@pytest.fixture
def churn(cloud: Cloud) -> Cloud:
    """The example pipeline ``churn`` registered: start_run refuses the manifest of a pipeline that is not."""
    spec = yaml.safe_load(example_spec_text())
    source = f"s3://{BUCKET}/pipelines/churn/pipeline.yaml"
    assert DynamoPipelineStore("mlcp-pipelines").put_spec("churn", spec, "v0", source, "0")
    return cloud
