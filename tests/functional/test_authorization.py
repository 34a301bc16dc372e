"""docs/iam/*.json against every route: the example identity policies allow exactly what they say, per pipeline, job
profile, node group and action, as IAM evaluates execute-api:Invoke on the route's resource ARN.

API Gateway's AWS_IAM authorizer checks ``execute-api:Invoke`` on
``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>`` against the caller's identity policies
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html).
The evaluator is the local cloud's (mlcp_cli.local.patches.iam.allowed: moto's statement matcher, explicit Deny
wins, else some Allow); the second test sends the same table through the local API (``LocalApi`` with
``iam_authorizer``) signed as IAM users that carry the policies, so the local cloud enforces them too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto import mock_aws

from mlcp_cli.local.api_server import ACCOUNT, LocalApi, Route, iam_authorizer, invoke_arn
from mlcp_cli.local.patches import iam, iam_actions
from tests.support import ROOT

POLICIES = {path.stem: json.loads(path.read_text()) for path in sorted((ROOT / "docs" / "iam").glob("*.json"))}
REGION, API_ID, STAGE = "eu-west-1", "a1b2c3d4e5", "v1"
READER, OPERATOR, BATCH, SCALING, ADMIN = "reader", "pipeline-operator", "batch-operator", "scaling-operator", "admin"
RUN, OTHER_RUN = "churn-v1-api-0a1b2c3d", "other-v1-api-0a1b2c3d"

# (method, path) -> the example policies that allow it; every other policy must be denied. The pipeline operator
# holds pipeline churn, the batch operator job profile image-scoring, the scaling operator node group
# ml-inference/gpu-a; names that merely start like them (churn-eu, gpu-a-2) are other resources.
TABLE: list[tuple[str, str, set[str]]] = [
    ("GET", "/pipelines", {READER, ADMIN}),
    ("GET", "/pipelines/churn", {READER, OPERATOR, ADMIN}),
    ("GET", "/pipelines/other", {READER, ADMIN}),
    ("PUT", "/pipelines/churn", {OPERATOR, ADMIN}),
    ("PUT", "/pipelines/other", {ADMIN}),
    ("PUT", "/pipelines/churn-eu", {ADMIN}),
    ("POST", "/pipelines/churn/runs", {OPERATOR, ADMIN}),
    ("POST", "/pipelines/other/runs", {ADMIN}),
    ("POST", "/pipelines/churn-eu/runs", {ADMIN}),
    ("GET", "/pipelines/churn/runs", {READER, OPERATOR, ADMIN}),
    ("GET", "/pipelines/other/runs", {READER, ADMIN}),
    ("GET", "/runs", {READER, ADMIN}),
    ("GET", f"/pipelines/churn/runs/{RUN}", {READER, OPERATOR, ADMIN}),
    ("GET", f"/pipelines/other/runs/{OTHER_RUN}", {READER, ADMIN}),
    ("GET", f"/pipelines/churn-eu/runs/churn-eu-{RUN}", {READER, ADMIN}),
    ("GET", f"/pipelines/churn/runs/{RUN}/trials", {READER, OPERATOR, ADMIN}),
    ("GET", f"/pipelines/other/runs/{OTHER_RUN}/trials", {READER, ADMIN}),
    ("POST", f"/pipelines/churn/runs/{RUN}/cancel", {OPERATOR, ADMIN}),
    ("POST", f"/pipelines/other/runs/{OTHER_RUN}/cancel", {ADMIN}),
    ("POST", f"/pipelines/churn/runs/{RUN}/redrive", {OPERATOR, ADMIN}),
    ("POST", f"/pipelines/other/runs/{OTHER_RUN}/redrive", {ADMIN}),
    ("POST", "/batches/image-scoring", {BATCH, ADMIN}),
    ("POST", "/batches/thumbnails", {ADMIN}),
    ("GET", "/batches/image-scoring/image-scoring-api-0a1b2c3d", {READER, BATCH, ADMIN}),
    ("GET", "/batches/thumbnails/thumbnails-api-0a1b2c3d", {READER, ADMIN}),
    ("GET", "/scaling/ml-inference/gpu-a", {READER, SCALING, ADMIN}),
    ("GET", "/scaling/ml-inference/gpu-b", {READER, ADMIN}),
    ("POST", "/scaling/ml-inference/gpu-a/actions", {SCALING, ADMIN}),
    ("POST", "/scaling/ml-inference/gpu-b/actions", {ADMIN}),
    ("POST", "/scaling/ml-inference/gpu-a-2/actions", {ADMIN}),
    ("POST", "/scaling/ml-training/gpu-a/actions", {ADMIN}),
]
CASES = [(policy, method, path, policy in allowed) for method, path, allowed in TABLE for policy in POLICIES]


def _arn(method: str, path: str) -> str:
    return invoke_arn(method, path, region=REGION, account=ACCOUNT, api_id=API_ID, stage=STAGE)


def test_the_table_covers_every_route_and_every_example_policy() -> None:
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    routes = {(m.upper(), p) for p, operations in document["paths"].items() for m in operations}
    patterns = {(m, p): re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$") for m, p in routes}
    covered = {
        route for route, pattern in patterns.items() for m, path, _ in TABLE if m == route[0] and pattern.match(path)
    }

    assert covered == routes, f"routes without authorization cases: {sorted(routes - covered)}"
    assert set(POLICIES) == {READER, OPERATOR, BATCH, SCALING, ADMIN}
    for name, policy in POLICIES.items():  # real identity policies: execute-api:Invoke on execute-api ARNs only
        assert policy["Version"] == "2012-10-17", name
        for statement in policy["Statement"]:
            assert statement["Action"] == "execute-api:Invoke", name
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert all(r.startswith("arn:aws:execute-api:") for r in resources), name


@pytest.mark.parametrize(("policy", "method", "path", "expected"), CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_each_example_policy_allows_exactly_its_routes(policy: str, method: str, path: str, expected: bool) -> None:
    requested = iam_actions.Requested("execute-api:Invoke", _arn(method, path))

    assert iam.allowed([POLICIES[policy]], requested) is expected


def test_the_authorization_counts() -> None:
    """The numbers the closing note quotes: cases in the table, allowed and denied as the policies intend."""
    allowed = sum(1 for case in CASES if case[3])
    print(
        f"\nauthorization cases: {len(CASES)} ({len(TABLE)} routes x {len(POLICIES)} policies): "
        f"{allowed} allowed, {len(CASES) - allowed} denied"
    )
    assert len(CASES) == len(TABLE) * len(POLICIES)
    assert 0 < allowed < len(CASES)


# --- the local API enforces them ------------------------------------------------------------------------------------
@pytest.fixture
def users() -> Iterator[dict[str, Credentials]]:
    """One IAM user per example policy (inline policy, access key) in moto's IAM."""
    with mock_aws():
        client = boto3.client("iam", region_name=REGION)
        keys: dict[str, Credentials] = {}
        for name, policy in POLICIES.items():
            client.create_user(UserName=name)
            client.put_user_policy(UserName=name, PolicyName="mlcp-api", PolicyDocument=json.dumps(policy))
            key = client.create_access_key(UserName=name)["AccessKey"]
            keys[name] = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
        yield keys


