"""``iam_enforcement``: calls made under a template's role are authorised against that role's policies, as on AWS.

moto evaluates no IAM by default (``INITIAL_NO_AUTH_ACTION_COUNT`` is infinite), and when switched on it checks only
the action for most services (resource ``*``) and turns an Allow statement whose condition does not hold into an
explicit Deny. So offline every function could do anything, and a role the state machine may not pass or a bucket a
function may not read only failed on AWS.

With the fix, the local cloud gives each principal of the template its own credentials from moto's STS
(AssumeRole): each Lambda function gets its execution role's credentials in its environment, as the Lambda runtime
does (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime), and
(``state_machine_credentials``) every task of a state machine calls AWS with the state machine's role (moto's
interpreter passes the role to ``boto_client_for``, which signs every task as access key "ak"). A request signed
with such credentials is authorised by :func:`authorise`:

- the IAM actions and resource ARNs the operation touches (:mod:`.iam_actions`; S3 requests carry moto's own
  bucket/key ARN), and ``iam:PassRole`` on every ``RoleArn`` the request passes, with the ``iam:PassedToService``
  condition key (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html);
- against the role's inline policies (what the template's ``Policies`` and SAM policy templates become): an explicit
  Deny wins, otherwise some Allow whose Action, Resource and Condition all match is needed
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html). Matching uses moto's
  statement matcher and condition operators, case-insensitively for actions as IAM does.

A denied call is answered as the service answers it (``AccessDeniedException`` for JSON services, ``AuthorizationError``
for SNS, ``AccessDenied`` for S3 and the other query services), with AWS's message naming the principal, the action
and the resource, so handler code and ASL Retry/Catch see what they would see on AWS. Requests signed with any other
credentials (the operator's: the CLI, tests, the deploy itself) are not restricted, like an administrator's.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from moto.core import authorization
from moto.core.exceptions import HTTPException
from moto.iam import access_control
from moto.iam.access_control import IAMPolicyStatement
from moto.iam.models import iam_backends
from moto.s3.exceptions import BucketAccessDeniedError, S3AccessDeniedError
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.sts.models import sts_backends

from mlcp_cli.local.patches import core, iam_actions
from mlcp_cli.local.patches.context import active

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
# The error a service answers a denied call with: (code, HTTP status) by service; the protocol's default otherwise.
_DENIALS = {"sns": ("AuthorizationError", 403), "s3": ("AccessDenied", 403)}


@dataclass(frozen=True)
class Decision:
    """One authorisation: the request it is for, and whether the principal's policies allow it."""

    principal: str  # the assumed-role session ARN
    action: str
    resource: str
    allowed: bool


@dataclass
class RoleSessions:
    """Credentials per role (moto STS AssumeRole, one session per role) and the role behind an access key."""

    account_id: str
    region: str
    _by_role: dict[str, dict[str, str]] = field(default_factory=dict)
    _by_key: dict[str, tuple[str, str]] = field(default_factory=dict)  # access key -> (role ARN, session ARN)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    decisions: list[Decision] = field(default_factory=list)  # every authorisation made, for tests and status

    def credentials(self, role_arn: str) -> dict[str, str]:
        """``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` of the role's session."""
        with self._lock:
            known = self._by_role.get(role_arn)
            if known is not None:
                return known
            session = role_arn.rsplit("/", 1)[-1][:64]
            assumed = sts_backends[self.account_id]["aws"].assume_role(
                region_name=self.region,
                role_session_name=session,
                role_arn=role_arn,
                policy="",
                duration=43200,
                external_id="",
            )
            credentials = {
                "AWS_ACCESS_KEY_ID": assumed.access_key_id,
                "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
                "AWS_SESSION_TOKEN": assumed.session_token,
            }
            self._by_role[role_arn] = credentials
            self._by_key[assumed.access_key_id] = (role_arn, assumed.arn)
            return credentials

    def principal(self, access_key_id: str) -> tuple[str, str] | None:
        """(role ARN, session ARN) of a key this registry issued; None for anybody else's."""
        return self._by_key.get(access_key_id)


def role_policies(account_id: str, role_arn: str) -> list[dict[str, Any]]:
    """The role's inline policy documents (moto keeps CloudFormation's as dicts and the API's as JSON strings)."""
    backend = iam_backends[account_id]["aws"]
    role = backend.get_role_by_arn(role_arn)
    documents = [json.loads(p) if isinstance(p, str) else p for p in role.policies.values()]
    for policy in role.managed_policies.values():
        version = next(v for v in policy.versions if v.is_default)
        document = version.document
        documents.append(json.loads(document) if isinstance(document, str) else document)
    return documents


def caller_policies(
    account_id: str, access_key_id: str, headers: dict[str, str]
) -> tuple[str, list[dict[str, Any]]] | None:
    """(ARN, identity-policy documents) of the IAM user or assumed-role session moto issued ``access_key_id`` to:
    the user's inline, attached and group policies, or the role's; None for a key moto did not issue (the
    operator's own credentials, an unsigned request). moto's own lookup (``moto.iam.access_control``) does it."""
    try:
        key = access_control.create_access_key(account_id, "aws", access_key_id, headers)
    except access_control.CreateAccessKeyFailure:
        return None
    return key.arn, [access_control.IAMPolicy(policy)._policy_json for policy in key.collect_policies()]


