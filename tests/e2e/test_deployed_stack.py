"""Against a deployed stack (real AWS). Skipped, with the reason printed, unless MLCP_E2E_STACK names one."""

from __future__ import annotations

import os
import time
import uuid

import boto3
import pytest
import yaml

from tests.support import example_spec_text

STACK = os.environ.get("MLCP_E2E_STACK", "")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not STACK, reason="set MLCP_E2E_STACK=<stack name> and AWS credentials to run e2e tests"),
]


def _outputs() -> dict[str, str]:
    stack = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_spec_upload_registers_the_pipeline() -> None:
    outputs = _outputs()
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    body = example_spec_text().replace("name: churn", f"name: {name}")
    boto3.client("s3").put_object(
        Bucket=outputs["ArtifactBucketName"], Key=f"pipelines/{name}/pipeline.yaml", Body=body
    )
    table = outputs["PipelinesTableName"]
    deadline = time.monotonic() + 120
    item = None
    while time.monotonic() < deadline and not item:
        item = boto3.client("dynamodb").get_item(TableName=table, Key={"name": {"S": name}}).get("Item")
        time.sleep(5)
    assert item is not None, f"pipeline {name} was not registered within 120 s"
    assert "spec_json" in item


def test_the_api_registers_and_reads_a_pipeline_with_sigv4() -> None:
    from mlcp_cli.api_client import ApiClient, ApiError  # noqa: PLC0415

    api = ApiClient(_outputs()["ApiUrl"], sign=True)
    name = f"e2e-api-{uuid.uuid4().hex[:8]}"
    spec = yaml.safe_load(example_spec_text())
    status, view = api.put_pipeline(name, {**spec, "name": name})
    assert status == 201
    assert api.get_pipeline(name)["spec_version"] == view["spec_version"]
    with pytest.raises(ApiError) as missing:
        api.get_run(name, "no-such-run")
    assert missing.value.status == 404
    unsigned = ApiClient(_outputs()["ApiUrl"], sign=False)
    with pytest.raises(ApiError) as refused:
        unsigned.list_pipelines()
    assert refused.value.status == 403  # AWS_IAM: unsigned requests never reach the function
