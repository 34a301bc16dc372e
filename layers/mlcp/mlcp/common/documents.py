"""The one loader for user documents (pipeline specs, batch specs, scaling policies, API request bodies).

Work per document is bounded before any model sees it: the size is capped before parsing (S3 reads pass
``max_bytes`` so an oversized object is refused from its ContentLength), YAML aliases are counted as the nodes they
expand to, nesting depth is capped, and numbers longer than Python's int-string limit are refused instead of
raising a ValueError deep in the parser. Every refusal is the caller's ``InputInvalid`` subclass naming the limit.

Limits and their sources:
- ``MAX_DOCUMENT_BYTES`` = 256 KiB: Step Functions' maximum input/result payload (an inline spec travels in the
  execution input) — https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html. A registered
  document is also kept in a DynamoDB item (400 KB, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
- ``MAX_DEPTH`` = 32 levels: the deepest valid document is 6 levels deep; 32 keeps every parser and pydantic far
  from Python's recursion limit (a 5,000-deep JSON array raises RecursionError in ``json.loads``).
- ``MAX_NODES`` = 100,000 scalars and collections after alias expansion (a "billion laughs" document of 1.5 MB
  expands to ~437 MiB; capped here it is refused after reading the events, before anything is constructed).
- ``MAX_NUMBER_DIGITS`` = 4,300: CPython's ``sys.get_int_max_str_digits()`` default.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mlcp.common.ports import ObjectStore
from mlcp.errors import DocumentTooLarge, FieldError, InputInvalid

MAX_DOCUMENT_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_NODES = 100_000
MAX_NUMBER_DIGITS = 4300

ErrorClass = type[InputInvalid]
ModelT = TypeVar("ModelT", bound=BaseModel)


class _Refused(Exception):
    """Internal: a limit was hit while reading; becomes the caller's InputInvalid subclass."""


def _refuse(message: str) -> _Refused:
    return _Refused(message)


def check_size(size: int, *, limit: int = MAX_DOCUMENT_BYTES) -> str | None:
    """The refusal message for a document of ``size`` bytes, or None when it is within ``limit``."""
    if size > limit:
        return f"is {size:,} bytes; the limit is {limit:,} bytes"
    return None


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _refuse(f"a number has more than {MAX_NUMBER_DIGITS:,} digits")
    return int(text)


def _no_constant(name: str) -> float:
    raise _refuse(f"{name} is not a JSON number")


def measure(value: Any) -> None:
    """Raise _Refused when a loaded value nests deeper than MAX_DEPTH or has more than MAX_NODES nodes."""
    nodes = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise _refuse(f"has more than {MAX_NODES:,} values")
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise _refuse(f"is nested deeper than {MAX_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _load_json(text: str) -> Any:
    try:
        value = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except RecursionError as exc:
        raise _refuse(f"is nested deeper than {MAX_DEPTH} levels") from exc
    measure(value)
    return value


def _yaml_module() -> Any:
    import yaml  # noqa: PLC0415 - only the callers that parse YAML text pay for importing it

    return yaml


class _YamlShape:
    """Counts a YAML event stream: nodes (aliases count as the nodes they stand for) and nesting depth."""

    def __init__(self) -> None:
        self.nodes = 0
        self.anchors: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, height)
        self.frames: list[list[Any]] = []  # [anchor, nodes at start, height so far]

    def add(self, nodes: int, height: int) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise _refuse(f"has more than {MAX_NODES:,} values (YAML aliases count as the values they repeat)")
        if len(self.frames) + height > MAX_DEPTH:
            raise _refuse(f"is nested deeper than {MAX_DEPTH} levels")
        if self.frames:
            self.frames[-1][2] = max(self.frames[-1][2], height + 1)

    def start(self, anchor: str | None) -> None:
        self.add(1, 1)
        self.frames.append([anchor, self.nodes, 1])

    def end(self) -> None:
        anchor, started, height = self.frames.pop()
        if self.frames:
            self.frames[-1][2] = max(self.frames[-1][2], height + 1)
        if anchor:
            self.anchors[anchor] = (self.nodes - started + 1, height)

    def scalar(self, anchor: str | None) -> None:
        self.add(1, 0)
        if anchor:
            self.anchors[anchor] = (1, 0)

    def alias(self, anchor: str) -> None:
        self.add(*self.anchors.get(anchor, (1, 0)))


