"""Every fix the local cloud makes to moto, in one module (moto is pinned: see MOTO_VERSION).

moto 5.2.5 runs ASL, but it lacks the pieces a real SAM application leans on. Each fix below is named after the AWS
behaviour it restores and is guarded by a test in tests/local_cloud/test_motofix.py that fails when moto changes
underneath (the test shows the gap on plain moto, then the behaviour with the fix):

- ``task_parameter_names``: optimised and aws-sdk task parameters are PascalCase in ASL; boto3 wants the API's own
  member names (``JobName`` -> ``jobName``), and responses come back PascalCase with datetimes as ISO-8601 strings.
- ``sagemaker_sync``: ``arn:aws:states:::sagemaker:create*Job.sync`` (moto: unsupported) waits for the job, fails
  the task with the Describe* output when the job fails, and stops the job when the execution is aborted.
- ``sdk_error_names``: aws-sdk and Lambda task errors named as AWS names them (``SageMaker.ThrottlingException``,
  ``Lambda.ServiceException``; moto: ``sagemaker.sagemakerException`` and ``Exception``).
- ``fail_error_names``: a Fail state may re-raise a caught ``States.*`` error through ErrorPath, as AWS allows
  (moto: "Custom Error Names MUST NOT begin with the prefix 'States.'" and the execution ends States.Runtime).
- ``simulated_waits``: Wait states and Retry intervals run on the local cloud's simulated clock.
- ``cfn_state_machines``: CloudFormation state machines honour DefinitionSubstitutions and land in the executing
  backend (moto: substitutions ignored, non-executing backend).
- ``stop_starting_executions``: StopExecution works while an execution is still starting (moto: AttributeError
  until its worker thread has parsed the definition).
- ``asl_parse_cache``: an execution reuses the ANTLR parse tree of its definition (moto: every execution lexes and
  parses the whole ASL again, about 0.3 s of CPU for the training pipeline); the evaluation components are still
  built fresh for each execution, so executions share nothing mutable.
- ``default_execution_names``: StartExecution without a name gets a UUID (moto: ``...:None``, which collides).
- ``execution_status_events``: executions emit "Step Functions Execution Status Change" events (moto: none).
- ``eventbridge_targets``: rules deliver to Lambda (asynchronous invoke) and Step Functions targets with Input,
  InputPath or InputTransformer, RetryPolicy and DeadLetterConfig (moto: NotImplementedError for both).
- ``s3_eventbridge_events``: "Object Created" events with a real, increasing sequencer, an ISO time and the rule's
  input transformation (moto: a constant sequencer and no transformation).
- ``alarm_state_events``: SetAlarmState emits "CloudWatch Alarm State Change" (moto: nothing).
- ``lambda_invoke``: Invoke runs the real handler in-process (moto: Docker or an echo); ``Event`` invocations are
  asynchronous with the function's retry attempts and on-failure destination.
- ``eks_updates``: UpdateNodegroupConfig validates the scaling config as EKS does (InvalidParameterException) and
  refuses a second update while one is in progress (ResourceInUseException); the update is ``InProgress`` on the
  simulated clock, the node group ``UPDATING``, then ``Successful`` and ``ACTIVE`` with the new sizes (or ``Failed``
  for an injected JobFault on ``<cluster>/<nodegroup>``); DescribeUpdate and ListUpdates exist (moto: the update is
  applied at once, unvalidated, and there is no DescribeUpdate).
- ``api_faults``: any JSON API call can be answered with an injected error (throttling, ServiceException).
- ``redrive_execution``: RedriveExecution continues a FAILED, TIMED_OUT or ABORTED execution from its unsuccessful
  state with that state's input (same ARN, ``$$.Execution.Input`` unchanged, history kept), refuses RUNNING and
  SUCCEEDED ones (ExecutionNotRedrivable), and DescribeExecution reports redriveCount/redriveDate/redriveStatus
  (moto: "The redrive_execution action has not been implemented").
- ``cfn_rest_api_body``: an ``AWS::ApiGateway::RestApi`` with a ``Body`` (what SAM generates for
  ``AWS::Serverless::Api``) gets the Body's resources, methods and proxy integrations (moto: the Body is ignored and
  the stack's Deployment fails with "The REST API doesn't contain any methods").
- ``definite_json_paths``: a definite JSONPath (no wildcard, filter, slice) names one value, as in Step Functions
  (moto: ``$.Items[0].Name`` yields a one-element list).
- ``batch_compute_resize``: UpdateComputeEnvironment applies ``computeResources`` (maxvCpus ...) with AWS Batch's
  validation (moto: accepted and ignored), so the batch pipeline's resize and restore are observable.
- ``batch_sync``: ``batch:submitJob.sync`` polls with back-off instead of moto's fixed 0.5 s wall sleep, and stopping
  the execution terminates the job (moto: it keeps running). Parameters and output are PascalCase through
  ``task_parameter_names``.

The fixes are installed once per process and act only while a local cloud is active (``activate``); otherwise moto
behaves exactly as released, so plain-moto tests in the same process are unaffected.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import moto
from botocore.exceptions import ClientError
from botocore.model import OperationModel, ServiceModel
from botocore.session import get_session
from jsonpath_ng.ext import parse as jsonpath_parse  # moto's own dependency
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.cloudwatch.models import CloudWatchBackend
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, BaseResponse
from moto.eks import exceptions as eks_exceptions
from moto.eks import models as eks_models
from moto.eks import responses as eks_responses
from moto.eks import urls as eks_urls
from moto.events.models import Rule, events_backends
from moto.s3 import notifications as s3_notifications
from moto.sqs.models import sqs_backends
from moto.stepfunctions import models as sfn_models
from moto.stepfunctions.parser import models as parser_models
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory, state_task_lambda
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
    state_task_service_aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.fail import state_fail
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend import execution as parser_execution
from moto.stepfunctions.parser.backend import execution_worker
from moto.stepfunctions.parser.utils import camel_to_snake_case

from mlcp_cli.local.backends.clock import SimClock
from mlcp_cli.local.dispatch import Dispatcher
from mlcp_cli.local.faults import Faults
from mlcp_cli.local.runtime import FunctionConfig, LambdaRuntime

LOG = logging.getLogger(__name__)

MOTO_VERSION = "5.2.5"

# Lambda's asynchronous invocation: 2 retries by default, the first after about a minute, the second after two.
_ASYNC_RETRY_DELAYS = (60.0, 120.0)
# EventBridge target retries: exponential back-off with jitter; the local cloud uses its doubling core.
_TARGET_RETRY_BASE_SECONDS = 1.0
_TARGET_RETRY_MAX_SECONDS = 300.0
# How often a .sync task describes its job (wall seconds): from the first to the longest interval, growing 1.5x.
_SYNC_POLL_SECONDS = (0.05, 0.5)

FIXES = (
    "task_parameter_names",
    "sagemaker_sync",
    "sdk_error_names",
    "fail_error_names",
    "simulated_waits",
    "cfn_state_machines",
    "stop_starting_executions",
    "asl_parse_cache",
    "default_execution_names",
    "execution_status_events",
    "eventbridge_targets",
    "s3_eventbridge_events",
    "alarm_state_events",
    "lambda_invoke",
    "api_faults",
    "eks_updates",
    "redrive_execution",
    "cfn_rest_api_body",
    "definite_json_paths",
    "batch_compute_resize",
    "batch_sync",
)


@dataclass
class LocalContext:
    """What the fixes need of the running local cloud."""

    clock: SimClock
    faults: Faults
    runtime: LambdaRuntime
    dispatcher: Dispatcher
    sequencer: int = 0
    delivered: list[dict[str, Any]] = field(default_factory=list)  # (rule, event) of every match, for tests
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_sequencer(self) -> str:
        """S3 sequencers are hex strings that grow with each event on a key; one counter grows for all keys."""
        with self.lock:
            self.sequencer += 1
            return f"{0x617F08299329D189 + self.sequencer:016X}00"


_ACTIVE: LocalContext | None = None
_INSTALLED = False
_INSTALL_LOCK = threading.Lock()


def active() -> LocalContext | None:
    return _ACTIVE


def activate(context: LocalContext) -> None:
    global _ACTIVE  # noqa: PLW0603 - the one switch of the fixes
    install()
    _ACTIVE = context


def deactivate() -> None:
    global _ACTIVE  # noqa: PLW0603
    _ACTIVE = None


def install() -> None:
    """Patch moto once per process (idempotent). Refuses another moto version: the fixes are written against it."""
    global _INSTALLED  # noqa: PLW0603
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        if moto.__version__ != MOTO_VERSION:
            raise RuntimeError(
                f"the local cloud's moto fixes are written for moto {MOTO_VERSION}, not {moto.__version__}"
            )
        _fix_task_parameter_names()
        _fix_sagemaker_sync()
        _fix_sdk_error_names()
        _fix_fail_error_names()
        _fix_simulated_waits()
        _fix_cfn_state_machines()
        _fix_stop_starting_executions()
        _fix_asl_parse_cache()
        _fix_default_execution_names()
        _fix_execution_status_events()
        _fix_eventbridge_targets()
        _fix_s3_eventbridge_events()
        _fix_alarm_state_events()
        _fix_lambda_invoke()
        _fix_api_faults()
        _fix_eks_updates()
        _fix_redrive_execution()
        _fix_cfn_rest_api_body()
        _fix_definite_json_paths()
        _fix_batch_compute_resize()
        _fix_batch_sync()
        _INSTALLED = True


# --- helpers -----------------------------------------------------------------------------------------------------
@cache
def _service_model(service: str) -> ServiceModel:
    return get_session().get_service_model(service)


def _operation(service: str, snake_action: str) -> OperationModel | None:
    model = _service_model(service)
    for name in model.operation_names:
        if camel_to_snake_case(name) == snake_action:
            return model.operation_model(name)
    return None


def _iso(value: Any) -> Any:
    """Datetimes as Step Functions renders them in task output: ISO-8601 in UTC with milliseconds."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


