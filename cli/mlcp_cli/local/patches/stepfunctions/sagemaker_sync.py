"""``sagemaker_sync``: ``arn:aws:states:::sagemaker:create*Job.sync`` (moto: unsupported) waits for the job, fails
the task with the Describe* output when the job fails, and stops the job when the execution is aborted.

moto 5.2.5 has no optimised SageMaker integration with ``.sync`` ("Unsupported sync callback procedure"), and the
training pipeline waits for every job with it. With the fix the factory hands out a SageMaker task service that
creates the job, then polls its Describe* call (with :func:`~.sync.backoff`) until the job completes (the task's
output is the Describe* output, PascalCase through ``task_parameter_names``) or fails (``States.TaskFailed`` with
the Describe* output as the cause); stopping the execution stops the job. ClientErrors are named as AWS names them
(``SageMaker.<Code>Exception``, see :mod:`.errors`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.utils import camel_to_snake_case

from mlcp_cli.local.patches.context import active
from mlcp_cli.local.patches.stepfunctions.errors import client_error_event
from mlcp_cli.local.patches.stepfunctions.parameters import operation
from mlcp_cli.local.patches.stepfunctions.sync import backoff, poll_until_done

LOG = logging.getLogger(__name__)

# create* action -> (describe action, name parameter, status field, stop action)
_SAGEMAKER_JOBS: dict[str, tuple[str, str, str, str]] = {
    "createtrainingjob": ("describe_training_job", "TrainingJobName", "TrainingJobStatus", "stop_training_job"),
    "createhyperparametertuningjob": (
        "describe_hyper_parameter_tuning_job",
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobStatus",
        "stop_hyper_parameter_tuning_job",
    ),
    "createprocessingjob": (
        "describe_processing_job",
        "ProcessingJobName",
        "ProcessingJobStatus",
        "stop_processing_job",
    ),
    "createtransformjob": ("describe_transform_job", "TransformJobName", "TransformJobStatus", "stop_transform_job"),
}
_SAGEMAKER_DONE = {"Completed"}
_SAGEMAKER_FAILED = {"Failed", "Stopped"}


class StateTaskServiceSageMaker(StateTaskServiceCallback):  # type: ignore[misc]
    """The optimised SageMaker integration with ``.sync`` (request-response and waitForTaskToken too)."""

    def __init__(self) -> None:
        super().__init__(
            supported_integration_patterns={ResourceCondition.WaitForTaskToken, ResourceCondition.Sync},
        )

    def _get_supported_parameters(self) -> set[str] | None:
        model = operation("sagemaker", camel_to_snake_case(self.resource.api_action))
        if model is None or model.input_shape is None:
            return None
        return set(model.input_shape.members)

    def _from_error(self, env: Any, ex: Exception) -> FailureEvent:
        if isinstance(ex, ClientError):
            return client_error_event(self, env, "SageMaker", ex)
        result: FailureEvent = super()._from_error(env=env, ex=ex)
        return result

    def _eval_service_task(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> None:
        client = boto_client_for(
            service="sagemaker", region=resource_runtime_part.region, state_credentials=state_credentials
        )
        response = getattr(client, self._get_boto_service_action())(**normalised_parameters) or {}
        response.pop("ResponseMetadata", None)
        env.stack.append(response)

    def _task_failed(self, env: Any, described: dict[str, Any]) -> FailureEventException:
        """States.TaskFailed with the Describe* output of the failed job as its cause."""
        return FailureEventException(
            FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(
                    taskFailedEventDetails=TaskFailedEventDetails(
                        resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type(),
                        error=StatesErrorNameType.StatesTaskFailed.to_name(),
                        cause=to_json_str(described),
                    )
                ),
            )
        )

    def _build_sync_resolver(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> Callable[[], Any]:
        job = _SAGEMAKER_JOBS.get(self.resource.api_action.lower())
        if job is None:
            raise ValueError(f"{self.resource.resource_arn} has no .sync integration")
        describe, name_key, status_key, stop = job
        client = boto_client_for(
            service="sagemaker", region=resource_runtime_part.region, state_credentials=state_credentials
        )
        env.stack.pop()  # the Create* response; .sync returns the Describe* output
        name = normalised_parameters[name_key]
        self._sync_stop = (client, stop, name_key, name)
        pause = backoff(env)

        def resolve() -> dict[str, Any] | None:
            described = getattr(client, describe)(**{name_key: name})
            described.pop("ResponseMetadata", None)
            status = described.get(status_key)
            if status in _SAGEMAKER_DONE:
                self._normalise_response(described, service_action_name=describe)
                return dict(described)
            if status in _SAGEMAKER_FAILED:
                self._normalise_response(described, service_action_name=describe)
                raise self._task_failed(env, described)
            pause()
            return None

        return resolve

    def _eval_sync(
        self,
        env: Any,
        sync_resolver: Callable[[], Any],
        **_: Any,  # timeout and callback endpoints: .sync alone is what the SageMaker integration offers here
    ) -> Any:
        """Poll until the job ends (the resolver backs off on its own; moto's loop adds a fixed 0.5 s per poll)."""
        client, stop, name_key, name = self._sync_stop

        def stop_job() -> None:
            try:
                getattr(client, stop)(**{name_key: name})
            except ClientError:
                LOG.warning("could not stop %s after the execution stopped", name)

        return poll_until_done(env, sync_resolver, stop_job)


def install() -> None:
    original = state_task_factory.state_task_service_for

    def state_task_service_for(service_name: str) -> Any:
        if active() is not None and service_name == "sagemaker":
            return StateTaskServiceSageMaker()
        return original(service_name)

    state_task_factory.state_task_service_for = state_task_service_for
