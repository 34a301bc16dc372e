"""Guards of cli/mlcp_cli/local/motofix.py: one test (or a few) per fix in ``motofix.FIXES``.

Each test first runs its scenario on moto 5.2.5 as released (no local context active) and asserts the gap, so that it
fails when a future moto closes the gap and the fix can go; then it activates the fixes and asserts the AWS
behaviour. Tests named ``test_<fix>_...`` belong to that fix (``test_every_fix_has_a_guard`` checks the naming).

A few tests end in ``pytest.xfail`` when they hit a known defect of a fix (the reason says which); once the fix is
repaired they run to their assertions.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import moto
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError
from moto.awslambda.models import LambdaFunction
from moto.core.responses import BaseResponse
from moto.events.models import Rule
from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
from moto.stepfunctions.parser.backend import execution_worker

from mlcp_cli.local import motofix
from mlcp_cli.local.backends.clock import SimClock
from mlcp_cli.local.backends.jobs import JobBackend, JobDurations
from mlcp_cli.local.faults import ApiFault, JobFault
from tests.local_cloud.conftest import failures
from tests.local_cloud.motofix_support import (
    ACCOUNT,
    ISO_MS,
    ISO_S,
    PASS,
    REGION,
    ROLE_ARN,
    TIMEOUT,
    Sandbox,
    sandbox,
    task,
)

WAIT_AN_HOUR = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
SAGEMAKER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
OUTPUT_BUCKET = "motofix-output"


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox(tmp_path) as created:
        yield created


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


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


# --- installation ------------------------------------------------------------------------------------------------
def test_every_fix_has_a_guard() -> None:
    assert len(set(motofix.FIXES)) == len(motofix.FIXES) >= 12
    for fix in motofix.FIXES:
        assert any(name.startswith(f"test_{fix}_") for name in globals()), f"no test guards {fix}"
        assert f"``{fix}``" in (motofix.__doc__ or ""), f"{fix} is not documented in motofix's docstring"


def test_install_refuses_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # The pin: when moto moves, every fix has to be checked again (this module's tests say which still apply).
    assert moto.__version__ == motofix.MOTO_VERSION == "5.2.5"
    monkeypatch.setattr(motofix, "_INSTALLED", False)  # restored by monkeypatch, like moto.__version__
    monkeypatch.setattr(moto, "__version__", "5.3.0")
    with pytest.raises(RuntimeError, match=r"written for moto 5\.2\.5, not 5\.3\.0"):
        motofix.install()


def test_install_is_idempotent_and_inactive_by_default() -> None:
    motofix.install()
    patched = (Rule.send_to_targets, LambdaFunction.invoke, BaseResponse.call_action)
    motofix.install()
    assert (Rule.send_to_targets, LambdaFunction.invoke, BaseResponse.call_action) == patched
    assert motofix.active() is None


# --- task_parameter_names ----------------------------------------------------------------------------------------
def test_task_parameter_names_aws_sdk_eks(box: Sandbox) -> None:
    box.client("eks").create_cluster(name="c1", roleArn=ROLE_ARN, resourcesVpcConfig={})
    definition = task("arn:aws:states:::aws-sdk:eks:describeCluster", {"Name": "c1"})

    plain = box.execute(definition)
    # moto calls boto3 with Name= (and no parameter validation): the rest-json serializer misses "name".
    assert plain["status"] == "FAILED"
    assert plain["error"] == "States.Runtime"
    assert "'Name'" in plain["cause"]

    box.activate()
    fixed = box.execute(definition)
    assert fixed["status"] == "SUCCEEDED", fixed
    cluster = json.loads(fixed["output"])["Cluster"]
    assert cluster["Name"] == "c1"
    assert cluster["Arn"] == f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/c1"
    assert re.fullmatch(ISO_MS, cluster["CreatedAt"]), cluster["CreatedAt"]
    assert "name" not in cluster
    assert "createdAt" not in cluster


def test_task_parameter_names_nested_execution_sync2(box: Sandbox) -> None:
    child = box.state_machine(PASS, name="child")
    definition = task("arn:aws:states:::states:startExecution.sync:2", {"StateMachineArn": child, "Input": {"x": 1}})

    plain = box.execute(definition)
    assert plain["status"] == "FAILED"
    assert plain["error"] == "States.Runtime"
    assert "'StateMachineArn'" in plain["cause"]

    box.activate()
    fixed = box.execute(definition)
    assert fixed["status"] == "SUCCEEDED", fixed
    output = json.loads(fixed["output"])
    assert output["Status"] == "SUCCEEDED"
    assert output["StateMachineArn"] == child
    assert output["Input"] == {"x": 1}  # sync:2 returns the child's input and output as JSON
    assert output["Output"] == {"v": 1}
    assert output["ExecutionArn"].startswith(f"arn:aws:states:{REGION}:{ACCOUNT}:execution:child:")
    assert re.fullmatch(ISO_MS, output["StartDate"]), output["StartDate"]
    assert re.fullmatch(ISO_MS, output["StopDate"]), output["StopDate"]


# --- sagemaker_sync ----------------------------------------------------------------------------------------------
def test_sagemaker_sync_returns_the_describe_output(box: Sandbox) -> None:
    resource = "arn:aws:states:::sagemaker:createTrainingJob.sync"

    plain = box.execute(task(resource, training_job("plain-job")))
    assert plain["status"] == "FAILED"
    assert plain["error"] == "States.Runtime"
    assert "Unsupported sync callback procedure" in plain["cause"]

    box.activate()
    fixed = box.execute(task(resource, training_job("sync-job")))
    assert fixed["status"] == "SUCCEEDED", fixed
    output = json.loads(fixed["output"])
    # The DescribeTrainingJob output, not CreateTrainingJob's {"TrainingJobArn": ...}
    assert output["TrainingJobName"] == "sync-job"
    assert output["TrainingJobStatus"] == "Completed"
    assert output["TrainingJobArn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/sync-job"
    assert output["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{OUTPUT_BUCKET}/models/sync-job/output/model.tar.gz"
    assert re.fullmatch(ISO_MS, output["CreationTime"]), output["CreationTime"]
    assert "ResponseMetadata" not in output


def test_sagemaker_sync_failed_job_fails_the_task(box: Sandbox) -> None:
    box.client("s3").create_bucket(Bucket=OUTPUT_BUCKET)
    box.faults.jobs.append(JobFault(job="fail-*", reason="AlgorithmError: injected failure"))
    box.activate()
    with JobBackend(box.clock, box.faults):
        failed = box.execute(task("arn:aws:states:::sagemaker:createTrainingJob.sync", training_job("fail-1")))
    assert failed["status"] == "FAILED", failed
    assert failed["error"] == "States.TaskFailed"
    cause = json.loads(failed["cause"])  # the DescribeTrainingJob output of the failed job
    assert cause["TrainingJobName"] == "fail-1"
    assert cause["TrainingJobStatus"] == "Failed"
    assert cause["FailureReason"] == "AlgorithmError: injected failure"
    assert failures(box, failed["executionArn"]) == ["States.TaskFailed"]


def test_sagemaker_sync_stopping_the_execution_stops_the_job(box: Sandbox) -> None:
    box.client("s3").create_bucket(Bucket=OUTPUT_BUCKET)
    sagemaker = box.client("sagemaker")
    box.activate()
    with JobBackend(box.clock, box.faults, JobDurations(training=10.0**9)):  # runs far longer than the test
        execution = box.start(
            box.state_machine(task("arn:aws:states:::sagemaker:createTrainingJob.sync", training_job("long-1")))
        )
        deadline = time.monotonic() + TIMEOUT
        while not sagemaker.list_training_jobs()["TrainingJobSummaries"]:
            assert time.monotonic() < deadline, "the training job was never created"
            time.sleep(0.02)
        assert sagemaker.describe_training_job(TrainingJobName="long-1")["TrainingJobStatus"] == "InProgress"
        box.client("stepfunctions").stop_execution(executionArn=execution)
        assert box.wait(execution)["status"] == "ABORTED"
        status = ""
        while status != "Stopped":
            assert time.monotonic() < deadline, f"the job is still {status}"
            status = sagemaker.describe_training_job(TrainingJobName="long-1")["TrainingJobStatus"]
            assert status in {"InProgress", "Stopping", "Stopped"}
            time.sleep(0.01)


# --- sdk_error_names ---------------------------------------------------------------------------------------------
def test_sdk_error_names_aws_sdk_task(box: Sandbox) -> None:
    definition = task("arn:aws:states:::aws-sdk:sagemaker:describeTrainingJob", {"TrainingJobName": "missing"})

    plain = box.execute(definition)
    assert plain["status"] == "FAILED"
    assert plain["error"] == "sagemaker.sagemakerException"

    box.activate()
    fixed = box.execute(definition)
    assert fixed["status"] == "FAILED"
    assert fixed["error"] == "SageMaker.ValidationException"
    assert "(Service: SageMaker, Status Code: 400, Error Code: ValidationException)" in fixed["cause"]


def test_sdk_error_names_lambda_task(box: Sandbox) -> None:
    missing = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:missing"

    plain = box.execute(task(missing))
    assert plain["status"] == "FAILED"
    assert plain["error"] == "Exception"

    box.activate()
    fixed = box.execute(task(missing))
    assert fixed["status"] == "FAILED"
    assert fixed["error"] == "Lambda.ResourceNotFoundException"
    assert "Function not found" in fixed["cause"]

    throttled = box.function("throttled")
    box.faults.api.append(ApiFault(service="lambda", operation="Invoke", code="TooManyRequestsException", status=429))
    result = box.execute(task(throttled))
    assert result["status"] == "FAILED"
    assert result["error"] == "Lambda.TooManyRequestsException"


# --- fail_error_names -------------------------------------------------------------------------------------------
def test_fail_error_names_reraise_a_states_error(box: Sandbox) -> None:
    definition = {
        "StartAt": "Caught",
        "States": {
            "Caught": {"Type": "Pass", "Result": {"Error": "States.Timeout", "Cause": "took too long"}, "Next": "Fail"},
            "Fail": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"},
        },
    }

    plain = box.execute(definition)
    assert plain["status"] == "FAILED"
    assert plain["error"] == "States.Runtime"
    assert "MUST NOT begin with the prefix 'States.'" in plain["cause"]

    box.activate()
    fixed = box.execute(definition)
    assert fixed["status"] == "FAILED"
    assert (fixed["error"], fixed["cause"]) == ("States.Timeout", "took too long")


def test_fail_error_names_reraise_a_caught_task_error(box: Sandbox) -> None:
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:describeTrainingJob",
                "Parameters": {"TrainingJobName": "missing"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Fail"}],
                "End": True,
            },
            "Fail": {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause"},
        },
    }
    box.activate()
    result = box.execute(definition)
    assert result["status"] == "FAILED"
    assert result["error"] == "SageMaker.ValidationException"
    assert "Could not find training job" in result["cause"]


# --- simulated_waits ---------------------------------------------------------------------------------------------
def test_simulated_waits_plain_moto_waits_in_real_time(box: Sandbox) -> None:
    execution = box.start(box.state_machine(WAIT_AN_HOUR))
    with pytest.raises(AssertionError, match="still RUNNING"):
        box.wait(execution, timeout=0.5)  # an hour-long Wait cannot end in half a second of real time
    box.client("stepfunctions").stop_execution(executionArn=execution)


def test_simulated_waits_wait_and_retry_run_on_the_clock(box: Sandbox) -> None:
    fault = ApiFault(service="sagemaker", operation="ListTrainingJobs", times=2)
    box.faults.api.append(fault)
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 3600, "Next": "List"},
            "List": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:listTrainingJobs",
                "Parameters": {},
                "Retry": [
                    {
                        "ErrorEquals": ["SageMaker.ThrottlingException"],
                        "IntervalSeconds": 600,
                        "MaxAttempts": 3,
                        "BackoffRate": 2.0,
                    }
                ],
                "End": True,
            },
        },
    }
    box.activate()
    result = box.execute(definition)
    assert result["status"] == "SUCCEEDED", result
    assert fault.hits == 2
    assert failures(box, result["executionArn"]) == ["SageMaker.ThrottlingException"] * 2
    # The hour and the 600 + 1200 s of retry intervals passed on the simulated clock (not skipped).
    assert box.clock.seconds() >= 0.99 * (3600 + 600 + 1200)


# --- cfn_state_machines ------------------------------------------------------------------------------------------
def state_machine_template(name: str, greeting: str) -> str:
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"greeting": "${Greeting}"}, "End": True}}}
    return json.dumps(
        {
            "Resources": {
                "Machine": {
                    "Type": "AWS::StepFunctions::StateMachine",
                    "Properties": {
                        "StateMachineName": name,
                        "RoleArn": ROLE_ARN,
                        "DefinitionString": json.dumps(definition),
                        "DefinitionSubstitutions": {"Greeting": greeting},
                    },
                }
            },
            "Outputs": {"Arn": {"Value": {"Ref": "Machine"}}},
        }
    )


def test_cfn_state_machines_substitutions_and_executing_backend(box: Sandbox) -> None:
    from moto.stepfunctions.models import stepfunctions_backends  # noqa: PLC0415 - moto's non-executing backend

    cfn, sfn = box.client("cloudformation"), box.client("stepfunctions")
    cfn.create_stack(StackName="plain", TemplateBody=state_machine_template("plain-machine", "hello"))
    plain_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:plain-machine"
    with pytest.raises(ClientError, match="StateMachineDoesNotExist"):
        sfn.describe_state_machine(stateMachineArn=plain_arn)  # not in the backend that executes
    (machine,) = [m for m in stepfunctions_backends[ACCOUNT][REGION].state_machines if m.name == "plain-machine"]
    assert "${Greeting}" in machine.definition

    box.activate()
    cfn.create_stack(StackName="fixed", TemplateBody=state_machine_template("fixed-machine", "hello"))
    outputs = cfn.describe_stacks(StackName="fixed")["Stacks"][0]["Outputs"]
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:fixed-machine"
    assert outputs == [{"OutputKey": "Arn", "OutputValue": arn}]
    definition = sfn.describe_state_machine(stateMachineArn=arn)["definition"]
    assert json.loads(definition)["States"]["P"]["Result"] == {"greeting": "hello"}
    result = box.wait(box.start(arn))
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"greeting": "hello"}


def test_cfn_state_machines_update_stack(box: Sandbox) -> None:
    cfn, sfn = box.client("cloudformation"), box.client("stepfunctions")
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:machine"
    box.activate()
    cfn.create_stack(StackName="stack", TemplateBody=state_machine_template("machine", "hello"))
    try:
        cfn.update_stack(StackName="stack", TemplateBody=state_machine_template("machine", "bye"))
    except (ClientError, ResponseParserError) as exc:  # moto answers CloudFormation (XML) with a JSON error
        pytest.xfail(
            "cfn_state_machines patches create_from_cloudformation_json only: UpdateStack goes to moto's "
            f"non-executing backend, which does not know the machine ({type(exc).__name__}: StateMachineDoesNotExist)"
        )
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    assert definition["States"]["P"]["Result"] == {"greeting": "bye"}


def test_cfn_state_machines_delete_stack(box: Sandbox) -> None:
    cfn, sfn = box.client("cloudformation"), box.client("stepfunctions")
    box.activate()
    cfn.create_stack(StackName="stack", TemplateBody=state_machine_template("machine", "hello"))
    assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["machine"]
    cfn.delete_stack(StackName="stack")
    left = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    if left == ["machine"]:
        pytest.xfail(
            "cfn_state_machines patches create_from_cloudformation_json only: DeleteStack deletes from moto's "
            "non-executing backend and the machine stays in the executing one"
        )
    assert left == []


# --- stop_starting_executions ------------------------------------------------------------------------------------
def _slow_start(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Hold every execution in its 'parsing the definition' phase until the returned event is set."""
    release = threading.Event()
    original = execution_worker.ExecutionWorker._get_evaluation_entrypoint

    def entrypoint(self: Any) -> Any:
        release.wait(TIMEOUT)
        return original(self)

    monkeypatch.setattr(execution_worker.ExecutionWorker, "_get_evaluation_entrypoint", entrypoint)
    return release


