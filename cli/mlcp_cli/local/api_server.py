"""The local API: real HTTP on 127.0.0.1, shaped as API Gateway REST proxy events (payload 1.0), to ApiFunction.

What API Gateway does in front of the function, this does too: it matches the request against the routes of the
deployed template (an unknown route or method answers 403 ``Missing Authentication Token``, as API Gateway does),
builds the proxy event (resource, path parameters, multi-value headers and query strings, requestContext with the
caller's identity), invokes the function through Lambda Invoke (the in-process runtime), and maps its response
back (a function error is a 502 ``Internal server error``). SigV4 signatures are not verified: a signed request
names its access key as the caller, an unsigned one is the local user.

With IAM enforcement on (``LocalCloud(enforce_iam=True)``, the default), a request signed with the access key of
an IAM user or role session of the local cloud (IAM CreateUser + CreateAccessKey, or STS AssumeRole) is
authorised as API Gateway's AWS_IAM authorizer does: ``execute-api:Invoke`` on
``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>`` against the principal's identity
policies (:func:`iam_authorizer`), and a denial is API Gateway's 403 ``AccessDeniedException``; the caller is that
principal's ARN. Other requests (unsigned, or the operator's own keys) are not restricted.
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

STAGE = "local"
ACCOUNT = "123456789012"
LOCAL_CALLER = f"arn:aws:iam::{ACCOUNT}:user/local"
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")
Invoke = Callable[[dict[str, Any]], tuple[dict[str, Any] | None, str | None]]  # (payload, function error)
# (method, path, headers) -> None (not an IAM principal of the local cloud: unrestricted), else (caller ARN, the
# execute-api ARN of the request, whether the caller's policies allow execute-api:Invoke on it)
Authorize = Callable[[str, str, dict[str, str]], tuple[str, str, bool] | None]


@dataclass(frozen=True)
class Route:
    method: str
    resource: str  # /runs/{run_id}
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, method: str, resource: str) -> Route:
        regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(resource))
        return cls(method.upper(), resource, re.compile(f"^{regex}$"))


def deployed_routes(apigateway: Any, rest_api_id: str) -> list[Route]:
    """Every (method, resource) of the deployed REST API (GetResources), as API Gateway routes them."""
    routes: list[Route] = []
    for page in apigateway.get_paginator("get_resources").paginate(restApiId=rest_api_id):
        for resource in page["items"]:
            routes.extend(Route.of(method, resource["path"]) for method in resource.get("resourceMethods") or {})
    return routes


def lambda_invoker(lambda_client: Any, function_name: str) -> Invoke:
    """Invoke the function synchronously (as API Gateway's AWS_PROXY integration does)."""

    def invoke(event: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        response = lambda_client.invoke(
            FunctionName=function_name, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"null")
        return (payload if isinstance(payload, dict) else None), response.get("FunctionError")

    return invoke


def invoke_arn(method: str, path: str, *, region: str, account: str, api_id: str, stage: str) -> str:
    """The resource API Gateway authorises a call on: arn:aws:execute-api:region:account:api-id/stage/METHOD/path."""
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method.upper()}/{path.lstrip('/')}"


def iam_authorizer(region: str, account: str, api_id: str, stage: str = STAGE) -> Authorize:
    """API Gateway's AWS_IAM authorizer over the local cloud's IAM: the signing key's user or role session and its
    identity policies (moto's), evaluated as IAM does (mlcp_cli.local.patches.iam.allowed)."""
    from mlcp_cli.local.patches import iam, iam_actions  # noqa: PLC0415 - moto is loaded with the local cloud

    def authorize(method: str, path: str, headers: dict[str, str]) -> tuple[str, str, bool] | None:
        match = _CREDENTIAL.search(next((v for k, v in headers.items() if k.lower() == "authorization"), ""))
        token = next((v for k, v in headers.items() if k.lower() == "x-amz-security-token"), None)
        found = (
            iam.caller_policies(account, match.group(1), {"X-Amz-Security-Token": token} if token else {})
            if match
            else None
        )
        if found is None:
            return None
        caller, documents = found
        resource = invoke_arn(method, path, region=region, account=account, api_id=api_id, stage=stage)
        return caller, resource, iam.allowed(documents, iam_actions.Requested("execute-api:Invoke", resource))

    return authorize


def serve_api(cloud: Any, port: int = 0, function: str = "ApiFunction", api: str = "MlcpApi") -> LocalApi:
    """Start the local API of a started LocalCloud; ``stop()`` it before the cloud stops."""
    routes = deployed_routes(cloud.client("apigateway"), cloud.stack.physical[api])
    invoke = lambda_invoker(cloud.client("lambda"), cloud.stack.physical[function])
    authorize = iam_authorizer(cloud.region, ACCOUNT, cloud.stack.physical[api]) if cloud.iam is not None else None
    # requestTimeEpoch on the simulated clock: a manual scaling change is timed like the alarm events and schedules.
    return LocalApi(routes, invoke, port=port, authorize=authorize, clock=lambda: cloud.clock.now().timestamp()).start()


def proxy_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: str | bytes | None = None,
    caller: str = LOCAL_CALLER,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API proxy integration event (payload format 1.0) with an IAM-authenticated identity,
    received at ``now`` (seconds since the epoch; default the wall clock)."""
    headers = dict(headers or {})
    raw = body.encode() if isinstance(body, str) else body
    is_base64 = False
    text: str | None = None
    if raw is not None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(raw).decode(), True
    multi_query = parse_qs(query, keep_blank_values=True) if query else {}
    request_id = request_id or str(uuid.uuid4())
    now = time.time() if now is None else now
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method.upper(),
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "protocol": "HTTP/1.1",
            "accountId": ACCOUNT,
            "apiId": "mlcplocal",
            "domainName": "127.0.0.1",
            "identity": {
                "accountId": ACCOUNT,
                "caller": caller.rsplit("/", 1)[-1],
                "user": caller.rsplit("/", 1)[-1],
                "userArn": caller,
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("User-Agent") or headers.get("user-agent"),
                "accessKey": None,
            },
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }


def caller_of(headers: dict[str, str]) -> str:
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    match = _CREDENTIAL.search(authorization)
    return f"arn:aws:iam::{ACCOUNT}:user/{match.group(1)}" if match else LOCAL_CALLER


class LocalApi:
    """A ThreadingHTTPServer that turns requests into proxy events for ``invoke`` (Lambda Invoke of ApiFunction)."""

    def __init__(
        self,
        routes: list[Route],
        invoke: Invoke,
        port: int = 0,
        host: str = "127.0.0.1",
        authorize: Authorize | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.routes = routes
        self.clock = clock or time.time  # the request time (epoch seconds): the wall clock unless given
        self.invoke = invoke
        self.authorize = authorize
        # (method, path, status) of the requests served, newest last (bounded: `mlcp local serve` runs for days)
        self.requests: deque[tuple[str, str, int]] = deque(maxlen=100_000)
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:  # quiet: every request is recorded in LocalApi.requests
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status, headers, payload = api.handle(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve  # noqa: N815

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalApi:
        self._thread = threading.Thread(target=self.server.serve_forever, name="mlcp-local-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        status, out_headers, payload = self._handle(method, target, headers, body)
        self.requests.append((method, urlsplit(target).path, status))
        return status, out_headers, payload

    def _handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(target)
        path = url.path.rstrip("/") or "/"
        for route in self.routes:
            match = route.pattern.match(path)
            if match and route.method in (method.upper(), "ANY"):
                break
        else:
            return _json(
                403,
                {"message": "Missing Authentication Token"},
                {"x-amzn-ErrorType": "MissingAuthenticationTokenException"},
            )
        caller = caller_of(headers)
        decision = self.authorize(method, path, headers) if self.authorize is not None else None
        if decision is not None:
            caller, resource, allowed = decision
            if not allowed:  # API Gateway's answer to an IAM denial (implicit deny)
                message = f"User: {caller} is not authorized to perform: execute-api:Invoke on resource: {resource}"
                return _json(403, {"Message": message}, {"x-amzn-ErrorType": "AccessDeniedException"})
        event = proxy_event(
            method,
            path,
            resource=route.resource,
            path_parameters=match.groupdict() or None,
            query=url.query,
            headers=headers,
            body=body,
            caller=caller,
            now=self.clock(),
        )
        response, error = self.invoke(event)
        if error is not None or not isinstance(response, dict) or "statusCode" not in response:
            return _json(
                502, {"message": "Internal server error"}, {"x-amzn-ErrorType": "InternalServerErrorException"}
            )
        out = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
        for key, values in (response.get("multiValueHeaders") or {}).items():
            out[str(key)] = ", ".join(str(v) for v in values)
        raw = response.get("body") or ""
        payload = base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode()
        return int(response["statusCode"]), out, payload


def _json(status: int, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()
