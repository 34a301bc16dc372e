"""Deploy template.yaml into moto the way `sam deploy` deploys it into AWS.

1. Package: every local ``CodeUri`` / ``ContentUri`` is zipped into a deployment bucket and rewritten to ``s3://``;
   ``DefinitionUri`` files are inlined as ``Definition`` (samtranslator rejects local paths).
2. Transform: samtranslator turns the SAM template into plain CloudFormation (the same transform AWS runs).
3. Create the CloudFormation stack in moto (with the moto fixes active, state machines get their
   DefinitionSubstitutions and land in the executing backend).
4. Post-deploy steps for what moto's CloudFormation does not create: S3 EventBridge notifications, Lambda event
   invoke configs, EventBridge Scheduler schedules. Everything else moto lacks is listed by ``emulation_notes``.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlcp_cli.local.runtime import LambdaRuntime

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "template.yaml"
DEPLOY_BUCKET = "mlcp-local-deployments"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML: short-form intrinsics (!Ref, !Sub, ...) become {"Fn::X": ...} dicts."""


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as data, intrinsics in their long form."""
    data: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    return data


# Resource types moto's CloudFormation skips, with how the local cloud stands in for them.
EMULATED: dict[str, str] = {
    "AWS::S3::BucketPolicy": "not enforced: moto does not evaluate bucket policies (TLS-only has no meaning locally)",
    "AWS::SQS::QueuePolicy": "not enforced: the local cloud's EventBridge and Lambda deliver to the queue directly",
    "AWS::Lambda::EventInvokeConfig": "applied after the stack with PutFunctionEventInvokeConfig; the local Lambda "
    "runtime honours MaximumRetryAttempts and the OnFailure destination",
    "AWS::Scheduler::Schedule": "created after the stack with the Scheduler API; fired by `mlcp local fire-schedule` "
    "or the local timer (moto never fires schedules)",
    "AWS::Lambda::LayerVersion": "published to moto; handlers import the layer's mlcp package from this checkout",
    "AWS::IAM::Role": "created and enforced: every call of a function or state machine runs under its role and is "
    "authorised against the role's inline policies (actions, resource ARNs, iam:PassRole with iam:PassedToService); "
    "AWS managed policies are not loaded (only service roles use them)",
    "AWS::CloudWatch::Dashboard": "created; no metrics render locally (EMF lines go to the function log group)",
    "AWS::Logs::LogGroup": "created; the local Lambda runtime writes each invocation's log to its log group",
    "AWS::Lambda::Permission": "created, not enforced",
    "AWS::SNS::Subscription": "created; e-mail endpoints receive nothing locally",
    "AWS::ApiGateway::Deployment": "the REST API's routes are served by the local API on 127.0.0.1 "
    "(`mlcp local serve`, --api-port) as API Gateway proxy events; moto's CloudFormation does not deploy stages",
    "AWS::ApiGateway::Stage": "served by the local API on 127.0.0.1 (`mlcp local serve`); throttling, access logs "
    "and SigV4 verification are API Gateway's and not emulated",
    "AWS::ApiGateway::Account": "account-level CloudWatch role of API Gateway: nothing to do locally",
}


@dataclass
class Deployment:
    stack_name: str
    template: dict[str, Any]  # the transformed CloudFormation template
    physical: dict[str, str]  # logical id -> physical id
    types: dict[str, str]  # logical id -> resource type
    outputs: dict[str, str]
    parameters: dict[str, str]
    code_dirs: dict[str, Path] = field(default_factory=dict)  # logical id -> local code directory
    post_deploy: list[str] = field(default_factory=list)  # what was done after the stack, in order

    def resource(self, logical_id: str) -> str:
        return self.physical[logical_id]

    def status_rows(self) -> list[tuple[str, str, str, str]]:
        """(logical id, type, status, note) for every resource of the transformed template."""
        rows = []
        for logical_id, resource_type in sorted(self.types.items()):
            physical = self.physical.get(logical_id)
            condition = self.template["Resources"][logical_id].get("Condition")
            if physical is None and condition is not None and not _condition_holds(self, condition):
                continue  # not part of the stack, as CloudFormation lists it
            note = EMULATED.get(resource_type, "")
            if physical is None and resource_type not in EMULATED:
                note = "not created: moto's CloudFormation does not support this type"
            status = "CREATE_COMPLETE" if physical else "EMULATED"
            rows.append((logical_id, resource_type, status, note))
        return rows


def _zip_dir(path: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                archive.write(file, file.relative_to(path))
    return buffer.getvalue()


def package(template: dict[str, Any], s3: Any, root: Path = ROOT) -> tuple[dict[str, Any], dict[str, Path]]:
    """Zip local code into the deployment bucket, inline state machine definitions. Returns (template, code dirs)."""
    s3.create_bucket(Bucket=DEPLOY_BUCKET)
    code_dirs: dict[str, Path] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            uri = properties.get(key)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                directory = (root / uri).resolve()
                s3.put_object(Bucket=DEPLOY_BUCKET, Key=f"{logical_id}.zip", Body=_zip_dir(directory))
                properties[key] = f"s3://{DEPLOY_BUCKET}/{logical_id}.zip"
                code_dirs[logical_id] = directory
        definition_uri = properties.pop("DefinitionUri", None)
        if isinstance(definition_uri, str):
            properties["Definition"] = json.loads((root / definition_uri).read_text())
    return template, code_dirs


class _NoManagedPolicies:
    """samtranslator's managed-policy loader; the template names no AWS managed policy by name."""

    def load(self) -> dict[str, str]:
        return {}