def _epoch_iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- task_parameter_names ----------------------------------------------------------------------------------------
def _fix_task_parameter_names() -> None:
    cls = state_task_service.StateTaskService
    original_params = cls._normalise_parameters
    original_response = cls._normalise_response

    def _normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        if _ACTIVE is None:
            original_params(self, parameters, boto_service_name, service_action_name)
            return
        service = self._get_boto_service_name(boto_service_name)
        operation = _operation(service, self._get_boto_service_action(service_action_name))
        if operation is not None and operation.input_shape is not None:
            self._to_boto_request(parameters, operation.input_shape)

    def _normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        if _ACTIVE is None:
            original_response(self, response, boto_service_name, service_action_name)
            return
        if not isinstance(response, dict):
            return
        service = self._get_boto_service_name(boto_service_name)
        operation = _operation(service, self._get_boto_service_action(service_action_name))
        if operation is not None and operation.output_shape is not None:
            self._from_boto_response(response, operation.output_shape)
        converted = _iso(response)
        response.clear()
        response.update(converted)

    cls._normalise_parameters = _normalise_parameters
    cls._normalise_response = _normalise_response


# --- sagemaker_sync ----------------------------------------------------------------------------------------------
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
        operation = _operation("sagemaker", camel_to_snake_case(self.resource.api_action))
        if operation is None or operation.input_shape is None:
            return None
        return set(operation.input_shape.members)

    def _from_error(self, env: Any, ex: Exception) -> FailureEvent:
        if isinstance(ex, ClientError):
            return _client_error_event(self, env, "SageMaker", ex)
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
        pause = _backoff(env)

        def resolve() -> dict[str, Any] | None:
            described = getattr(client, describe)(**{name_key: name})
            described.pop("ResponseMetadata", None)
            status = described.get(status_key)
            if status in _SAGEMAKER_DONE:
                self._normalise_response(described, service_action_name=describe)
                return dict(described)
            if status in _SAGEMAKER_FAILED:
                self._normalise_response(described, service_action_name=describe)
                raise FailureEventException(
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

        return _poll_until_done(env, sync_resolver, stop_job)


def _backoff(env: Any) -> Callable[[], None]:
    """The pause between two polls of a ``.sync`` job: from the first to the longest interval, growing 1.5x; an
    execution that stops meanwhile ends the pause."""
    interval = [_SYNC_POLL_SECONDS[0]]

    def pause() -> None:
        env.program_state_event.wait(interval[0])
        interval[0] = min(interval[0] * 1.5, _SYNC_POLL_SECONDS[1])

    return pause


def _poll_until_done(env: Any, sync_resolver: Callable[[], Any], stop_job: Callable[[], None]) -> Any:
    """Poll a ``.sync`` job until it ends; when the execution is stopped meanwhile, stop the job as AWS does."""
    try:
        while env.is_running():
            result = sync_resolver()
            if result:
                return result
        return None
    finally:
        if not env.is_running():
            stop_job()


def _client_error_event(task: Any, env: Any, service: str, ex: ClientError) -> FailureEvent:
    """``<Service>.<ErrorCode>`` with the Exception suffix, as AWS documents for SDK integration errors."""
    code = ex.response["Error"]["Code"]
    error = f"{service}.{code if code.endswith('Exception') else code + 'Exception'}"
    cause = f"{ex.response['Error'].get('Message', '')} (Service: {service}, Status Code: "
    cause += f"{ex.response['ResponseMetadata'].get('HTTPStatusCode')}, Error Code: {code})"
    return FailureEvent(
        env=env,
        error_name=CustomErrorName(error),
        event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(
            taskFailedEventDetails=TaskFailedEventDetails(
                error=error, cause=cause, resource=task._get_sfn_resource(), resourceType=task._get_sfn_resource_type()
            )
        ),
    )


def _fix_sagemaker_sync() -> None:
    original = state_task_factory.state_task_service_for

    def state_task_service_for(service_name: str) -> Any:
        if _ACTIVE is not None and service_name == "sagemaker":
            return StateTaskServiceSageMaker()
        return original(service_name)

    state_task_factory.state_task_service_for = state_task_service_for


# --- sdk_error_names ---------------------------------------------------------------------------------------------
_SDK_SERVICE_NAMES = {
    "sagemaker": "SageMaker",
    "eks": "Eks",  # Step Functions: the service name in PascalCase (acmpca -> AcmPca), not the acronym
    "batch": "Batch",
    "s3": "S3",
    "sns": "SNS",
    "sqs": "SQS",
    "dynamodb": "DynamoDb",
    "sfn": "Sfn",
    "lambda": "Lambda",
    "cloudwatch": "CloudWatch",
}


def _fix_sdk_error_names() -> None:
    sdk = state_task_service_aws_sdk.StateTaskServiceAwsSdk
    original_sdk = sdk._from_error

    def sdk_from_error(self: Any, env: Any, ex: Exception) -> FailureEvent:
        if _ACTIVE is not None and isinstance(ex, ClientError):
            service = _SDK_SERVICE_NAMES.get(self.resource.api_name.lower(), self.resource.api_name)
            return _client_error_event(self, env, service, ex)
        result: FailureEvent = original_sdk(self, env, ex)
        return result

    sdk._from_error = sdk_from_error

    lam = state_task_lambda.StateTaskLambda
    original_lambda = lam._from_error

    def lambda_from_error(self: Any, env: Any, ex: Exception) -> FailureEvent:
        if _ACTIVE is not None and isinstance(ex, ClientError):
            code = ex.response["Error"]["Code"]
            error = f"Lambda.{code if code.endswith('Exception') else 'AWSLambdaException'}"
            return FailureEvent(
                env=env,
                error_name=CustomErrorName(error),
                event_type=HistoryEventType.LambdaFunctionFailed,
                event_details=EventDetails(
                    lambdaFunctionFailedEventDetails={"error": error, "cause": ex.response["Error"].get("Message", "")}
                ),
            )
        result: FailureEvent = original_lambda(self, env, ex)
        return result

    lam._from_error = lambda_from_error


# --- fail_error_names --------------------------------------------------------------------------------------------
def _fix_fail_error_names() -> None:
    strict = state_fail.CustomErrorName

    def fail_error_name(error_name: str | None) -> Any:
        if _ACTIVE is None:
            return strict(error_name)
        return ErrorName(error_name=error_name)

    state_fail.CustomErrorName = fail_error_name


# --- simulated_waits ---------------------------------------------------------------------------------------------
class _ClockTime:
    """Stands in for the ``time`` module inside the retrier: sleeps run on the simulated clock."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def sleep(self, seconds: float) -> None:
        if _ACTIVE is None:
            self._real.sleep(seconds)
        else:
            _ACTIVE.clock.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _fix_simulated_waits() -> None:
    retrier_decl.time = _ClockTime(retrier_decl.time)
    original = WaitFunction._wait_interval

    def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        if _ACTIVE is None:
            original(self, env, wait_seconds)
            return
        if wait_seconds > 0:
            env.program_state_event.wait(_ACTIVE.clock.wall(wait_seconds))

    WaitFunction._wait_interval = _wait_interval


# --- cfn_state_machines ------------------------------------------------------------------------------------------
def _substitute(definition: str, substitutions: dict[str, Any]) -> str:
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", str(value))
    return definition


def _fix_cfn_state_machines() -> None:
    cls = sfn_models.StateMachine
    original = cls.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        klass: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        if _ACTIVE is None:
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


# --- stop_starting_executions ------------------------------------------------------------------------------------
# How long StopExecution waits for a starting execution's interpreter (wall seconds): parsing takes milliseconds.
_STARTING_EXECUTION_WAIT = 30.0


def _fix_stop_starting_executions() -> None:
    worker = execution_worker.ExecutionWorker
    original = worker.stop

    def stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        if _ACTIVE is not None:
            deadline = time.monotonic() + _STARTING_EXECUTION_WAIT
            while self.env is None and time.monotonic() < deadline:
                time.sleep(0.01)
        original(self, stop_date, error, cause)

    worker.stop = stop


# --- asl_parse_cache ---------------------------------------------------------------------------------------------
_PARSE_CACHE_SIZE = 64  # definitions (a deployed stack has a handful; tests create more)
_PARSE_TREES: OrderedDict[str, Any] = OrderedDict()
_PARSE_LOCK = threading.Lock()


def _fix_asl_parse_cache() -> None:
    parser_cls = asl_parser.AmazonStateLanguageParser
    original = parser_cls.parse

    def parse(definition: str) -> tuple[Any, Any]:
        if _ACTIVE is None:
            return original(definition)  # type: ignore[no-any-return]
        with _PARSE_LOCK:
            tree = _PARSE_TREES.get(definition)
            if tree is not None:
                _PARSE_TREES.move_to_end(definition)
        if tree is None:
            program, tree = original(definition)  # syntax errors raise here and are never cached
            with _PARSE_LOCK:
                _PARSE_TREES[definition] = tree
                while len(_PARSE_TREES) > _PARSE_CACHE_SIZE:
                    _PARSE_TREES.popitem(last=False)
            return program, tree
        # The parse tree is read-only; the evaluation components carry per-execution state, so build them anew.
        return asl_parser.Preprocessor().visit(tree), tree

    parser_cls.parse = staticmethod(parse)


# --- default_execution_names -------------------------------------------------------------------------------------
def _fix_default_execution_names() -> None:
    backend = parser_models.StepFunctionsParserBackend
    original = backend.start_execution

    def start_execution(
        self: Any, state_machine_arn: str, name: str | None = None, execution_input: str | None = None, **kwargs: Any
    ) -> Any:
        if _ACTIVE is not None and not name:
            name = str(uuid.uuid4())
        return original(self, state_machine_arn, name, execution_input, **kwargs)

    backend.start_execution = start_execution


# --- execution_status_events -------------------------------------------------------------------------------------
def _epoch_ms(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if isinstance(value, dt.datetime) else None


def _status_event(execution: Any, running: bool = False) -> None:
    context = _ACTIVE
    if context is None:
        return
    status = "RUNNING" if running else str(getattr(execution.exec_status, "value", execution.exec_status))
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": status,
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": None if running else _epoch_ms(execution.stop_date),
        "input": execution.input_data if isinstance(execution.input_data, str) else json.dumps(execution.input_data),
        "inputDetails": {"included": True},
        "output": None if running or execution.output is None else json.dumps(execution.output),
        "outputDetails": None if running or execution.output is None else {"included": True},
        "error": None if running else execution.error,
        "cause": None if running else execution.cause,
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


def _fix_execution_status_events() -> None:
    execution_cls = parser_execution.Execution
    original_start = execution_cls.start

    def start(self: Any) -> None:
        original_start(self)
        _status_event(self, running=True)  # a fast execution may already have ended: the event says RUNNING

    execution_cls.start = start

    comm = parser_execution.BaseExecutionWorkerCommunication
    original_terminated = comm.terminated

    def terminated(self: Any) -> None:
        original_terminated(self)
        _status_event(self.execution)

    comm.terminated = terminated


# --- eventbridge_targets -----------------------------------------------------------------------------------------
def put_event(
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    resources: list[str],
    *,
    account: str,
    region: str,
    bus: str = "default",
) -> dict[str, Any]:
    """Emit an event as an AWS service does: every enabled rule of the bus whose pattern matches delivers it."""
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": _ACTIVE.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ") if _ACTIVE else _epoch_iso(0),
        "region": region,
        "resources": resources,
        "detail": detail,
    }
    backend = events_backends[account][region]
    event_bus = backend.event_buses.get(bus)
    if event_bus is not None:
        for rule in list(event_bus.rules.values()):
            rule.send_to_targets(event)
    return event


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a target receives: Input (a constant), InputPath (part of the event), InputTransformer, or the event."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        matches = jsonpath_parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    if "InputTransformer" in target:
        return _transform(target["InputTransformer"], event, target)
    return event


_PLACEHOLDER = re.compile(r'("?)<([A-Za-z0-9_.\-]+)>("?)')


def _transform(transformer: dict[str, Any], event: dict[str, Any], target: dict[str, Any]) -> Any:
    """InputTransformer as EventBridge documents it: InputPathsMap values are JSONPaths into the event; in the
    template a quoted "<var>" takes the value's text, a bare <var> its JSON; a template that is not JSON is text."""
    values: dict[str, Any] = {}
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        matches = jsonpath_parse(path).find(event)
        values[name] = matches[0].value if matches else None
    values.setdefault("aws.events.event", event)
    values.setdefault("aws.events.event.json", event)
    values.setdefault("aws.events.rule-arn", target.get("_rule_arn", ""))
    values.setdefault("aws.events.event.ingestion-time", event.get("time"))

    def render(match: re.Match[str]) -> str:
        open_quote, name, close_quote = match.groups()
        if name not in values:
            return match.group(0)
        value = values[name]
        if open_quote and close_quote:
            text = value if isinstance(value, str) else json.dumps(value)
            return json.dumps(text)
        return open_quote + json.dumps(value) + close_quote

    rendered = _PLACEHOLDER.sub(render, transformer.get("InputTemplate", "<aws.events.event>"))
    try:
        return json.loads(rendered)
    except ValueError:
        return rendered


def deliver(
    target_arn: str,
    payload: Any,
    *,
    retry_policy: dict[str, Any] | None,
    dead_letter_arn: str | None,
    rule_arn: str,
    account: str,
    region: str,
) -> None:
    """Deliver one event to a Lambda function (asynchronous invoke) or a state machine, with retries and a DLQ."""
    context = _ACTIVE
    if context is None:
        return
    policy = retry_policy or {}
    attempts = 1 + int(policy.get("MaximumRetryAttempts", 185))
    max_age = float(policy.get("MaximumEventAgeInSeconds", 86400))
    first = context.clock.seconds()
    last_error = ""
    for attempt in range(attempts):
        try:
            _deliver_once(target_arn, payload, account=account, region=region)
            return
        except (ClientError, JsonRESTError) as exc:
            last_error = str(exc)
            LOG.warning("delivery to %s failed (attempt %d): %s", target_arn, attempt + 1, exc)
            delay = min(_TARGET_RETRY_BASE_SECONDS * 2**attempt, _TARGET_RETRY_MAX_SECONDS)
            if attempt + 1 >= attempts or context.clock.seconds() - first + delay > max_age:
                break
            context.clock.sleep(delay)
    if dead_letter_arn:
        _send_to_queue(
            dead_letter_arn,
            payload,
            {"RULE_ARN": rule_arn, "TARGET_ARN": target_arn, "ERROR_MESSAGE": last_error[:256]},
        )


def _deliver_once(target_arn: str, payload: Any, *, account: str, region: str) -> None:
    service = target_arn.split(":")[2]
    if service == "lambda":
        function = lambda_backends[account][region].get_function(target_arn)
        fault = _ACTIVE.faults.api_fault("lambda", "Invoke", function.function_name) if _ACTIVE else None
        if fault is not None:
            raise JsonRESTError(fault.code, fault.message)
        _invoke_async(function, payload)
    elif service == "states":
        backend = parser_models.stepfunctions_parser_backends[account][region]
        backend.start_execution(target_arn, None, json.dumps(payload))
    else:
        raise ValueError(f"the local cloud delivers to lambda and states targets here, not {target_arn}")


def _send_to_queue(queue_arn: str, body: Any, attributes: dict[str, str]) -> None:
    _, _, _, region, account, name = queue_arn.split(":", 5)
    sqs_backends[account][region].send_message(
        queue_name=name,
        message_body=body if isinstance(body, str) else json.dumps(body),
        message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )


def _fix_eventbridge_targets() -> None:
    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        context = _ACTIVE
        if context is None:
            original(self, original_event, transform_input)
            return
        if self.state != "ENABLED" or not self.event_pattern.matches_event(original_event):
            return
        event = copy.deepcopy(original_event)
        if isinstance(event.get("time"), int | float):
            event["time"] = _epoch_iso(float(event["time"]))
        event.pop("ingestion-time", None)
        with context.lock:
            context.delivered.append({"rule": self.name, "event": event})
        others = []
        for target in self.targets:
            arn = target["Arn"]
            service = arn.split(":")[2]
            if service == "sqs":
                _send_to_queue(arn, _target_input({**target, "_rule_arn": self.arn}, event), {})
                continue
            if service not in ("lambda", "states"):
                others.append(target)  # moto's own targets (logs, buses, archives) get moto's event shape below
                continue
            context.dispatcher.submit(
                lambda t=target, a=arn: deliver(
                    a,
                    _target_input({**t, "_rule_arn": self.arn}, event),
                    retry_policy=t.get("RetryPolicy"),
                    dead_letter_arn=(t.get("DeadLetterConfig") or {}).get("Arn"),
                    rule_arn=self.arn,
                    account=self.account_id,
                    region=self.region_name,
                )
            )
        if others:
            moto_event = {**original_event, "time": original_event.get("time", 0), "ingestion-time": 0}
            if not isinstance(moto_event["time"], int | float):
                moto_event["time"] = dt.datetime.fromisoformat(
                    str(moto_event["time"]).replace("Z", "+00:00")
                ).timestamp()
            saved = self.targets
            self.targets = others
            try:
                original(self, moto_event, transform_input)
            finally:
                self.targets = saved

    Rule.send_to_targets = send_to_targets


# --- s3_eventbridge_events ---------------------------------------------------------------------------------------
def _fix_s3_eventbridge_events() -> None:
    original = s3_notifications._send_event_bridge_message

    def _send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        context = _ACTIVE
        if context is None:
            original(account_id, bucket, event_name, key)
            return
        if "Tagging" in event_name and not getattr(key, "tags", None):
            return  # moto tags every PutObject (with no tags); S3 emits "Object Tags Added" only for real tags
        detail = {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": {
                "key": key.name,
                "size": key.size,
                "etag": key.etag.replace('"', ""),
                "version-id": key.version_id,
                "sequencer": context.next_sequencer(),
            },
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject" if "Put" in event_name else event_name.rsplit(":", maxsplit=1)[-1],
        }
        put_event(
            "aws.s3",
            s3_notifications._detail_type(event_name),
            detail,
            [bucket.arn],
            account=account_id,
            region=bucket.region_name,
        )

    s3_notifications._send_event_bridge_message = _send_event_bridge_message


