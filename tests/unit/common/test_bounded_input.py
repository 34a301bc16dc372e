"""Issue 18 findings on the documents themselves: unknown command placeholders, unbounded policy lists, quadratic
uniqueness checks. Each hostile input is rejected with the field named (never a KeyError or a timeout later)."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
import yaml

from mlcp.batch.spec import parse_batch_spec
from mlcp.errors import BatchSpecInvalid, PolicyInvalid, SpecInvalid
from mlcp.scaling.policy import MAX_RULES, parse_policy
from mlcp.training.spec import parse_spec
from tests.support import ROOT, example_spec


def _batch(**job: Any) -> dict[str, Any]:
    return {
        "name": "scoring",
        "items": {"count": 10},
        "job": {"definition": "worker", **job},
        "queues": [{"name": "spot", "max_vcpus": 4}],
    }


def _policy() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "scaling" / "policy.yaml").read_text())
    return data


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ("--shard={shard}", "{shard} is not a placeholder"),
        ("--x={output.bucket}", "{output.bucket} is not a placeholder"),
        ("--x={0}", "{0} is not a placeholder"),
        ("--x={output!r}", "{output} is not a placeholder"),
        ("--x={", "is not a valid template"),
    ],
)
def test_a_batch_command_with_an_unknown_placeholder_is_refused(part: str, message: str) -> None:
    with pytest.raises(BatchSpecInvalid) as exc:
        parse_batch_spec(_batch(command=["worker", part]))
    assert [e.field for e in exc.value.errors] == ["job.command[1]"]
    assert message in exc.value.errors[0].message


def test_known_placeholders_and_literal_braces_are_accepted() -> None:
    spec = parse_batch_spec(_batch(command=["worker", "--n={items_per_child}", "--out={output}", "{{literal}}"]))
    assert spec.job.command[3] == "{{literal}}"


@pytest.mark.parametrize("field", ["scale_out", "scale_in", "schedules", "alarms"])
def test_a_policy_list_is_bounded(field: str) -> None:
    data = _policy()
    item = data[field][0]
    data[field] = [copy.deepcopy(item) for _ in range(2000)]
    with pytest.raises(PolicyInvalid) as exc:
        parse_policy(data)
    limit = 2 * MAX_RULES if field == "alarms" else MAX_RULES
    assert any(e.field == field and f"at most {limit} items" in e.message for e in exc.value.errors)


def test_duplicate_schedule_names_are_reported_on_each_repeat() -> None:
    data = _policy()
    data["schedules"] = [data["schedules"][0]] * 3
    with pytest.raises(PolicyInvalid) as exc:
        parse_policy(data)
    assert [e.field for e in exc.value.errors if e.message == "is not unique"] == [
        "schedules[1].name",
        "schedules[2].name",
    ]


def test_many_ranges_are_refused_in_linear_time() -> None:
    # GIVEN 60,000 integer ranges (2.3 MiB took 33 s with list.count) as a dict, past the loader's size cap
    spec = example_spec()
    spec["tuning"]["parameter_ranges"]["integer"] = [{"name": f"p{i}", "min": 1, "max": 2} for i in range(60_000)]
    started = time.perf_counter()
    with pytest.raises(SpecInvalid) as exc:
        parse_spec(spec)
    elapsed = time.perf_counter() - started
    # THEN the refusal names the limit (the value count), long before any per-range check
    assert "has more than 100,000 values" in str(exc.value)
    assert elapsed < 10  # a generous bound: it measures "not quadratic", not speed


def test_each_range_list_is_bounded_like_sagemakers() -> None:
    spec = example_spec()
    spec["tuning"]["parameter_ranges"]["integer"] = [{"name": f"p{i}", "min": 1, "max": 2} for i in range(5000)]
    with pytest.raises(SpecInvalid) as exc:
        parse_spec(spec)
    assert any(
        e.field == "tuning.parameter_ranges.integer" and "at most 30 items" in e.message for e in exc.value.errors
    )
