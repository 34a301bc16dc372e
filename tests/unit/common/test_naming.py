"""Deterministic AWS names: always within the service limits and patterns, whatever the input."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from mlcp.common.naming import (
    compilation_job_name,
    compression_job_name,
    digest,
    execution_name,
    processing_job_name,
    tuning_job_name,
)

EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")

JOB_NAMERS: list[tuple[Callable[[str], str], int, str]] = [
    (tuning_job_name, 32, "hpo"),
    (processing_job_name, 63, "augment"),
    (compression_job_name, 63, "compress"),
    (compilation_job_name, 63, "neo"),
]
JOB_NAMER_PARAMS = [pytest.param(fn, limit, stage, id=fn.__name__) for fn, limit, stage in JOB_NAMERS]

# No example database: property tests must not leave a .hypothesis/ folder in the repository.
quick = settings(database=None, max_examples=100, deadline=None)

# Any valid Unicode text.
any_text = st.text(st.characters(codec="utf-8"), max_size=300)
# Realistic identities (S3 keys, event ids, dataset versions) never contain the ASCII unit separator.
identity_part = st.text(st.characters(codec="utf-8", exclude_characters="\x1f"), max_size=60)
identities = st.lists(identity_part, max_size=4)


# --- execution names -------------------------------------------------------------------------------------------
@quick
@given(pipeline=any_text, label=any_text, identity=st.lists(any_text, max_size=4))
@example(pipeline="", label="", identity=[])
@example(pipeline="a" * 500, label="b" * 500, identity=["x"])
@example(pipeline="---___", label="***", identity=["y"])
@example(pipeline="défi-ñandú", label="日本語", identity=["z"])
def test_execution_name_is_short_and_uses_allowed_characters(pipeline: str, label: str, identity: list[str]) -> None:
    name = execution_name(pipeline, label, *identity)
    assert len(name) <= 80
    assert EXECUTION_NAME.fullmatch(name), name


@quick
@given(pipeline=any_text, label=any_text, identity=st.lists(any_text, max_size=4))
def test_execution_name_is_deterministic(pipeline: str, label: str, identity: list[str]) -> None:
    assert execution_name(pipeline, label, *identity) == execution_name(pipeline, label, *identity)


@quick
@given(pipeline=any_text, label=any_text, first=identities, second=identities)
@example(pipeline="churn", label="s3", first=["a", ""], second=["a"])
@example(pipeline="churn", label="s3", first=["ab"], second=["a", "b"])
def test_different_identity_gives_a_different_execution_name(
    pipeline: str, label: str, first: list[str], second: list[str]
) -> None:
    assume(first != second)
    assert execution_name(pipeline, label, *first) != execution_name(pipeline, label, *second)


def test_execution_name_reads_pipeline_label_then_hash() -> None:
    name = execution_name("churn", "manifest", "pipelines/churn/v3/manifest.json", "etag-1")
    assert re.fullmatch(r"churn-manifest-[0-9a-f]{10}", name), name
    assert name.endswith(digest("churn", "manifest", "pipelines/churn/v3/manifest.json", "etag-1"))


def test_execution_name_replaces_disallowed_characters() -> None:
    name = execution_name("churn v2", "s3:put/object", "id")
    assert name.startswith("churn-v2-s3-put-object-")


def test_execution_name_falls_back_to_run_for_an_unusable_pipeline() -> None:
    name = execution_name("???", "", "id")
    assert re.fullmatch(r"run-[0-9a-f]{10}", name), name


def test_long_execution_name_is_cut_to_exactly_80_characters() -> None:
    name = execution_name("p" * 100, "l" * 100, "id")
    assert len(name) == 80
    assert name.startswith("p" * 40 + "-l")


def test_same_identity_under_another_label_gives_another_name() -> None:
    assert execution_name("churn", "manual", "id") != execution_name("churn", "schedule", "id")


def test_identity_containing_the_separator_does_not_collide() -> None:
    assert execution_name("churn", "s3", "a\x1fb") != execution_name("churn", "s3", "a", "b")


def test_execution_name_survives_a_lone_surrogate() -> None:
    name = execution_name("churn", "s3", "key-\ud800")
    assert EXECUTION_NAME.fullmatch(name)


# --- SageMaker job names ------------------------------------------------------------------------------------------
run_ids = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=400),
    st.text(alphabet="abc_-. /:", max_size=120),
    st.from_regex(r"[a-z0-9]{1,20}-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}", fullmatch=True),
)


@pytest.mark.parametrize(("namer", "limit", "stage"), JOB_NAMER_PARAMS)
@quick
@given(run_id=run_ids)
@example(run_id="")
@example(run_id="churn_2026_11_27__run")
@example(run_id="___---___")
@example(run_id="x" * 1000)
@example(run_id="ünïcødé-rün-日本")
@example(run_id="-leading-and-trailing-")
def test_job_name_respects_limit_and_pattern(namer: Callable[[str], str], limit: int, stage: str, run_id: str) -> None:
    name = namer(run_id)
    assert len(name) <= limit, name
    assert SAGEMAKER_NAME.fullmatch(name), name
    assert name.endswith(f"-{stage}")


@pytest.mark.parametrize(("namer", "limit", "stage"), JOB_NAMER_PARAMS)
@quick
@given(run_id=run_ids)
def test_job_name_is_deterministic(namer: Callable[[str], str], limit: int, stage: str, run_id: str) -> None:
    assert namer(run_id) == namer(run_id)


@pytest.mark.parametrize(("namer", "limit", "stage"), JOB_NAMER_PARAMS)
@quick
@given(first=run_ids, second=run_ids)
@example(first="churn_run", second="churn-run")
@example(first="x" * 200, second="x" * 201)
def test_different_run_ids_give_different_job_names(
    namer: Callable[[str], str], limit: int, stage: str, first: str, second: str
) -> None:
    assume(first != second)
    assert namer(first) != namer(second)


@quick
@given(run_id=run_ids)
@example(run_id="a" * 300)
def test_tuning_job_name_fits_32_characters(run_id: str) -> None:
    assert len(tuning_job_name(run_id)) <= 32


@quick
@given(run_id=run_ids)
def test_stages_of_one_run_get_distinct_job_names(run_id: str) -> None:
    names = [namer(run_id) for namer, _, _ in JOB_NAMERS]
    assert len(set(names)) == len(names)


def test_job_name_keeps_a_readable_run_id_prefix() -> None:
    run_id = "churn-20261127T101500Z-1a2b3c4d"
    assert compression_job_name(run_id).startswith(f"{run_id}-")
    assert re.fullmatch(r"churn-20261127T1015-[0-9a-f]{8}-hpo", tuning_job_name(run_id)), tuning_job_name(run_id)


def test_job_name_without_usable_run_id_is_hash_and_stage() -> None:
    assert re.fullmatch(r"[0-9a-f]{8}-neo", compilation_job_name("___")), compilation_job_name("___")


# --- digest ---------------------------------------------------------------------------------------------------
def test_digest_is_short_lower_hex_of_the_requested_length() -> None:
    assert re.fullmatch(r"[0-9a-f]{10}", digest("a", "b"))
    assert re.fullmatch(r"[0-9a-f]{8}", digest("a", length=8))
    assert digest("a", "b") != digest("b", "a")
