"""The REST API over real HTTP on 127.0.0.1: the local API in front of ApiFunction in the local cloud.

Idempotent starts, cancel (the running SageMaker job stops), redrive of a failed run, the CLI against the local
API, and schemathesis fuzzing from docs/openapi.json (bounded; no 5xx).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from mlcp.common.pricing import usd_text
from mlcp_cli.local.api_server import LocalApi, serve_api
from mlcp_cli.local.cloud import EXAMPLES, LocalCloud
from mlcp_cli.local.faults import JobFault
from mlcp_cli.main import main
from tests.local_cloud.conftest import states_entered
from tests.support import ROOT

SPEC = yaml.safe_load((EXAMPLES / "pipelines" / "churn" / "pipeline.yaml").read_text())
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LocalCloud, LocalApi]]:
    # Slower than the other modules' clouds: a run must still be tuning when the test cancels it.
    with LocalCloud(speed=400.0) as cloud:
        api = serve_api(cloud)
        try:
            yield cloud, api
        finally:
            api.stop()


@pytest.fixture(scope="module")
def registered(served: tuple[LocalCloud, LocalApi]) -> tuple[LocalCloud, LocalApi]:
    cloud, api = served
    status, _ = http(api, "PUT", "/pipelines/churn", SPEC)
    assert status == 201
    for version in ("v1", "v2", "v3"):
        cloud.upload_dataset("churn", version)  # each upload also starts a run (S3 trigger)
    cloud.settle(timeout=TIMEOUT)
    return cloud, api


def http(
    api: LocalApi, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        api.url + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_for(check: Any, what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def tune_job(api: LocalApi, run_id: str) -> str | None:
    """The run's tune stage job name, once it has one."""
    stage = http(api, "GET", f"/pipelines/churn/runs/{run_id}")[1]["stages"].get("tune") or {}
    return stage.get("job_name")


def test_idempotent_start_over_http(registered: tuple[LocalCloud, LocalApi]) -> None:
    cloud, api = registered
    request = {"dataset_version": "v1"}

    first = http(api, "POST", "/pipelines/churn/runs", request, {"Idempotency-Key": "idem-1"})
    again = http(api, "POST", "/pipelines/churn/runs", request, {"Idempotency-Key": "idem-1"})
    cloud.settle(timeout=TIMEOUT)

    assert (first[0], again[0]) == (201, 200)  # README: "201 started, 200 already started"
    assert again[1] == {**first[1], "started": False}
    run_id = first[1]["run_id"]
    assert [e["name"] for e in cloud.executions()].count(run_id) == 1
    status, run = http(api, "GET", f"/pipelines/churn/runs/{run_id}")
    assert status == 200
    assert run["status"] == "SUCCEEDED"
    assert [s for s in ("validate", "augment", "tune", "compress", "gate", "register") if s in run["stages"]] == [
        "validate",
        "augment",
        "tune",
        "compress",
        "gate",
        "register",
    ]
    assert run["model_package_arn"].startswith("arn:aws:sagemaker:")


def test_cancel_stops_the_running_sagemaker_job(registered: tuple[LocalCloud, LocalApi]) -> None:
    cloud, api = registered
    _, started = http(api, "POST", "/pipelines/churn/runs", {"dataset_version": "v2"}, {"Idempotency-Key": "c-1"})
    run_id = started["run_id"]

    tuning_job = wait_for(lambda: tune_job(api, run_id), "the tune stage")
    status, cancelled = http(api, "POST", f"/pipelines/churn/runs/{run_id}/cancel")
    cloud.settle(timeout=TIMEOUT)

    assert status == 200, cancelled
    assert cancelled["status"] == "ABORTED"
    assert cloud.describe(started["execution_arn"])["status"] == "ABORTED"
    sagemaker = cloud.client("sagemaker")
    job = wait_for(
        lambda: (
            (
                (d := sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning_job))[
                    "HyperParameterTuningJobStatus"
                ]
                == "Stopped"
            )
            and d
        ),
        "the tuning job to stop",
    )
    print(f"tuning job {tuning_job}: {job['HyperParameterTuningJobStatus']}")
    _, run = http(api, "GET", f"/pipelines/churn/runs/{run_id}")
    assert run["status"] == "ABORTED"
    assert run["failure"]["error"] == "mlcp.Cancelled"
    assert run["cancelled_by"] == run["started_by"] == "arn:aws:iam::123456789012:user/local"
    assert http(api, "POST", f"/pipelines/churn/runs/{run_id}/cancel")[0] == 409


