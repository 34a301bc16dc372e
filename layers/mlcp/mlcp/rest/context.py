"""What a route needs from the request and the resolver's context (set by functions/api for each invocation)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from mlcp.api import ApiDeps

DEPS = "deps"
IDEMPOTENCY = "idempotency"  # a BasePersistenceLayer, or absent (no Idempotency-Key support)
ANONYMOUS = "anonymous"


def deps(router: Router) -> ApiDeps:
    value = router.context.get(DEPS)
    if not isinstance(value, ApiDeps):
        raise RuntimeError("the API handler did not put its dependencies in the resolver context")
    return value


def caller(router: Router) -> str:
    """The IAM principal API Gateway authenticated (AWS_IAM authorizer: requestContext.identity)."""
    identity: dict[str, Any] = (router.current_event.get("requestContext") or {}).get("identity") or {}
    return str(identity.get("userArn") or identity.get("caller") or identity.get("accountId") or ANONYMOUS)


def request_id(router: Router) -> str:
    context: dict[str, Any] = router.current_event.get("requestContext") or {}
    return str(context.get("requestId") or context.get("extendedRequestId") or "")
