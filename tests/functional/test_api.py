"""The REST API handler (functions/api) in-process against moto: every route, its success and its error statuses."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
import yaml
from botocore.stub import Stubber

from mlcp.aws import clients
from mlcp_cli.local.api_server import proxy_event
from tests.functional.conftest import BUCKET, STATE_MACHINE_ARN, Cloud
from tests.support import ROOT, FakeLambdaContext, example_spec, load_event, load_handler

IDEMPOTENCY_TABLE = "mlcp-idempotency"


@pytest.fixture
def api(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    cloud.dynamodb.create_table(
        TableName=IDEMPOTENCY_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    monkeypatch.setenv("IDEMPOTENCY_TABLE", IDEMPOTENCY_TABLE)
    return load_handler("api")


def call(
    api: ModuleType,
    method: str,
    path: str,
    body: Any = None,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    raw: str | None = None,
) -> tuple[int, dict[str, Any]]:
    text = raw if raw is not None else (json.dumps(body) if body is not None else None)
    event = proxy_event(
        method, path, query=query, headers={"Content-Type": "application/json", **(headers or {})}, body=text
    )
    response = api.lambda_handler(event, FakeLambdaContext())
    return int(response["statusCode"]), json.loads(response["body"] or "null")


def register(api: ModuleType, cloud: Cloud, name: str = "churn", version: str = "v1") -> None:
    status, _ = call(api, "PUT", f"/pipelines/{name}", {**example_spec(), "name": name})
    assert status in (200, 201)
    cloud.put(f"datasets/{name}/{version}/manifest.json", json.dumps({"description": "test"}))


def start(api: ModuleType, key: str | None = None, **body: Any) -> tuple[int, dict[str, Any]]:
    headers = {"Idempotency-Key": key} if key else {}
    return call(api, "POST", "/runs", {"pipeline": "churn", "dataset_version": "v1", **body}, headers=headers)


# --- POST /runs --------------------------------------------------------------------------------------------------
def test_start_a_registered_pipeline_on_a_dataset_version(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)

    status, body = start(api)

    assert status == 201
    assert body["pipeline"] == "churn"
    assert body["dataset_version"] == "v1"
    assert body["started"] is True
    execution = cloud.sfn.describe_execution(executionArn=body["execution_arn"])
    sent = json.loads(execution["input"])
    assert sent["dataset"]["manifest_uri"].endswith("/datasets/churn/v1/manifest.json")
    assert sent["trigger"] == {"type": "api", "source": "arn:aws:iam::123456789012:user/local"}
    record = cloud.run(body["run_id"])
    assert record is not None
    assert record["status"] == "PENDING"


def test_an_idempotency_key_makes_a_retry_return_the_same_run(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)

    first = start(api, key="8e2f6a55-2b7c-4a1b-9a63-0c0f5f7f1a11")
    again = start(api, key="8e2f6a55-2b7c-4a1b-9a63-0c0f5f7f1a11")
    other = start(api, key="another-key")

    assert (first[0], again[0]) == (201, 200)  # README: "201 started, 200 already started"
    assert first[1]["started"] is True
    assert again[1] == {**first[1], "started": False}  # the first response, replayed: it started nothing
    assert other[1]["run_id"] != first[1]["run_id"]
    executions = cloud.sfn.list_executions(stateMachineArn=STATE_MACHINE_ARN)["executions"]
    assert len(executions) == 2
    stored = cloud.dynamodb.scan(TableName=IDEMPOTENCY_TABLE)["Items"]
    assert len(stored) == 2
    assert {item["status"]["S"] for item in stored} == {"COMPLETED"}


def test_the_same_key_with_another_request_is_a_409(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)
    cloud.put("datasets/churn/v2/manifest.json", "{}")
    start(api, key="k-1")

    status, body = start(api, key="k-1", dataset_version="v2")

    assert status == 409
    assert body["code"] == "IdempotencyKeyReused"


def test_without_a_key_every_request_is_a_new_run(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)

    first, second = start(api), start(api)

    assert first[1]["run_id"] != second[1]["run_id"]


def test_a_run_of_an_existing_execution_name_reports_not_started(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)
    _, body = start(api, key="k-2")
    cloud.dynamodb.delete_item(
        TableName=IDEMPOTENCY_TABLE, Key={"id": cloud.dynamodb.scan(TableName=IDEMPOTENCY_TABLE)["Items"][0]["id"]}
    )

    status, again = start(api, key="k-2")  # the idempotency record expired: the run id still derives from the key

    assert status == 200
    assert again["run_id"] == body["run_id"]
    assert again["started"] is False


def test_start_with_an_inline_spec(api: ModuleType, cloud: Cloud) -> None:
    cloud.put("datasets/churn/v1/manifest.json", "{}")
    cloud.put("datasets/churn/v1/manifest.json", "{}")

    status, body = call(api, "POST", "/runs", {"spec": example_spec(), "dataset_version": "v1"})

    assert status == 201
    execution = cloud.sfn.describe_execution(executionArn=body["execution_arn"])
    assert json.loads(execution["input"])["spec"]["name"] == "churn"


def test_an_invalid_inline_spec_is_a_400_naming_the_fields(api: ModuleType, cloud: Cloud) -> None:
    spec = example_spec()
    spec["tuning"]["max_jobs"] = 0

    status, body = call(api, "POST", "/runs", {"spec": spec, "dataset_version": "v1"})

    assert status == 400
    assert body["code"] == "InputInvalid"
    assert any(e["field"].startswith("spec.tuning") for e in body["errors"]), body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pipeline": "Not A Name"}, "pipeline"),
        ({"pipeline": "churn", "dataset_version": "a/b"}, "dataset_version"),
        ({"pipeline": "churn", "extra": 1}, "extra"),
        ({}, "pipeline"),
        ([1, 2], "body"),
    ],
)
def test_bad_start_requests_are_400_with_the_field(api: ModuleType, body: Any, field: str) -> None:
    status, answer = call(api, "POST", "/runs", body)

    assert status == 400
    assert field in [e["field"] for e in answer["errors"]], answer


def test_malformed_json_and_a_bad_key_are_400(api: ModuleType) -> None:
    assert call(api, "POST", "/runs", raw="{not json")[0] == 400
    status, body = call(api, "POST", "/runs", {"pipeline": "churn"}, headers={"Idempotency-Key": "x" * 300})
    assert status == 400
    assert body["errors"][0]["location"] == "header"


def test_a_body_that_is_not_utf8_is_400(api: ModuleType) -> None:
    event = proxy_event("POST", "/runs", headers={"Content-Type": "application/json"}, body=b"\x00\x9a\xff")
    assert event["isBase64Encoded"] is True

    response = api.lambda_handler(event, FakeLambdaContext())

    assert response["statusCode"] == 400
    assert json.loads(response["body"])["errors"] == [
        {"field": "body", "message": "is not UTF-8 encoded JSON", "location": "body"}
    ]


def test_an_unregistered_pipeline_or_missing_dataset_is_a_404(api: ModuleType, cloud: Cloud) -> None:
    status, body = start(api)
    assert status == 404
    assert "not registered" in body["message"]

    register(api, cloud)
    status, body = start(api, dataset_version="v9")
    assert status == 404
    assert "datasets/churn/v9/manifest.json does not exist" in body["message"]

    status, body = call(api, "POST", "/runs", {"pipeline": "churn"})  # no dataset_version, none uploaded via S3
    assert status == 404
    assert "no dataset version" in body["message"]


def test_throttling_passes_through_as_429(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)
    sfn = clients.client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_client_error("start_execution", "ThrottlingException", "Rate exceeded", 400)
        status, body = start(api)

    assert status == 429
    assert body["code"] == "Throttled"


def test_an_unexpected_aws_error_is_a_500_without_internals(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)
    with Stubber(clients.client("stepfunctions")) as stub:
        stub.add_client_error("start_execution", "AccessDeniedException", "not allowed", 400)
        status, body = start(api)

    assert status == 500
    assert body == {"code": "InternalError", "message": "internal error; see the API logs", "errors": []}


# --- GET /runs, GET /runs/{id} -----------------------------------------------------------------------------------
def test_get_a_run_and_404_for_an_unknown_one(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)
    _, started = start(api)

    status, run = call(api, "GET", f"/runs/{started['run_id']}")
    assert status == 200
    assert run["run_id"] == started["run_id"]
    assert run["status"] == "PENDING"
    assert run["trigger"]["type"] == "api"

    assert call(api, "GET", "/runs/nope")[0] == 404
    assert call(api, "GET", "/runs/bad%20id!")[0] == 400


def test_list_runs_pages_by_pipeline_and_status(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)
    register(api, cloud, "other")
    ids = {start(api)[1]["run_id"] for _ in range(5)}
    call(api, "POST", "/runs", {"pipeline": "other", "dataset_version": "v1"})

    seen: list[str] = []
    token = ""
    while True:
        status, page = call(api, "GET", "/runs", query=f"pipeline=churn&limit=2&next_token={token}")
        assert status == 200
        assert len(page["items"]) <= 2
        seen += [r["run_id"] for r in page["items"]]
        token = page["next_token"] or ""
        if not token:
            break
    assert set(seen) == ids
    assert len(seen) == 5

    _, everything = call(api, "GET", "/runs", query="limit=100")
    assert len(everything["items"]) == 6
    _, running = call(api, "GET", "/runs", query="status=RUNNING")
    assert running["items"] == []
    _, pending = call(api, "GET", "/runs", query="status=PENDING&pipeline=other")
    assert [r["pipeline"] for r in pending["items"]] == ["other"]


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=abc", "status=DONE", "pipeline=Bad_Name", "next_token=garbage", "next_token=e30"],
)
def test_bad_list_queries_are_400(api: ModuleType, query: str) -> None:
    status, body = call(api, "GET", "/runs", query=query)

    assert status == 400, body
    assert body["errors"], body


def test_a_token_of_another_listing_is_400(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)
    for _ in range(3):
        start(api)
    _, page = call(api, "GET", "/runs", query="pipeline=churn&limit=1")

    status, body = call(api, "GET", "/runs", query=f"limit=1&next_token={page['next_token']}")

    assert status == 400
    assert body["errors"][0]["field"] == "next_token"


# --- cancel / redrive --------------------------------------------------------------------------------------------
def test_cancel_stops_the_execution_and_marks_the_run_aborted(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)
    _, run = start(api)

    status, body = call(api, "POST", f"/runs/{run['run_id']}/cancel")

    assert status == 200
    assert body["status"] == "ABORTED"
    assert cloud.sfn.describe_execution(executionArn=run["execution_arn"])["status"] == "ABORTED"
    record = cloud.run(run["run_id"])
    assert record is not None
    assert record["status"] == "ABORTED"
    assert record["failure"]["error"] == "mlcp.Cancelled"
    status, body = call(api, "POST", f"/runs/{run['run_id']}/cancel")
    assert status == 409
    assert "only RUNNING runs" in body["message"]
    assert call(api, "POST", "/runs/unknown/cancel")[0] == 404


def test_cancel_of_a_run_without_an_execution_is_409(api: ModuleType, cloud: Cloud) -> None:
    cloud.dynamodb.put_item(
        TableName=cloud.runs_table,
        Item={"run_id": {"S": "pending-run"}, "pipeline": {"S": "churn"}, "status": {"S": "PENDING"}},
    )

    status, body = call(api, "POST", "/runs/pending-run/cancel")

    assert status == 409
    assert "no execution yet" in body["message"]


def _stub_execution(stub: Stubber, arn: str, status: str, **extra: Any) -> None:
    stub.add_response(
        "describe_execution",
        {
            "executionArn": arn,
            "stateMachineArn": STATE_MACHINE_ARN,
            "status": status,
            "startDate": "2026-11-27T10:00:00Z",
            **extra,
        },
        {"executionArn": arn},
    )


def test_redrive_a_failed_run(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)
    _, run = start(api)
    cloud.dynamodb.update_item(
        TableName=cloud.runs_table,
        Key={"run_id": {"S": run["run_id"]}},
        UpdateExpression="SET #s = :f, failure = :r, ended_at = :t",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":f": {"S": "FAILED"}, ":r": {"M": {"error": {"S": "X"}}}, ":t": {"S": "now"}},
    )
    sfn = clients.client("stepfunctions")
    with Stubber(
        sfn
    ) as stub:  # plain moto has no RedriveExecution (the local cloud's patches/stepfunctions/redrive.py adds it)
        _stub_execution(stub, run["execution_arn"], "FAILED", redriveCount=0, redriveStatus="REDRIVABLE")
        stub.add_response("redrive_execution", {"redriveDate": "2026-11-27T10:05:00Z"})
        status, body = call(api, "POST", f"/runs/{run['run_id']}/redrive")

    assert status == 200, body
    assert body == {
        "run_id": run["run_id"],
        "execution_arn": run["execution_arn"],
        "status": "RUNNING",
        "redrive_count": 1,
    }
    record = cloud.run(run["run_id"])
    assert record is not None
    assert record["status"] == "RUNNING"
    assert record["redrive_count"] == 1
    assert "failure" not in record
    assert "ended_at" not in record


@pytest.mark.parametrize(
    ("status", "extra", "message"),
    [
        ("RUNNING", {}, "only FAILED, TIMED_OUT or ABORTED"),
        ("SUCCEEDED", {}, "only FAILED, TIMED_OUT or ABORTED"),
        (
            "FAILED",
            {"redriveStatus": "NOT_REDRIVABLE", "redriveStatusReason": "Execution is past the redrive window"},
            "past the redrive window",
        ),
    ],
)
def test_redrive_conflicts_are_409(
    api: ModuleType, cloud: Cloud, status: str, extra: dict[str, Any], message: str
) -> None:
    register(api, cloud)
    _, run = start(api)
    with Stubber(clients.client("stepfunctions")) as stub:
        _stub_execution(stub, run["execution_arn"], status, **extra)
        code, body = call(api, "POST", f"/runs/{run['run_id']}/redrive")

    assert code == 409
    assert message in body["message"]


def test_redrive_refused_by_step_functions_is_409_and_unknown_run_404(api: ModuleType, cloud: Cloud) -> None:
    register(api, cloud)
    _, run = start(api)
    with Stubber(clients.client("stepfunctions")) as stub:
        _stub_execution(stub, run["execution_arn"], "ABORTED", redriveStatus="REDRIVABLE")
        stub.add_client_error("redrive_execution", "ExecutionNotRedrivable", "not redrivable", 400)
        code, _ = call(api, "POST", f"/runs/{run['run_id']}/redrive")

    assert code == 409
    assert call(api, "POST", "/runs/unknown/redrive")[0] == 404


# --- pipelines ---------------------------------------------------------------------------------------------------
def test_put_get_and_list_pipelines(api: ModuleType) -> None:
    status, created = call(api, "PUT", "/pipelines/churn", example_spec())
    assert status == 201
    assert created["spec"]["name"] == "churn"
    assert created["spec_version"].startswith("api-")
    assert created["spec_source"] == "api:arn:aws:iam::123456789012:user/local"

    spec = example_spec()
    spec["description"] = "changed"
    status, replaced = call(api, "PUT", "/pipelines/churn", spec)
    assert status == 200
    assert replaced["spec_version"] != created["spec_version"]

    for name in ("a1", "b2", "c3"):
        call(api, "PUT", f"/pipelines/{name}", {**example_spec(), "name": name})
    names: list[str] = []
    token = ""
    while True:
        status, page = call(api, "GET", "/pipelines", query=f"limit=3&next_token={token}")
        assert status == 200
        names += [p["name"] for p in page["items"]]
        token = page["next_token"] or ""
        if not token:
            break
    assert sorted(names) == ["a1", "b2", "c3", "churn"]

    status, got = call(api, "GET", "/pipelines/churn")
    assert status == 200
    assert got["spec"]["description"] == "changed"
    assert call(api, "GET", "/pipelines/nope")[0] == 404


def test_put_an_invalid_spec_is_400_with_field_errors(api: ModuleType) -> None:
    spec = example_spec()
    del spec["tuning"]

    status, body = call(api, "PUT", "/pipelines/churn", spec)
    assert status == 400
    assert "tuning" in [e["field"] for e in body["errors"]]

    status, body = call(api, "PUT", "/pipelines/other", example_spec())
    assert status == 400
    assert body["errors"] == [{"field": "name", "message": "is 'churn' but the path names 'other'", "location": "body"}]

    assert call(api, "PUT", "/pipelines/Bad_Name", example_spec())[0] == 400
    assert call(api, "GET", "/pipelines", query="limit=0")[0] == 400


def test_put_and_inline_specs_go_through_the_preflight(api: ModuleType) -> None:
    """GIVEN specs that validate field by field but that AWS (or the stack's reach) would refuse
    THEN PUT /pipelines and POST /runs with an inline spec answer 400 naming the spec field."""
    spec = example_spec()
    spec["tuning"]["training"]["environment"] = {"MY-VAR": "x"}
    status, body = call(api, "PUT", "/pipelines/churn", spec)
    assert status == 400
    assert [e["field"] for e in body["errors"]] == ["tuning.training.environment"]

    spec = {**example_spec(), "role_arn": "arn:aws:iam::123456789012:role/team-sagemaker-role"}
    status, body = call(api, "POST", "/runs", {"spec": spec, "dataset_version": "v1"})
    assert status == 400
    assert [e["field"] for e in body["errors"]] == ["spec.role_arn"]
    assert "ExtraSageMakerExecutionRoleArns" in body["errors"][0]["message"]


def _script_mode_spec() -> dict[str, Any]:
    """tests/data/script_mode as a user writes it: local source_dir, no image_uri."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "tests" / "data" / "script_mode" / "pipeline.yaml").read_text())
    return data


def test_a_script_mode_spec_must_be_packaged_before_it_reaches_the_api(api: ModuleType) -> None:
    """GIVEN a script-mode spec sent to PUT /pipelines without the CLI (local source_dir, no image_uri)
    THEN 400 naming each field and the command that packages; packaged (as the CLI sends it) it registers."""
    status, body = call(api, "PUT", "/pipelines/script-mode", _script_mode_spec())
    assert status == 400
    fields = {e["field"]: e["message"] for e in body["errors"]}
    for stage in ("tuning.training", "compression", "augment"):
        assert "mlcp spec package" in fields[f"{stage}.source_dir"]
        assert "mlcp spec package" in fields[f"{stage}.image_uri"]

    spec = _script_mode_spec()
    source = f"s3://{BUCKET}/code/script-mode/{'0' * 64}/sourcedir.tar.gz"
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    for stage in (spec["tuning"]["training"], spec["compression"], spec["augment"]):
        stage.update(source_dir=source, image_uri=image)
    status, created = call(api, "PUT", "/pipelines/script-mode", spec)
    assert status == 201, created
    assert created["spec"]["tuning"]["training"]["source_dir"] == source


def test_unknown_routes_are_404(api: ModuleType) -> None:
    status, body = call(api, "DELETE", "/runs")
    assert status == 404
    assert body["code"] == "NotFound"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("start_run", 201),
        ("get_run", 404),
        ("cancel_run", 404),
        ("list_runs", 200),
        ("put_pipeline", 400),
        ("put_pipeline_script_mode", 201),  # as the CLI sends tests/data/script_mode (packaged, image resolved)
    ],
)
def test_the_sample_events_resolve(api: ModuleType, cloud: Cloud, name: str, expected: int) -> None:
    register(api, cloud)  # churn and its dataset v1; the sample run ids do not exist; put_pipeline's body is a stub
    event = load_event(f"api/{name}")

    response = api.lambda_handler(event, FakeLambdaContext())

    assert response["statusCode"] == expected, response
    assert json.loads(response["body"])
