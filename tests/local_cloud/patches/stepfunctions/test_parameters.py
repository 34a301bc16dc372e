"""Guards of task_parameter_names, the fixes of cli/mlcp_cli/local/patches/stepfunctions/parameters.py: each test shows
the gap on plain moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json
import re

from tests.local_cloud.patches.support import (
    ACCOUNT,
    ISO_MS,
    PASS,
    REGION,
    ROLE_ARN,
    Sandbox,
    task,
)


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
