"""``cfn_rest_api_body``: an ``AWS::ApiGateway::RestApi`` with a ``Body`` (what SAM generates for
``AWS::Serverless::Api``) gets the Body's resources, methods and proxy integrations.

moto's CloudFormation ignores the Body, so the stack's Deployment fails with "The REST API doesn't contain any
methods" and the local API has nothing to route. With the fix the Body's OpenAPI/Swagger ``paths`` become resources
(ancestors first), ``AWS_IAM`` methods and their ``x-amazon-apigateway-integration`` proxy integrations.
"""

from __future__ import annotations

from typing import Any

from mlcp_cli.local.patches.context import active


def _resource(backend: Any, api: Any, api_id: str, path: str) -> Any:
    """The resource of ``path``, created with its missing ancestors."""
    parent = api.get_resource_for_path("/")
    current = ""
    for part in [p for p in path.split("/") if p]:
        current += f"/{part}"
        parent = api.get_resource_for_path(current) or backend.create_resource(api_id, parent.id, part)
    return parent


def _put_method(backend: Any, api_id: str, resource_id: str, method: str, operation: dict[str, Any]) -> None:
    backend.put_method(api_id, resource_id, method.upper(), "AWS_IAM")
    integration = operation.get("x-amazon-apigateway-integration") or {}
    if integration.get("uri"):
        backend.put_integration(
            function_id=api_id,
            resource_id=resource_id,
            method_type=method.upper(),
            integration_type=str(integration.get("type", "aws_proxy")).upper(),
            uri=str(integration["uri"]),
            integration_method=str(integration.get("httpMethod", "POST")),
        )


def _import_paths(backend: Any, api_id: str, paths: dict[str, Any]) -> None:
    """Resources and methods of an OpenAPI/Swagger ``paths`` object (ancestors first), with proxy integrations."""
    api = backend.get_rest_api(api_id)
    for path in sorted(paths):
        resource = _resource(backend, api, api_id, path)
        for method, operation in paths[path].items():
            if not method.startswith("x-") and isinstance(operation, dict):
                _put_method(backend, api_id, resource.id, method, operation)


def install() -> None:
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
        if active() is not None and isinstance(body, dict) and isinstance(body.get("paths"), dict):
            _import_paths(apigateway_backends[account_id][region_name], api.id, body["paths"])
        return api

    RestAPI.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
