"""How executions start, stop and report their status.

- ``stop_starting_executions``: StopExecution works while an execution is still starting (moto: AttributeError until
  its worker thread has parsed the definition); the stop waits (bounded) for the interpreter, then stops it.
- ``default_execution_names``: StartExecution without a name gets a UUID (moto: ``...:None``, which collides: the
  next unnamed execution is taken for the first or refused as ExecutionAlreadyExists).
- ``execution_status_events``: executions emit "Step Functions Execution Status Change" events (moto: none), RUNNING
  when they start and their terminal status when they end, through
  :func:`~mlcp_cli.local.patches.events.put_event`; the product's rules react to them.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any

from moto.stepfunctions.parser import models as parser_models
from moto.stepfunctions.parser.backend import execution as parser_execution
from moto.stepfunctions.parser.backend import execution_worker

from mlcp_cli.local.patches.context import active
from mlcp_cli.local.patches.events import put_event

# How long StopExecution waits for a starting execution's interpreter (wall seconds): parsing takes milliseconds.
_STARTING_EXECUTION_WAIT = 30.0


def install_stop_starting() -> None:
    worker = execution_worker.ExecutionWorker
    original = worker.stop

    def stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        if active() is not None:
            deadline = time.monotonic() + _STARTING_EXECUTION_WAIT
            while self.env is None and time.monotonic() < deadline:
                time.sleep(0.01)
        original(self, stop_date, error, cause)

    worker.stop = stop


def install_default_names() -> None:
    backend = parser_models.StepFunctionsParserBackend
    original = backend.start_execution

    def start_execution(
        self: Any, state_machine_arn: str, name: str | None = None, execution_input: str | None = None, **kwargs: Any
    ) -> Any:
        if active() is not None and not name:
            name = str(uuid.uuid4())
        return original(self, state_machine_arn, name, execution_input, **kwargs)

    backend.start_execution = start_execution


def _epoch_ms(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if isinstance(value, dt.datetime) else None


def execution_status(execution: Any) -> str:
    """The execution's status as its API name (``SUCCEEDED`` ...)."""
    return str(getattr(execution.exec_status, "value", execution.exec_status))


def _ending(execution: Any, running: bool) -> dict[str, Any]:
    """The fields of the event that only an ended execution has (all None while it runs)."""
    if running:
        return {"stopDate": None, "output": None, "outputDetails": None, "error": None, "cause": None}
    has_output = execution.output is not None
    return {
        "stopDate": _epoch_ms(execution.stop_date),
        "output": json.dumps(execution.output) if has_output else None,
        "outputDetails": {"included": True} if has_output else None,
        "error": execution.error,
        "cause": execution.cause,
    }


def status_event(execution: Any, running: bool = False) -> None:
    """Emit the execution's "Step Functions Execution Status Change" (RUNNING, or its status now)."""
    if active() is None:
        return
    status = "RUNNING" if running else execution_status(execution)
    ending = _ending(execution, running)
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": status,
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": ending["stopDate"],
        "input": execution.input_data if isinstance(execution.input_data, str) else json.dumps(execution.input_data),
        "inputDetails": {"included": True},
        "output": ending["output"],
        "outputDetails": ending["outputDetails"],
        "error": ending["error"],
        "cause": ending["cause"],
        "redriveCount": getattr(execution, "_mlcp_redrive_count", 0),
        "redriveStatus": "NOT_REDRIVABLE" if status == "SUCCEEDED" else "REDRIVABLE",
    }
    put_event(
        "aws.states",
        "Step Functions Execution Status Change",
        detail,
        [execution.exec_arn],
        account=execution.account_id,
        region=execution.region_name,
    )


def install_status_events() -> None:
    execution_cls = parser_execution.Execution
    original_start = execution_cls.start

    def start(self: Any) -> None:
        original_start(self)
        status_event(self, running=True)  # a fast execution may already have ended: the event says RUNNING

    execution_cls.start = start

    comm = parser_execution.BaseExecutionWorkerCommunication
    original_terminated = comm.terminated

    def terminated(self: Any) -> None:
        original_terminated(self)
        status_event(self.execution)

    comm.terminated = terminated