def test_stop_starting_executions_waits_for_the_interpreter(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = box.state_machine(WAIT_AN_HOUR)
    release = _slow_start(monkeypatch)
    sfn = box.client("stepfunctions")

    starting = box.start(arn)
    with pytest.raises(AttributeError, match="set_stop"):  # moto: the worker has no environment yet
        sfn.stop_execution(executionArn=starting)
    release.set()
    deadline = time.monotonic() + TIMEOUT
    while not box.history(starting) and time.monotonic() < deadline:  # ExecutionStarted: the worker is up
        time.sleep(0.01)
    sfn.stop_execution(executionArn=starting)

    release.clear()
    box.activate()
    fixed = box.start(arn)
    threading.Timer(0.2, release.set).start()
    sfn.stop_execution(executionArn=fixed)  # waits for the interpreter, then stops it
    assert box.wait(fixed)["status"] == "ABORTED"


# --- asl_parse_cache ---------------------------------------------------------------------------------------------
COUNTER = {
    "StartAt": "Count",
    "States": {
        "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts full ANTLR parses of a definition (the lexer/parser run, not the cache)."""
    parses = [0]
    original = ASLParser.state_machine

    def state_machine(self: Any) -> Any:
        parses[0] += 1
        return original(self)

    monkeypatch.setattr(ASLParser, "state_machine", state_machine)
    return parses


def test_asl_parse_cache_parses_a_definition_once(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    parses = _count_parses(monkeypatch)
    plain = box.state_machine(COUNTER, name="plain-counter")
    parses[0] = 0
    for n in range(2):
        assert json.loads(box.wait(box.start(plain, {"n": n}, name=f"plain-{n}"))["output"]) == {"n": n + 1}
    assert parses[0] == 2  # moto parses the whole definition again for every execution

    box.activate()
    cached = box.state_machine({**COUNTER, "Comment": "cached"}, name="cached-counter")
    parses[0] = 0
    outputs = [json.loads(box.wait(box.start(cached, {"n": n}))["output"]) for n in range(3)]
    assert outputs == [{"n": 1}, {"n": 2}, {"n": 3}]  # fresh evaluation components each time: no shared state
    assert parses[0] == 0  # parsed once, when CreateStateMachine validated it


def test_asl_parse_cache_still_rejects_invalid_definitions(box: Sandbox) -> None:
    box.activate()
    broken = {"StartAt": "Missing", "States": {"Only": {"Type": "Pass", "End": True, "Unknown": 1}}}
    for _ in range(2):  # errors are never cached: the second attempt is refused the same way
        with pytest.raises(ClientError, match="ASLParserException"):
            box.state_machine(broken, name="broken")


# --- default_execution_names -------------------------------------------------------------------------------------
def test_default_execution_names_are_uuids(box: Sandbox) -> None:
    sfn = box.client("stepfunctions")
    plain_machine = box.state_machine(WAIT_AN_HOUR, name="plain")  # stays RUNNING on plain moto
    first = sfn.start_execution(stateMachineArn=plain_machine)["executionArn"]
    assert first == f"arn:aws:states:{REGION}:{ACCOUNT}:execution:plain:None"
    # Every unnamed execution is "None": the next one is taken for the first (same input) or refused.
    assert sfn.start_execution(stateMachineArn=plain_machine)["executionArn"] == first
    with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
        sfn.start_execution(stateMachineArn=plain_machine, input='{"other": true}')
    assert len(sfn.list_executions(stateMachineArn=plain_machine)["executions"]) == 1

    box.activate()
    machine = box.state_machine(PASS, name="fixed")
    arns = [sfn.start_execution(stateMachineArn=machine)["executionArn"] for _ in range(2)]
    assert arns[0] != arns[1]
    for arn in arns:
        name = arn.rsplit(":", 1)[1]
        assert str(uuid.UUID(name)) == name
        described = box.wait(arn)
        assert described["name"] == name
        assert described["status"] == "SUCCEEDED"
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 2


# --- execution_status_events -------------------------------------------------------------------------------------
def test_execution_status_events_plain_moto_emits_none(box: Sandbox) -> None:
    url, queue_arn = box.queue("plain-events")
    box.rule("states", {"source": ["aws.states"]}, {"Id": "queue", "Arn": queue_arn})
    assert box.execute(PASS)["status"] == "SUCCEEDED"
    assert box.messages(url, count=0) == []


def test_execution_status_events_running_and_terminal(box: Sandbox) -> None:
    url, _ = box.queue("events")
    forwarder = box.function("forwarder", {"QUEUE_URL": url})
    box.rule("states", {"source": ["aws.states"]}, {"Id": "lambda", "Arn": forwarder})
    wait = {"Type": "Wait", "Seconds": 3000}  # 0.3 s: still running when StartExecution returns
    passing = {
        "StartAt": "W",
        "States": {"W": {**wait, "Next": "P"}, "P": {"Type": "Pass", "Result": {"v": 1}, "End": True}},
    }
    failing = {
        "StartAt": "W",
        "States": {"W": {**wait, "Next": "F"}, "F": {"Type": "Fail", "Error": "Boom", "Cause": "bad"}},
    }
    box.activate()
    succeeded = box.execute(passing, {"in": 1})
    failed = box.execute(failing)
    assert (succeeded["status"], failed["status"]) == ("SUCCEEDED", "FAILED")

    events = [m["body"]["event"] for m in box.messages(url, count=4)]
    assert sorted((e["detail"]["executionArn"], e["detail"]["status"]) for e in events) == sorted(
        [
            (succeeded["executionArn"], "RUNNING"),
            (succeeded["executionArn"], "SUCCEEDED"),
            (failed["executionArn"], "RUNNING"),
            (failed["executionArn"], "FAILED"),
        ]
    )
    by_status = {(e["detail"]["executionArn"], e["detail"]["status"]): e for e in events}
    for event in events:
        assert event["source"] == "aws.states"
        assert event["detail-type"] == "Step Functions Execution Status Change"
        assert event["account"] == ACCOUNT
        assert event["region"] == REGION
        assert event["resources"] == [event["detail"]["executionArn"]]
        assert re.fullmatch(ISO_S, event["time"]), event["time"]

    running = by_status[(succeeded["executionArn"], "RUNNING")]["detail"]
    assert running["stateMachineArn"] == succeeded["stateMachineArn"]
    assert running["name"] == "run"
    assert abs(running["startDate"] - epoch_ms(succeeded["startDate"])) <= 1
    assert running["stopDate"] is None
    assert json.loads(running["input"]) == {"in": 1}
    assert running["output"] is None

    done = by_status[(succeeded["executionArn"], "SUCCEEDED")]["detail"]
    assert done["startDate"] == running["startDate"]
    assert done["stopDate"] >= done["startDate"]
    assert json.loads(done["output"]) == {"v": 1}
    assert done["error"] is None

    fail = by_status[(failed["executionArn"], "FAILED")]["detail"]
    assert (fail["error"], fail["cause"]) == ("Boom", "bad")


def test_execution_status_events_running_of_a_fast_execution(box: Sandbox) -> None:
    """Every execution reports RUNNING once, then its terminal status, however fast it ends."""
    url, _ = box.queue("events")
    forwarder = box.function("forwarder", {"QUEUE_URL": url})
    box.rule("states", {"source": ["aws.states"]}, {"Id": "lambda", "Arn": forwarder})
    box.activate()
    machine = box.state_machine(PASS)
    arns = [box.wait(box.start(machine, name=f"fast-{i}"))["executionArn"] for i in range(12)]
    statuses: dict[str, list[str]] = {arn: [] for arn in arns}
    for message in box.messages(url, count=2 * len(arns)):
        statuses[message["body"]["event"]["detail"]["executionArn"]].append(
            message["body"]["event"]["detail"]["status"]
        )
    wrong = {arn.rsplit(":", 1)[1]: sorted(s) for arn, s in statuses.items() if sorted(s) != ["RUNNING", "SUCCEEDED"]}
    if wrong and all(s == ["SUCCEEDED", "SUCCEEDED"] for s in wrong.values()):
        pytest.xfail(
            "execution_status_events: start() emits the execution's live status after original_start(), so an "
            f"execution that already ended reports SUCCEEDED twice and never RUNNING: {wrong}"
        )
    assert wrong == {}


def test_execution_status_events_reach_sqs_targets(box: Sandbox) -> None:
    """AWS services' events reach every kind of target, SQS queues included (not only Lambda and Step Functions)."""
    url, queue_arn = box.queue("events")
    box.rule("states", {"source": ["aws.states"]}, {"Id": "queue", "Arn": queue_arn})
    box.activate()
    machine = box.state_machine({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3000, "End": True}}})
    try:
        execution = box.start(machine)
    except KeyError as exc:
        # (before the execution ends: its terminal event would raise the same in the execution's thread)
        box.client("events").remove_targets(Rule="states", Ids=["queue"])
        pytest.xfail(
            f"motofix.put_event builds events without 'ingestion-time' ({exc!r}); moto's Rule.send_to_targets "
            "renders SQS/log/bus targets with EventTemplateParser, which needs it (and quotes no ISO 'time')"
        )
    box.wait(execution)
    events = [m["body"] for m in box.messages(url, count=2)]
    assert sorted(e["detail"]["status"] for e in events) == ["RUNNING", "SUCCEEDED"]
    assert all(e["account"] == ACCOUNT and re.fullmatch(ISO_S, e["time"]) for e in events)


# --- eventbridge_targets -----------------------------------------------------------------------------------------
def test_eventbridge_targets_plain_moto_raises(box: Sandbox) -> None:
    events = box.client("events")
    forwarder = box.function("forwarder")
    machine = box.state_machine(PASS)
    box.rule("to-lambda", {"source": ["custom.lambda"]}, {"Id": "lambda", "Arn": forwarder})
    box.rule("to-states", {"source": ["custom.states"]}, {"Id": "states", "Arn": machine, "RoleArn": ROLE_ARN})
    for source in ("custom.lambda", "custom.states"):
        with pytest.raises(NotImplementedError, match="Expr not defined"):
            events.put_events(Entries=[{"Source": source, "DetailType": "t", "Detail": "{}"}])
    assert box.runtime.invocations == []
    assert box.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"] == []


def test_eventbridge_targets_lambda_and_state_machine(box: Sandbox) -> None:
    url, _ = box.queue("deliveries")
    forwarder = box.function("forwarder", {"QUEUE_URL": url})
    machine = box.state_machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    rule_arn = box.rule(
        "custom",
        {"source": ["custom.app"]},
        {"Id": "whole", "Arn": forwarder},
        {"Id": "constant", "Arn": forwarder, "Input": json.dumps({"kind": "constant"})},
        {"Id": "path", "Arn": forwarder, "InputPath": "$.detail"},
        {"Id": "machine", "Arn": machine, "RoleArn": ROLE_ARN, "InputPath": "$.detail"},
    )
    box.rule("disabled", {"source": ["custom.app"]}, {"Id": "off", "Arn": forwarder})
    box.client("events").disable_rule(Name="disabled")
    box.activate()
    detail = {"key": "k1", "n": 5}
    box.client("events").put_events(
        Entries=[{"Source": "custom.app", "DetailType": "Thing Happened", "Detail": json.dumps(detail)}]
    )
    received = [m["body"]["event"] for m in box.messages(url, count=3)]
    assert len(received) == 3, received  # the disabled rule delivered nothing
    whole = next(e for e in received if "detail-type" in e)
    assert whole["source"] == "custom.app"
    assert whole["detail-type"] == "Thing Happened"
    assert whole["detail"] == detail
    assert whole["account"] == ACCOUNT
    assert re.fullmatch(ISO_S, whole["time"]), whole["time"]
    assert "ingestion-time" not in whole
    assert {"kind": "constant"} in received
    assert detail in received
    assert [r["rule"] for r in box.context.delivered] == ["custom"]
    assert rule_arn.endswith(":rule/custom")

    (execution,) = box.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    result = box.wait(execution["executionArn"])
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["input"]) == detail


def test_eventbridge_targets_input_transformer(box: Sandbox) -> None:
    url, _ = box.queue("deliveries")
    forwarder = box.function("forwarder", {"QUEUE_URL": url})
    transformer = {
        "InputPathsMap": {"key": "$.detail.key", "n": "$.detail.n"},
        "InputTemplate": '{"object": "<key>", "count": <n>, "kind": "transformed"}',
    }
    box.rule("custom", {"source": ["custom.app"]}, {"Id": "t", "Arn": forwarder, "InputTransformer": transformer})
    box.activate()
    box.client("events").put_events(
        Entries=[{"Source": "custom.app", "DetailType": "t", "Detail": json.dumps({"key": "k1", "n": 5})}]
    )
    box.settle()
    if any("ingestion-time" in error for error in box.dispatcher.errors):
        pytest.xfail(
            "eventbridge_targets: send_to_targets pops 'ingestion-time' from the event, then _target_input calls "
            f"moto's EventTemplateParser.parse, which reads event['ingestion-time']: {box.dispatcher.errors}"
        )
    (message,) = box.messages(url, count=1)
    assert message["body"]["event"] == {"object": "k1", "count": 5, "kind": "transformed"}


def test_eventbridge_targets_retry_policy_and_dead_letter_queue(box: Sandbox) -> None:
    dlq_url, dlq_arn = box.queue("dlq")
    missing = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:missing"
    rule_arn = box.rule(
        "custom",
        {"source": ["custom.app"]},
        {
            "Id": "gone",
            "Arn": missing,
            "InputPath": "$.detail",
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": dlq_arn},
        },
    )
    box.activate()
    box.client("events").put_events(Entries=[{"Source": "custom.app", "DetailType": "t", "Detail": '{"k": "v"}'}])
    (message,) = box.messages(dlq_url, count=1)
    assert message["body"] == {"k": "v"}
    assert message["attributes"]["RULE_ARN"] == rule_arn
    assert message["attributes"]["TARGET_ARN"] == missing
    assert "Function not found" in message["attributes"]["ERROR_MESSAGE"]
    assert box.dispatcher.errors == []


def test_eventbridge_targets_maximum_event_age_ends_the_retries(box: Sandbox) -> None:
    """RetryPolicy.MaximumEventAgeInSeconds bounds the retries (AWS's default policy: 185 retries over 24 hours)."""
    dlq_url, dlq_arn = box.queue("dlq")
    name = "late"
    target = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    box.rule(
        "custom",
        {"source": ["custom.app"]},
        {
            "Id": "late",
            "Arn": target,
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 60},
            "DeadLetterConfig": {"Arn": dlq_arn},
        },
    )
    box.clock.speed = 1e6
    box.activate()
    box.client("events").put_events(Entries=[{"Source": "custom.app", "DetailType": "t", "Detail": '{"k": "v"}'}])
    if not box.dispatcher.drain(timeout=2.0):  # 60 simulated seconds are 60 microseconds here
        # Unblock the delivery thread (the next attempt finds the function), then report.
        box.function(name)
        box.clock.speed = 1e12
        box.settle()
        pytest.xfail(
            "eventbridge_targets: deliver() ignores MaximumEventAgeInSeconds and sleeps 2**attempt simulated "
            "seconds between attempts, so 185 retries never end (2**184 s) and the event never reaches the DLQ"
        )
    (message,) = box.messages(dlq_url, count=1)
    assert message["attributes"]["TARGET_ARN"] == target


