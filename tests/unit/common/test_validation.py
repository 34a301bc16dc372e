"""Turning pydantic errors into dotted, field-level messages."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from mlcp.common.validation import Loc, Rules, RuleViolation, dotted, field_errors
from mlcp.errors import FieldError


# --- toy models ------------------------------------------------------------------------------------------------
class Limits(BaseModel):
    low: int
    high: int

    @model_validator(mode="after")
    def _ordered(self) -> Limits:
        rules = Rules()
        rules.check(self.low >= 0, ("low",), "must not be negative")
        rules.check(self.low < self.high, ("high",), f"must be greater than low ({self.low})")
        rules.raise_if_any()
        return self


class Item(BaseModel):
    name: str
    limits: Limits

    @field_validator("name")
    @classmethod
    def _lower(cls, value: str) -> str:
        if value != value.lower():
            raise ValueError("must be lower case")
        return value


class Circle(BaseModel):
    kind: Literal["circle"]
    radius: Annotated[float, Field(gt=0)]
    square: int = 0  # a field named like a union tag

    @model_validator(mode="after")
    def _sane(self) -> Circle:
        rules = Rules()
        rules.check(self.radius < 100, ("radius",), "too large")
        rules.raise_if_any()
        return self


class Square(BaseModel):
    kind: Literal["square"]
    side: Annotated[float, Field(gt=0)]


class Drawing(BaseModel):
    items: list[Item] = []
    shape: Annotated[Circle | Square, Field(discriminator="kind")] | None = None
    labels: dict[str, int] = {}

    @model_validator(mode="after")
    def _top(self) -> Drawing:
        rules = Rules()
        rules.check(len(self.items) < 3, ("items",), "at most 2 items")
        rules.check("title" in self.labels or not self.labels, ("labels", "title"), "required when labels are given")
        rules.raise_if_any()
        return self


class Asserting(BaseModel):
    value: int

    @model_validator(mode="after")
    def _positive(self) -> Asserting:
        assert self.value > 0, "value must be positive"
        return self


class PlainValueError(BaseModel):
    value: int

    @model_validator(mode="after")
    def _even(self) -> PlainValueError:
        if self.value % 2:
            raise ValueError("value must be even")
        return self


TAGS = {"shape": ("circle", "square")}


def errors_for(data: object, model: type[BaseModel] = Drawing, *, tags: bool = True) -> list[FieldError]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return field_errors(info.value, union_tags=TAGS if tags else None)


# --- dotted --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        pytest.param([], "", id="empty"),
        pytest.param(["name"], "name", id="one-field"),
        pytest.param(("tuning", "max_jobs"), "tuning.max_jobs", id="nested"),
        pytest.param(["dataset", "channels", 0, "name"], "dataset.channels[0].name", id="list-index"),
        pytest.param(["grid", 1, 2], "grid[1][2]", id="nested-indexes"),
        pytest.param([0, "name"], "[0].name", id="leading-index"),
        pytest.param([3], "[3]", id="only-index"),
        pytest.param(["tags", "aws:owner"], "tags.aws:owner", id="dict-key"),
    ],
)
def test_dotted_formats_a_location(loc: Loc, expected: str) -> None:
    assert dotted(loc) == expected


# --- Rules / RuleViolation ---------------------------------------------------------------------------------------
def test_rules_without_violations_do_not_raise() -> None:
    rules = Rules()
    rules.check(True, ("a",), "never reported")
    rules.raise_if_any()


def test_rules_collect_every_violation_in_order() -> None:
    rules = Rules()
    rules.check(False, ("b",), "first")
    rules.check(True, ("c",), "not reported")
    rules.check(False, ("a", 0, "x"), "second")
    with pytest.raises(RuleViolation) as info:
        rules.raise_if_any()
    assert info.value.violations == [(("b",), "first"), (("a", 0, "x"), "second")]


def test_rule_violation_message_lists_every_violation_with_its_path() -> None:
    exc = RuleViolation([(("max_jobs",), "required"), (("ranges", 1, "min"), "too small")])
    assert str(exc) == "max_jobs: required; ranges[1].min: too small"
    assert isinstance(exc, ValueError)


# --- field_errors ---------------------------------------------------------------------------------------------
def test_plain_field_errors_get_dotted_paths() -> None:
    errors = errors_for({"items": [{"name": "a", "limits": {"low": 0, "high": "many"}}]})
    assert errors == [
        FieldError("items[0].limits.high", "Input should be a valid integer, unable to parse string as an integer")
    ]


def test_rule_violations_are_prefixed_with_the_model_location() -> None:
    errors = errors_for(
        {
            "items": [
                {"name": "a", "limits": {"low": 0, "high": 1}},
                {"name": "b", "limits": {"low": -5, "high": -6}},
            ]
        }
    )
    assert errors == [
        FieldError("items[1].limits.low", "must not be negative"),
        FieldError("items[1].limits.high", "must be greater than low (-5)"),
    ]


def test_rule_violations_of_the_top_model_have_no_prefix() -> None:
    item = {"name": "a", "limits": {"low": 0, "high": 1}}
    errors = errors_for({"items": [item, item, item], "labels": {"x": 1}})
    assert errors == [
        FieldError("items", "at most 2 items"),
        FieldError("labels.title", "required when labels are given"),
    ]


def test_value_error_prefix_is_removed_from_messages() -> None:
    errors = errors_for({"items": [{"name": "Upper", "limits": {"low": 0, "high": 1}}]})
    assert errors == [FieldError("items[0].name", "must be lower case")]


def test_plain_value_error_in_a_model_validator_is_reported_on_the_model() -> None:
    errors = errors_for({"value": 3}, PlainValueError)
    assert errors == [FieldError("", "value must be even")]


def test_assertion_prefix_is_removed_from_messages() -> None:
    errors = errors_for({"value": 0}, Asserting)
    assert len(errors) == 1
    assert errors[0].field == ""
    assert errors[0].message.startswith("value must be positive")


def test_errors_from_several_places_are_all_reported() -> None:
    errors = errors_for(
        {
            "items": [{"name": "Upper", "limits": {"low": 2, "high": 1}}],
            "shape": {"kind": "square", "side": 0},
            "labels": {"title": "x"},
        }
    )
    assert [e.field for e in errors] == ["items[0].name", "items[0].limits.high", "shape.side", "labels.title"]


# --- union tags ------------------------------------------------------------------------------------------------
def test_union_tag_is_removed_from_field_errors() -> None:
    errors = errors_for({"shape": {"kind": "circle", "radius": -1}})
    assert [e.field for e in errors] == ["shape.radius"]
    assert "greater than 0" in errors[0].message


def test_union_tag_is_removed_from_rule_violations() -> None:
    errors = errors_for({"shape": {"kind": "circle", "radius": 500}})
    assert errors == [FieldError("shape.radius", "too large")]


def test_union_tag_is_kept_without_union_tags() -> None:
    errors = errors_for({"shape": {"kind": "square", "side": -1}}, tags=False)
    assert [e.field for e in errors] == ["shape.square.side"]


def test_unknown_union_tag_is_reported_on_the_union_field() -> None:
    errors = errors_for({"shape": {"kind": "triangle"}})
    assert [e.field for e in errors] == ["shape"]
    assert "'circle', 'square'" in errors[0].message


def test_tag_names_elsewhere_in_a_path_are_kept() -> None:
    errors = errors_for({"labels": {"circle": "big"}})
    assert [e.field for e in errors] == ["labels.circle"]


def test_member_field_named_like_a_tag_is_kept() -> None:
    errors = errors_for({"shape": {"kind": "circle", "radius": 1, "square": "four"}})
    assert [e.field for e in errors] == ["shape.square"]
