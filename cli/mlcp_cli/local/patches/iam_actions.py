"""What a request asks IAM for: its actions, the resource ARNs it touches, and the roles it passes.

IAM authorises ``<service prefix>:<Action>`` on a resource ARN (the Service Authorization Reference lists, per
service, the actions, their resource types and condition keys:
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
moto knows S3's bucket and key ARN; for the other services mlcp uses, :data:`RESOURCES` builds the ARN from the
request's members, for the operations whose resource type the reference names. Any other operation is checked on
its action with resource ``*`` (what moto's own IAM check does), which a statement scoped to an ARN does not match:
such a statement would be reported as a denial, so a gap here shows as a failing test, never as a silent allow.

Every ``RoleArn`` member of a request (at any depth: SageMaker's tuning job definition nests it) is also an
``iam:PassRole`` on that role with ``iam:PassedToService`` set to the service's principal
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import UnknownServiceError
from botocore.model import OperationNotFoundError
from botocore.session import get_session


@dataclass(frozen=True)
class Requested:
    """One IAM authorisation a request needs."""

    action: str  # e.g. "dynamodb:PutItem"
    resource: str  # an ARN, or "*"
    conditions: tuple[tuple[str, str], ...] = ()  # request context keys, e.g. (("iam:PassedToService", "..."),)


# IAM's service prefix where it is not botocore's service name.
_PREFIX = {"stepfunctions": "states"}
# IAM actions whose name is not the API operation's.
_ACTIONS = {("lambda", "Invoke"): "InvokeFunction", ("lambda", "InvokeAsync"): "InvokeFunction"}
# Service principals, for iam:PassedToService.
_PRINCIPALS = {"stepfunctions": "states.amazonaws.com", "lambda": "lambda.amazonaws.com"}

Builder = Callable[[dict[str, Any], str, str], list[str]]


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _name_or_arn(value: Any, service: str, region: str, account: str, kind: str) -> str:
    text = str(value or "")
    return text if text.startswith("arn:") else _arn(service, region, account, f"{kind}{text}")


def _table(p: dict[str, Any], region: str, account: str) -> list[str]:
    return [_name_or_arn(p.get("TableName"), "dynamodb", region, account, "table/")]


def _tables(p: dict[str, Any], region: str, account: str) -> list[str]:
    names = list((p.get("RequestItems") or {}).keys())
    for item in p.get("TransactItems") or []:
        names += [op.get("TableName") for op in item.values() if isinstance(op, dict) and op.get("TableName")]
    return [_name_or_arn(n, "dynamodb", region, account, "table/") for n in dict.fromkeys(names)]


def _index_or_table(p: dict[str, Any], region: str, account: str) -> list[str]:
    (table,) = _table(p, region, account)
    return [f"{table}/index/{p['IndexName']}" if p.get("IndexName") else table]


def _member(member: str, service: str, kind: str) -> Builder:
    def build(p: dict[str, Any], region: str, account: str) -> list[str]:
        return [_name_or_arn(p.get(member), service, region, account, kind)]

    return build


def _sagemaker(member: str, kind: str) -> Builder:
    # SageMaker resource ARNs carry the name in lower case (as DescribeTrainingJob's TrainingJobArn shows).
    def build(p: dict[str, Any], region: str, account: str) -> list[str]:
        return [_arn("sagemaker", region, account, f"{kind}/{str(p.get(member, '')).lower()}")]

    return build


def _function(p: dict[str, Any], region: str, account: str) -> list[str]:
    name = str(p.get("FunctionName", ""))
    return [name if name.startswith("arn:") else _arn("lambda", region, account, f"function:{name}")]


def _execution(p: dict[str, Any], region: str, account: str) -> list[str]:  # noqa: ARG001 - a Builder
    return [str(p.get("executionArn", "*"))]


def _submit_job(p: dict[str, Any], region: str, account: str) -> list[str]:
    definition = str(p.get("jobDefinition", ""))
    if not definition.startswith("arn:"):
        definition = _arn("batch", region, account, f"job-definition/{definition}")
    if definition.count(":") == 5:  # no revision: IAM's resource is the definition with any revision
        definition += ":*"
    return [definition, _name_or_arn(p.get("jobQueue"), "batch", region, account, "job-queue/")]


def _nodegroup(p: dict[str, Any], region: str, account: str) -> list[str]:
    from moto.eks.models import eks_backends  # noqa: PLC0415 - the node group's ARN ends in its id

    cluster, name = str(p.get("name", "")), str(p.get("nodegroupName", ""))
    try:
        return [eks_backends[account][region].clusters[cluster].nodegroups[name].arn]
    except KeyError:
        return [_arn("eks", region, account, f"nodegroup/{cluster}/{name}/*")]


def _update(p: dict[str, Any], region: str, account: str) -> list[str]:
    """DescribeUpdate: the cluster (required resource type) and the node group it names, if any."""
    cluster = _arn("eks", region, account, f"cluster/{p.get('name', '')}")
    return [cluster, *(_nodegroup(p, region, account) if p.get("nodegroupName") else [])]


def _alarms(p: dict[str, Any], region: str, account: str) -> list[str]:
    names = [v for k, v in p.items() if k == "AlarmNames" or k.startswith("AlarmNames.member.")]
    flat = [n for v in names for n in (v if isinstance(v, list) else [v])]
    return [_arn("cloudwatch", region, account, f"alarm:{n}") for n in flat] or ["*"]


RESOURCES: dict[tuple[str, str], Builder] = {
    **{("dynamodb", op): _table for op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable")},
    **{("dynamodb", op): _index_or_table for op in ("Query", "Scan")},
    **{
        ("dynamodb", op): _tables for op in ("BatchGetItem", "BatchWriteItem", "TransactWriteItems", "TransactGetItems")
    },
    ("sns", "Publish"): _member("TopicArn", "sns", ""),
    ("sqs", "SendMessage"): lambda p, r, a: [f"arn:aws:sqs:{r}:{a}:{str(p.get('QueueUrl', '')).rsplit('/', 1)[-1]}"],
    ("stepfunctions", "StartExecution"): _member("stateMachineArn", "states", "stateMachine:"),
    ("stepfunctions", "ListExecutions"): _member("stateMachineArn", "states", "stateMachine:"),
    ("stepfunctions", "DescribeExecution"): _execution,
    ("stepfunctions", "StopExecution"): _execution,
    ("stepfunctions", "RedriveExecution"): _execution,
    ("stepfunctions", "GetExecutionHistory"): _execution,
    ("sagemaker", "CreateTrainingJob"): _sagemaker("TrainingJobName", "training-job"),
    ("sagemaker", "DescribeTrainingJob"): _sagemaker("TrainingJobName", "training-job"),
    ("sagemaker", "StopTrainingJob"): _sagemaker("TrainingJobName", "training-job"),
    ("sagemaker", "CreateProcessingJob"): _sagemaker("ProcessingJobName", "processing-job"),
    ("sagemaker", "DescribeProcessingJob"): _sagemaker("ProcessingJobName", "processing-job"),
    ("sagemaker", "StopProcessingJob"): _sagemaker("ProcessingJobName", "processing-job"),
    ("sagemaker", "CreateHyperParameterTuningJob"): _sagemaker(
        "HyperParameterTuningJobName", "hyper-parameter-tuning-job"
    ),
    ("sagemaker", "DescribeHyperParameterTuningJob"): _sagemaker(
        "HyperParameterTuningJobName", "hyper-parameter-tuning-job"
    ),
    # The Service Authorization Reference lists it on the hyper-parameter-tuning-job resource type (cost, report).
    ("sagemaker", "ListTrainingJobsForHyperParameterTuningJob"): _sagemaker(
        "HyperParameterTuningJobName", "hyper-parameter-tuning-job"
    ),
    ("sagemaker", "StopHyperParameterTuningJob"): _sagemaker(
        "HyperParameterTuningJobName", "hyper-parameter-tuning-job"
    ),
    ("sagemaker", "CreateCompilationJob"): _sagemaker("CompilationJobName", "compilation-job"),
    ("sagemaker", "DescribeCompilationJob"): _sagemaker("CompilationJobName", "compilation-job"),
    ("sagemaker", "CreateModelPackage"): _sagemaker("ModelPackageGroupName", "model-package"),
    ("sagemaker", "CreateModelPackageGroup"): _sagemaker("ModelPackageGroupName", "model-package-group"),
    ("sagemaker", "DescribeModelPackageGroup"): _sagemaker("ModelPackageGroupName", "model-package-group"),
    ("sagemaker", "AddTags"): _member("ResourceArn", "sagemaker", ""),
    ("lambda", "Invoke"): _function,
    ("batch", "SubmitJob"): _submit_job,
    ("batch", "UpdateComputeEnvironment"): _member("computeEnvironment", "batch", "compute-environment/"),
    ("eks", "UpdateNodegroupConfig"): _nodegroup,
    ("eks", "DescribeNodegroup"): _nodegroup,
    ("eks", "DescribeUpdate"): _update,
    ("cloudwatch", "DescribeAlarms"): _alarms,
}


@cache
def _request_uri(service: str, operation: str) -> tuple[tuple[str, ...], re.Pattern[str] | None]:
    """The path members of a REST operation and a pattern that captures them (botocore's ``requestUri``)."""
    try:
        model = _session().get_service_model(service).operation_model(operation)
    except (UnknownServiceError, OperationNotFoundError):
        return (), None
    template = str(model.http.get("requestUri", "")).split("?", 1)[0]
    names = tuple(re.findall(r"{([^}+]+)\+?}", template))
    if not names:
        return (), None
    pattern = "".join(
        "([^/]+)" if part.startswith("{") else re.escape(part) for part in re.split(r"({[^}]+})", template)
    )
    return names, re.compile(pattern)


@cache
def _session() -> Any:
    return get_session()


@cache
def operation_name(service: str, action: str) -> str:
    """The API operation's own name for what moto calls the action (moto's Batch says "submitjob")."""
    try:
        names = _session().get_service_model(service).operation_names
    except UnknownServiceError:
        return action
    return next((name for name in names if name.lower() == action.lower()), action)


def _request_uri_members(service: str, operation: str, path: str) -> dict[str, str]:
    """Members carried in a REST request's path (botocore's ``requestUri`` template, e.g. ``{FunctionName}``)."""
    names, pattern = _request_uri(service, operation)
    match = pattern.fullmatch(path.split("?", 1)[0]) if pattern is not None else None
    return {n: unquote(v) for n, v in zip(names, match.groups(), strict=True)} if match else {}


def parameters(response: Any, service: str, operation: str) -> dict[str, Any]:
    """The request's members: JSON body, query-protocol form members, and REST path members."""
    members: dict[str, Any] = {}
    body = response.body
    decoded: Any = body
    if isinstance(body, str | bytes) and body:
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None
    if isinstance(decoded, dict):
        members.update(decoded)
    querystring = getattr(response, "querystring", None) or {}
    for key, values in querystring.items():
        members.setdefault(key, values[0] if isinstance(values, list) and len(values) == 1 else values)
    members.update(_request_uri_members(service, operation, str(getattr(response, "path", "") or "")))
    return members


def _role_arns(value: Any) -> Iterator[str]:
    """Every ``RoleArn`` member, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "RoleArn" and isinstance(item, str):
                yield item
            else:
                yield from _role_arns(item)
    elif isinstance(value, list):
        for item in value:
            yield from _role_arns(item)


def requested(response: Any, s3_resource: str = "*") -> list[Requested]:
    """The authorisations moto's request (a ``BaseResponse``) needs, in the order IAM would be asked."""
    service = str(getattr(response, "boto3_service_name", response.service_name))  # moto: "awslambda" for Lambda
    operation = operation_name(service, str(response._get_action()))
    prefix = _PREFIX.get(service, service)
    action = f"{prefix}:{_ACTIONS.get((service, operation), operation)}"
    if service == "s3":
        return [Requested(action, s3_resource)]
    region, account = str(response.region), str(response.current_account)
    members = parameters(response, service, operation)
    builder = RESOURCES.get((service, operation))
    resources = builder(members, region, account) if builder is not None else ["*"]
    needed = [Requested(action, resource) for resource in resources]
    passed_to = _PRINCIPALS.get(service, f"{prefix}.amazonaws.com")
    needed += [
        Requested("iam:PassRole", role, (("iam:PassedToService", passed_to),))
        for role in dict.fromkeys(_role_arns(members))
    ]
    return needed