# --- s3_eventbridge_events ---------------------------------------------------------------------------------------
def test_s3_eventbridge_events_sequencer(box: Sandbox) -> None:
    s3 = box.client("s3")
    s3.create_bucket(Bucket="data-bucket")
    s3.put_bucket_notification_configuration(
        Bucket="data-bucket", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"]}
    plain_url, plain_queue = box.queue("plain-s3")
    box.rule("s3", pattern, {"Id": "queue", "Arn": plain_queue})
    s3.put_object(Bucket="data-bucket", Key="k", Body=b"1")
    s3.put_object(Bucket="data-bucket", Key="k", Body=b"22")
    plain = [m["body"]["detail"]["object"]["sequencer"] for m in box.messages(plain_url, count=2)]
    assert plain == ["617f08299329d189", "617f08299329d189"]  # moto: a constant

    box.client("events").remove_targets(Rule="s3", Ids=["queue"])
    url, _ = box.queue("s3")
    forwarder = box.function("forwarder", {"QUEUE_URL": url})
    box.client("events").put_targets(Rule="s3", Targets=[{"Id": "lambda", "Arn": forwarder}])
    box.activate()
    s3.put_object(Bucket="data-bucket", Key="k", Body=b"1")
    s3.put_object(Bucket="data-bucket", Key="k", Body=b"22")
    events = sorted(
        (m["body"]["event"] for m in box.messages(url, count=2)), key=lambda e: e["detail"]["object"]["size"]
    )
    assert [e["detail"]["object"]["size"] for e in events] == [1, 2]
    first, second = (e["detail"]["object"]["sequencer"] for e in events)
    assert re.fullmatch(r"[0-9A-F]+", first)
    assert re.fullmatch(r"[0-9A-F]+", second)
    assert len(first) == len(second)
    assert first < second  # later events on a key have greater sequencers (S3: compare as equal-length strings)
    for event in events:
        assert event["source"] == "aws.s3"
        assert event["detail-type"] == "Object Created"
        assert event["resources"] == ["arn:aws:s3:::data-bucket"]
        assert re.fullmatch(ISO_S, event["time"]), event["time"]
        assert event["detail"]["bucket"] == {"name": "data-bucket"}
        assert event["detail"]["object"]["key"] == "k"
        assert event["detail"]["reason"] == "PutObject"


# --- alarm_state_events ------------------------------------------------------------------------------------------
def test_alarm_state_events_on_change_of_state(box: Sandbox) -> None:
    cloudwatch = box.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="errors",
        MetricName="Errors",
        Namespace="mlcp",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Dimensions=[{"Name": "Stage", "Value": "tune"}],
    )
    plain_url, plain_queue = box.queue("plain-alarms")
    box.rule("alarms", {"source": ["aws.cloudwatch"]}, {"Id": "queue", "Arn": plain_queue})
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="plain")
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="OK", StateReason="back to normal")
    assert box.messages(plain_url, count=0) == []  # moto: no event

    box.client("events").remove_targets(Rule="alarms", Ids=["queue"])
    url, _ = box.queue("alarms")
    forwarder = box.function("forwarder", {"QUEUE_URL": url})
    box.client("events").put_targets(Rule="alarms", Targets=[{"Id": "lambda", "Arn": forwarder}])
    box.activate()
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="threshold crossed")
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="still crossed")  # no change
    (alarm_event,) = [m["body"]["event"] for m in box.messages(url, count=1)]
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="OK", StateReason="recovered")
    (ok_event,) = [m["body"]["event"] for m in box.messages(url, count=1)]

    alarm_arn = cloudwatch.describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0]["AlarmArn"]
    for event in (alarm_event, ok_event):
        assert event["source"] == "aws.cloudwatch"
        assert event["detail-type"] == "CloudWatch Alarm State Change"
        assert event["resources"] == [alarm_arn]
        assert event["detail"]["alarmName"] == "errors"
        metric = event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]
        assert metric == {"namespace": "mlcp", "name": "Errors", "dimensions": {"Stage": "tune"}}
    assert alarm_event["detail"]["state"]["value"] == "ALARM"
    assert alarm_event["detail"]["state"]["reason"] == "threshold crossed"
    assert alarm_event["detail"]["previousState"]["value"] == "OK"
    assert alarm_event["detail"]["previousState"]["reason"] == "back to normal"
    assert ok_event["detail"]["state"]["value"] == "OK"
    assert ok_event["detail"]["state"]["reason"] == "recovered"
    assert ok_event["detail"]["previousState"]["value"] == "ALARM"
    assert ok_event["detail"]["previousState"]["reason"] == "still crossed"
    assert [r["rule"] for r in box.context.delivered] == ["alarms", "alarms"]


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
    if markers["second"] == "first":
        pytest.xfail(
            "runtime.LambdaRuntime._environment only overwrites keys while the cloud runs (restored at stop()): "
            "a function sees the variables of functions invoked before it that it does not define itself"
        )
    assert markers["second"] is None


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


