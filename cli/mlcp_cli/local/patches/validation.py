"""``request_validation``: requests of the template's functions and state machines meet AWS's request rules.

botocore checks a request's required members, types and minimums before sending it; the maxima, enums and
patterns are the service's to enforce, and moto enforces few of them (a 64-character training job name, a lower-case
Batch job name, an environment variable name with a dash all pass offline). moto's Step Functions interpreter even
calls boto3 with ``parameter_validation=False``.

With the fix, while a local cloud with IAM enforcement runs, every call signed by a template principal (a function's
role or a state machine's, see :mod:`.iam`) is checked, before it is sent, against the operation's input shape in
botocore's service model by the same checker as mlcp's preflight (:class:`mlcp.aws.service_models.ServiceModels`:
required and unknown members, types, enums, lengths, values, list and map sizes, patterns). A request the model
refuses fails as the service fails it: a ``ClientError`` with the service's validation error code
(``ValidationException``; Batch ``ClientException``; EKS ``InvalidParameterException``; SNS ``InvalidParameter``) and
a message in AWS's words ("1 validation error detected: Value at 'trainingJobName' failed to satisfy constraint:
..."), which a state machine sees as ``<Service>.<Code>`` through the same Retry/Catch paths as on AWS. The
operator's own calls (CLI, tests, the deploy) are not checked here (botocore's own validation applies to them).
"""

from __future__ import annotations

from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from mlcp.aws.service_models import ServiceModels
from mlcp.common.ports import RequestProblem
from mlcp_cli.local.patches.context import active

# The error code each service answers a request its model refuses with (the protocol's default otherwise).
_CODES = {
    "batch": ("ClientException", 400),
    "eks": ("InvalidParameterException", 400),
    "sns": ("InvalidParameter", 400),
    "s3": ("InvalidArgument", 400),
    "lambda": ("InvalidParameterValueException", 400),
}
_CHECKER = ServiceModels()


def _member_path(problem: RequestProblem) -> str:
    """AWS's spelling of a member's path in validation messages: camelCase member names, dots, 1-based list
    indexes; a map key the problem is about stays as it is."""
    parts: list[str] = []
    last = len(problem.path) - 1
    for i, part in enumerate(problem.path):
        if isinstance(part, int):
            parts.append(str(part + 1))
        elif problem.key and i == last:
            parts.append(part)
        else:
            parts.append(part[:1].lower() + part[1:])
    return ".".join(parts)


def validation_message(problems: list[RequestProblem]) -> str:
    count = len(problems)
    details = "; ".join(f"Value at '{_member_path(p)}' failed to satisfy constraint: {p.message}" for p in problems)
    return f"{count} validation error{'s' if count > 1 else ''} detected: {details}"


def _signed_by_template(client: Any) -> bool:
    context = active()
    if context is None or context.iam is None:
        return False
    credentials = getattr(getattr(client, "_request_signer", None), "_credentials", None)
    key = getattr(credentials, "access_key", None)
    return bool(key) and context.iam.principal(str(key)) is not None


def install() -> None:
    original = BaseClient._make_api_call  # type: ignore[attr-defined]  # botocore's private entry of every call

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if _signed_by_template(self):
            service = self.meta.service_model.service_name
            problems = _CHECKER.check(service, operation_name, api_params)
            if problems:
                code, status = _CODES.get(service, ("ValidationException", 400))
                response: Any = {
                    "Error": {"Code": code, "Message": validation_message(problems)},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                }
                raise ClientError(response, operation_name)
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = _make_api_call  # type: ignore[attr-defined]
