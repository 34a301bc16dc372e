"""Turning pydantic errors into field-level messages a user can act on."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mlcp.errors import EventInvalid, FieldError

ModelT = TypeVar("ModelT", bound=BaseModel)
Loc = Sequence[str | int]


class RuleViolation(ValueError):
    """Raised by model validators for cross-field rules; each violation names its field relative to the model.

    pydantic keeps the original exception in the error's ``ctx``, so :func:`field_errors` can report the exact
    field (``tuning.max_jobs``) instead of the model that holds it.
    """

    def __init__(self, violations: Iterable[tuple[Loc, str]]) -> None:
        self.violations = list(violations)
        super().__init__("; ".join(f"{dotted(loc)}: {msg}" for loc, msg in self.violations))


class Rules:
    """Collects violations inside a model validator; ``raise_if_any`` ends the check."""

    def __init__(self) -> None:
        self._found: list[tuple[Loc, str]] = []

    def check(self, ok: bool, loc: Loc, message: str) -> None:
        if not ok:
            self._found.append((loc, message))

    def raise_if_any(self) -> None:
        if self._found:
            raise RuleViolation(self._found)


def repeated(values: Iterable[Hashable]) -> list[int]:
    """Indices of the values seen before (linear: one set, not ``list.count`` per value)."""
    seen: set[Hashable] = set()
    found = []
    for i, value in enumerate(values):
        if value in seen:
            found.append(i)
        seen.add(value)
    return found


def duplicates(values: Iterable[str]) -> list[str]:
    """The values that occur more than once, sorted (linear)."""
    items = list(values)
    return sorted({items[i] for i in repeated(items)})


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _tidy(message: str) -> str:
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _without_tags(loc: Loc, union_tags: Mapping[str, Collection[str]]) -> list[str | int]:
    out: list[str | int] = []
    for i, part in enumerate(loc):
        previous = loc[i - 1] if i else None
        if isinstance(previous, str) and isinstance(part, str) and part in union_tags.get(previous, ()):
            continue
        if part == "[key]":  # pydantic's marker for an error in a dict key: the key itself is the field
            continue
        out.append(part)
    return out


def field_errors(exc: ValidationError, *, union_tags: Mapping[str, Collection[str]] | None = None) -> list[FieldError]:
    """Flatten a ValidationError into FieldErrors with dotted paths (``dataset.channels[0].uri``).

    ``union_tags`` maps a field holding a discriminated union to its tags: pydantic puts the tag in the path
    (``compression.pruning.target_sparsity``); users wrote ``compression.target_sparsity``.
    """
    found: list[FieldError] = []
    for err in exc.errors(include_url=False):
        loc = _without_tags(err["loc"], union_tags or {})
        ctx = err.get("ctx") or {}
        original = ctx.get("error")
        if isinstance(original, RuleViolation):
            found.extend(FieldError(dotted([*loc, *sub]), msg) for sub, msg in original.violations)
            continue
        found.append(FieldError(dotted(loc), _tidy(err["msg"])))
    return found


S3_URI = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$"


IMAGE_URI = r"^[a-zA-Z0-9.\-]+(:[0-9]+)?/[a-z0-9._/\-]+(:[A-Za-z0-9_.\-]{1,128}|@sha256:[a-f0-9]{64})?$"


def parse_event(model: type[ModelT], event: Any, subject: str) -> ModelT:
    """Validate a handler's input; a malformed one becomes EventInvalid with field-level errors."""
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        raise EventInvalid(subject, field_errors(exc)) from exc