# --- eks_updates -------------------------------------------------------------------------------------------------
def _nodegroup(box: Sandbox) -> Any:
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


def test_eks_updates_plain_moto_applies_at_once_unvalidated(box: Sandbox) -> None:
    eks = _nodegroup(box)

    update = eks.update_nodegroup_config(clusterName="c1", nodegroupName="gpu", scalingConfig={"desiredSize": 9})

    assert update["update"]["status"] == "Successful"
    nodegroup = eks.describe_nodegroup(clusterName="c1", nodegroupName="gpu")["nodegroup"]
    assert nodegroup["scalingConfig"]["desiredSize"] == 9  # above maxSize 5, accepted
    assert motofix.MOTO_HAS_EKS_DESCRIBE_UPDATE is False


def test_eks_updates_validate_progress_and_describe(box: Sandbox) -> None:
    eks = _nodegroup(box)
    # A slower clock than the sandbox's: the InProgress checks below must run inside the update's 180 simulated
    # seconds (18 ms of wall time at the default speed, which a loaded machine can miss).
    box.context.clock = SimClock(speed=200.0)
    box.activate()

    with pytest.raises(ClientError) as invalid:
        eks.update_nodegroup_config(clusterName="c1", nodegroupName="gpu", scalingConfig={"desiredSize": 9})
    assert invalid.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "Desired capacity 9 can't be greater than max size 5" in str(invalid.value)
    with pytest.raises(ClientError, match="Minimum capacity 3 can't be greater than desired size 2"):
        eks.update_nodegroup_config(clusterName="c1", nodegroupName="gpu", scalingConfig={"minSize": 3})

    update = eks.update_nodegroup_config(clusterName="c1", nodegroupName="gpu", scalingConfig={"desiredSize": 4})
    update_id = update["update"]["id"]
    assert update["update"]["status"] == "InProgress"
    assert eks.describe_nodegroup(clusterName="c1", nodegroupName="gpu")["nodegroup"]["status"] == "UPDATING"
    with pytest.raises(ClientError) as busy:
        eks.update_nodegroup_config(clusterName="c1", nodegroupName="gpu", scalingConfig={"desiredSize": 3})
    assert busy.value.response["Error"]["Code"] == "ResourceInUseException"

    box.clock.sleep(motofix.EKS_UPDATE_SECONDS)
    described = eks.describe_update(name="c1", updateId=update_id, nodegroupName="gpu")["update"]
    assert described["status"] == "Successful"
    assert described["params"] == [{"type": "DesiredSize", "value": "4"}]
    nodegroup = eks.describe_nodegroup(clusterName="c1", nodegroupName="gpu")["nodegroup"]
    assert nodegroup["status"] == "ACTIVE"
    assert nodegroup["scalingConfig"] == {"minSize": 1, "maxSize": 5, "desiredSize": 4}
    assert eks.list_updates(name="c1", nodegroupName="gpu")["updateIds"] == [update_id]