def _signed(credentials: Credentials, method: str, path: str) -> dict[str, str]:
    request = AWSRequest(method=method, url=f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{STAGE}{path}")
    SigV4Auth(credentials, "execute-api", REGION).add_auth(request)
    return dict(request.headers.items())


def test_the_local_api_enforces_the_example_policies(users: dict[str, Credentials]) -> None:
    """GIVEN the local API in front of a stub function, with API Gateway's IAM authorizer over moto's IAM
    WHEN each policy's user calls each route of the table THEN denied calls are API Gateway's 403 and never reach
    the function; allowed ones reach it with the user's ARN as requestContext.identity.userArn."""
    routes = [
        Route.of(m.upper(), p)
        for p, ops in json.loads((ROOT / "docs" / "openapi.json").read_text())["paths"].items()
        for m in ops
    ]
    reached: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        reached.append(event)
        return {"statusCode": 200, "body": "{}"}, None

    api = LocalApi(routes, invoke, authorize=iam_authorizer(REGION, ACCOUNT, API_ID, STAGE))
    try:
        outcomes = []
        for policy, method, path, expected in CASES:
            status, headers, body = api.handle(method, path, _signed(users[policy], method, path), None)
            outcomes.append((policy, method, path, status == 200, expected))
            if status == 403:
                assert headers["x-amzn-ErrorType"] == "AccessDeniedException"
                assert json.loads(body)["Message"] == (
                    f"User: arn:aws:iam::{ACCOUNT}:user/{policy} is not authorized to perform: execute-api:Invoke "
                    f"on resource: {_arn(method, path)}"
                )
        unsigned = api.handle("POST", "/batches/thumbnails", {}, None)[0]  # the local operator: not restricted
    finally:
        api.server.server_close()

    assert [o for o in outcomes if o[3] != o[4]] == []
    assert len(reached) == sum(1 for case in CASES if case[3]) + 1
    assert {e["requestContext"]["identity"]["userArn"] for e in reached[:-1]} <= {
        f"arn:aws:iam::{ACCOUNT}:user/{name}" for name in POLICIES
    }
    assert unsigned == 200
