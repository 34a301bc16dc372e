"""``cfn_state_machines``: CloudFormation state machines honour DefinitionSubstitutions and live in the executing
backend through CreateStack, UpdateStack and DeleteStack (moto: substitutions ignored, non-executing backend).

The SAM template defines every state machine with ``DefinitionSubstitutions`` (function ARNs, bucket names ...), and
moto's ``StateMachine.create_from_cloudformation_json`` ignores them and creates the machine in moto's plain
(non-executing) backend, where StartExecution cannot run it. With the fix the definition is substituted and the
machine created, updated (in place, or replaced when its name changes, as CloudFormation documents for
``StateMachineName``) and deleted in the executing parser backend, so a local cloud can be redeployed after a
template edit.
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


def _definition(properties: dict[str, Any]) -> str:
    definition = properties.get("DefinitionString", "")
    if not isinstance(definition, str):
        definition = json.dumps(properties.get("Definition", definition))
    return _substitute(definition, properties.get("DefinitionSubstitutions") or {})


def install() -> None:
    cls = sfn_models.StateMachine
    original = cls.create_from_cloudformation_json.__func__
    original_update = cls.update_from_cloudformation_json.__func__
    original_delete = cls.delete_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        klass: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        if active() is None:
            return original(klass, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        properties = cloudformation_json["Properties"]
        backend = parser_models.stepfunctions_parser_backends[account_id][region_name]
        return backend.create_state_machine(
            properties.get("StateMachineName", resource_name),
            _definition(properties),
            properties.get("RoleArn", ""),
            tags=[{"key": t["Key"], "value": t["Value"]} for t in properties.get("Tags", [])],
        )

    def update_from_cloudformation_json(  # noqa: PLR0917 - moto calls it with these positional parameters
        klass: Any,
        /,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        if active() is None:
            return original_update(
                klass, original_resource, new_resource_name, cloudformation_json, account_id, region_name
            )
        properties = cloudformation_json.get("Properties", {})
        backend = parser_models.stepfunctions_parser_backends[account_id][region_name]
        if properties.get("StateMachineName", original_resource.name) != original_resource.name:
            # A new name replaces the machine (CloudFormation: "Update requires: Replacement").
            replacement = create_from_cloudformation_json(
                klass, new_resource_name, cloudformation_json, account_id, region_name
            )
            backend.delete_state_machine(original_resource.arn)
            return replacement
        machine = backend.update_state_machine(
            original_resource.arn, definition=_definition(properties), role_arn=properties.get("RoleArn")
        )
        tags = [{"key": t["Key"], "value": t["Value"]} for t in properties.get("Tags", [])]
        if tags:
            backend.tag_resource(machine.arn, tags)
        return machine

    def delete_from_cloudformation_json(
        klass: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        if active() is None:
            original_delete(klass, resource_name, cloudformation_json, account_id, region_name)
            return
        # resource_name is the physical id, the machine's ARN (CloudFormation: Ref returns the ARN).
        parser_models.stepfunctions_parser_backends[account_id][region_name].delete_state_machine(resource_name)

    cls.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
    cls.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)
    cls.delete_from_cloudformation_json = classmethod(delete_from_cloudformation_json)
