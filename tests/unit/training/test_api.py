"""The REST API's pure parts: run ids from idempotency keys, continuation tokens, the OpenAPI document's drift,
and the CLI's image resolution (optional extra mlcp[sagemaker])."""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcp.common import naming, pagination
from mlcp.errors import InputInvalid
from mlcp.rest.resolver import openapi_document, openapi_text
from mlcp.training import api
from mlcp_cli.images import INSTALL_HINT, ImageResolutionUnavailable, resolve_images
from mlcp_cli.main import main
from tests.support import ROOT, example_spec

SDK_MODULES = ("sagemaker", "sagemaker.core", "sagemaker.core.image_uris", "sagemaker.image_uris")
KEY = {"run_id": {"S": "churn-v1-abc"}}


def test_a_key_maps_to_one_run_id_per_caller() -> None:
    first = api.run_id_for("churn", "v1", "arn:aws:iam::1:user/a", "key-1", "req-1")

    assert first == api.run_id_for("churn", "v1", "arn:aws:iam::1:user/a", "key-1", "req-2")  # a retry
    assert first != api.run_id_for("churn", "v1", "arn:aws:iam::1:user/b", "key-1", "req-1")  # another caller
    assert first != api.run_id_for("churn", "v1", "arn:aws:iam::1:user/a", None, "req-1")  # no key: per request
    assert first.startswith("churn-v1-")


@given(
    pipeline=st.from_regex(r"^[a-z0-9](-?[a-z0-9]){0,39}$", fullmatch=True),
    version=st.from_regex(r"^[A-Za-z0-9._=-]{1,128}$", fullmatch=True),
    key=st.text(min_size=1, max_size=255),
)
def test_run_ids_are_valid_execution_names(pipeline: str, version: str, key: str) -> None:
    run_id = api.run_id_for(pipeline, version, "caller", key, "request")

    assert len(run_id) <= naming.EXECUTION_NAME_MAX
    assert all(c.isascii() and (c.isalnum() or c in "-_") for c in run_id)


def test_tokens_round_trip_and_are_bound_to_their_listing() -> None:
    token = pagination.encode_token("runs:churn:*", KEY)
    assert token is not None
    assert pagination.encode_token("runs:churn:*", None) is None

    assert pagination.decode_token(token, "runs:churn:*", {"run_id"}) == KEY
    assert pagination.decode_token(None, "runs:churn:*", {"run_id"}) is None
    with pytest.raises(InputInvalid) as caught:
        pagination.decode_token(token, "runs:*:*", {"run_id"})
    assert caught.value.errors[0].field == "next_token"


@pytest.mark.parametrize(
    "token",
    [
        "%%%",
        "bm90IGpzb24",  # "not json"
        pagination.encode_token("s", {"run_id": {"N": "1"}}),
        pagination.encode_token("s", {"run_id": {"S": ""}}),
        pagination.encode_token("s", {"other": {"S": "x"}}),
    ],
)
def test_forged_tokens_are_input_errors(token: str | None) -> None:
    with pytest.raises(InputInvalid):
        pagination.decode_token(token, "s", {"run_id"})


def test_the_committed_openapi_document_is_current() -> None:
    committed = (ROOT / "docs" / "openapi.json").read_text()

    assert committed == openapi_text(), "docs/openapi.json is stale: run `make openapi`"


