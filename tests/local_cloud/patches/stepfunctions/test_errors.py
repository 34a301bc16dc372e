"""Guards of sdk_error_names and fail_error_names, the fixes of cli/mlcp_cli/local/patches/stepfunctions/errors.py: each
test shows the gap on plain moto, then the AWS behaviour with the fix (test_install.py says how the guards are
organised).
"""

from __future__ import annotations

from mlcp_cli.local.faults import ApiFault
from tests.local_cloud.patches.support import (
    ACCOUNT,
    REGION,
    Sandbox,
    eks_nodegroup,
    task,
)


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


def test_sdk_error_names_eks_is_pascal_case(box: Sandbox) -> None:
    """Step Functions names aws-sdk errors <ServiceName>.<Error> with the service in PascalCase: Eks., not EKS."""
    eks_nodegroup(box)
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
