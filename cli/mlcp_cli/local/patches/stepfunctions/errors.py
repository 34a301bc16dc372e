"""Error names as Step Functions gives them to Retry, Catch and Fail states.

- ``sdk_error_names``: aws-sdk and Lambda task errors named as AWS names them (``SageMaker.ThrottlingException``,
  ``Lambda.ServiceException``; moto: ``sagemaker.sagemakerException`` and ``Exception``), so the state machines'
  Retry and Catch clauses match locally as they do on AWS.
- ``fail_error_names``: a Fail state may re-raise a caught ``States.*`` error through ErrorPath, as AWS allows
  (moto: "Custom Error Names MUST NOT begin with the prefix 'States.'" and the execution ends States.Runtime).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_aws_sdk
from moto.stepfunctions.parser.asl.component.state.fail import state_fail
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from mlcp_cli.local.patches.context import active

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


def client_error_event(task: Any, env: Any, service: str, ex: ClientError) -> FailureEvent:
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


def _lambda_error_event(env: Any, ex: ClientError) -> FailureEvent:
    """``Lambda.<ErrorCode>`` (``Lambda.AWSLambdaException`` for codes without the Exception suffix)."""
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


def install_sdk_error_names() -> None:
    sdk = state_task_service_aws_sdk.StateTaskServiceAwsSdk
    original_sdk = sdk._from_error

    def sdk_from_error(self: Any, env: Any, ex: Exception) -> FailureEvent:
        if active() is not None and isinstance(ex, ClientError):
            service = _SDK_SERVICE_NAMES.get(self.resource.api_name.lower(), self.resource.api_name)
            return client_error_event(self, env, service, ex)
        result: FailureEvent = original_sdk(self, env, ex)
        return result

    sdk._from_error = sdk_from_error

    lam = state_task_lambda.StateTaskLambda
    original_lambda = lam._from_error

    def lambda_from_error(self: Any, env: Any, ex: Exception) -> FailureEvent:
        if active() is not None and isinstance(ex, ClientError):
            return _lambda_error_event(env, ex)
        result: FailureEvent = original_lambda(self, env, ex)
        return result

    lam._from_error = lambda_from_error


def install_fail_error_names() -> None:
    strict = state_fail.CustomErrorName

    def fail_error_name(error_name: str | None) -> Any:
        if active() is None:
            return strict(error_name)
        return ErrorName(error_name=error_name)

    state_fail.CustomErrorName = fail_error_name
