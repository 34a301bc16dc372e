"""Issue 18 fuzzing, in-process (moto, no server): 0 5xx and 0 crashes for any client input.

- schemathesis generates requests for every operation of docs/openapi.json (valid and invalid) and sends them to
  the API handler as API Gateway proxy events; hypothesis adds hostile bodies (deep nesting, 4,301-digit numbers,
  control characters, oversized strings) under random content types.
- hypothesis generates YAML/JSON documents for the three document types (pipeline spec, batch spec, scaling
  policy) with deep nesting, huge numbers, aliases and control characters; each either parses or is refused with
  its own InputInvalid subclass.
Derandomized: the same inputs every run; the totals are printed (pytest -s) for the issue's table.
"""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mlcp.batch.spec import parse_batch_spec
from mlcp.errors import BatchSpecInvalid, InputInvalid, PolicyInvalid, SpecInvalid
from mlcp.scaling.policy import parse_policy
from mlcp.training.spec import parse_spec
from mlcp_cli.local.api_server import proxy_event
from tests.functional.test_api_batches_scaling import api  # noqa: F401 - the API with every resource configured
from tests.support import ROOT, FakeLambdaContext, example_spec_text

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )


EXAMPLES_PER_OPERATION = 12
HOSTILE_BODIES = 60
DOCUMENTS_PER_TYPE = 150
LEAKS = ("Traceback", 'File "', "/var/task", "/opt/python", "site-packages")


def _send(api: ModuleType, method: str, path: str, query: str, headers: dict[str, str], body: Any) -> dict[str, Any]:  # noqa: F811
    event = proxy_event(method, path, query=query, headers=headers, body=body)
    response: dict[str, Any] = api.lambda_handler(event, FakeLambdaContext())
    return response


def _body(value: Any) -> str | bytes | None:
    if value is None or value.__class__.__name__ == "NotSet":
        return None
    return value if isinstance(value, str | bytes) else json.dumps(value)


def _tally(tally: Counter[str], problems: list[str], label: str, response: dict[str, Any]) -> None:
    status = int(response["statusCode"])
    tally["inputs"] += 1
    tally[f"{status // 100}xx"] += 1
    if status >= 500:
        problems.append(f"{label} -> {status} {str(response['body'])[:200]}")
    if any(leak in str(response["body"]) for leak in LEAKS):
        problems.append(f"{label} -> a stack trace or path in the body")


def test_fuzz_the_api_from_its_openapi_document(api: ModuleType) -> None:  # noqa: F811
    import schemathesis  # noqa: PLC0415 - a dev dependency of the fuzz tests only
    from schemathesis.core.result import Ok  # noqa: PLC0415
    from schemathesis.generation import GenerationMode  # noqa: PLC0415

    schema = schemathesis.openapi.from_path(str(ROOT / "docs" / "openapi.json"))
    tally: Counter[str] = Counter()
    problems: list[str] = []

    def fuzzer(operation: Any) -> Callable[[], None]:
        @given(
            case=st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
            )
        )
        @fuzz_settings(EXAMPLES_PER_OPERATION)
        def fuzz(case: Any) -> None:
            query = urllib.parse.urlencode(case.query or {}, doseq=True)
            headers = {"Content-Type": "application/json", **{k: str(v) for k, v in (case.headers or {}).items()}}
            body = _body(case.body)
            try:
                response = _send(api, case.method, case.formatted_path, query, headers, body)
            except Exception as exc:  # a crash of the handler: what this test exists to find
                tally["crashes"] += 1
                problems.append(f"{case.method} {case.formatted_path} crashed: {exc!r}")
                return
            _tally(tally, problems, f"{case.method} {case.formatted_path}", response)

        return fuzz

    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        fuzzer(result.ok())()

    print(f"\nschemathesis over docs/openapi.json: {dict(tally)}")
    assert tally["inputs"] > 50
    assert problems == []


def _nested(depth: int) -> str:
    return '{"name": ' + "[" * depth + "1" + "]" * depth + "}"