# --- alarm_state_events ------------------------------------------------------------------------------------------
def _fix_alarm_state_events() -> None:
    original = CloudWatchBackend.set_alarm_state

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        previous = (alarm.state_value, alarm.state_reason, alarm.state_updated_timestamp) if alarm else None
        original(self, alarm_name, reason, reason_data, state_value)
        if _ACTIVE is None or previous is None or previous[0] == state_value:
            return  # AWS emits the event on a change of state only
        alarm = self.alarms[alarm_name]
        now = _ACTIVE.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        detail = {
            "alarmName": alarm.name,
            "state": {"value": state_value, "reason": reason, "reasonData": reason_data or "{}", "timestamp": now},
            "previousState": {
                "value": previous[0],
                "reason": previous[1] or "",
                "timestamp": _iso(previous[2]) if isinstance(previous[2], dt.datetime) else str(previous[2] or now),
            },
            "configuration": {
                "description": alarm.description or "",
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {
                                "namespace": alarm.namespace,
                                "name": alarm.metric_name,
                                "dimensions": {d.name: d.value for d in alarm.dimensions},
                            },
                            "period": alarm.period,
                            "stat": alarm.statistic,
                        },
                        "returnData": True,
                    }
                ]
                if alarm.metric_name
                else [],
            },
        }
        put_event(
            "aws.cloudwatch",
            "CloudWatch Alarm State Change",
            detail,
            [alarm.alarm_arn],
            account=self.account_id,
            region=self.region_name,
        )

    CloudWatchBackend.set_alarm_state = set_alarm_state


