"""Helpers of the patches' guard tests: small moto scenarios run on plain moto, then with the local cloud's fixes
active.

A :class:`Sandbox` is one ``mock_aws`` (Step Functions executing) plus a :class:`patches.LocalContext` that is *not*
active until :meth:`Sandbox.activate`: a test first shows what moto 5.2.5 does as released, then what the fix makes
of the same scenario.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto import mock_aws

from mlcp_cli.local import patches
from mlcp_cli.local.backends.clock import SimClock
from mlcp_cli.local.dispatch import Dispatcher
from mlcp_cli.local.faults import Faults
from mlcp_cli.local.runtime import LambdaRuntime

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/motofix-test"
SPEED = 10_000.0  # simulated seconds per wall second
TIMEOUT = 30.0  # wall seconds any bounded poll may take
ISO_MS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"  # how Step Functions renders datetimes in task output
ISO_S = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"  # EventBridge's event "time"

# One handler for every test function. It records what it saw (event, context, environment) to QUEUE_URL when set,
# and raises InjectedError on its first FAIL_FIRST invocations (module state: it lives as long as the runtime).
HANDLER = """
import json
import os

import boto3

CALLS = {"n": 0}


class InjectedError(Exception):
    pass


def lambda_handler(event, context):
    CALLS["n"] += 1
    record = {
        "event": event,
        "call": CALLS["n"],
        "function_name": context.function_name,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "marker": os.environ.get("MARKER"),
        "reserved_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
    }
    if os.environ.get("QUEUE_URL"):
        boto3.client("sqs", region_name="us-east-1").send_message(
            QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(record)
        )
    if CALLS["n"] <= int(os.environ.get("FAIL_FIRST", "0")):
        raise InjectedError(f"call {CALLS['n']} fails")
    return {"call": CALLS["n"], "marker": os.environ.get("MARKER")}
"""


def dummy_zip() -> bytes:
    """What moto stores as the function's code (the runtime runs the registered directory instead)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


def task(resource: str, parameters: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A one-state machine running a Task."""
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True, **extra}
    if parameters is not None:
        state["Parameters"] = parameters
    return {"StartAt": "Task", "States": {"Task": state}}


PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"v": 1}, "End": True}}}
WAIT_AN_HOUR = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
SAGEMAKER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
OUTPUT_BUCKET = "motofix-output"


def training_job(name: str) -> dict[str, Any]:
    """A minimal valid CreateTrainingJob request, PascalCase as in ASL."""
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/train:1",
            "TrainingInputMode": "File",
        },
        "RoleArn": SAGEMAKER_ROLE,
        "OutputDataConfig": {"S3OutputPath": f"s3://{OUTPUT_BUCKET}/models"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    }


@cache
def no_retry_client(service: str) -> Any:
    """One client per service for the test process (creating one costs ~80 ms; moto intercepts clients created before
    a mock starts and resets its backends between mocks), without retries so that an injected fault reaches the test."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=REGION,
        config=Config(retries={"total_max_attempts": 1}),
    )


