"""``cfn_state_machines``: CloudFormation state machines honour DefinitionSubstitutions and land in the executing
backend (moto: substitutions ignored, non-executing backend).

The SAM template defines every state machine with ``DefinitionSubstitutions`` (function ARNs, bucket names ...), and
moto's ``StateMachine.create_from_cloudformation_json`` ignores them and creates the machine in moto's plain
(non-executing) backend, where StartExecution cannot run it. With the fix the definition is substituted and the
machine created in the executing parser backend. Known gaps (UpdateStack, DeleteStack) are guarded by xfail tests.
"""

from __future__ import annotations

import json
from typing import Any

from moto.stepfunctions import models as sfn_models
from moto.stepfunctions.parser import models as parser_models

from mlcp_cli.local.patches.context import active


def _substitute(definition: str, substitutions: dict[str, Any]) -> str:
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", str(value))
    return definition


def install() -> None:
    cls = sfn_models.StateMachine
    original = cls.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        klass: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        if active() is None:
            return original(klass, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        properties = cloudformation_json["Properties"]
        definition = properties.get("DefinitionString", "")
        if not isinstance(definition, str):
            definition = json.dumps(properties.get("Definition", definition))
        definition = _substitute(definition, properties.get("DefinitionSubstitutions") or {})
        backend = parser_models.stepfunctions_parser_backends[account_id][region_name]
        return backend.create_state_machine(
            properties.get("StateMachineName", resource_name),
            definition,
            properties.get("RoleArn", ""),
            tags=[{"key": t["Key"], "value": t["Value"]} for t in properties.get("Tags", [])],
        )

    cls.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