def test_eks_updates_injected_failure_and_the_state_machine_path(box: Sandbox) -> None:
    eks = _nodegroup(box)
    box.activate()
    box.faults.jobs.append(JobFault(job="c1/gpu", reason="NodeCreationFailure: injected"))
    update_state = {
        "StartAt": "Update",
        "States": {
            "Update": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:eks:updateNodegroupConfig",
                "Parameters": {"ClusterName": "c1", "NodegroupName": "gpu", "ScalingConfig": {"DesiredSize": 3}},
                "ResultPath": "$.update",
                "Next": "Wait",
            },
            "Wait": {"Type": "Wait", "Seconds": 600, "Next": "Describe"},
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:eks:describeUpdate",
                "Parameters": {"Name": "c1", "NodegroupName": "gpu", "UpdateId.$": "$.update.Update.Id"},
                "End": True,
            },
        },
    }

    result = box.execute(update_state)

    assert result["status"] == "SUCCEEDED", result
    update = json.loads(result["output"])["Update"]
    assert update["Status"] == "Failed"
    assert update["Errors"][0]["ErrorMessage"] == "NodeCreationFailure: injected"
    assert (
        eks.describe_nodegroup(clusterName="c1", nodegroupName="gpu")["nodegroup"]["scalingConfig"]["desiredSize"] == 2
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
    """SNS speaks the query protocol (XML errors): an injected fault must still reach boto3 as a ClientError."""
    sns = box.client("sns")
    topic = sns.create_topic(Name="notices")["TopicArn"]
    box.faults.api.append(ApiFault(service="sns", operation="Publish", code="Throttling"))
    box.activate()

    def publish() -> None:
        try:
            sns.publish(TopicArn=topic, Message="hello")
        except ResponseParserError as exc:
            pytest.xfail(
                "api_faults answers every service with a JSON error body; query-protocol services (SNS, IAM, STS, "
                f"CloudFormation) expect XML, so boto3 raises {type(exc).__name__} instead of a ClientError"
            )

    with pytest.raises(ClientError) as raised:
        publish()
    assert raised.value.response["Error"]["Code"] == "Throttling"


def test_sdk_error_names_eks_is_pascal_case(box: Sandbox) -> None:
    """Step Functions names aws-sdk errors <ServiceName>.<Error> with the service in PascalCase: Eks., not EKS."""
    _nodegroup(box)
    update = task(
        "arn:aws:states:::aws-sdk:eks:updateNodegroupConfig",
        {"ClusterName": "c1", "NodegroupName": "gpu", "ScalingConfig": {"DesiredSize": 3}},
    )
    box.activate()
    box.faults.api.append(
        ApiFault(service="eks", operation="UpdateNodegroupConfig", code="ResourceInUseException", status=409)
    )

    result = box.execute(update)

    assert result["status"] == "FAILED"
    assert result["error"] == "Eks.ResourceInUseException"


# --- redrive_execution -------------------------------------------------------------------------------------------
PREPARE_THEN_WAIT = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": "prepared", "ResultPath": "$.step", "Next": "Hold"},
        "Hold": {"Type": "Wait", "Seconds": 20_000, "Next": "Done"},  # 2 s of wall time on the simulated clock
        "Done": {"Type": "Pass", "Parameters": {"original.$": "$$.Execution.Input", "step.$": "$.step"}, "End": True},
    },
}