# --- lambda_invoke -----------------------------------------------------------------------------------------------
def _function_config(function: Any) -> FunctionConfig:
    logging_config = getattr(function, "logging_config", None) or {}
    return FunctionConfig(
        name=function.function_name,
        arn=function.function_arn,
        handler=function.handler,
        environment={k: str(v) for k, v in (function.environment_vars or {}).items()},
        timeout=int(function.timeout),
        memory_size=int(function.memory_size),
        log_group=logging_config.get("LogGroup") or f"/aws/lambda/{function.function_name}",
    )


def _invoke_async(function: Any, event: Any) -> None:
    """Lambda's asynchronous invocation: queued, retried on function errors, then the on-failure destination."""
    context = _ACTIVE
    if context is None:
        return
    config = function.event_invoke_config[-1].config if function.event_invoke_config else {}
    retries = int(config.get("MaximumRetryAttempts", 2))
    destination = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")

    def run() -> None:
        fn = _function_config(function)
        invocation = None
        for attempt in range(retries + 1):
            invocation = context.runtime.invoke(fn, event)
            if invocation.function_error is None:
                return
            if attempt < retries:
                context.clock.sleep(_ASYNC_RETRY_DELAYS[min(attempt, len(_ASYNC_RETRY_DELAYS) - 1)])
        assert invocation is not None
        LOG.warning("%s failed %d times; on-failure destination: %s", fn.name, retries + 1, destination)
        if destination:
            record = {
                "version": "1.0",
                "timestamp": context.clock.now().isoformat(),
                "requestContext": {
                    "requestId": invocation.request_id,
                    "functionArn": f"{fn.arn}:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": retries + 1,
                },
                "requestPayload": event,
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "responsePayload": invocation.payload,
            }
            _send_to_queue(destination, record, {})

    context.dispatcher.submit(run)


