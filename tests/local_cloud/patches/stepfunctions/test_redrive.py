"""Guards of redrive_execution, the fixes of cli/mlcp_cli/local/patches/stepfunctions/redrive.py: each test shows the
gap on plain moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.local_cloud.patches.support import (
    TIMEOUT,
    Sandbox,
)

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