def _await_state(box: Sandbox, execution_arn: str, event_type: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while event_type not in [e["type"] for e in box.history(execution_arn)]:
        assert time.monotonic() < deadline, f"{execution_arn} never had a {event_type} event"
        time.sleep(0.01)


def test_redrive_execution_continues_from_the_unsuccessful_state(box: Sandbox) -> None:
    sfn = box.client("stepfunctions")
    arn = box.state_machine(PREPARE_THEN_WAIT)
    plain = box.start(arn, {"n": 1}, name="plain")
    with pytest.raises(NotImplementedError, match="redrive_execution"):  # moto: not implemented
        sfn.redrive_execution(executionArn=plain)
    _await_state(box, plain, "WaitStateEntered")  # plain moto cannot stop an execution that is still starting
    sfn.stop_execution(executionArn=plain)

    box.activate()
    execution = box.start(arn, {"n": 2}, name="fixed")
    with pytest.raises(ClientError, match="ExecutionNotRedrivable"):  # RUNNING
        sfn.redrive_execution(executionArn=execution)
    assert sfn.describe_execution(executionArn=execution)["redriveStatus"] == "NOT_REDRIVABLE"
    _await_state(box, execution, "WaitStateEntered")
    sfn.stop_execution(executionArn=execution)
    assert box.wait(execution)["status"] == "ABORTED"
    assert sfn.describe_execution(executionArn=execution)["redriveStatus"] == "REDRIVABLE"

    assert "redriveDate" in sfn.redrive_execution(executionArn=execution)
    described = box.wait(execution)

    assert described["status"] == "SUCCEEDED"
    assert described["redriveCount"] == 1
    assert json.loads(described["output"]) == {"original": {"n": 2}, "step": "prepared"}
    history = box.history(execution)
    types = [e["type"] for e in history]
    assert types.count("PassStateEntered") == 2  # Prepare once (not rerun), Done once
    redriven = types.index("ExecutionRedriven")
    assert types[redriven + 1] == "WaitStateEntered"
    assert [e["id"] for e in history] == list(range(1, len(history) + 1))
    with pytest.raises(ClientError, match="ExecutionNotRedrivable"):  # SUCCEEDED
        sfn.redrive_execution(executionArn=execution)


# --- cfn_rest_api_body -------------------------------------------------------------------------------------------
def _api_stack(box: Sandbox, name: str) -> str:
    template = {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {
                    "Name": name,
                    "Body": {
                        "swagger": "2.0",
                        "info": {"title": name},
                        "paths": {
                            "/runs/{run_id}/cancel": {
                                "post": {
                                    "x-amazon-apigateway-integration": {
                                        "type": "aws_proxy",
                                        "httpMethod": "POST",
                                        "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                        "arn:aws:lambda:us-east-1:123456789012:function:api/invocations",
                                    }
                                }
                            },
                            "/runs": {"get": {}, "post": {}},
                        },
                    },
                },
            }
        }
    }
    box.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    apigateway = box.client("apigateway")
    api_id: str = next(a["id"] for a in apigateway.get_rest_apis()["items"] if a["name"] == name)
    return api_id