def _fix_lambda_invoke() -> None:
    original = LambdaFunction.invoke

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        context = _ACTIVE
        if context is None:
            result: str | bytes = original(self, body, request_headers, response_headers)
            return result
        fault = context.faults.api_fault("lambda", "Invoke", self.function_name)
        if fault is not None:
            error = JsonRESTError(fault.code, fault.message)
            error.code = fault.status
            raise error
        event = json.loads(body) if body else {}
        invocation_type = request_headers.get("x-amz-invocation-type") or request_headers.get(
            "X-Amz-Invocation-Type", "RequestResponse"
        )
        if invocation_type == "Event":
            _invoke_async(self, event)
            return b""
        if invocation_type == "DryRun":
            return b""
        invocation = context.runtime.invoke(_function_config(self), event)
        if invocation.function_error:
            response_headers["x-amz-function-error"] = invocation.function_error
        return json.dumps(invocation.payload).encode()

    LambdaFunction.invoke = invoke


# --- api_faults --------------------------------------------------------------------------------------------------
_NAME_KEYS = (
    "TrainingJobName",
    "HyperParameterTuningJobName",
    "ProcessingJobName",
    "CompilationJobName",
    "ModelPackageGroupName",
    "TopicArn",
    "stateMachineArn",
    "jobName",
    "nodegroupName",
)


