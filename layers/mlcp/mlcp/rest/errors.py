"""Every error status of the API in one place: bad input 400 with field-level details, 403 (a node group outside
the stack's ScalingNodegroupArns), 404, 409, 429, and a generic 500 without internals. Nothing a caller sends can
cause a 5xx: input is validated before any AWS call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from botocore.exceptions import ClientError

from mlcp.aws.clients import error_code
from mlcp.common.validation import dotted
from mlcp.errors import Conflict, InputInvalid, NodegroupNotGranted, NotFound, Throttled
from mlcp.rest.models import ErrorResponse, FieldProblem

logger = Logger(child=True)

# AWS error codes that mean "slow down" (the SDK retried them already; the caller should retry later).
THROTTLING_CODES = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "ExecutionLimitExceeded",
    "RequestThrottled",
}
RETRY_AFTER_SECONDS = 5
ACCEPTED_CONTENT_TYPE = "application/json"
# Shown in the OpenAPI document for every route.
ERROR_RESPONSES: dict[int, Any] = {
    400: {
        "description": "Invalid input; `errors` names each field",
        "content": {"application/json": {"model": ErrorResponse}},
    },
    429: {
        "description": "Throttled; retry after Retry-After seconds",
        "content": {"application/json": {"model": ErrorResponse}},
    },
}
UNSUPPORTED_MEDIA_TYPE: dict[int, Any] = {  # routes that take a body
    415: {
        "description": f"The body is not {ACCEPTED_CONTENT_TYPE} (the only accepted Content-Type)",
        "content": {"application/json": {"model": ErrorResponse}},
    }
}
NOT_FOUND: dict[int, Any] = {
    404: {"description": "Not found", "content": {"application/json": {"model": ErrorResponse}}}
}
FORBIDDEN: dict[int, Any] = {
    403: {
        "description": "The stack may not act on this resource (e.g. a node group outside ScalingNodegroupArns)",
        "content": {"application/json": {"model": ErrorResponse}},
    }
}
CONFLICT: dict[int, Any] = {
    409: {
        "description": "Conflicts with the resource's state",
        "content": {"application/json": {"model": ErrorResponse}},
    }
}


class JsonOnlyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, but a body must be JSON: form and multipart bodies are refused like
    text/plain (Powertools would parse them into lists of strings and report confusing field errors)."""

    def _get_body(self, app: Any) -> dict[str, Any]:
        content_type = str(app.current_event.headers.get("content-type", "") or "").strip().lower()
        if content_type and not content_type.startswith(ACCEPTED_CONTENT_TYPE):
            raise RequestUnsupportedContentType("Unsupported content type", errors=[])
        return super()._get_body(app)


def error_response(
    status: HTTPStatus,
    code: str,
    message: str,
    errors: Sequence[FieldProblem] = (),
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    body = ErrorResponse(code=code, message=message, errors=list(errors))
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(),
        headers=headers,
    )


def _problems(errors: Sequence[Any]) -> list[FieldProblem]:
    found = []
    for err in errors:
        loc = list(err.get("loc") or ())
        location = str(loc.pop(0)) if loc and loc[0] in ("body", "query", "path", "header") else "body"
        message = str(err.get("msg") or "is invalid").removeprefix("Value error, ")
        found.append(FieldProblem(field=dotted(loc) or location, message=message, location=location))
    return found


Handler = Callable[[Any], Response[Any]]


def _on(app: APIGatewayRestResolver, exc_class: type[Exception]) -> Callable[[Handler], Handler]:
    """A typed ``app.exception_handler`` (Powertools' decorator is untyped)."""

    def add(handler: Handler) -> Handler:
        register: Any = app.exception_handler(exc_class)
        register(handler)
        return handler

    return add


def register(app: APIGatewayRestResolver) -> None:
    @_on(app, RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response[Any]:
        problems = _problems(exc.errors())
        listed = "; ".join(f"{p.location} {p.field}: {p.message}" for p in problems)
        return error_response(HTTPStatus.BAD_REQUEST, "InputInvalid", f"the request is invalid: {listed}", problems)

    @_on(app, RequestUnsupportedContentType)
    def _unsupported(_: RequestUnsupportedContentType) -> Response[Any]:
        sent = str(app.current_event.headers.get("content-type", "") or "")[:100]
        message = f"Content-Type {sent!r} is not supported; send the body as {ACCEPTED_CONTENT_TYPE}"
        problem = FieldProblem(field="Content-Type", message=message, location="header")
        return error_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", message, [problem])

    @_on(app, UnicodeDecodeError)  # a binary (base64-encoded) body that is not UTF-8: not JSON either
    def _not_text(_: UnicodeDecodeError) -> Response[Any]:
        problem = FieldProblem(field="body", message="is not UTF-8 encoded JSON", location="body")
        return error_response(HTTPStatus.BAD_REQUEST, "InputInvalid", "the request body is not UTF-8 JSON", [problem])

    @_on(app, InputInvalid)
    def _invalid_input(exc: InputInvalid) -> Response[Any]:
        problems = [
            FieldProblem(field=e.field, message=e.message, location="query" if exc.subject == "query" else "body")
            for e in exc.errors
        ]
        return error_response(HTTPStatus.BAD_REQUEST, "InputInvalid", exc.reason, problems)

    @_on(app, NotFound)
    def _not_found(exc: NotFound) -> Response[Any]:
        return error_response(HTTPStatus.NOT_FOUND, "NotFound", exc.reason)

    @_on(app, NotFoundError)
    def _no_route(_: NotFoundError) -> Response[Any]:
        event = app.current_event
        return error_response(HTTPStatus.NOT_FOUND, "NotFound", f"no route {event.http_method} {event.path}")

    @_on(app, NodegroupNotGranted)
    def _not_granted(exc: NodegroupNotGranted) -> Response[Any]:
        return error_response(HTTPStatus.FORBIDDEN, "NodegroupNotGranted", exc.reason)

    @_on(app, Conflict)
    def _conflict(exc: Conflict) -> Response[Any]:
        return error_response(HTTPStatus.CONFLICT, "Conflict", exc.reason)

    @_on(app, IdempotencyValidationError)
    def _key_reused(_: IdempotencyValidationError) -> Response[Any]:
        message = "this Idempotency-Key was used with a different request; use a new key for a new run"
        return error_response(HTTPStatus.CONFLICT, "IdempotencyKeyReused", message)

    @_on(app, IdempotencyAlreadyInProgressError)
    def _in_progress(_: IdempotencyAlreadyInProgressError) -> Response[Any]:
        message = "a request with this Idempotency-Key is still in progress; retry shortly"
        return error_response(HTTPStatus.CONFLICT, "RequestInProgress", message, headers={"Retry-After": "1"})

    @_on(app, Throttled)
    def _throttled(exc: Throttled) -> Response[Any]:
        return error_response(
            HTTPStatus.TOO_MANY_REQUESTS, "Throttled", exc.reason, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )

    @_on(app, ClientError)
    def _aws_error(exc: ClientError) -> Response[Any]:
        code = error_code(exc)
        if code in THROTTLING_CODES:
            return error_response(
                HTTPStatus.TOO_MANY_REQUESTS,
                "Throttled",
                f"AWS throttled the request ({code}); retry later",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        logger.exception("AWS error", extra={"error_code": code})
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError", "internal error; see the API logs")

    @_on(app, Exception)
    def _unexpected(_: Exception) -> Response[Any]:
        logger.exception("unhandled error")
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError", "internal error; see the API logs")
