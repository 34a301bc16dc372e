"""Guards of cfn_rest_api_body, the fixes of cli/mlcp_cli/local/patches/apigateway.py: each test shows the gap on plain
moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json

from tests.local_cloud.patches.support import (
    Sandbox,
)


# --- cfn_rest_api_body -------------------------------------------------------------------------------------------
def _api_stack(box: Sandbox, name: str) -> str:
    template = {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {
                    "Name": name,
                    "Body": {
                        "swagger": "2.0",
                        "info": {"title": name},
                        "paths": {
                            "/runs/{run_id}/cancel": {
                                "post": {
                                    "x-amazon-apigateway-integration": {
                                        "type": "aws_proxy",
                                        "httpMethod": "POST",
                                        "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                        "arn:aws:lambda:us-east-1:123456789012:function:api/invocations",
                                    }
                                }
                            },
                            "/runs": {"get": {}, "post": {}},
                        },
                    },
                },
            }
        }
    }
    box.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    apigateway = box.client("apigateway")
    api_id: str = next(a["id"] for a in apigateway.get_rest_apis()["items"] if a["name"] == name)
    return api_id


def test_cfn_rest_api_body_creates_the_resources_and_methods(box: Sandbox) -> None:
    apigateway = box.client("apigateway")
    plain = _api_stack(box, "plain")
    assert [r["path"] for r in apigateway.get_resources(restApiId=plain)["items"]] == ["/"]  # moto: Body ignored

    box.activate()
    fixed = _api_stack(box, "fixed")

    resources = {r["path"]: r for r in apigateway.get_resources(restApiId=fixed)["items"]}
    assert set(resources) == {"/", "/runs", "/runs/{run_id}", "/runs/{run_id}/cancel"}
    assert set(resources["/runs"]["resourceMethods"]) == {"GET", "POST"}
    method = apigateway.get_method(
        restApiId=fixed, resourceId=resources["/runs/{run_id}/cancel"]["id"], httpMethod="POST"
    )
    assert method["authorizationType"] == "AWS_IAM"
    assert method["methodIntegration"]["type"] == "AWS_PROXY"
    assert method["methodIntegration"]["uri"].endswith(":function:api/invocations")
