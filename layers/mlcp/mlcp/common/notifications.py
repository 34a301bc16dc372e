"""The words mlcp says in notifications, for every capability: SNS subjects, rejected documents, timestamps."""

from __future__ import annotations

import re
from datetime import datetime

from mlcp.errors import FieldError

SUBJECT_MAX = 100


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def subject(text: str) -> str:
    full = f"mlcp: {text}"
    # SNS subjects: ASCII, no line breaks, < 100 characters.
    ascii_only = full.encode("ascii", "replace").decode()
    clean = re.sub(r"[\x00-\x1f\x7f]+", " ", ascii_only)
    return clean if len(clean) <= SUBJECT_MAX else clean[: SUBJECT_MAX - 3] + "..."


def rejection_message(document: str, source: str, errors: list[FieldError], kept: str) -> str:
    """An uploaded document (pipeline spec, scaling policy) was rejected: what stays registered, which fields."""
    lines = [
        f"The {document} uploaded to {source} was rejected; {kept}.",
        "",
        "Fix these fields and upload it again:",
        *(f"  - {e}" for e in errors),
    ]
    return "\n".join(lines)