def test_cfn_rest_api_body_creates_the_resources_and_methods(box: Sandbox) -> None:
    apigateway = box.client("apigateway")
    plain = _api_stack(box, "plain")
    assert [r["path"] for r in apigateway.get_resources(restApiId=plain)["items"]] == ["/"]  # moto: Body ignored

    box.activate()
    fixed = _api_stack(box, "fixed")

    resources = {r["path"]: r for r in apigateway.get_resources(restApiId=fixed)["items"]}
    assert set(resources) == {"/", "/runs", "/runs/{run_id}", "/runs/{run_id}/cancel"}
    assert set(resources["/runs"]["resourceMethods"]) == {"GET", "POST"}
    method = apigateway.get_method(
        restApiId=fixed, resourceId=resources["/runs/{run_id}/cancel"]["id"], httpMethod="POST"
    )
    assert method["authorizationType"] == "AWS_IAM"
    assert method["methodIntegration"]["type"] == "AWS_PROXY"
    assert method["methodIntegration"]["uri"].endswith(":function:api/invocations")


# --- definite_json_paths -----------------------------------------------------------------------------------------
INDEXED = {
    "StartAt": "Pick",
    "States": {
        "Pick": {
            "Type": "Pass",
            "Parameters": {"first.$": "$.items[0].name", "all.$": "$.items[*].name", "whole.$": "$.items[1]"},
            "End": True,
        }
    },
}
ITEMS = {"items": [{"name": "a"}, {"name": "b"}]}


