"""AWS's own request rules, from botocore's service models: the checker behind mlcp's preflight.

:class:`ServiceModels` implements :class:`mlcp.common.ports.RequestChecker`. It walks a request against the
operation's input shape and reports every member the service would refuse: required members, unknown members,
types, enums, minimum/maximum lengths and values, list and map sizes, and regex patterns. botocore's own
``ParamValidator`` checks only required members, types and minimums (the rest is enforced server-side), so this
walks the model itself.

Step Functions takes service integration parameters in PascalCase (``ContainerOverrides`` for Batch's
``containerOverrides``); a member is matched by its model name or by that name with an upper-case first letter.

Patterns use Java regex syntax (``\\p{L}``); the ``regex`` package reads them where it is installed (tests, CLI).
Python's ``re`` reads most of them; a pattern neither can compile is not checked (reported by ``unchecked``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.session import get_session

from mlcp.common.ports import RequestProblem

_INTEGERS = ("integer", "long")
_FLOATS = ("double", "float")


@cache
def _service(name: str) -> ServiceModel:
    return get_session().get_service_model(name)


@cache
def operation_model(service: str, operation: str) -> OperationModel:
    """botocore's model of ``service``'s ``operation`` (e.g. ``sagemaker``, ``CreateTrainingJob``)."""
    return _service(service).operation_model(operation)


@cache
def _engine() -> Any:
    """``regex`` where installed (the tests and the CLI have it), else ``re`` (a Lambda). Imported on the first
    pattern, not at cold start: most invocations check no request (importing ``regex`` costs ~15 ms)."""
    try:
        import regex  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError:
        return re
    return regex


@cache
def _pattern(expression: str) -> Any:
    engine = _engine()
    try:
        return engine.compile(expression, engine.DOTALL)
    except Exception:
        return None


def _member(shape: StructureShape, key: str) -> tuple[str, Shape] | None:
    if key in shape.members:
        return key, shape.members[key]
    lowered = key[:1].lower() + key[1:]
    if lowered in shape.members:
        return lowered, shape.members[lowered]
    return None


class ServiceModels:
    """Checks requests against botocore's service models (loaded once per service and cached)."""

    def __init__(self) -> None:
        self.unchecked: set[str] = set()  # patterns no installed engine could compile

    def check(self, service: str, operation: str, params: Mapping[str, Any]) -> list[RequestProblem]:
        """Every problem ``params`` has as the input of ``operation``; an empty list when AWS's model accepts it."""
        shape = operation_model(service, operation).input_shape
        if shape is None:
            return []
        found: list[RequestProblem] = []
        self._walk(shape, params, (), found)
        return found

    def _walk(self, shape: Shape, value: Any, path: tuple[str | int, ...], found: list[RequestProblem]) -> None:
        if isinstance(shape, StructureShape):
            self._structure(shape, value, path, found)
        elif isinstance(shape, ListShape):
            self._list(shape, value, path, found)
        elif isinstance(shape, MapShape):
            self._map(shape, value, path, found)
        elif shape.type_name == "string":
            self._string(shape, value, path, found)
        elif shape.type_name in (*_INTEGERS, *_FLOATS):
            self._number(shape, value, path, found)
        elif shape.type_name == "boolean" and not isinstance(value, bool):
            found.append(RequestProblem(path, f"must be true or false, not {value!r}"))

    def _structure(
        self, shape: StructureShape, value: Any, path: tuple[str | int, ...], found: list[RequestProblem]
    ) -> None:
        if not isinstance(value, Mapping):
            found.append(RequestProblem(path, f"must be an object, not {type(value).__name__}"))
            return
        given = {(_member(shape, k) or (k, None))[0] for k in value}
        for name in shape.required_members:
            if name not in given:
                found.append(RequestProblem((*path, name), "is required"))
        for key, item in value.items():
            member = _member(shape, key)
            if member is None:
                found.append(RequestProblem((*path, key), "is not a member of the request"))
            elif item is not None:
                self._walk(member[1], item, (*path, key), found)

    def _size(
        self, shape: Shape, count: int, unit: str, path: tuple[str | int, ...], found: list[RequestProblem]
    ) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and count < low:
            found.append(RequestProblem(path, f"has {count} {unit}; at least {low}"))
        if high is not None and count > high:
            found.append(RequestProblem(path, f"has {count} {unit}; at most {high}"))

    def _list(self, shape: ListShape, value: Any, path: tuple[str | int, ...], found: list[RequestProblem]) -> None:
        if not isinstance(value, list | tuple):
            found.append(RequestProblem(path, f"must be a list, not {type(value).__name__}"))
            return
        self._size(shape, len(value), "items", path, found)
        for i, item in enumerate(value):
            self._walk(shape.member, item, (*path, i), found)

    def _map(self, shape: MapShape, value: Any, path: tuple[str | int, ...], found: list[RequestProblem]) -> None:
        if not isinstance(value, Mapping):
            found.append(RequestProblem(path, f"must be an object, not {type(value).__name__}"))
            return
        self._size(shape, len(value), "entries", path, found)
        for key, item in value.items():
            before = len(found)
            self._string(shape.key, key, (*path, key), found)
            found[before:] = [RequestProblem(p.path, p.message, key=True) for p in found[before:]]
            self._walk(shape.value, item, (*path, key), found)

    def _string(self, shape: Shape, value: Any, path: tuple[str | int, ...], found: list[RequestProblem]) -> None:
        if not isinstance(value, str):
            found.append(RequestProblem(path, f"must be a string, not {type(value).__name__}"))
            return
        self._size(shape, len(value), "characters", path, found)
        enum: list[str] = shape.metadata.get("enum") or []
        if enum and value not in enum:
            shown = ", ".join(enum[:12]) + (f", ... ({len(enum)} values)" if len(enum) > 12 else "")
            found.append(RequestProblem(path, f"{value!r} is not one of {shown}"))
        expression = shape.metadata.get("pattern")
        if expression:
            compiled = _pattern(expression)
            if compiled is None:
                self.unchecked.add(expression)
            elif compiled.fullmatch(value) is None:
                found.append(RequestProblem(path, f"{value!r} does not match {expression}"))

    def _number(self, shape: Shape, value: Any, path: tuple[str | int, ...], found: list[RequestProblem]) -> None:
        whole = shape.type_name in _INTEGERS
        if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
            found.append(RequestProblem(path, f"must be {'an integer' if whole else 'a number'}, not {value!r}"))
            return
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            found.append(RequestProblem(path, f"is {value}; at least {low}"))
        if high is not None and value > high:
            found.append(RequestProblem(path, f"is {value}; at most {high}"))