def _check_yaml_shape(yaml: Any, text: str, loader: Any) -> None:
    shape = _YamlShape()
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            shape.start(event.anchor)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            shape.end()
        elif isinstance(event, yaml.ScalarEvent):
            shape.scalar(event.anchor)
        elif isinstance(event, yaml.AliasEvent):
            shape.alias(event.anchor)


def _load_yaml(text: str) -> Any:
    """YAML 1.1 by PyYAML's safe loader (libyaml when present) after the event stream passed the limits."""
    yaml = _yaml_module()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _check_yaml_shape(yaml, text, loader)
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise _refuse(f"not valid YAML/JSON{where}") from exc
    except ValueError as exc:  # int("9" * 4301): CPython's int-string limit, raised by the YAML int constructor
        raise _refuse(f"a number has more than {MAX_NUMBER_DIGITS:,} digits") from exc
    except RecursionError as exc:
        raise _refuse(f"is nested deeper than {MAX_DEPTH} levels") from exc


def _parse_text(document: str | bytes, *, max_bytes: int) -> Any:
    message = check_size(len(document), limit=max_bytes)
    if message:
        raise _refuse(message)
    try:
        text = document.decode() if isinstance(document, bytes) else document
    except UnicodeDecodeError as exc:
        raise _refuse("is not UTF-8 text") from exc
    if text.lstrip().startswith(("{", "[")):
        try:
            return _load_json(text)
        except ValueError:
            pass  # not JSON after all: YAML flow style, or a mistake YAML will locate
    return _load_yaml(text)


def load_document(
    document: str | bytes | dict[str, Any],
    *,
    source: str,
    error: ErrorClass = InputInvalid,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> dict[str, Any]:
    """A YAML or JSON mapping (JSON by JSON's rules), within the limits above.

    A dict is checked for depth and size only. Raises ``error(source, [FieldError("", why)])`` when the document is
    too large, too deep, expands to too many values, is not UTF-8, not YAML/JSON, or not a mapping at the top.
    """
    try:
        if isinstance(document, dict):
            measure(document)
            data: Any = document
        else:
            data = _parse_text(document, max_bytes=max_bytes)
    except _Refused as exc:
        raise error(source, [FieldError("", str(exc))]) from None
    if not isinstance(data, dict):
        raise error(source, [FieldError("", "must be a mapping (YAML/JSON object) at the top level")])
    return data


def json_body(text: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """An API request body: JSON only, within the same limits; raises InputInvalid("request body", ...)."""
    try:
        # Each character is at least one UTF-8 byte: the length alone refuses most oversized bodies unencoded.
        size = len(text) if len(text) > max_bytes else len(text.encode())
        message = check_size(size, limit=max_bytes)
        if message:
            raise _refuse(message)
        return _load_json(text)
    except _Refused as exc:
        raise InputInvalid("the request body", [FieldError("body", str(exc))]) from None
    except ValueError as exc:
        raise InputInvalid("the request body", [FieldError("body", f"is not valid JSON: {exc}")]) from None


def read_document(
    objects: ObjectStore, uri: str, version_id: str | None = None, *, source: str, error: ErrorClass = InputInvalid
) -> bytes:
    """Read a document object, refusing one over MAX_DOCUMENT_BYTES from its ContentLength (body unread)."""
    try:
        return objects.read(uri, version_id, max_bytes=MAX_DOCUMENT_BYTES)
    except DocumentTooLarge as exc:
        raise error(source, [FieldError("", check_size(exc.size, limit=exc.limit) or "is too large")]) from None


def validate_document(
    model: type[ModelT],
    data: dict[str, Any],
    *,
    source: str,
    error: ErrorClass,
    errors_of: Callable[[ValidationError], list[FieldError]],
) -> ModelT:
    """``model.model_validate(data)``; any failure (a validator's unexpected exception included) is ``error``.

    A loaded document is bounded (depth, values), so this is bounded work too; an exception other than pydantic's
    means the input hit a case the validators did not foresee: it is still a rejection of that input, never a crash.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(source, errors_of(exc)) from exc
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError, RecursionError) as exc:
        raise error(source, [FieldError("", f"could not be validated ({type(exc).__name__})")]) from exc
