"""The CLI's API client addresses a run under its pipeline (or job profile) from the run id alone: run ids are
``<pipeline>-<label>-<hash>`` and names may contain hyphens, so it tries the prefixes that are valid names. A
malformed run id is refused as the API's routes refuse it (RunId), before any request."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlcp.common import naming
from mlcp_cli import api_commands
from mlcp_cli.api_client import ApiClient, ApiError, owners, run_id_argument
from mlcp_cli.main import main


def test_owners_are_the_ids_name_prefixes_shortest_first() -> None:
    run_id = naming.execution_name("churn-eu", "v1", "api", "caller", "key")

    candidates = owners(run_id)

    assert candidates[:2] == ["churn", "churn-eu"]
    assert all(len(c) <= 40 and run_id.startswith(c + "-") for c in candidates)
    assert owners("no_hyphen") == []
    assert owners("Churn-v1-x") == []  # not a pipeline name: nothing to try


def _answers(statuses: dict[str, int]) -> tuple[list[str], ApiClient, Callable[[str], str]]:
    """The names tried, a client, and a route call answering ``statuses`` (404 for any other name)."""
    tried: list[str] = []
    client = ApiClient("http://127.0.0.1:9", sign=False)

    def get(pipeline: str) -> str:
        tried.append(pipeline)
        status = statuses.get(pipeline, 404)
        if status != 200:
            raise ApiError(status, {"code": str(status), "message": f"{pipeline}: {status}"})
        return pipeline

    return tried, client, get


def test_owned_tries_each_candidate_past_404_and_403() -> None:
    tried, client, get = _answers({"churn": 403, "churn-eu": 200})

    found = client.owned("churn-eu-v1-api-0a1b", None, get)

    assert (found, tried) == ("churn-eu", ["churn", "churn-eu"])


def test_owned_raises_the_denial_or_a_not_found_and_stops_on_other_errors() -> None:
    tried, client, get = _answers({"churn": 403})
    with pytest.raises(ApiError) as denied:
        client.owned("churn-eu-v1", None, get)
    assert (denied.value.status, tried) == (403, ["churn", "churn-eu"])

    _, client, get = _answers({})
    with pytest.raises(ApiError) as missing:
        client.owned("churn-v1", None, get)
    assert missing.value.status == 404
    assert "'churn-v1' is no run" in missing.value.message

    tried, client, get = _answers({"churn": 400})
    with pytest.raises(ApiError) as invalid:
        client.owned("churn-v1-x", None, get)
    assert (invalid.value.status, tried) == (400, ["churn"])


def test_an_explicit_owner_is_the_only_one_tried() -> None:
    tried, client, get = _answers({"churn": 200})

    assert client.owned("anything-at-all", "churn", get) == "churn"
    assert tried == ["churn"]


@pytest.mark.parametrize("run_id", ["bad id!", "churn/v1", "", "x" * 81, "churn-v1\n"])
def test_the_run_id_check_refuses_what_the_apis_run_id_refuses(run_id: str) -> None:
    import argparse  # noqa: PLC0415

    from pydantic import TypeAdapter, ValidationError  # noqa: PLC0415

    from mlcp.common.api_models import RunId  # noqa: PLC0415

    with pytest.raises(ValidationError):
        TypeAdapter(RunId).validate_python(run_id)
    with pytest.raises(argparse.ArgumentTypeError, match=r"is not a run id: run ids are 1\.\.80 characters"):
        run_id_argument(run_id)


@pytest.mark.parametrize("run_id", [naming.execution_name("churn-eu", "v1", "api", "k"), "x" * 80, "a_b-C9"])
def test_the_run_id_check_accepts_what_the_apis_run_id_accepts(run_id: str) -> None:
    from pydantic import TypeAdapter  # noqa: PLC0415

    from mlcp.common.api_models import RunId  # noqa: PLC0415

    assert run_id_argument(run_id) == TypeAdapter(RunId).validate_python(run_id) == run_id


@pytest.mark.parametrize(
    "argv",
    [
        ["runs", "get", "bad id!"],
        ["runs", "get", "bad id!", "--pipeline", "churn"],
        ["runs", "cancel", "bad id!"],
        ["runs", "redrive", "bad id!"],
        ["runs", "watch", "bad id!"],
        ["batch", "get", "bad id!"],
    ],
)
def test_run_commands_refuse_a_malformed_run_id_before_any_request(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_client(_: object) -> ApiClient:
        raise AssertionError("no request for a malformed run id")

    monkeypatch.setattr(api_commands, "client", no_client)
    with pytest.raises(SystemExit) as usage:
        main([*argv, "--local"])

    assert usage.value.code == 2
    err = capsys.readouterr().err
    assert "'bad id!' is not a run id: run ids are 1..80 characters matching ^[A-Za-z0-9_-]+$" in err