HOSTILE_TEXT = st.one_of(
    st.integers(min_value=30, max_value=6000).map(_nested),
    st.integers(min_value=4290, max_value=4400).map(lambda n: '{"pipeline": ' + "7" * n + "}"),
    st.text(alphabet=st.characters(max_codepoint=0x20), max_size=200).map(lambda t: json.dumps({"pipeline": t})),
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.just(json.dumps({"spec": {"description": "x" * 300_000}, "dataset_version": "v1"})),
    st.just('{"a": NaN, "b": Infinity}'),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/xml",
        "application/x-yaml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
        "",
    ]
)
ROUTES = st.sampled_from(
    [
        ("PUT", "/pipelines/churn"),
        ("POST", "/pipelines/churn/runs"),
        ("POST", "/batches/image-scoring"),
        ("POST", "/scaling/c/ng/actions"),
    ]
)


def test_fuzz_the_api_with_hostile_bodies_and_content_types(api: ModuleType) -> None:  # noqa: F811
    tally: Counter[str] = Counter()
    problems: list[str] = []

    @given(route=ROUTES, content_type=CONTENT_TYPES, body=HOSTILE_TEXT)
    @fuzz_settings(HOSTILE_BODIES)
    def fuzz(route: tuple[str, str], content_type: str, body: str) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        try:
            response = _send(api, route[0], route[1], "", headers, body)
        except Exception as exc:
            tally["crashes"] += 1
            problems.append(f"{route} crashed: {exc!r}")
            return
        _tally(tally, problems, f"{route} {content_type}", response)

    fuzz()
    print(f"\nhostile bodies x content types: {dict(tally)}")
    assert problems == []


# --- the three document types --------------------------------------------------------------------------------------
def _yaml_scalar() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers().map(str),
        st.integers(min_value=4290, max_value=4400).map(lambda n: "9" * n),
        st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=30).map(json.dumps),
        st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=5),  # raw control characters
        st.sampled_from(["~", "true", "1e400", ".nan", "2026-11-30", "!!binary aGk=", "!!python/name:os.system", "*a"]),
    )


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _document(base: str) -> st.SearchStrategy[str]:
    key = st.sampled_from(["name", "cluster", "tuning", "job", "items", "scale_out", "alarms", "dataset", "x"])
    line = st.tuples(key, st.one_of(_yaml_scalar(), st.integers(1, 3000).map(_deep))).map(
        lambda kv: f"{kv[0]}: {kv[1]}"
    )
    laughs = st.integers(2, 12).map(
        lambda n: (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(n))
        )
    )
    mutated = st.tuples(st.integers(0, max(len(base) - 1, 0)), _yaml_scalar()).map(
        lambda at: base[: at[0]] + at[1] + base[at[0] :]
    )
    return st.one_of(st.lists(line, max_size=8).map("\n".join), laughs, mutated, st.just(base))


@pytest.mark.parametrize(
    ("parse", "error", "base"),
    [
        (parse_spec, SpecInvalid, example_spec_text()),
        (parse_batch_spec, BatchSpecInvalid, (ROOT / "examples" / "batch" / "batch.yaml").read_text()),
        (parse_policy, PolicyInvalid, (ROOT / "examples" / "scaling" / "policy.yaml").read_text()),
    ],
    ids=["pipeline-spec", "batch-spec", "scaling-policy"],
)
def test_fuzz_the_document_types(parse: Callable[..., Any], error: type[InputInvalid], base: str) -> None:
    tally: Counter[str] = Counter()
    crashes: list[str] = []

    @given(text=_document(base))
    @fuzz_settings(DOCUMENTS_PER_TYPE)
    def fuzz(text: str) -> None:
        tally["inputs"] += 1
        try:
            parse(text, source="fuzz")
            tally["accepted"] += 1
        except error as exc:
            tally["refused"] += 1
            crashes.extend(f"{text[:80]!r}: a stack trace or path" for leak in LEAKS if leak in exc.reason)
        except Exception as exc:
            tally["crashes"] += 1
            crashes.append(f"{text[:80]!r}: {exc!r}")

    fuzz()
    print(f"\n{error.__name__} documents: {dict(tally)}")
    assert tally["refused"] > 0
    assert crashes == []
