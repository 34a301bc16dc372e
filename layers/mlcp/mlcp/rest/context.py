"""What a route needs from the request and the resolver's context (set by functions/api for each invocation)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from mlcp.training.api import RunsApi

if TYPE_CHECKING:  # loaded with their first request (mlcp.aws.wiring.api)
    from mlcp.batch.api import BatchApi
    from mlcp.scaling.api import ScalingApi

DEPS = "deps"
IDEMPOTENCY = "idempotency"  # a BasePersistenceLayer, or absent (no Idempotency-Key support)
ANONYMOUS = "anonymous"


@dataclass
class ApiDeps:
    """The API function's ports, one group per capability; /batches and /scaling only where the function is
    given their settings (template.yaml ApiFunction). The batch and scaling groups are providers, called (and
    their capability imported) on the first request that needs them, so /runs pays for neither."""

    runs: RunsApi
    batch: Callable[[], BatchApi] | None = None
    scaling: Callable[[], ScalingApi] | None = None
    idempotency_table: str | None = None  # POST /runs with Idempotency-Key (Powertools idempotency records)
    idempotency_ttl_seconds: int = 86400


def deps(router: Router) -> ApiDeps:
    value = router.context.get(DEPS)
    if not isinstance(value, ApiDeps):
        raise RuntimeError("the API handler did not put its dependencies in the resolver context")
    return value


def runs(router: Router) -> RunsApi:
    return deps(router).runs


def batch(router: Router) -> BatchApi:
    provider = deps(router).batch
    api = provider() if provider is not None else None
    if api is None or not api.pipeline.settings.batch_state_machine_arn:
        raise RuntimeError("the API function has no batch pipeline settings (PROFILES_TABLE, BATCH_STATE_MACHINE_ARN)")
    return api


def scaling(router: Router) -> ScalingApi:
    provider = deps(router).scaling
    if provider is None:
        raise RuntimeError("the API function has no scaling controller settings (SCALING_*_TABLE)")
    return provider()


def caller(router: Router) -> str:
    """The IAM principal API Gateway authenticated (AWS_IAM authorizer: requestContext.identity)."""
    identity: dict[str, Any] = (router.current_event.get("requestContext") or {}).get("identity") or {}
    return str(identity.get("userArn") or identity.get("caller") or identity.get("accountId") or ANONYMOUS)


def request_id(router: Router) -> str:
    context: dict[str, Any] = router.current_event.get("requestContext") or {}
    return str(context.get("requestId") or context.get("extendedRequestId") or "")


def request_time(router: Router) -> dt.datetime | None:
    """When API Gateway received the request (``requestContext.requestTimeEpoch``, milliseconds since the epoch;
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html); None
    without it. The local cloud's API stamps it with its simulated clock, as the alarm events and schedules are."""
    epoch = (router.current_event.get("requestContext") or {}).get("requestTimeEpoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int | float):
        return None
    return dt.datetime.fromtimestamp(epoch / 1000.0, dt.UTC)