def _statements(documents: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for document in documents:
        statements = document.get("Statement", [])
        yield from statements if isinstance(statements, list) else [statements]


def _lower(statement: dict[str, Any]) -> dict[str, Any]:
    """The statement with its actions lower-cased: IAM matches action names case-insensitively."""
    lowered = dict(statement)
    for key in ("Action", "NotAction"):
        if key in lowered:
            value = lowered[key]
            lowered[key] = [v.lower() for v in value] if isinstance(value, list) else str(value).lower()
    return lowered


def _matches(statement: dict[str, Any], request: iam_actions.Requested) -> bool:
    """Action, Resource (or NotResource) and Condition of one identity-policy statement all match the request."""
    matcher = IAMPolicyStatement(_lower(statement))
    action = request.action.lower()
    if "NotAction" in statement:
        if matcher._check_element_matches("NotAction", action):
            return False
    elif not matcher._check_element_matches("Action", action):
        return False
    if "NotResource" in statement:
        if matcher._check_element_matches("NotResource", request.resource):
            return False
    elif not matcher._check_element_matches("Resource", request.resource):
        return False
    return bool(matcher._check_conditions(dict(request.conditions)))


def allowed(documents: list[dict[str, Any]], request: iam_actions.Requested) -> bool:
    """IAM's evaluation of identity policies: an explicit Deny wins; else some Allow must match."""
    statements = [s for s in _statements(documents) if _matches(s, request)]
    if any(s.get("Effect") == "Deny" for s in statements):
        return False
    return any(s.get("Effect") == "Allow" for s in statements)


class _AccessDenied(HTTPException):  # type: ignore[misc]  # werkzeug's, untyped here
    """A denial in the service's protocol (JSON ``__type`` or query ``<ErrorResponse>``), for moto's call_action."""

    def __init__(self, service: str, message: str) -> None:
        super().__init__()
        default = ("AccessDenied", 403) if core.protocol(service) == "query" else ("AccessDeniedException", 400)
        error, self.code = _DENIALS.get(service, default)
        self._headers, self.description = core.error_response(service, error, message)

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:  # noqa: ARG002 - werkzeug's signature
        return list(self._headers.items())


def denial_message(principal: str, request: iam_actions.Requested) -> str:
    """AWS's wording of an implicit deny."""
    return (
        f"User: {principal} is not authorized to perform: {request.action} on resource: {request.resource} "
        f"because no identity-based policy allows the {request.action} action"
    )


def authorise(sessions: RoleSessions, access_key_id: str, requested: list[iam_actions.Requested]) -> str | None:
    """The denial message for the first request the key's role may not make; None when all are allowed (or the
    key is not one of the template's principals)."""
    principal = sessions.principal(access_key_id)
    if principal is None:
        return None
    role_arn, session_arn = principal
    documents = role_policies(sessions.account_id, role_arn)
    for request in requested:
        ok = allowed(documents, request)
        sessions.decisions.append(Decision(session_arn, request.action, request.resource, ok))
        if not ok:
            return denial_message(session_arn, request)
    return None


def _access_key(headers: Any) -> str:
    match = _CREDENTIAL.search(str(headers.get("Authorization") or ""))
    return match.group(1) if match else ""


def install_authorisation() -> None:
    mixin = authorization.ActionAuthenticatorMixin
    original = mixin._authenticate_and_authorize_action

    def _authenticate_and_authorize_action(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        context = active()
        sessions = context.iam if context is not None else None
        if sessions is None:
            original(self, iam_request_cls, resource)
            return
        key = _access_key(self.headers)
        if sessions.principal(key) is None:
            return  # the operator's own call: not restricted
        requested = iam_actions.requested(self, resource)
        message = authorise(sessions, key, requested)
        if message is None:
            return
        service = str(getattr(self, "boto3_service_name", self.service_name))
        if service == "s3":
            bucket = getattr(self, "bucket_name", None)
            raise BucketAccessDeniedError(bucket=bucket) if bucket else S3AccessDeniedError()
        raise _AccessDenied(service, message)

    mixin._authenticate_and_authorize_action = _authenticate_and_authorize_action


def install_state_machine_credentials() -> None:
    """Tasks call AWS with the state machine's role (moto: every task signs as access key "ak")."""
    original = boto_client.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        context = active()
        role_arn = getattr(state_credentials, "role_arn", None)
        if context is None or context.iam is None or not role_arn:
            return original(region, service, state_credentials)
        credentials = context.iam.credentials(role_arn)
        return boto3.client(  # type: ignore[call-overload]
            service,
            region_name=region,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
            config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1}),
        )

    boto_client.boto_client_for = boto_client_for
    # moto's task modules import the function by name: rebind it where they hold it.
    import sys  # noqa: PLC0415

    for name, module in list(sys.modules.items()):
        if (
            name.startswith(("moto.stepfunctions", "mlcp_cli.local"))
            and getattr(module, "boto_client_for", None) is original
        ):
            module.boto_client_for = boto_client_for  # type: ignore[attr-defined]