def test_redrive_of_a_failed_run(registered: tuple[LocalCloud, LocalApi]) -> None:
    cloud, api = registered
    cloud.faults.jobs.append(JobFault(job="*-compress", reason="AlgorithmError: injected", times=1))
    _, started = http(api, "POST", "/pipelines/churn/runs", {"dataset_version": "v3"}, {"Idempotency-Key": "r-1"})
    cloud.settle(timeout=TIMEOUT)
    run_id, arn = started["run_id"], started["execution_arn"]
    _, failed = http(api, "GET", f"/pipelines/churn/runs/{run_id}")
    assert failed["status"] == "FAILED"
    assert failed["failure"]["stage"] == "compress"

    status, redriven = http(api, "POST", f"/pipelines/churn/runs/{run_id}/redrive")
    cloud.settle(timeout=TIMEOUT)

    assert status == 200, redriven
    assert redriven["redrive_count"] == 1
    described = cloud.describe(arn)
    print("after redrive:", described["status"], described.get("redriveCount"), states_entered(cloud, arn)[-3:])
    assert described["redriveCount"] == 1
    history = cloud.history(arn)
    assert "ExecutionRedriven" in [e["type"] for e in history]
    # The run failed through the pipeline's Catch (Record Failure -> Notify Failure -> Run Failed): the unsuccessful
    # state is the Fail state, so Step Functions redrives into "Run Failed" and the run fails again, as on AWS.
    redriven_states = [
        e["stateEnteredEventDetails"]["name"]
        for e in history[[e["type"] for e in history].index("ExecutionRedriven") :]
        if e["type"].endswith("StateEntered")
    ]
    assert redriven_states == ["Run Failed"]
    assert described["status"] == "FAILED"
    _, run = http(api, "GET", f"/pipelines/churn/runs/{run_id}")
    assert run["redrive_count"] == 1
    assert run["redriven_by"] == "arn:aws:iam::123456789012:user/local"
    assert run["status"] == "FAILED"  # the recorder ended the reopened run with the redrive's status event
    assert http(api, "POST", f"/pipelines/churn/runs/{run_id}/redrive")[0] == 200  # still FAILED: redrivable again


def test_redrive_of_a_cancelled_run_restarts_the_job_state(registered: tuple[LocalCloud, LocalApi]) -> None:
    cloud, api = registered
    _, started = http(api, "POST", "/pipelines/churn/runs", {"dataset_version": "v2"}, {"Idempotency-Key": "r-2"})
    run_id, arn = started["run_id"], started["execution_arn"]
    wait_for(lambda: tune_job(api, run_id), "tune")
    http(api, "POST", f"/pipelines/churn/runs/{run_id}/cancel")
    cloud.settle(timeout=TIMEOUT)

    status, _ = http(api, "POST", f"/pipelines/churn/runs/{run_id}/redrive")
    cloud.settle(timeout=TIMEOUT)

    assert status == 200
    history = cloud.history(arn)
    after = history[[e["type"] for e in history].index("ExecutionRedriven") :]
    entered = [e["stateEnteredEventDetails"]["name"] for e in after if e["type"].endswith("StateEntered")]
    failed = [e["taskFailedEventDetails"] for e in after if e["type"] == "TaskFailed"]
    print("redrive of an aborted run:", entered, failed[:1], cloud.describe(arn)["status"])
    assert entered[0] == "Tune Hyperparameters"


