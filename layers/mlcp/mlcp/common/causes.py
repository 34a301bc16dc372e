"""What a caller may see of a failure: the error's type and message, never a stack trace or a file path."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_CAUSE_CHARS = 2000
# A traceback line ('  File "/var/task/app.py", line 3, in handler') or an absolute path of the runtime.
_INTERNAL = re.compile(r'^\s*(Traceback \(most recent call last\)|File "|\^+$)|(/var/task|/opt/python|/var/lang)/')


def public_cause(cause: Any) -> str | None:
    """A Step Functions ``Cause`` for an API response.

    A Lambda error's Cause is JSON ``{"errorType", "errorMessage", "stackTrace", "requestId"}``
    (https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html): only ``errorType: errorMessage`` is kept.
    Any other text loses its traceback and path lines. Shortened to MAX_CAUSE_CHARS.
    """
    if cause is None:
        return None
    text = str(cause)
    try:
        parsed = json.loads(text) if text.lstrip().startswith("{") else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        kind = parsed.get("errorType")
        text = f"{kind}: {parsed['errorMessage']}" if kind else str(parsed["errorMessage"])
    elif isinstance(parsed, dict):
        parsed.pop("stackTrace", None)
        text = json.dumps(parsed, sort_keys=True)
    kept = [line for line in text.splitlines() if not _INTERNAL.search(line)]
    return "\n".join(kept)[:MAX_CAUSE_CHARS]