def test_definite_json_paths_plain_moto_wraps_an_indexed_field_in_a_list(box: Sandbox) -> None:
    plain = box.execute(INDEXED, ITEMS)
    assert plain["status"] == "SUCCEEDED", plain
    assert json.loads(plain["output"])["first"] == ["a"]


def test_definite_json_paths_name_one_value(box: Sandbox) -> None:
    box.activate()
    fixed = box.execute(INDEXED, ITEMS)
    assert fixed["status"] == "SUCCEEDED", fixed
    assert json.loads(fixed["output"]) == {"first": "a", "all": ["a", "b"], "whole": {"name": "b"}}


# --- batch_compute_resize ----------------------------------------------------------------------------------------
def _fargate_environment(box: Sandbox) -> str:
    ec2 = box.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"][0]["GroupId"]
    role = box.client("iam").create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn: str = box.client("batch").create_compute_environment(
        computeEnvironmentName="spot",
        type="MANAGED",
        serviceRole=role,
        computeResources={"type": "FARGATE_SPOT", "maxvCpus": 4, "subnets": [subnet], "securityGroupIds": [group]},
    )["computeEnvironmentArn"]
    return arn


def _max_vcpus(box: Sandbox, arn: str) -> int:
    described = box.client("batch").describe_compute_environments(computeEnvironments=[arn])["computeEnvironments"]
    return int(described[0]["computeResources"]["maxvCpus"])


def test_batch_compute_resize_plain_moto_ignores_compute_resources(box: Sandbox) -> None:
    arn = _fargate_environment(box)
    box.client("batch").update_compute_environment(computeEnvironment=arn, computeResources={"maxvCpus": 64})
    assert _max_vcpus(box, arn) == 4


def test_batch_compute_resize_applies_max_vcpus_with_batch_validation(box: Sandbox) -> None:
    arn = _fargate_environment(box)
    box.activate()
    batch = box.client("batch")
    batch.update_compute_environment(computeEnvironment=arn, computeResources={"maxvCpus": 64})
    assert _max_vcpus(box, arn) == 64
    with pytest.raises(ClientError, match="not applicable to Fargate"):
        batch.update_compute_environment(computeEnvironment=arn, computeResources={"minvCpus": 2})
    assert _max_vcpus(box, arn) == 64
    # and through Step Functions' aws-sdk integration, PascalCase as the batch pipeline sends it
    restored = box.execute(
        task(
            "arn:aws:states:::aws-sdk:batch:updateComputeEnvironment",
            {"ComputeEnvironment": arn, "ComputeResources": {"MaxvCpus": 4}},
        )
    )
    assert restored["status"] == "SUCCEEDED", restored
    assert _max_vcpus(box, arn) == 4


# --- batch_sync --------------------------------------------------------------------------------------------------
def _batch_queue(box: Sandbox) -> None:
    role = box.client("iam").create_role(RoleName="batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    batch = box.client("batch")
    env = batch.create_compute_environment(
        computeEnvironmentName="local", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    batch.create_job_queue(
        jobQueueName="queue",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env}],
    )
    batch.register_job_definition(
        jobDefinitionName="worker",
        type="container",
        containerProperties={"image": "busybox", "command": ["true"], "vcpus": 1, "memory": 128},
    )


SUBMIT_ARRAY = task(
    "arn:aws:states:::batch:submitJob.sync",
    {"JobName": "shards", "JobQueue": "queue", "JobDefinition": "worker", "ArrayProperties": {"Size": 3}},
)


def test_batch_sync_plain_moto_polls_at_a_fixed_half_second() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_callback,
    )

    assert state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK == 0.5


def test_batch_sync_returns_pascal_case_and_terminates_the_job_when_stopped(box: Sandbox) -> None:
    _batch_queue(box)
    box.activate()
    batch = box.client("batch")
    with JobBackend(box.clock, box.faults, JobDurations(batch_child=60.0)):
        done = box.execute(SUBMIT_ARRAY)
        assert done["status"] == "SUCCEEDED", done
        output = json.loads(done["output"])
        assert output["Status"] == "SUCCEEDED"
        assert output["ArrayProperties"]["StatusSummary"]["SUCCEEDED"] == 3
        assert "jobId" not in output

    long_array = task(
        "arn:aws:states:::batch:submitJob.sync",
        {"JobName": "long", "JobQueue": "queue", "JobDefinition": "worker", "ArrayProperties": {"Size": 2}},
    )
    with JobBackend(box.clock, box.faults, JobDurations(batch_child=10.0**9)):  # runs far longer than the test
        execution = box.start(box.state_machine(long_array))
        deadline = time.monotonic() + TIMEOUT
        parents: list[dict[str, Any]] = []
        while not parents:
            assert time.monotonic() < deadline, "the array job was never submitted"
            listed = batch.list_jobs(jobQueue="queue", filters=[{"name": "JOB_NAME", "values": ["long"]}])
            parents = [j for j in listed["jobSummaryList"] if ":" not in j["jobId"]]
            time.sleep(0.02)
        job_id = parents[0]["jobId"]
        box.client("stepfunctions").stop_execution(executionArn=execution)
        assert box.wait(execution)["status"] == "ABORTED"
        status = ""
        while status != "FAILED":
            assert time.monotonic() < deadline, f"the array is still {status}"
            status = batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"]
            time.sleep(0.01)
        child = batch.describe_jobs(jobs=[f"{job_id}:0"])["jobs"][0]
        assert child["statusReason"] == "Execution was stopped"
