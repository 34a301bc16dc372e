"""``lambda_invoke``: Invoke runs the real handler in-process (moto: Docker or an echo); ``Event`` invocations are
asynchronous with the function's retry attempts and on-failure destination.

moto runs a function in a Docker container when a daemon is reachable and otherwise answers with an error payload,
so the product's handlers would never run. With the fix ``LambdaFunction.invoke`` hands the event to the local
cloud's :class:`~mlcp_cli.local.runtime.LambdaRuntime` (the registered code directory, the function's environment
and timeout); ``Event`` invocations run on the dispatcher with Lambda's retries (2 by default, about a minute then
two apart, on the simulated clock) and the on-failure destination record. Injected ``lambda``/``Invoke`` API
faults are raised here, with the function's name as their target.

``layer_version_ref``: ``Ref`` of an ``AWS::Lambda::LayerVersion`` is its version ARN
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-layerversion.html).
moto's CloudFormation returns the model object for a resource without ``physical_resource_id``, so a layer ARN
passed anywhere but a function's ``Layers`` (e.g. the batch worker job definition's environment) is an object that
breaks JSON serialisation. The fix gives LayerVersion a ``physical_resource_id``: its ARN.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from moto.awslambda.models import LambdaFunction, LayerVersion
from moto.core.exceptions import JsonRESTError

from mlcp_cli.local.patches.common import send_to_queue
from mlcp_cli.local.patches.context import LocalContext, active
from mlcp_cli.local.runtime import FunctionConfig, Invocation

LOG = logging.getLogger(__name__)

# Lambda's asynchronous invocation: 2 retries by default, the first after about a minute, the second after two.
_ASYNC_RETRY_DELAYS = (60.0, 120.0)


def _function_config(function: Any) -> FunctionConfig:
    logging_config = getattr(function, "logging_config", None) or {}
    return FunctionConfig(
        name=function.function_name,
        arn=function.function_arn,
        handler=function.handler,
        role=str(function.role or ""),
        environment={k: str(v) for k, v in (function.environment_vars or {}).items()},
        timeout=int(function.timeout),
        memory_size=int(function.memory_size),
        log_group=logging_config.get("LogGroup") or f"/aws/lambda/{function.function_name}",
    )


def _failure_record(
    context: LocalContext, fn: FunctionConfig, event: Any, invocation: Invocation, attempts: int
) -> dict[str, Any]:
    """What Lambda sends to the on-failure destination once the retries are exhausted."""
    return {
        "version": "1.0",
        "timestamp": context.clock.now().isoformat(),
        "requestContext": {
            "requestId": invocation.request_id,
            "functionArn": f"{fn.arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": invocation.payload,
    }


def invoke_async(function: Any, event: Any) -> None:
    """Lambda's asynchronous invocation: queued, retried on function errors, then the on-failure destination."""
    context = active()
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
            send_to_queue(destination, _failure_record(context, fn, event, invocation, retries + 1), {})

    context.dispatcher.submit(run)


def install() -> None:
    original = LambdaFunction.invoke

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        context = active()
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
            invoke_async(self, event)
            return b""
        if invocation_type == "DryRun":
            return b""
        invocation = context.runtime.invoke(_function_config(self), event)
        if invocation.function_error:
            response_headers["x-amz-function-error"] = invocation.function_error
        return json.dumps(invocation.payload).encode()

    LambdaFunction.invoke = invoke


def install_layer_version_ref() -> None:
    def physical_resource_id(self: Any) -> str:
        if active() is None:  # plain moto: no such attribute, so Ref returns the object
            raise AttributeError("physical_resource_id")
        return str(self.arn)

    LayerVersion.physical_resource_id = property(physical_resource_id)