def _fix_api_faults() -> None:
    original = BaseResponse.call_action

    def call_action(self: Any) -> Any:
        context = _ACTIVE
        if context is None or not context.faults.api or self.service_name == "lambda":
            return original(self)  # Lambda's Invoke faults are injected in lambda_invoke, with the function name
        action = self._get_action()
        target = ""
        try:
            body = json.loads(self.body) if self.body else {}
        except (TypeError, ValueError):
            body = {}
        if isinstance(body, dict):
            target = next((str(body[k]) for k in _NAME_KEYS if k in body), "")
        fault = context.faults.api_fault(self.service_name, action, target)
        if fault is not None:
            return (
                fault.status,
                {"content-type": "application/x-amz-json-1.1"},
                json.dumps({"__type": fault.code, "message": fault.message}),
            )
        return original(self)

    BaseResponse.call_action = call_action


# --- eks_updates -------------------------------------------------------------------------------------------------
# Simulated seconds a managed node group takes to apply a scaling change (EKS: typically a few minutes).
EKS_UPDATE_SECONDS = 180.0


@dataclass
class _NodegroupUpdate:
    id: str
    cluster: str
    nodegroup: str
    scaling: dict[str, int]
    params: list[dict[str, str]]
    created: dt.datetime
    due: float  # simulated seconds
    failure: str | None
    status: str = "InProgress"

    def response(self) -> dict[str, Any]:
        errors = (
            []
            if self.failure is None or self.status != "Failed"
            else [{"errorCode": "Unknown", "errorMessage": self.failure, "resourceIds": [self.nodegroup]}]
        )
        return {
            "id": self.id,
            "status": self.status,
            "type": "ConfigUpdate",
            "params": self.params,
            "createdAt": self.created,
            "errors": errors,
        }


def _eks_updates(backend: Any) -> dict[str, _NodegroupUpdate]:
    updates: dict[str, _NodegroupUpdate] = backend.__dict__.setdefault("_mlcp_nodegroup_updates", {})
    return updates


def _eks_refresh(backend: Any, context: LocalContext) -> None:
    """Bring every node-group update up to the simulated clock (apply the sizes when it succeeds)."""
    now = context.clock.seconds()
    for update in _eks_updates(backend).values():
        if update.status != "InProgress" or now < update.due:
            continue
        nodegroup = backend.clusters[update.cluster].nodegroups[update.nodegroup]
        if update.failure is None:
            nodegroup.scaling_config.update(update.scaling)
            update.status = "Successful"
        else:
            update.status = "Failed"
        nodegroup.status = "ACTIVE"
        nodegroup.modified_at = context.clock.now()


def _eks_invalid(cluster: str, nodegroup: str, message: str) -> Exception:
    error: Exception = eks_exceptions.InvalidParameterException(
        clusterName=cluster, nodegroupName=nodegroup, fargateProfileName=None, addonName=None, message=message
    )
    return error


def _validate_scaling(cluster: str, nodegroup: str, current: dict[str, int], requested: dict[str, int]) -> None:
    """EKS's checks of a scaling config: sizes in range, min <= desired <= max, max >= 1."""
    merged = {**current, **requested}
    low, desired, high = merged.get("minSize", 0), merged.get("desiredSize", 0), merged.get("maxSize", 1)
    for key, value in requested.items():
        if value < 0:
            raise _eks_invalid(cluster, nodegroup, f"{key} must be greater than or equal to 0")
    if high < 1:
        raise _eks_invalid(cluster, nodegroup, "Maximum capacity must be greater than or equal to 1")
    if low > high:
        raise _eks_invalid(cluster, nodegroup, f"Minimum capacity {low} can't be greater than max size {high}")
    if desired > high:
        raise _eks_invalid(cluster, nodegroup, f"Desired capacity {desired} can't be greater than max size {high}")
    if low > desired:
        raise _eks_invalid(cluster, nodegroup, f"Minimum capacity {low} can't be greater than desired size {desired}")


# Whether moto itself has DescribeUpdate (the guard test fails once it does).
MOTO_HAS_EKS_DESCRIBE_UPDATE = hasattr(eks_models.EKSBackend, "describe_update")


