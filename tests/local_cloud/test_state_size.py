"""References, not payloads: a legal spec far past half the Step Functions state limit runs, and no state carries it
twice (case preflight/state-over-256k.yaml: on main its state reached ~335 KB and the run died with
States.DataLimitExceeded, which ``States.ALL`` does not catch).

Step Functions limits every state's input and output to 256 KiB (262,144 bytes of UTF-8,
https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-task-executions); the local
cloud does not enforce it, so these tests measure every payload of the execution history themselves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mlcp_cli.local.cloud import LocalCloud
from tests.local_cloud.conftest import new_version

CASE = Path(__file__).resolve().parents[1] / "data" / "cases" / "preflight" / "state-over-256k.yaml"
STATE_LIMIT = 262_144
# What a state may carry besides the one request it is sending: the run reference, the best trial, the gate's
# numbers, the error of a failure... Measured: ~6 KB on this case.
MARGIN = 32 * 1024

# The payloads of an execution history: what enters and leaves each state, and what each task is given.
_PAYLOADS = {
    "stateEnteredEventDetails": "input",
    "stateExitedEventDetails": "output",
    "taskScheduledEventDetails": "parameters",
    "taskSucceededEventDetails": "output",
    "lambdaFunctionScheduledEventDetails": "input",
    "lambdaFunctionSucceededEventDetails": "output",
    "executionSucceededEventDetails": "output",
}


def payloads(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(where, payload) for every state input/output and task parameters/result of an execution history."""
    found: list[tuple[str, str]] = []
    for event in history:
        for details, field in _PAYLOADS.items():
            payload = (event.get(details) or {}).get(field)
            if isinstance(payload, str):
                name = (event.get(details) or {}).get("name") or event["type"]
                found.append((f"{event['type']} {name}", payload))
    return found


def largest_state(cloud: LocalCloud, execution_arn: str) -> tuple[int, str]:
    """(bytes, where) of the largest payload of an execution, in UTF-8 as Step Functions counts it."""
    sizes = [(len(p.encode()), where) for where, p in payloads(cloud.history(execution_arn))]
    return max(sizes)


def test_a_spec_past_half_the_state_limit_runs_and_no_state_carries_it_twice(cloud: LocalCloud) -> None:
    spec_text = CASE.read_text()
    cloud.upload_spec("demo", spec_text)
    cloud.settle()
    cloud.notifications()
    hyperparameters = json.dumps(yaml.safe_load(spec_text)["tuning"]["static_hyperparameters"])
    assert len(hyperparameters) > STATE_LIMIT // 2, "the case no longer exercises the limit"

    before = {e["executionArn"] for e in cloud.executions()}
    cloud.upload_dataset("demo", new_version(), {"description": "state size"})
    executions = [e for e in cloud.settle() if e["executionArn"] not in before]

    assert len(executions) == 1, executions
    execution = executions[0]
    assert execution["status"] == "SUCCEEDED", cloud.history(execution["executionArn"])[-1]
    size, where = largest_state(cloud, execution["executionArn"])
    print(f"largest state of the state-over-256k run: {size} bytes ({where})")
    assert size < STATE_LIMIT
    # The largest state is the tuning request (the static hyperparameters once) plus a small remainder.
    assert size <= len(hyperparameters) + MARGIN, where
    for where, payload in payloads(cloud.history(execution["executionArn"])):
        assert payload.count("label_map_59") <= 1, f"{where} carries the static hyperparameters twice"
    notes = cloud.notifications()
    assert [n["subject"] for n in notes] == [f"mlcp: run {execution['name']} SUCCEEDED"]
