"""The one document loader: size, depth, alias expansion and digit limits, each refused with a named limit."""

from __future__ import annotations

import json
import time

import pytest

from mlcp.batch.spec import parse_batch_spec
from mlcp.common.causes import public_cause
from mlcp.common.documents import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_NODES,
    json_body,
    load_document,
    read_document,
)
from mlcp.common.validation import duplicates, repeated
from mlcp.errors import (
    MAX_ERRORS,
    BatchSpecInvalid,
    DocumentTooLarge,
    FieldError,
    InputInvalid,
    PolicyInvalid,
    SpecInvalid,
)
from mlcp.scaling.policy import parse_policy
from mlcp.training.spec import parse_spec


def _message(exc: pytest.ExceptionInfo[InputInvalid]) -> str:
    return "; ".join(e.message for e in exc.value.errors)


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("x" * (MAX_DOCUMENT_BYTES + 1), f"the limit is {MAX_DOCUMENT_BYTES:,} bytes"),
        ("[" * 5000 + "]" * 5000, f"nested deeper than {MAX_DEPTH} levels"),
        ('{"a": ' + "[" * 40 + "]" * 40 + "}", f"nested deeper than {MAX_DEPTH} levels"),
        ("a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 40)), f"nested deeper than {MAX_DEPTH} levels"),
        ("a: " + "[" * 5000 + "]" * 5000, f"nested deeper than {MAX_DEPTH} levels"),
        ('{"a": ' + "9" * 4301 + "}", "a number has more than 4,300 digits"),
        ("a: " + "9" * 4301, "a number has more than 4,300 digits"),
        ('{"a": NaN}', "NaN is not a JSON number"),
        (BILLION_LAUGHS, f"has more than {MAX_NODES:,} values"),
        ("a: &x [" + "[" * 20 + "]" * 20 + "]\nb: [[[[[[[[[[[[[*x]]]]]]]]]]]]]", f"nested deeper than {MAX_DEPTH}"),
        (b"\xff\xfe", "is not UTF-8 text"),
        ("a: [", "not valid YAML/JSON at line "),
        ("a: \x07", "not valid YAML/JSON"),
        ("- a\n- b\n", "must be a mapping (YAML/JSON object) at the top level"),
    ],
)
def test_a_document_over_a_limit_is_refused_naming_the_limit(document: str | bytes, expected: str) -> None:
    # GIVEN a hostile document WHEN it is loaded THEN the caller's InputInvalid names the limit, quickly
    started = time.perf_counter()
    with pytest.raises(SpecInvalid) as exc:
        load_document(document, source="doc", error=SpecInvalid)
    assert expected in _message(exc)
    assert time.perf_counter() - started < 5  # bounded work, not a timing assertion on speed


def test_aliases_within_the_limit_load_normally() -> None:
    data = load_document("base: &b {x: 1}\nother: *b\n", source="doc")
    assert data == {"base": {"x": 1}, "other": {"x": 1}}


def test_a_dict_is_checked_for_depth_too() -> None:
    nested: dict[str, object] = {}
    inner = nested
    for _ in range(MAX_DEPTH + 1):
        inner["a"] = {}
        inner = inner["a"]  # type: ignore[assignment]
    with pytest.raises(InputInvalid, match="nested deeper"):
        load_document(nested, source="doc")


@pytest.mark.parametrize(
    ("parse", "error"), [(parse_spec, SpecInvalid), (parse_batch_spec, BatchSpecInvalid), (parse_policy, PolicyInvalid)]
)
def test_the_three_document_types_share_the_loader(parse: object, error: type[InputInvalid]) -> None:
    with pytest.raises(error) as exc:
        parse("[" * 5000 + "]" * 5000)  # type: ignore[operator]
    assert exc.value.errors == [FieldError("", f"is nested deeper than {MAX_DEPTH} levels")]


def test_a_request_body_is_json_within_the_same_limits() -> None:
    assert json_body('{"a": [1, 2]}') == {"a": [1, 2]}
    with pytest.raises(InputInvalid) as exc:
        json_body("a: 1")
    assert exc.value.errors[0].field == "body"
    assert exc.value.errors[0].message.startswith("is not valid JSON")
    with pytest.raises(InputInvalid, match="the limit is 262,144 bytes"):
        json_body(json.dumps({"a": "x" * MAX_DOCUMENT_BYTES}))


class _Objects:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.max_bytes: int | None = None

    def read(self, uri: str, version_id: str | None = None, *, max_bytes: int | None = None) -> bytes:
        self.max_bytes = max_bytes
        if max_bytes is not None and len(self.body) > max_bytes:
            raise DocumentTooLarge(uri, len(self.body), max_bytes)
        return self.body

    def size(self, uri: str) -> int:
        return len(self.body)

    def exists(self, uri: str, version_id: str | None = None) -> bool:
        return True


def test_an_s3_document_is_read_with_the_size_cap() -> None:
    objects = _Objects(b"x" * (10 * 1024 * 1024))
    with pytest.raises(PolicyInvalid) as exc:
        read_document(objects, "s3://b/k", source="s3://b/k", error=PolicyInvalid)
    assert objects.max_bytes == MAX_DOCUMENT_BYTES
    assert exc.value.errors == [FieldError("", "is 10,485,760 bytes; the limit is 262,144 bytes")]


def test_duplicate_checks_are_linear_and_exact() -> None:
    assert repeated(["a", "b", "a", "c", "b", "a"]) == [2, 4, 5]
    assert duplicates(["b", "a", "b", "a", "c"]) == ["a", "b"]
    started = time.perf_counter()
    assert duplicates(str(i) for i in range(200_000)) == []
    assert time.perf_counter() - started < 5


def test_an_error_list_is_bounded_in_the_reason() -> None:
    errors = [FieldError(f"f{i}", "bad") for i in range(500)]
    exc = InputInvalid("doc", errors)
    assert len(exc.errors) == MAX_ERRORS
    assert exc.reason.endswith("f19: bad; and 480 more")


def test_a_lambda_cause_loses_its_stack_trace() -> None:
    cause = json.dumps(
        {
            "errorMessage": "'shard'",
            "errorType": "KeyError",
            "requestId": "r",
            "stackTrace": ['  File "/var/task/app.py", line 1, in lambda_handler\n'],
        }
    )
    assert public_cause(cause) == "KeyError: 'shard'"
    text = 'Traceback (most recent call last):\n  File "/opt/python/mlcp/x.py", line 3\nValueError: boom'
    assert public_cause(text) == "ValueError: boom"
    assert public_cause(None) is None
    assert public_cause('{"FailureReason": "x", "stackTrace": ["y"]}') == '{"FailureReason": "x"}'
