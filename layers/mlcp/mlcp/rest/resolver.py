"""The API's resolver: one Router per resource, mounted under its prefix, errors registered once.

To add a resource (e.g. /batches, /scaling): write ``mlcp/rest/<resource>.py`` with ``router = Router()`` and
its routes relative to the prefix, then add it to ``ROUTERS``; the OpenAPI document (``make openapi``), the
template's Api events and the local API follow from there.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import Router

from mlcp.common.documents import json_body
from mlcp.rest import batches, errors, pipelines, runs, scaling

TITLE = "mlcp API"
VERSION = "1.0.0"
ROUTERS: tuple[tuple[str, Router], ...] = (
    ("/runs", runs.every),
    ("/pipelines", pipelines.router),
    ("/pipelines", runs.router),
    ("/batches", batches.router),
    ("/scaling", scaling.router),
)


def create_app() -> APIGatewayRestResolver:
    # Request bodies are JSON within the document limits (size, depth, digits): mlcp.common.documents.
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=json_body)
    # Only application/json bodies: form and multipart bodies get the same 415 as text/plain (mlcp.rest.errors).
    app._request_validation_middleware = errors.JsonOnlyValidation()  # type: ignore[no-untyped-call]
    for prefix, router in ROUTERS:
        app.include_router(router, prefix=prefix)
    errors.register(app)
    return app


def openapi_document() -> dict[str, Any]:
    """docs/openapi.json: generated from the routes and models (a test fails when the committed file drifts)."""
    schema = create_app().get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description="The mlcp REST API (API Gateway, AWS_IAM auth: sign requests with SigV4, service execute-api).",
        security_schemes={
            "sigv4": {  # type: ignore[dict-item]
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "description": "AWS Signature Version 4 (IAM)",
            }
        },
        security=[{"sigv4": []}],
    )
    document: dict[str, Any] = json.loads(schema)
    # Powertools documents its default 422 for request validation; this API answers 400 (mlcp.rest.errors).
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)
    for unused in ("HTTPValidationError", "ValidationError"):
        document["components"]["schemas"].pop(unused, None)
    return document


def openapi_text() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