def test_the_local_api_enforces_an_iam_users_policy(registered: tuple[LocalCloud, LocalApi]) -> None:
    """GIVEN a local IAM user with docs/iam/pipeline-operator.json (pipeline churn) WHEN it signs requests THEN
    churn's routes reach the function (as that user) and another pipeline's are API Gateway's 403."""
    from botocore.auth import SigV4Auth  # noqa: PLC0415
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415
    from botocore.credentials import Credentials  # noqa: PLC0415

    cloud, api = registered
    iam = cloud.client("iam")
    iam.create_user(UserName="churn-operator")
    policy = (ROOT / "docs" / "iam" / "pipeline-operator.json").read_text()
    iam.put_user_policy(UserName="churn-operator", PolicyName="mlcp-api", PolicyDocument=policy)
    key = iam.create_access_key(UserName="churn-operator")["AccessKey"]

    def signed(method: str, path: str) -> tuple[int, Any]:
        request = AWSRequest(method=method, url=api.url + path, headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials(key["AccessKeyId"], key["SecretAccessKey"]), "execute-api", cloud.region).add_auth(
            request
        )
        return http(api, method, path, headers=dict(request.headers.items()))

    allowed, listing = signed("GET", "/pipelines/churn/runs")
    denied, message = signed("GET", "/runs")
    elsewhere, _ = signed("POST", "/pipelines/other/runs/other-v1-api-0a1b/cancel")

    assert (allowed, denied, elsewhere) == (200, 403, 403)
    assert {r["pipeline"] for r in listing["items"]} == {"churn"}
    assert message["Message"].startswith("User: arn:aws:iam::123456789012:user/churn-operator is not authorized")