def transform(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform as sam_transform  # noqa: PLC0415 - heavy import

    result: dict[str, Any] = sam_transform(template, parameters, _NoManagedPolicies())
    return result


def deploy(
    clients: Any,
    runtime: LambdaRuntime,
    *,
    stack_name: str,
    parameters: dict[str, str],
    template_path: Path = TEMPLATE,
) -> Deployment:
    """Package, transform and create the stack, then the post-deploy steps. ``clients(service)`` gives boto3 clients."""
    template, code_dirs = package(load_template(template_path), clients("s3"), template_path.parent)
    transformed = transform(template, parameters)
    transformed = resolve_conditionals(transformed, Deployment(stack_name, transformed, {}, {}, {}, parameters))
    cfn = clients("cloudformation")
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(transformed),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {stack_name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
        if r.get("LogicalResourceId") and r.get("PhysicalResourceId")
    }
    deployment = Deployment(
        stack_name=stack_name,
        template=transformed,
        physical=physical,
        types={k: v["Type"] for k, v in transformed["Resources"].items()},
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        parameters=parameters,
        code_dirs=code_dirs,
    )
    for logical_id, directory in code_dirs.items():
        if logical_id in physical and deployment.types.get(logical_id) == "AWS::Lambda::Function":
            runtime.register(physical[logical_id], directory)
    _post_deploy(deployment, clients)
    # What `mlcp local status --endpoint` reads back from a served cloud.
    clients("s3").put_object(
        Bucket=DEPLOY_BUCKET, Key=f"{stack_name}/status.json", Body=json.dumps(deployment.status_rows()).encode()
    )
    return deployment


def _resolve(value: Any, deployment: Deployment, clients: Any) -> Any:
    """Resolve the intrinsics post-deploy properties use (Ref, Fn::GetAtt .Arn, Fn::Sub of parameters)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            if arg in deployment.template.get("Parameters", {}):
                return deployment.parameters.get(arg, _default_parameter(deployment, arg))
            return deployment.physical[arg]
        if key == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return _get_att(deployment, clients, logical_id, attribute)
        if key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            for name in deployment.template.get("Parameters", {}):
                text = text.replace("${" + name + "}", str(_resolve({"Ref": name}, deployment, clients)))
            return text
    if isinstance(value, dict):
        return {k: _resolve(v, deployment, clients) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, deployment, clients) for v in value]
    return value


def _default_parameter(deployment: Deployment, name: str) -> str | None:
    parameter = deployment.template.get("Parameters", {}).get(name)
    return None if parameter is None else str(parameter.get("Default", ""))


def _get_att(deployment: Deployment, clients: Any, logical_id: str, attribute: str) -> str:
    physical = deployment.physical[logical_id]
    resource_type = deployment.types[logical_id]
    if attribute != "Arn":
        raise ValueError(f"post-deploy steps resolve only .Arn, not {logical_id}.{attribute}")
    if resource_type == "AWS::Lambda::Function":
        return str(clients("lambda").get_function(FunctionName=physical)["Configuration"]["FunctionArn"])
    if resource_type == "AWS::SQS::Queue":
        attributes = clients("sqs").get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])
    if resource_type == "AWS::IAM::Role":
        return str(clients("iam").get_role(RoleName=physical)["Role"]["Arn"])
    raise ValueError(f"post-deploy steps cannot resolve {logical_id}.Arn ({resource_type})")


_NO_VALUE = {"Ref": "AWS::NoValue"}


def resolve_conditionals(node: Any, deployment: Deployment) -> Any:
    """Fn::If resolved and AWS::NoValue removed, as CloudFormation does before creating resources (moto keeps a
    NoValue in a list as None: a policy list ``[..., !If [HasX, {...}, !Ref AWS::NoValue]]`` breaks it)."""
    if isinstance(node, dict):
        if len(node) == 1 and "Fn::If" in node:
            name, when_true, when_false = node["Fn::If"]
            chosen = when_true if _condition_holds(deployment, name) else when_false
            return resolve_conditionals(chosen, deployment)
        resolved = {k: resolve_conditionals(v, deployment) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v != _NO_VALUE}
    if isinstance(node, list):
        return [v for v in (resolve_conditionals(item, deployment) for item in node) if v != _NO_VALUE]
    return node


# The pseudo parameters a condition may name, as the local cloud's moto account has them (moto's default account in
# us-east-1, partition aws). https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
PSEUDO_PARAMETERS = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}


def _condition_holds(deployment: Deployment, name: str | None) -> bool:
    """Evaluate a template condition (Fn::Equals / Not / And / Or over parameters, and Condition references)."""
    if name is None:
        return True
    condition = deployment.template.get("Conditions", {}).get(name)
    try:
        return bool(_evaluate(deployment, condition))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"condition {name} has a shape the local cloud does not evaluate: {condition}") from exc


def _evaluate(deployment: Deployment, node: Any) -> Any:
    if isinstance(node, str | int | float | bool):
        return str(node).lower() if isinstance(node, bool) else str(node)
    (function, argument), *rest = node.items()
    if rest:
        raise ValueError(f"one intrinsic function per node, got {sorted(node)}")
    if function == "Ref":
        value = deployment.parameters.get(argument, _default_parameter(deployment, argument))
        value = PSEUDO_PARAMETERS.get(argument, value)
        if value is None:
            raise KeyError(f"{argument} is not a parameter of the template")
        return str(value)
    if function == "Condition":
        return _condition_holds(deployment, argument)
    if function == "Fn::Equals":
        left, right = argument
        return _evaluate(deployment, left) == _evaluate(deployment, right)
    if function == "Fn::Not":
        (inner,) = argument
        return not _evaluate(deployment, inner)
    if function == "Fn::And":
        return all(_evaluate(deployment, part) for part in argument)
    if function == "Fn::Or":
        return any(_evaluate(deployment, part) for part in argument)
    if function == "Fn::Join":  # over a CommaDelimitedList parameter (its value is the comma-separated text)
        delimiter, parts = argument
        if isinstance(parts, dict):
            return delimiter.join(p for p in _evaluate(deployment, parts).split(",") if p)
        return delimiter.join(_evaluate(deployment, part) for part in parts)
    raise ValueError(f"{function} is not a condition function")


def _post_deploy(deployment: Deployment, clients: Any) -> None:
    s3, lam, scheduler = clients("s3"), clients("lambda"), clients("scheduler")
    for logical_id, resource in deployment.template["Resources"].items():
        kind = resource["Type"]
        properties = resource.get("Properties", {})
        if kind == "AWS::S3::Bucket" and properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(
                Bucket=deployment.physical[logical_id], VersioningConfiguration={"Status": "Enabled"}
            )
            deployment.post_deploy.append(f"{logical_id}: versioning on (moto's CloudFormation skips it)")
        if kind == "AWS::S3::Bucket" and "EventBridgeConfiguration" in properties.get("NotificationConfiguration", {}):
            s3.put_bucket_notification_configuration(
                Bucket=deployment.physical[logical_id],
                NotificationConfiguration={"EventBridgeConfiguration": {}},
            )
            deployment.post_deploy.append(f"{logical_id}: EventBridge notifications on")
        elif kind == "AWS::Lambda::EventInvokeConfig":
            config = _resolve(properties, deployment, clients)
            function = config.pop("FunctionName")
            config.pop("Qualifier", None)
            lam.put_function_event_invoke_config(FunctionName=function, **config)
            deployment.physical[logical_id] = f"{function}:$LATEST"
            deployment.post_deploy.append(f"{logical_id}: event invoke config of {function}")
        elif kind == "AWS::Scheduler::Schedule" and _condition_holds(deployment, resource.get("Condition")):
            config = _resolve(properties, deployment, clients)
            name = config.pop("Name", None) or f"{deployment.stack_name}-{logical_id}"
            scheduler.create_schedule(Name=name, **config)
            deployment.physical[logical_id] = name
            deployment.post_deploy.append(f"{logical_id}: schedule {name} ({config['ScheduleExpression']})")
