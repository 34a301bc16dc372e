"""``redrive_execution``: RedriveExecution continues a FAILED, TIMED_OUT or ABORTED execution from its unsuccessful
state with that state's input (same ARN, ``$$.Execution.Input`` unchanged, history kept), refuses RUNNING and
SUCCEEDED ones (ExecutionNotRedrivable), and DescribeExecution reports redriveCount/redriveDate/redriveStatus
(moto: "The redrive_execution action has not been implemented").

The product's API redrives a failed or cancelled run. With the fix the execution gets a new worker that starts at
the state it was in when it ended (entered, never exited), the history continues with an ``ExecutionRedriven`` event
(ids renumbered after the previous events), and a RUNNING status event is emitted as for a start.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.stepfunctions.parser import models as parser_models
from moto.stepfunctions.parser.backend import execution as parser_execution
from moto.stepfunctions.parser.backend import execution_worker

from mlcp_cli.local.patches.context import active
from mlcp_cli.local.patches.stepfunctions.executions import execution_status, status_event

_NOT_REDRIVABLE = {"RUNNING", "SUCCEEDED", "PENDING_REDRIVE"}


class ExecutionNotRedrivable(JsonRESTError):  # type: ignore[misc]
    def __init__(self, message: str) -> None:
        super().__init__("ExecutionNotRedrivable", message)


def _unsuccessful_state(events: list[dict[str, Any]]) -> tuple[str, Any]:
    """The state the execution was in when it ended (entered, never exited) and the input it entered with."""
    for event in reversed(events):  # the last state entered: a failed state never exits
        if str(event["type"]).endswith("StateEntered"):
            details = event["stateEnteredEventDetails"]
            return str(details["name"]), json.loads(details.get("input") or "{}")
    raise ExecutionNotRedrivable("the execution entered no state, nothing to redrive")


class _RedriveWorker(execution_worker.ExecutionWorker):  # type: ignore[misc]
    """Runs the definition from the unsuccessful state with that state's input; $$.Execution.Input unchanged."""

    def __init__(self, state_input: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._state_input = state_input

    def _get_evaluation_environment(self) -> Any:
        env = super()._get_evaluation_environment()
        env.states.reset(self._state_input)
        return env


def _redrive(execution: Any) -> dt.datetime:
    status = execution_status(execution)
    if status in _NOT_REDRIVABLE:
        raise ExecutionNotRedrivable(f"Execution is {status} and cannot be redriven")
    previous = list(getattr(execution, "_mlcp_previous_events", [])) + list(
        execution.exec_worker.env.event_manager.get_event_history() if execution.exec_worker.env else []
    )
    state, state_input = _unsuccessful_state(previous)
    definition = json.loads(execution.state_machine.definition)
    definition["StartAt"] = state
    details = execution._get_start_execution_worker()._evaluation_details
    details.state_machine_details.definition = json.dumps(definition)
    worker = _RedriveWorker(
        state_input,
        evaluation_details=details,
        exec_comm=execution._get_start_execution_worker_comm(),
        cloud_watch_logging_session=execution._cloud_watch_logging_session,
        activity_store=execution._activity_store,
    )
    execution._mlcp_previous_events = previous
    execution._mlcp_redrive_count = getattr(execution, "_mlcp_redrive_count", 0) + 1
    execution._mlcp_redrive_date = dt.datetime.now(dt.UTC)
    execution.exec_worker = worker
    execution.exec_status = parser_models.ExecutionStatus.RUNNING
    execution.stop_date = None
    execution.error = None
    execution.cause = None
    worker.start()
    status_event(execution, running=True)
    return execution._mlcp_redrive_date  # type: ignore[no-any-return]


def _redrive_fields(execution: Any) -> dict[str, Any]:
    """What DescribeExecution adds: redriveCount, redriveDate (once redriven), redriveStatus and its reason."""
    status = execution_status(execution)
    extra: dict[str, Any] = {"redriveCount": getattr(execution, "_mlcp_redrive_count", 0)}
    if getattr(execution, "_mlcp_redrive_date", None) is not None:
        extra["redriveDate"] = execution._mlcp_redrive_date
    extra["redriveStatus"] = "NOT_REDRIVABLE" if status in _NOT_REDRIVABLE else "REDRIVABLE"
    if status in _NOT_REDRIVABLE:
        extra["redriveStatusReason"] = f"Execution is {status} and cannot be redriven"
    return extra


def _continued_history(output: dict[str, Any], previous: list[dict[str, Any]], redrive_count: int) -> Any:
    """The previous events, then this run's renumbered after them, its ExecutionStarted as AWS's ExecutionRedriven."""
    offset = len(previous)
    current = []
    for original_event in output["events"]:
        event = dict(original_event)
        event["id"] = int(event["id"]) + offset
        if event.get("previousEventId"):
            event["previousEventId"] = int(event["previousEventId"]) + offset
        current.append(event)
    if current and current[0]["type"] == "ExecutionStarted":  # the redrive, as AWS records it
        current[0] = {k: v for k, v in current[0].items() if k != "executionStartedEventDetails"}
        current[0]["type"] = "ExecutionRedriven"
        current[0]["executionRedrivenEventDetails"] = {"redriveCount": redrive_count}
    return {**output, "events": previous + current}


def install() -> None:
    from moto.stepfunctions.responses import StepFunctionResponse  # noqa: PLC0415

    def redrive_execution(self: Any) -> Any:
        if active() is None or not isinstance(self.stepfunction_backend, parser_models.StepFunctionsParserBackend):
            raise NotImplementedError("The redrive_execution action has not been implemented")
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        return ActionResult({"redriveDate": _redrive(execution)})

    StepFunctionResponse.redrive_execution = redrive_execution

    original_describe = StepFunctionResponse.describe_execution

    def describe_execution(self: Any) -> Any:
        result = original_describe(self)
        if active() is None:
            return result
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        return ActionResult({**result.result, **_redrive_fields(execution)})

    StepFunctionResponse.describe_execution = describe_execution

    original_history = parser_execution.Execution.to_history_output

    def to_history_output(self: Any) -> Any:
        output = original_history(self)
        previous = getattr(self, "_mlcp_previous_events", None)
        if active() is None or not previous:
            return output
        return _continued_history(output, previous, self._mlcp_redrive_count)

    parser_execution.Execution.to_history_output = to_history_output