# --- the CLI against the local API ---------------------------------------------------------------------------------
def test_cli_commands_against_the_local_api(
    registered: tuple[LocalCloud, LocalApi], capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    cloud, api = registered
    local = ["--local"]
    env_endpoint = api.url
    spec_file = tmp_path / "pipeline.yaml"
    spec_file.write_text(yaml.safe_dump({**SPEC, "name": "cli"}))
    cloud.upload_dataset("cli", "v1")
    cloud.settle(timeout=TIMEOUT)  # refused before StartExecution (cli is not registered yet): no run
    capsys.readouterr()

    def mlcp(*argv: str) -> tuple[int, str, str]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MLCP_LOCAL_API", env_endpoint)
            code = main(list(argv))
        out = capsys.readouterr()
        # capsys holds sys.stdout, so the in-process handlers' EMF metric lines land here too: leave them out.
        printed = "".join(line for line in out.out.splitlines(keepends=True) if not line.startswith('{"_aws"'))
        return code, printed, out.err

    code, out, _ = mlcp("pipelines", "put", str(spec_file), *local)
    assert code == 0
    assert out == f"registered pipeline cli (version {http(api, 'GET', '/pipelines/cli')[1]['spec_version']})\n"
    code, out, _ = mlcp("pipelines", "list", *local, "--json")
    assert code == 0
    assert {"churn", "cli"} <= {p["name"] for p in json.loads(out)["items"]}
    code, out, _ = mlcp("pipelines", "get", "cli", *local)
    assert code == 0
    assert "pipeline  cli" in out

    code, out, err = mlcp(
        "runs", "start", "--pipeline", "cli", "--dataset-version", "v1", *local, "--watch", "--interval", "0.1"
    )
    assert code == 0, err
    assert "started run" in out
    assert "tune      SUCCEEDED" in out
    assert out.strip().endswith("SUCCEEDED")
    run_id = out.split("started run ")[1].split()[0]

    code, out, _ = mlcp("runs", "get", run_id, *local)
    assert code == 0
    assert "status SUCCEEDED" in out
    assert "started   by arn:aws:iam::123456789012:user/local" in out
    cost = mlcp("runs", "get", run_id, *local, "--json")[1]
    total = json.loads(cost)["cost"]["total"]
    assert f"cost: {usd_text(total)} USD (augment $" in out  # the run's cost, per stage
    assert mlcp("runs", "get", run_id, "--pipeline", "cli", *local)[1] == out  # the run id names its pipeline
    code, out, _ = mlcp("runs", "list", "--pipeline", "cli", "--status", "FAILED", "--all", *local, "--json")
    assert code == 0
    assert json.loads(out)["items"] == []  # the early upload started nothing; the filter leaves out SUCCEEDED
    code, out, _ = mlcp("runs", "list", "--pipeline", "cli", "--status", "SUCCEEDED", "--all", *local, "--json")
    assert [r["run_id"] for r in json.loads(out)["items"]] == [run_id]
    code, out, _ = mlcp("runs", "list", "--pipeline", "cli", *local)
    assert code == 0
    assert out.splitlines()[0].split() == [
        "RUN_ID",
        "PIPELINE",
        "STATUS",
        "DATASET_VERSION",
        "TRIGGER_TYPE",
        "CREATED_AT",
        "COST",
    ]
    assert out.splitlines()[1].split()[-1] == usd_text(total)

    # Meaningful exit codes: 3 not found, 4 conflict, 1 invalid input (field-level messages), 5 unreachable.
    assert mlcp("runs", "get", "no-such-run", *local)[0] == 3
    code, _, err = mlcp("runs", "cancel", run_id, *local)
    assert code == 4
    assert "only RUNNING runs can be cancelled" in err
    code, _, err = mlcp("runs", "start", "--pipeline", "Bad_Name", *local)
    assert code == 1
    assert "\n  path parameter name: " in err  # the path's pipeline name, field-level, printed once
    assert err.count("name:") == 1
    env_endpoint = "http://127.0.0.1:9"
    assert mlcp("runs", "list", *local)[0] == 5


# --- fuzzing -------------------------------------------------------------------------------------------------------
FUZZ_EXAMPLES_PER_OPERATION = 40


def test_fuzz_the_local_api_from_its_openapi_document(registered: tuple[LocalCloud, LocalApi]) -> None:
    """schemathesis generates requests for every operation of docs/openapi.json (valid and invalid); none may get
    a 5xx, and every answer must be one the document lists for the operation."""
    import schemathesis  # noqa: PLC0415 - a dev dependency of this test only
    from hypothesis import HealthCheck, Phase, given, settings  # noqa: PLC0415
    from hypothesis import strategies as st  # noqa: PLC0415
    from schemathesis.generation import GenerationMode  # noqa: PLC0415

    cloud, api = registered
    schema = schemathesis.openapi.from_path(str(ROOT / "docs" / "openapi.json"))
    before = len(api.requests)
    server_errors: list[str] = []
    undocumented: list[str] = []

    def fuzzer(operation: Any) -> Any:
        documented = {int(code) for code in operation.definition.raw["responses"]}

        valid = operation.as_strategy(GenerationMode.POSITIVE)
        invalid = operation.as_strategy(GenerationMode.NEGATIVE)  # wrong types, missing fields, bad patterns

        @given(case=st.one_of(valid, invalid))
        @settings(
            max_examples=FUZZ_EXAMPLES_PER_OPERATION,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,  # the same requests on every run: CI stays reproducible
        )
        def fuzz(case: Any) -> None:
            response = case.call(base_url=api.url, timeout=30)
            label = f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:200]}"
            if response.status_code >= 500:
                server_errors.append(label)
            elif response.status_code not in documented:
                undocumented.append(label)

        return fuzz

    from schemathesis.core.result import Ok  # noqa: PLC0415

    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # docs/openapi.json parses into operations
        fuzzer(result.ok())()
    cloud.settle(timeout=TIMEOUT)

    sent = list(api.requests)[before:]
    by_operation: dict[str, dict[int, int]] = {}
    for method, path, status in sent:
        parts = path.split("?")[0].strip("/").split("/")  # the resource, then ids, then an action (cancel, ...)
        named = [parts[0]] + ["{id}" if p not in ("runs", "cancel", "redrive", "actions") else p for p in parts[1:]]
        key = f"{method} /" + "/".join(named)
        by_operation.setdefault(key, {}).setdefault(status, 0)
        by_operation[key][status] += 1
    statuses: dict[int, int] = {}
    for _, _, status in sent:
        statuses[status] = statuses.get(status, 0) + 1
    print(f"\nfuzz: {len(sent)} requests sent; statuses seen: {dict(sorted(statuses.items()))}")
    for key, seen in sorted(by_operation.items()):
        print(f"  {key:<28} {dict(sorted(seen.items()))}")
    assert len(sent) >= 8 * 10
    assert not server_errors, server_errors[:10]
    assert not undocumented, undocumented[:10]
