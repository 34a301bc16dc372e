"""Guards of lambda_invoke, the fixes of cli/mlcp_cli/local/patches/awslambda.py: each test shows the gap on plain moto,
then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from tests.local_cloud.patches.support import (
    Sandbox,
    dummy_zip,
)


# --- lambda_invoke -----------------------------------------------------------------------------------------------
def test_lambda_invoke_plain_moto_does_not_run_the_handler(box: Sandbox) -> None:
    if Path("/var/run/docker.sock").exists() or os.environ.get("DOCKER_HOST"):
        pytest.skip("a Docker daemon is reachable: plain moto would run the function in a container (slow)")
    url, _ = box.queue("calls")
    box.function("plain", {"QUEUE_URL": url, "MARKER": "m"})
    response = box.client("lambda").invoke(FunctionName="plain", Payload=b'{"a": 1}')
    payload = response["Payload"].read().decode()
    assert response.get("FunctionError") == "Handled"
    assert "error running docker" in payload
    assert box.messages(url, count=0) == []


def test_lambda_invoke_runs_the_handler_in_process(box: Sandbox) -> None:
    url, _ = box.queue("calls")
    arn = box.function("worker", {"QUEUE_URL": url, "MARKER": "m1"}, timeout=30)
    assert "MARKER" not in os.environ
    box.activate()
    response = box.client("lambda").invoke(FunctionName="worker", Payload=json.dumps({"a": 1}).encode())
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"call": 1, "marker": "m1"}
    (record,) = [m["body"] for m in box.messages(url, count=1)]
    assert record["event"] == {"a": 1}
    assert record["function_name"] == "worker"
    assert record["reserved_name"] == "worker"
    assert record["marker"] == "m1"
    assert str(uuid.UUID(record["request_id"])) == record["request_id"]
    assert 20_000 < record["remaining_ms"] <= 30_000
    assert box.runtime.invocations == [("worker", record["request_id"], None)]
    assert arn.endswith(":function:worker")
    box.runtime.stop()  # the process environment is restored when the runtime stops (at the latest)
    assert "MARKER" not in os.environ
    assert "QUEUE_URL" not in os.environ
    assert "AWS_LAMBDA_FUNCTION_NAME" not in os.environ


def test_lambda_invoke_environment_is_the_functions_own(box: Sandbox) -> None:
    url, _ = box.queue("calls")
    box.function("first", {"QUEUE_URL": url, "MARKER": "first"})
    box.function("second", {"QUEUE_URL": url})  # no MARKER
    box.activate()
    for name in ("first", "second"):
        box.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    markers = {m["body"]["function_name"]: m["body"]["marker"] for m in box.messages(url, count=2)}
    assert markers["first"] == "first"
    assert markers["second"] is None  # on AWS each function sees only its own variables
    assert "MARKER" not in os.environ  # and the process environment never carried them


def test_lambda_invoke_function_error(box: Sandbox) -> None:
    box.function("broken", {"FAIL_FIRST": "99"})
    box.activate()
    response = box.client("lambda").invoke(FunctionName="broken", Payload=b"{}")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "InjectedError"
    assert payload["errorMessage"] == "call 1 fails"
    assert isinstance(payload["stackTrace"], list)
    assert box.runtime.invocations[0][2] == "InjectedError"


def test_lambda_invoke_event_retries_then_on_failure_destination(box: Sandbox) -> None:
    url, _ = box.queue("calls")
    failed_url, failed_arn = box.queue("failed")
    arn = box.function("flaky", {"QUEUE_URL": url, "FAIL_FIRST": "99"})
    box.client("lambda").put_function_event_invoke_config(
        FunctionName="flaky",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": failed_arn}},
    )
    box.activate()
    response = box.client("lambda").invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"job": 7}')
    assert response["StatusCode"] == 202
    (record,) = [m["body"] for m in box.messages(failed_url, count=1)]
    calls = sorted(m["body"]["call"] for m in box.messages(url, count=2))
    assert calls == [1, 2]  # the first attempt and one retry
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"] == f"{arn}:$LATEST"
    assert record["requestPayload"] == {"job": 7}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "InjectedError"


# --- layer_version_ref -------------------------------------------------------------------------------------------
def _layer_ref_stack(box: Sandbox, name: str) -> str:
    """A stack with a layer version and an SSM parameter whose value is ``!Ref`` the layer; the parameter's value."""
    box.client("s3").create_bucket(Bucket=f"{name}-code")
    box.client("s3").put_object(Bucket=f"{name}-code", Key="layer.zip", Body=dummy_zip())
    template = {
        "Resources": {
            "Code": {
                "Type": "AWS::Lambda::LayerVersion",
                "Properties": {
                    "LayerName": f"{name}-layer",
                    "Content": {"S3Bucket": f"{name}-code", "S3Key": "layer.zip"},
                },
            },
            "Arn": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": f"/{name}/arn", "Type": "String", "Value": {"Ref": "Code"}},
            },
        }
    }
    box.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return str(box.client("ssm").get_parameter(Name=f"/{name}/arn")["Parameter"]["Value"])


def test_layer_version_ref_is_the_layer_version_arn(box: Sandbox) -> None:
    plain = _layer_ref_stack(box, "plain")
    assert plain.startswith("<moto.awslambda.models.LayerVersion")  # moto: the model object, as text
    box.activate()
    fixed = _layer_ref_stack(box, "fixed")
    layers = box.client("lambda").list_layers()["Layers"]
    arns = {layer["LatestMatchingVersion"]["LayerVersionArn"] for layer in layers}
    assert fixed in arns, (fixed, arns)
