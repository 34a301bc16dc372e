"""``api_faults``: any API call can be answered with an injected error (throttling, ServiceException).

This patches moto's ``BaseResponse.call_action``, the entry of every service's request handling, so it is not one
service's fix: while a local cloud is active and has API faults (:class:`~mlcp_cli.local.faults.Faults`), a call whose
service, operation and main resource name (the first of a few name keys in its request) match a fault is answered
with the fault's status and an error body instead of running. The body has the form of the service's protocol, as
botocore's service model names it: JSON (``__type``) for the JSON and REST-JSON protocols, ``<ErrorResponse>`` XML for
the query protocol (SNS, IAM, STS, CloudFormation, CloudWatch)
(https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#operation-error-serialization). Lambda's Invoke is left
to ``lambda_invoke`` (:mod:`.awslambda`), which knows the function's name. moto's S3 does not dispatch through
``call_action``, so S3 calls take no API faults.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import botocore.session
from botocore.exceptions import UnknownServiceError
from moto.core.responses import BaseResponse

from mlcp_cli.local.patches.context import active

# Request members naming the call's main resource (the fault's ``target`` glob is matched against the first found).
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


def _target(raw_body: Any) -> str:
    """The main resource name of a JSON request ("" when there is none)."""
    try:
        body = json.loads(raw_body) if raw_body else {}
    except (TypeError, ValueError):
        body = {}
    if not isinstance(body, dict):
        return ""
    return next((str(body[k]) for k in _NAME_KEYS if k in body), "")


@cache
def protocol(service: str) -> str:
    """The wire protocol of a service ("json", "rest-json", "query", ...) from botocore's model."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        return "json"
    return str(model.metadata["protocol"])


def error_response(service: str, code: str, message: str) -> tuple[dict[str, str], str]:
    """Headers and body of an AWS error in the service's protocol."""
    kind = protocol(service)
    if kind == "query":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            "</Error><RequestId>local-fault</RequestId></ErrorResponse>"
        )
        return {"content-type": "text/xml"}, body
    return {"content-type": "application/x-amz-json-1.1", "x-amzn-errortype": code}, json.dumps(
        {"__type": code, "message": message}
    )


def _query_target(querystring: Any) -> str:
    """The main resource name of a query-protocol request (form-encoded members) ("" when there is none)."""
    if not isinstance(querystring, dict):
        return ""
    return next((str(querystring[k][0]) for k in _NAME_KEYS if querystring.get(k)), "")


def install() -> None:
    original = BaseResponse.call_action

    def call_action(self: Any) -> Any:
        context = active()
        if context is None or not context.faults.api or self.service_name == "lambda":
            return original(self)  # Lambda's Invoke faults are injected in lambda_invoke, with the function name
        action = self._get_action()
        target = _target(self.body) or _query_target(getattr(self, "querystring", None))
        fault = context.faults.api_fault(self.service_name, action, target)
        if fault is not None:
            headers, body = error_response(self.service_name, fault.code, fault.message)
            return fault.status, headers, body
        return original(self)

    BaseResponse.call_action = call_action
