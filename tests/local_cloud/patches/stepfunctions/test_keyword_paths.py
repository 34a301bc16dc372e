"""Guards of keyword_path_parameters, the fix of cli/mlcp_cli/local/patches/stepfunctions/keyword_paths.py: each test
shows the gap on plain moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json

from tests.local_cloud.patches.support import Sandbox

PARAMETERS = {
    "StartAt": "P",
    "States": {
        "P": {
            "Type": "Pass",
            "Parameters": {
                "RoleArn.$": "$.role",
                "Execution.$": "$$.Execution.Name",
                "Plain.$": "$.x",
                "RoleArn2": "c",
            },
            "End": True,
        }
    },
}


# --- keyword_path_parameters -------------------------------------------------------------------------------------
def test_keyword_path_parameters_plain_moto_keeps_the_literal(box: Sandbox) -> None:
    result = box.execute(PARAMETERS, {"role": "arn:aws:iam::123456789012:role/r", "x": 1})
    output = json.loads(result["output"])
    assert output["RoleArn.$"] == "$.role"  # the keyword's path field is not evaluated
    assert "RoleArn" not in output


def test_keyword_path_parameters_are_paths(box: Sandbox) -> None:
    box.activate()
    result = box.execute(PARAMETERS, {"role": "arn:aws:iam::123456789012:role/r", "x": 1})
    assert json.loads(result["output"]) == {
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "Execution": "run",
        "Plain": 1,
        "RoleArn2": "c",
    }
