"""Guards of cfn_state_machines, the fixes of cli/mlcp_cli/local/patches/stepfunctions/cloudformation.py: each test
shows the gap on plain moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.local_cloud.patches.support import (
    ACCOUNT,
    REGION,
    ROLE_ARN,
    Sandbox,
)


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
    cfn.update_stack(StackName="stack", TemplateBody=state_machine_template("machine", "bye"))
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    assert definition["States"]["P"]["Result"] == {"greeting": "bye"}
    assert json.loads(box.wait(box.start(arn))["output"]) == {"greeting": "bye"}  # the updated machine executes


def test_cfn_state_machines_update_stack_new_name_replaces(box: Sandbox) -> None:
    cfn, sfn = box.client("cloudformation"), box.client("stepfunctions")
    box.activate()
    cfn.create_stack(StackName="stack", TemplateBody=state_machine_template("machine", "hello"))
    cfn.update_stack(StackName="stack", TemplateBody=state_machine_template("renamed", "hello"))
    assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["renamed"]
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:renamed"
    outputs = cfn.describe_stacks(StackName="stack")["Stacks"][0]["Outputs"]
    assert outputs == [{"OutputKey": "Arn", "OutputValue": arn}]
    assert json.loads(box.wait(box.start(arn))["output"]) == {"greeting": "hello"}


def test_cfn_state_machines_delete_stack(box: Sandbox) -> None:
    cfn, sfn = box.client("cloudformation"), box.client("stepfunctions")
    box.activate()
    cfn.create_stack(StackName="stack", TemplateBody=state_machine_template("machine", "hello"))
    assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["machine"]
    cfn.delete_stack(StackName="stack")
    assert sfn.list_state_machines()["stateMachines"] == []
