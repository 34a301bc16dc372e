"""Step Functions adapter: start executions under deterministic names."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from mlcp.aws.clients import client, error_code
from mlcp.errors import Conflict


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


class StepFunctionsExecutions:
    def __init__(self, sfn: Any | None = None) -> None:
        self._sfn = sfn

    @property
    def sfn(self) -> Any:
        if self._sfn is None:
            self._sfn = client("stepfunctions")
        return self._sfn

    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> tuple[str, bool]:
        """StartExecution is idempotent for the same name and input while the execution runs; a closed or
        differently-fed execution of that name raises ExecutionAlreadyExists. Both mean "already started"."""
        try:
            response = self.sfn.start_execution(
                stateMachineArn=state_machine_arn,
                name=name,
                input=json.dumps(payload, sort_keys=True, separators=(",", ":")),
            )
        except ClientError as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
                return execution_arn(state_machine_arn, name), False
            raise
        return str(response["executionArn"]), True

    def describe(self, execution_arn: str) -> Mapping[str, Any] | None:
        try:
            response: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
        except ClientError as exc:
            if error_code(exc) == "ExecutionDoesNotExist":
                return None
            raise
        response.pop("ResponseMetadata", None)
        return response

    def stop(self, execution_arn: str, error: str, cause: str) -> None:
        self.sfn.stop_execution(executionArn=execution_arn, error=error, cause=cause)

    def redrive(self, execution_arn: str, client_token: str) -> None:
        try:
            self.sfn.redrive_execution(executionArn=execution_arn, clientToken=client_token)
        except ClientError as exc:
            if error_code(exc) == "ExecutionNotRedrivable":
                raise Conflict(f"Step Functions cannot redrive {execution_arn}: {exc}") from exc
            raise
