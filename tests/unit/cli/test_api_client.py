"""The CLI's API client addresses a run under its pipeline (or job profile) from the run id alone: run ids are
``<pipeline>-<label>-<hash>`` and names may contain hyphens, so it tries the prefixes that are valid names."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlcp.common import naming
from mlcp_cli.api_client import ApiClient, ApiError, owners


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
