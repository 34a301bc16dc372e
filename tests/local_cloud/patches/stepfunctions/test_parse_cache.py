"""Guards of asl_parse_cache, the fixes of cli/mlcp_cli/local/patches/stepfunctions/parse_cache.py: each test shows the
gap on plain moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser

from tests.local_cloud.patches.support import (
    Sandbox,
)

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