def _fix_eks_updates() -> None:
    backend_cls = eks_models.EKSBackend
    original_update = backend_cls.update_nodegroup_config
    original_describe = backend_cls.describe_nodegroup

    def update_nodegroup_config(self: Any, cluster_name: str, nodegroup_name: str, **kwargs: Any) -> Any:
        context = _ACTIVE
        scaling = kwargs.get("scaling_config")
        if context is None or not scaling:
            return original_update(self, cluster_name, nodegroup_name, **kwargs)
        _eks_refresh(self, context)
        nodegroup = self.describe_nodegroup(cluster_name, nodegroup_name)  # ResourceNotFoundException as moto
        if any(
            u.status == "InProgress" and (u.cluster, u.nodegroup) == (cluster_name, nodegroup_name)
            for u in _eks_updates(self).values()
        ):
            raise eks_exceptions.ResourceInUseException(
                clusterName=cluster_name,
                nodegroupName=nodegroup_name,
                fargateProfileName=None,
                addonName=None,
                message=f"Nodegroup {nodegroup_name} already has an update in progress",
            )
        _validate_scaling(cluster_name, nodegroup_name, dict(nodegroup.scaling_config), dict(scaling))
        others = {k: v for k, v in kwargs.items() if k != "scaling_config"}
        if any(v for k, v in others.items() if k != "client_request_token"):
            original_update(self, cluster_name, nodegroup_name, **others)  # labels, taints ...: moto applies them
        update = _NodegroupUpdate(
            id=str(uuid.uuid4()),
            cluster=cluster_name,
            nodegroup=nodegroup_name,
            scaling=dict(scaling),
            params=[
                {"type": k, "value": str(v)}
                for k, v in (
                    ("MinSize", scaling.get("minSize")),
                    ("MaxSize", scaling.get("maxSize")),
                    ("DesiredSize", scaling.get("desiredSize")),
                )
                if v is not None
            ],
            created=context.clock.now(),
            due=context.clock.seconds() + EKS_UPDATE_SECONDS,
            failure=context.faults.job_failure(f"{cluster_name}/{nodegroup_name}"),
        )
        _eks_updates(self)[update.id] = update
        nodegroup.status = "UPDATING"
        return update.response()

    def describe_nodegroup(self: Any, cluster_name: str, nodegroup_name: str) -> Any:
        if _ACTIVE is not None:
            _eks_refresh(self, _ACTIVE)
        return original_describe(self, cluster_name, nodegroup_name)

    def describe_update(self: Any, name: str, update_id: str, nodegroup_name: str | None = None) -> dict[str, Any]:
        if _ACTIVE is not None:
            _eks_refresh(self, _ACTIVE)
        update = _eks_updates(self).get(update_id)
        if update is None or update.cluster != name or (nodegroup_name and update.nodegroup != nodegroup_name):
            raise eks_exceptions.ResourceNotFoundException(
                clusterName=name,
                nodegroupName=nodegroup_name,
                fargateProfileName=None,
                addonName=None,
                message=f"No update found for ID: {update_id}",
            )
        return update.response()

    def list_updates(self: Any, name: str, nodegroup_name: str | None = None) -> list[str]:
        return [
            u.id
            for u in _eks_updates(self).values()
            if u.cluster == name and (nodegroup_name is None or u.nodegroup == nodegroup_name)
        ]

    backend_cls.update_nodegroup_config = update_nodegroup_config
    backend_cls.describe_nodegroup = describe_nodegroup
    backend_cls.describe_update = describe_update
    backend_cls.list_updates = list_updates

    def describe_update_response(self: Any) -> Any:
        update = self.eks_backend.describe_update(
            self._get_param("name"), self._get_param("updateId"), self._get_param("nodegroupName")
        )
        return ActionResult({"update": update})

    def list_updates_response(self: Any) -> Any:
        ids = self.eks_backend.list_updates(self._get_param("name"), self._get_param("nodegroupName"))
        return ActionResult({"updateIds": ids})

    eks_responses.EKSResponse.describe_update = describe_update_response
    eks_responses.EKSResponse.list_updates = list_updates_response
    eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/updates$"] = eks_urls.response.dispatch
    eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$"] = eks_urls.response.dispatch


# --- redrive_execution -------------------------------------------------------------------------------------------
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
    status = str(getattr(execution.exec_status, "value", execution.exec_status))
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
    _status_event(execution, running=True)
    return execution._mlcp_redrive_date  # type: ignore[no-any-return]


def _fix_redrive_execution() -> None:
    from moto.stepfunctions.responses import StepFunctionResponse  # noqa: PLC0415

    def redrive_execution(self: Any) -> Any:
        if _ACTIVE is None or not isinstance(self.stepfunction_backend, parser_models.StepFunctionsParserBackend):
            raise NotImplementedError("The redrive_execution action has not been implemented")
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        return ActionResult({"redriveDate": _redrive(execution)})

    StepFunctionResponse.redrive_execution = redrive_execution

    original_describe = StepFunctionResponse.describe_execution

    def describe_execution(self: Any) -> Any:
        result = original_describe(self)
        if _ACTIVE is None:
            return result
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        status = str(getattr(execution.exec_status, "value", execution.exec_status))
        extra: dict[str, Any] = {"redriveCount": getattr(execution, "_mlcp_redrive_count", 0)}
        if getattr(execution, "_mlcp_redrive_date", None) is not None:
            extra["redriveDate"] = execution._mlcp_redrive_date
        extra["redriveStatus"] = "NOT_REDRIVABLE" if status in _NOT_REDRIVABLE else "REDRIVABLE"
        if status in _NOT_REDRIVABLE:
            extra["redriveStatusReason"] = f"Execution is {status} and cannot be redriven"
        return ActionResult({**result.result, **extra})

    StepFunctionResponse.describe_execution = describe_execution

    original_history = parser_execution.Execution.to_history_output

    def to_history_output(self: Any) -> Any:
        output = original_history(self)
        previous = getattr(self, "_mlcp_previous_events", None)
        if _ACTIVE is None or not previous:
            return output
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
            current[0]["executionRedrivenEventDetails"] = {"redriveCount": self._mlcp_redrive_count}
        return {**output, "events": previous + current}

    parser_execution.Execution.to_history_output = to_history_output


