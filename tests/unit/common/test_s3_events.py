"""mlcp.common.s3_events: keys as S3 encodes them, "null" versions, event types, the delivered-key fallback."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcp.common.s3_events import (
    KeyAction,
    S3Object,
    classify_key,
    decode_key,
    parse_s3_event,
    resolve_key,
    wildcard_regex,
)
from mlcp.errors import EventIgnored
from tests.support import load_event


def event(**object_fields: Any) -> dict[str, Any]:
    sample = copy.deepcopy(load_event("s3/manifest_uploaded"))
    sample["detail"]["object"].update(object_fields)
    return sample


@pytest.mark.parametrize(
    ("delivered", "key"),
    [
        ("red+flower.jpg", "red flower.jpg"),  # the S3 documentation's own example
        ("v%3A1", "v:1"),
        ("a%2Bb", "a+b"),  # a literal plus
        ("caf%C3%A9", "café"),  # UTF-8
        ("%E6%97%A5%E6%9C%AC", "日本"),
        ("100%25", "100%"),
        ("plain/key.json", "plain/key.json"),
    ],
)
def test_keys_are_decoded_as_s3_encodes_them(delivered: str, key: str) -> None:
    assert decode_key(delivered) == key
    obj = parse_s3_event(event(key=f"datasets/churn/{delivered}/manifest.json"))
    assert obj.key == f"datasets/churn/{key}/manifest.json"
    assert obj.delivered_key == (None if delivered == key else f"datasets/churn/{delivered}/manifest.json")


def test_a_key_that_is_not_valid_utf8_once_decoded_stays_as_delivered() -> None:
    obj = parse_s3_event(event(key="datasets/churn/%FF/manifest.json"))
    assert obj.key == "datasets/churn/%FF/manifest.json"


@given(st.text(min_size=1, max_size=40))
def test_decoding_inverts_the_encoding(name: str) -> None:
    from urllib.parse import quote_plus  # noqa: PLC0415

    assert decode_key(quote_plus(name, safe="/")) == name


@pytest.mark.parametrize("version", ["null", "", None])
def test_null_version_is_no_version(version: str | None) -> None:
    obj = parse_s3_event(event(**{"version-id": version}))
    assert obj.version_id is None
    assert obj.identity == "0062E99A88DC407462-b1946ac92492d2347c6235b4d2611184"
    assert obj.source == obj.uri


@pytest.mark.parametrize(
    "detail_type", ["Object Deleted", "Object Restore Completed", "Object Restore Initiated", "Object Tags Added"]
)
def test_other_event_types_are_ignored(detail_type: str) -> None:
    sample = event()
    sample["detail-type"] = detail_type
    with pytest.raises(EventIgnored, match=detail_type):
        parse_s3_event(sample)


class Heads:
    def __init__(self, *existing: str) -> None:
        self.existing = set(existing)
        self.asked: list[tuple[str, str | None]] = []

    def read(self, uri: str, version_id: str | None = None, *, max_bytes: int | None = None) -> bytes:
        raise AssertionError("resolve_key only asks HeadObject")

    def exists(self, uri: str, version_id: str | None = None) -> bool:
        self.asked.append((uri, version_id))
        return uri in self.existing

    def size(self, uri: str) -> int:
        raise AssertionError("not used")


def _obj(key: str, delivered: str | None) -> S3Object:
    return S3Object("b", key, "v1", "01", "e", delivered_key=delivered)


def test_resolve_prefers_the_decoded_key_then_the_delivered_one() -> None:
    both = Heads("s3://b/a b", "s3://b/a+b")
    assert resolve_key(_obj("a b", "a+b"), both).key == "a b"
    only_delivered = Heads("s3://b/a+b")
    resolved = resolve_key(_obj("a b", "a+b"), only_delivered)
    assert (resolved.key, resolved.delivered_key) == ("a+b", None)
    assert only_delivered.asked == [("s3://b/a b", "v1"), ("s3://b/a+b", "v1")]  # at the event's version
    neither = Heads()
    assert resolve_key(_obj("a b", "a+b"), neither).key == "a b"  # its read then says the decoded key is missing
    plain = Heads()
    assert resolve_key(_obj("ab", None), plain).key == "ab"
    assert plain.asked == []  # nothing to resolve: no HeadObject


def test_wildcards_span_slashes_as_eventbridge_does() -> None:
    pattern = wildcard_regex(["datasets/*/*/manifest.json"])
    assert pattern.match("datasets/a/b/manifest.json")
    assert pattern.match("datasets/a/b/c/d/manifest.json")
    assert not pattern.match("datasets/a/manifest.json")
    assert not pattern.match("datasets/a/b/manifest.json.tmp")


def test_classify_key_accepts_refuses_and_ignores() -> None:
    import re  # noqa: PLC0415

    forwarded = wildcard_regex(["datasets/*/*/manifest.json"])
    valid = re.compile(r"^datasets/(?P<name>[^/]+)/(?P<version>[^/]+)/manifest\.json$")
    accepted = classify_key("datasets/churn/v1/manifest.json", forwarded, valid, "the layout")
    assert (accepted.action, accepted.parts) == (KeyAction.ACCEPT, {"name": "churn", "version": "v1"})
    refused = classify_key("datasets/churn/a/b/manifest.json", forwarded, valid, "the layout")
    assert (refused.action, refused.name, refused.reason) == (KeyAction.REFUSE, "churn", "expected the layout")
    assert classify_key("datasets/churn/v1/part.csv", forwarded, valid, "the layout").action == KeyAction.IGNORE


def test_the_samples_of_events_s3() -> None:
    encoded = parse_s3_event(load_event("s3/manifest_key_encoded"))
    assert encoded.key == "datasets/churn/hv space 2026/manifest.json"
    assert encoded.delivered_key == "datasets/churn/hv+space+2026/manifest.json"
    unversioned = parse_s3_event(load_event("s3/manifest_uploaded_unversioned"))
    assert unversioned.version_id is None
    with pytest.raises(EventIgnored, match="Object Deleted"):
        parse_s3_event(load_event("s3/manifest_deleted"))