def test_the_openapi_document_lists_every_route_with_its_error_statuses() -> None:
    document = openapi_document()
    operations = {(m.upper(), p): o for p, ops in document["paths"].items() for m, o in ops.items()}

    assert set(operations) == {
        ("POST", "/pipelines/{name}/runs"),
        ("GET", "/pipelines/{name}/runs"),
        ("GET", "/runs"),
        ("GET", "/pipelines/{name}/runs/{run_id}"),
        ("GET", "/pipelines/{name}/runs/{run_id}/trials"),
        ("POST", "/pipelines/{name}/runs/{run_id}/cancel"),
        ("POST", "/pipelines/{name}/runs/{run_id}/redrive"),
        ("PUT", "/pipelines/{name}"),
        ("GET", "/pipelines"),
        ("GET", "/pipelines/{name}"),
        ("POST", "/batches/{profile}"),
        ("GET", "/batches/{profile}/{batch_id}"),
        ("GET", "/scaling/{cluster}/{nodegroup}"),
        ("POST", "/scaling/{cluster}/{nodegroup}/actions"),
    }
    for operation in operations.values():
        assert {"400", "429"} <= set(operation["responses"])
        assert "422" not in operation["responses"]  # validation errors are 400 with field-level details
    assert {"404", "409"} <= set(operations[("POST", "/pipelines/{name}/runs/{run_id}/cancel")]["responses"])
    assert {"201", "200", "404", "409"} <= set(operations[("POST", "/batches/{profile}")]["responses"])
    assert {"404"} <= set(operations[("GET", "/batches/{profile}/{batch_id}")]["responses"])
    assert {"200", "404"} <= set(operations[("GET", "/pipelines/{name}/runs/{run_id}/trials")]["responses"])
    assert {"404"} <= set(operations[("GET", "/scaling/{cluster}/{nodegroup}")]["responses"])
    assert {"202", "404", "409"} <= set(operations[("POST", "/scaling/{cluster}/{nodegroup}/actions")]["responses"])
    assert document["security"] == [{"sigv4": []}]


def test_the_cli_prints_the_openapi_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi"]) == 0
    assert json.loads(capsys.readouterr().out) == openapi_document()


# --- mlcp[sagemaker] ----------------------------------------------------------------------------------------------
def _spec_with_image() -> dict[str, Any]:
    spec = example_spec()
    del spec["tuning"]["training"]["image_uri"]
    spec["tuning"]["training"]["image"] = {"framework": "xgboost", "version": "1.7-1"}
    return spec


def test_without_the_extra_an_image_reference_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SDK_MODULES:  # import sagemaker[.core].image_uris -> ImportError, even once imported
        monkeypatch.setitem(sys.modules, name, None)

    with pytest.raises(ImageResolutionUnavailable, match=r"pip install 'mlcp\[sagemaker\]'"):
        resolve_images(_spec_with_image(), "eu-west-1")
    assert "mlcp[sagemaker]" in INSTALL_HINT


def test_a_spec_without_image_references_needs_no_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SDK_MODULES:  # import sagemaker[.core].image_uris -> ImportError, even once imported
        monkeypatch.setitem(sys.modules, name, None)
    spec = example_spec()

    assert resolve_images(spec, "eu-west-1") == []
    assert spec == example_spec()


def test_image_references_resolve_through_image_uris_retrieve(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def retrieve(**kwargs: Any) -> str:
        calls.append(kwargs)
        return (
            f"683313688378.dkr.ecr.{kwargs['region']}.amazonaws.com/sagemaker-{kwargs['framework']}:{kwargs['version']}"
        )

    image_uris = types.ModuleType("sagemaker.image_uris")
    image_uris.retrieve = retrieve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sagemaker", types.ModuleType("sagemaker"))
    monkeypatch.setitem(sys.modules, "sagemaker.image_uris", image_uris)
    for name in ("sagemaker.core", "sagemaker.core.image_uris"):  # the v2 SDK only (even if v3 was imported before)
        monkeypatch.setitem(sys.modules, name, None)
    spec = _spec_with_image()

    resolved = resolve_images(spec, "eu-west-1")

    uri = "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert resolved == [f"tuning.training.image_uri: {uri}"]
    assert spec["tuning"]["training"]["image_uri"] == uri
    assert "image" not in spec["tuning"]["training"]
    assert calls[0]["image_scope"] == "training"


def test_spec_validate_without_the_extra_exits_1_with_the_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in SDK_MODULES:  # import sagemaker[.core].image_uris -> ImportError, even once imported
        monkeypatch.setitem(sys.modules, name, None)
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(_spec_with_image()))

    assert main(["spec", "validate", str(path)]) == 1
    assert "pip install 'mlcp[sagemaker]'" in capsys.readouterr().err
