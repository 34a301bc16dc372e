"""Guards of definite_json_paths, the fixes of cli/mlcp_cli/local/patches/stepfunctions/json_paths.py: each test shows
the gap on plain moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json

from tests.local_cloud.patches.support import (
    Sandbox,
)

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
