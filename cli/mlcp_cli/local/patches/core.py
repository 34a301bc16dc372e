"""``api_faults``: any JSON API call can be answered with an injected error (throttling, ServiceException).

This patches moto's ``BaseResponse.call_action``, the entry of every service's request handling, so it is not one
service's fix: while a local cloud is active and has API faults (:class:`~mlcp_cli.local.faults.Faults`), a call whose
service, operation and main resource name (the first of a few name keys in its JSON body) match a fault is answered
with the fault's status and a JSON error body instead of running. Lambda's Invoke is left to ``lambda_invoke``
(:mod:`.awslambda`), which knows the function's name. Query-protocol services (SNS, IAM, STS, CloudFormation) expect
XML errors: a known gap, guarded by an xfail test.
"""

from __future__ import annotations

import json
from typing import Any

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


def install() -> None:
    original = BaseResponse.call_action

    def call_action(self: Any) -> Any:
        context = active()
        if context is None or not context.faults.api or self.service_name == "lambda":
            return original(self)  # Lambda's Invoke faults are injected in lambda_invoke, with the function name
        action = self._get_action()
        fault = context.faults.api_fault(self.service_name, action, _target(self.body))
        if fault is not None:
            return (
                fault.status,
                {"content-type": "application/x-amz-json-1.1"},
                json.dumps({"__type": fault.code, "message": fault.message}),
            )
        return original(self)

    BaseResponse.call_action = call_action
