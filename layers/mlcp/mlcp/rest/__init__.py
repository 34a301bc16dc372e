"""The REST API's HTTP layer (Powertools event handler): one Router per resource, errors mapped in one place.

functions/api/app.py creates the resolver with :func:`mlcp.rest.resolver.create_app`; the OpenAPI document
(docs/openapi.json) is generated from the same resolver.
"""