@dataclass
class Sandbox:
    tmp_path: Path
    context: patches.LocalContext
    _role: str | None = None
    _machines: int = 0

    # --- handles -------------------------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client that does not retry: an injected fault reaches the test."""
        return no_retry_client(service)

    @property
    def faults(self) -> Faults:
        return self.context.faults

    @property
    def runtime(self) -> LambdaRuntime:
        return self.context.runtime

    @property
    def dispatcher(self) -> Dispatcher:
        return self.context.dispatcher

    @property
    def clock(self) -> SimClock:
        return self.context.clock

    def activate(self) -> None:
        patches.activate(self.context)
        assert patches.active() is self.context

    def settle(self) -> None:
        """Every asynchronous delivery made (EventBridge targets, Event invocations)."""
        assert self.dispatcher.drain(timeout=TIMEOUT), "deliveries still in flight"

    # --- Step Functions ------------------------------------------------------------------------------------------
    def state_machine(self, definition: dict[str, Any], name: str | None = None) -> str:
        self._machines += 1
        arn: str = self.client("stepfunctions").create_state_machine(
            name=name or f"sm-{self._machines}", definition=json.dumps(definition), roleArn=ROLE_ARN
        )["stateMachineArn"]
        return arn

    def start(self, state_machine_arn: str, payload: Any = None, name: str | None = None) -> str:
        kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "input": json.dumps(payload or {})}
        if name is not None:
            kwargs["name"] = name
        arn: str = self.client("stepfunctions").start_execution(**kwargs)["executionArn"]
        return arn

    def wait(self, execution_arn: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """DescribeExecution once the execution has ended (bounded poll)."""
        deadline = time.monotonic() + timeout
        while True:
            described: dict[str, Any] = self.client("stepfunctions").describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise AssertionError(f"{execution_arn} still RUNNING after {timeout} s")
            time.sleep(0.02)

    def execute(self, definition: dict[str, Any], payload: Any = None) -> dict[str, Any]:
        return self.wait(self.start(self.state_machine(definition), payload, name="run"))

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.client("stepfunctions").get_execution_history(
            executionArn=execution_arn, maxResults=1000
        )["events"]
        return events

    def stop_executions(self) -> None:
        sfn = self.client("stepfunctions")
        for machine in sfn.list_state_machines()["stateMachines"]:
            running = sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")
            for execution in running["executions"]:
                sfn.stop_execution(executionArn=execution["executionArn"])

    # --- SQS -----------------------------------------------------------------------------------------------------
    def queue(self, name: str) -> tuple[str, str]:
        """(url, arn) of a new queue."""
        sqs = self.client("sqs")
        url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def _receive(self, url: str) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(
                    {
                        "body": json.loads(message["Body"]),
                        "attributes": {
                            k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()
                        },
                    }
                )
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def messages(self, url: str, count: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """The queue's messages (body parsed, attributes) once ``count`` have arrived; then anything delivered since.

        Events are emitted from execution threads and delivered on the dispatcher's, so this polls (bounded) until
        ``count`` arrived, then settles and collects the rest: a test can assert the exact number.
        """
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            found += self._receive(url)
            if len(found) < count:
                time.sleep(0.02)
        self.settle()
        return found + self._receive(url)

    # --- Lambda --------------------------------------------------------------------------------------------------
    def function(self, name: str, environment: dict[str, str] | None = None, *, timeout: int = 30) -> str:
        """A moto function whose code is HANDLER in its own directory, registered with the runtime; its ARN."""
        if self._role is None:
            self._role = self.client("iam").create_role(
                RoleName="motofix-lambda", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
            )["Role"]["Arn"]
        code_dir = self.tmp_path / name
        code_dir.mkdir()
        (code_dir / "app.py").write_text(HANDLER)
        arn: str = self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=self._role,
            Handler="app.lambda_handler",
            Code={"ZipFile": dummy_zip()},
            Timeout=timeout,
            Environment={"Variables": environment or {}},
        )["FunctionArn"]
        self.runtime.register(name, code_dir)
        return arn

    # --- EventBridge ---------------------------------------------------------------------------------------------
    def rule(self, name: str, pattern: dict[str, Any], *targets: dict[str, Any]) -> str:
        events = self.client("events")
        arn: str = events.put_rule(Name=name, EventPattern=json.dumps(pattern))["RuleArn"]
        if targets:
            events.put_targets(Rule=name, Targets=list(targets))
        return arn


@contextmanager
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    patches.install()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        context = patches.LocalContext(
            clock=SimClock(speed=SPEED), faults=Faults(), runtime=LambdaRuntime(), dispatcher=Dispatcher()
        )
        context.runtime.start()
        box = Sandbox(tmp_path, context)
        try:
            yield box
        finally:
            try:
                box.stop_executions()
            finally:
                context.dispatcher.drain(timeout=TIMEOUT)
                context.dispatcher.shutdown()
                context.runtime.stop()
                patches.deactivate()


def eks_nodegroup(box: Sandbox) -> Any:
    """An EKS cluster ``c1`` with a node group ``gpu`` (min 1, desired 2, max 5); the sandbox's EKS client."""
    eks = box.client("eks")
    eks.create_cluster(name="c1", roleArn=ROLE_ARN, resourcesVpcConfig={})
    eks.create_nodegroup(
        clusterName="c1",
        nodegroupName="gpu",
        nodeRole=ROLE_ARN,
        subnets=["subnet-1"],
        scalingConfig={"minSize": 1, "maxSize": 5, "desiredSize": 2},
    )
    return eks