# --- cfn_rest_api_body -------------------------------------------------------------------------------------------
def _import_paths(backend: Any, api_id: str, paths: dict[str, Any]) -> None:
    """Resources and methods of an OpenAPI/Swagger ``paths`` object (ancestors first), with proxy integrations."""
    api = backend.get_rest_api(api_id)
    for path in sorted(paths):
        parent = api.get_resource_for_path("/")
        current = ""
        for part in [p for p in path.split("/") if p]:
            current += f"/{part}"
            resource = api.get_resource_for_path(current) or backend.create_resource(api_id, parent.id, part)
            parent = resource
        for method, operation in paths[path].items():
            if method.startswith("x-") or not isinstance(operation, dict):
                continue
            backend.put_method(api_id, parent.id, method.upper(), "AWS_IAM")
            integration = operation.get("x-amazon-apigateway-integration") or {}
            if integration.get("uri"):
                backend.put_integration(
                    function_id=api_id,
                    resource_id=parent.id,
                    method_type=method.upper(),
                    integration_type=str(integration.get("type", "aws_proxy")).upper(),
                    uri=str(integration["uri"]),
                    integration_method=str(integration.get("httpMethod", "POST")),
                )


def _fix_cfn_rest_api_body() -> None:
    from moto.apigateway.models import RestAPI, apigateway_backends  # noqa: PLC0415

    original = RestAPI.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        api = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        body = cloudformation_json.get("Properties", {}).get("Body")
        if _ACTIVE is not None and isinstance(body, dict) and isinstance(body.get("paths"), dict):
            _import_paths(apigateway_backends[account_id][region_name], api.id, body["paths"])
        return api

    RestAPI.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


# --- definite_json_paths ----------------------------------------------------------------------------------------
# A path without wildcards, filters, slices, unions or recursive descent is "definite": Step Functions returns the
# one value it names (``$.ComputeEnvironments[0].ComputeEnvironmentArn`` is a string). moto wraps the value in a
# list whenever an array index occurs before the last step.
_INDEFINITE = re.compile(r"\*|\.\.|\?\(|\[[^\]]*[:,][^\]]*\]")
_JSON_PATH_IMPORTERS = (
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
    "moto.stepfunctions.parser.asl.component.intrinsic.argument.argument",
    "moto.stepfunctions.parser.asl.eval.states",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.string_operators",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.numeric",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.boolean_equals",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.timestamp_operators",
)


def _definite(path: str) -> bool:
    return path.startswith("$") and _INDEFINITE.search(path) is None


def _fix_definite_json_paths() -> None:
    import importlib  # noqa: PLC0415 - only this fix needs it

    json_path = importlib.import_module("moto.stepfunctions.parser.asl.utils.json_path")
    original = getattr(json_path, "extract_json")  # noqa: B009 - ModuleType attributes are untyped for mypy

    def extract_json(path: str, data: Any) -> Any:
        value = original(path, data)
        if _ACTIVE is not None and _definite(path) and isinstance(value, list) and len(value) == 1:
            matches = jsonpath_parse(path).find(data)
            if len(matches) == 1:
                return matches[0].value
        return value

    for name in ("moto.stepfunctions.parser.asl.utils.json_path", *_JSON_PATH_IMPORTERS):
        module = importlib.import_module(name)
        if getattr(module, "extract_json", None) is original:
            setattr(module, "extract_json", extract_json)  # noqa: B010


# --- batch_compute_resize ---------------------------------------------------------------------------------------
def _fix_batch_compute_resize() -> None:
    """UpdateComputeEnvironment applies computeResources (maxvCpus, minvCpus, desiredvCpus) as AWS Batch does, with
    its validation (moto: "TODO Implement resizing", the request is accepted and ignored)."""
    from moto.batch.exceptions import ClientException  # noqa: PLC0415
    from moto.batch.models import BatchBackend  # noqa: PLC0415

    original = BatchBackend.update_compute_environment

    def update_compute_environment(
        self: Any, compute_environment_name: str, state: Any, compute_resources: Any, service_role: Any
    ) -> Any:
        result = original(self, compute_environment_name, state, compute_resources, service_role)
        if _ACTIVE is None or not compute_resources:
            return result
        environment = self.get_compute_environment(compute_environment_name)
        current = dict(environment.compute_resources or {})
        wanted = {k: int(v) for k, v in compute_resources.items() if k in ("maxvCpus", "minvCpus", "desiredvCpus")}
        merged = {**current, **wanted}
        fargate = "FARGATE" in str(current.get("type", ""))
        if fargate and ({"minvCpus", "desiredvCpus"} & set(wanted)):
            raise ClientException("minvCpus and desiredvCpus are not applicable to Fargate compute environments")
        if int(merged.get("maxvCpus", 0)) < int(merged.get("minvCpus", 0)):
            raise ClientException("maxvCpus must be greater than or equal to minvCpus")
        environment.compute_resources = merged
        return result

    BatchBackend.update_compute_environment = update_compute_environment


# --- batch_sync -------------------------------------------------------------------------------------------------
def _fix_batch_sync() -> None:
    """``batch:submitJob.sync`` polls DescribeJobs with the same back-off as the SageMaker integration (moto: a fixed
    0.5 s wall sleep per poll) and terminates the job when the execution is stopped, as Step Functions does (moto:
    the job keeps running)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_batch,
    )

    cls = state_task_service_batch.StateTaskServiceBatch
    original_build = cls._build_sync_resolver
    original_eval = cls._eval_sync

    def _build_sync_resolver(
        self: Any, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> Any:
        job_id = env.stack[-1].get("JobId") if env.stack and isinstance(env.stack[-1], dict) else None
        resolver = original_build(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        if _ACTIVE is None or job_id is None:
            return resolver
        client = boto_client_for(
            service="batch", region=resource_runtime_part.region, state_credentials=state_credentials
        )
        self._mlcp_job = (client, job_id)
        pause = _backoff(env)

        def resolve() -> Any:
            result = resolver()
            if not result:
                pause()
            return result

        return resolve

    def _eval_sync(self: Any, env: Any, sync_resolver: Callable[[], Any], *args: Any, **kwargs: Any) -> Any:
        job = getattr(self, "_mlcp_job", None)
        if _ACTIVE is None or job is None:
            return original_eval(self, env, sync_resolver, *args, **kwargs)
        client, job_id = job

        def stop_job() -> None:
            try:
                client.terminate_job(jobId=job_id, reason="Execution was stopped")
            except ClientError:
                LOG.warning("could not terminate Batch job %s after the execution stopped", job_id)

        return _poll_until_done(env, sync_resolver, stop_job)

    cls._build_sync_resolver = _build_sync_resolver
    cls._eval_sync = _eval_sync
