"""Guards of simulated_waits, the fixes of cli/mlcp_cli/local/patches/stepfunctions/waits.py: each test shows the gap on
plain moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import pytest

from mlcp_cli.local.faults import ApiFault
from tests.local_cloud.conftest import failures
from tests.local_cloud.patches.support import (
    WAIT_AN_HOUR,
    Sandbox,
)


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
