"""/batches and /scaling through the REST API handler (functions/api) in-process against moto: every route, its
success and its error statuses; a manual scaling action is then decided by decide_scaling like any trigger."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber

from mlcp.aws import clients
from mlcp.aws.dynamodb.scaling import DynamoScalingStateStore
from mlcp.aws.sfn import StepFunctionsExecutions
from mlcp_cli.local.api_server import proxy_event
from tests.functional.conftest import ACCOUNT, BUCKET, REGION, Cloud, _create_table
from tests.support import EXAMPLES, ROOT, FakeLambdaContext, aws_client, load_event, load_handler

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")

BATCH_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:mlcp-batch-pipeline"
SCALING_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:mlcp-nodegroup-scaling"
MANIFEST = f"s3://{BUCKET}/batches/image-scoring/2026-11-27/manifest.json"
SCALING_TABLES = {
    "ScalingPoliciesTable": "mlcp-scaling-policies",
    "ScalingStateTable": "mlcp-scaling-state",
    "ScalingDecisionsTable": "mlcp-scaling-decisions",
}
ENV = {
    "PROFILES_TABLE": "mlcp-profiles",
    "BATCH_STATE_MACHINE_ARN": BATCH_MACHINE_ARN,
    "SCALING_STATE_MACHINE_ARN": SCALING_MACHINE_ARN,
    "SCALING_POLICIES_TABLE": SCALING_TABLES["ScalingPoliciesTable"],
    "SCALING_STATE_TABLE": SCALING_TABLES["ScalingStateTable"],
    "SCALING_DECISIONS_TABLE": SCALING_TABLES["ScalingDecisionsTable"],
    "MLCP_ENVIRONMENT": "local",  # the example policy's alarms: mlcp-scaling-local-*
}
SUCCEED = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


@pytest.fixture
def api(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    _create_table(cloud.dynamodb, "ProfilesTable", "mlcp-profiles")
    for logical_id, name in SCALING_TABLES.items():
        _create_table(cloud.dynamodb, logical_id, name)
    for machine in ("mlcp-batch-pipeline", "mlcp-nodegroup-scaling"):
        cloud.sfn.create_state_machine(
            name=machine, definition=SUCCEED, roleArn=f"arn:aws:iam::{ACCOUNT}:role/mlcp-states"
        )
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    cloud.put("batches/image-scoring/batch.yaml", (EXAMPLES / "batch" / "batch.yaml").read_bytes())
    cloud.put("batches/image-scoring/2026-11-27/manifest.json", json.dumps({"count": 1000}))
    eks = aws_client("eks")
    eks.create_cluster(name="ml-inference", roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks", resourcesVpcConfig={})
    for name in ("gpu-a", "gpu-b"):
        eks.create_nodegroup(
            clusterName="ml-inference",
            nodegroupName=name,
            nodeRole=f"arn:aws:iam::{ACCOUNT}:role/nodes",
            subnets=["subnet-1"],
            scalingConfig={"minSize": 1, "maxSize": 20, "desiredSize": 4},
        )
    register_policy(cloud, (EXAMPLES / "scaling" / "policy.yaml").read_text(), "gpu")
    yield load_handler("api")
    for function in ("register_scaling_policy", "decide_scaling"):
        load_handler(function).deps.cache_clear()


def register_policy(cloud: Cloud, text: str, name: str) -> None:
    key = f"scaling/ml-inference/{name}/policy.yaml"
    version = cloud.put(key, text)
    event = copy.deepcopy(load_event("s3/scaling_policy_uploaded"))
    event["detail"]["object"].update({"key": key, "version-id": version})
    handler = load_handler("register_scaling_policy")
    assert handler.lambda_handler(event, FakeLambdaContext())["status"] == "registered"


def call(
    api: ModuleType, method: str, path: str, body: Any = None, *, query: str = "", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    event = proxy_event(
        method,
        path,
        query=query,
        headers={"Content-Type": "application/json", **(headers or {})},
        body=json.dumps(body) if body is not None else None,
    )
    response = api.lambda_handler(event, FakeLambdaContext())
    return int(response["statusCode"]), json.loads(response["body"] or "null")


def fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body["errors"]}


def sent_input(cloud: Cloud, arn: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(cloud.sfn.describe_execution(executionArn=arn)["input"])
    return found


def post_batch(api: ModuleType, request: dict[str, Any], **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """POST /batches/{profile} with the rest of ``request`` as the body."""
    body = dict(request)
    return call(api, "POST", f"/batches/{body.pop('profile')}", body, **kwargs)


# --- POST /batches/{profile} ------------------------------------------------------------------------------------------
def test_start_a_batch_on_a_manifest_and_retry_it_with_the_same_key(api: ModuleType, cloud: Cloud) -> None:
    request = {"profile": "image-scoring", "manifest_uri": MANIFEST}

    status, body = post_batch(api, request, headers={"Idempotency-Key": "k1"})
    again, same = post_batch(api, request, headers={"Idempotency-Key": "k1"})
    other, conflict = post_batch(
        api, {**request, "manifest_uri": None, "item_count": 5}, headers={"Idempotency-Key": "k1"}
    )

    assert (status, again, other) == (201, 200, 409)
    assert body["started"] is True
    assert same == {**body, "started": False}
    assert body["run_id"].startswith("image-scoring-api-")
    sent = sent_input(cloud, body["execution_arn"])
    assert sent["manifest_uri"] == MANIFEST
    assert sent["trigger"] == {"type": "api", "source": "arn:aws:iam::123456789012:user/local"}
    assert conflict["code"] == "Conflict"
    assert "new Idempotency-Key" in conflict["message"]


def test_an_inline_spec_is_validated_and_registered(api: ModuleType, cloud: Cloud) -> None:
    spec = json.loads(json.dumps(__import__("yaml").safe_load((EXAMPLES / "batch" / "batch.yaml").read_text())))
    spec["name"] = "thumbnails"

    status, body = post_batch(api, {"profile": "thumbnails", "item_count": 50, "spec": spec})
    bad, problems = post_batch(api, {"profile": "thumbnails", "spec": {**spec, "target_child_seconds": -1}})
    renamed, mismatch = post_batch(api, {"profile": "other", "spec": spec})

    assert status == 201
    stored = cloud.s3.get_object(Bucket=BUCKET, Key="batches/thumbnails/batch.yaml")["Body"].read()
    assert json.loads(stored)["name"] == "thumbnails"
    assert sent_input(cloud, body["execution_arn"])["item_count"] == 50
    assert (bad, renamed) == (400, 400)
    assert fields(problems) == {"spec.target_child_seconds"}
    assert fields(mismatch) == {"spec.name"}


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({"profile": "image-scoring", "manifest_uri": MANIFEST, "item_count": 3}, "item_count"),
        ({"profile": "image-scoring", "manifest_uri": "s3://someone-elses-bucket/m.json"}, "manifest_uri"),
        ({"profile": "image-scoring", "indices": [1]}, "indices"),
        ({"profile": "Not_A_Profile"}, "profile"),
        ({"profile": "image-scoring", "item_count": 0}, "item_count"),
        ({"profile": "image-scoring", "surprise": 1}, "surprise"),
        ({"profile": "image-scoring", "retry_of": "r1", "item_count": 3}, "item_count"),
    ],
)
def test_bad_batch_requests_are_400_with_the_field(api: ModuleType, request_body: dict[str, Any], field: str) -> None:
    status, body = post_batch(api, request_body)

    assert status == 400
    assert field in fields(body)


def test_unknown_profile_manifest_or_run_to_retry_is_404(api: ModuleType) -> None:
    no_profile = post_batch(api, {"profile": "nobody"})
    no_manifest = post_batch(api, {"profile": "image-scoring", "manifest_uri": MANIFEST + ".gone"})
    no_run = post_batch(api, {"profile": "image-scoring", "retry_of": "never-ran"})

    assert [s for s, _ in (no_profile, no_manifest, no_run)] == [404, 404, 404]
    assert "batches/nobody/batch.yaml" in no_profile[1]["message"]
    assert "does not exist" in no_manifest[1]["message"]
    assert "never-ran" in no_run[1]["message"]


def _stats(cloud: Cloud, run_id: str, failed: list[int]) -> None:
    stats = {
        "run_id": run_id,
        "failed_indices": failed,
        "shards": {
            "item_count": 1000,
            "items_per_child": 100,
            "children": 10,
            "manifest_uri": MANIFEST,
            "output_uri": f"s3://{BUCKET}/out/",
        },
        "plan": {"queue": "mlcp-batch-spot"},
    }
    cloud.put(f"batches/image-scoring/runs/{run_id}/stats.json", json.dumps(stats))


def test_retry_the_failed_shards_of_a_run(api: ModuleType, cloud: Cloud) -> None:
    _stats(cloud, "run-1", [3, 7])
    _stats(cloud, "run-2", [])

    status, body = post_batch(api, {"profile": "image-scoring", "retry_of": "run-1"})
    picked, chosen = post_batch(api, {"profile": "image-scoring", "retry_of": "run-1", "indices": [7]})
    wrong, problems = post_batch(api, {"profile": "image-scoring", "retry_of": "run-1", "indices": [12]})
    nothing, conflict = post_batch(api, {"profile": "image-scoring", "retry_of": "run-2"})

    assert (status, picked, wrong, nothing) == (201, 201, 400, 409)
    sent = sent_input(cloud, body["execution_arn"])
    assert (sent["retry_of"], sent["indices"], sent["trigger"]["type"]) == ("run-1", None, "manual")
    assert sent_input(cloud, chosen["execution_arn"])["indices"] == [7]
    assert fields(problems) == {"indices.0"}
    assert "no failed shards" in conflict["message"]


def test_throttled_batch_start_is_429(api: ModuleType) -> None:
    with Stubber(clients.client("stepfunctions")) as stub:
        stub.add_client_error("describe_execution", "ExecutionDoesNotExist", "none", 400)
        stub.add_client_error("start_execution", "ExecutionLimitExceeded", "too many executions", 400)
        status, body = post_batch(api, {"profile": "image-scoring", "manifest_uri": MANIFEST})

    assert status == 429
    assert body["code"] == "Throttled"


# --- GET /batches/{profile}/{id} --------------------------------------------------------------------------------------
def test_get_a_batch_run_with_its_plan_and_stats(api: ModuleType, cloud: Cloud) -> None:
    _, started = post_batch(api, {"profile": "image-scoring", "manifest_uri": MANIFEST})
    run_id = started["run_id"]
    plain_status, plain = call(api, "GET", f"/batches/image-scoring/{run_id}")
    planned = {"plan": {"queue": "mlcp-batch-spot", "children": 10}, "shards": {"children": 10}}
    cloud.put(f"batches/image-scoring/runs/{run_id}/plan.json", json.dumps(planned))
    _stats(cloud, run_id, [4])

    status, body = call(api, "GET", f"/batches/image-scoring/{run_id}")

    assert (plain_status, status) == (200, 200)
    assert plain["plan"] is None
    assert plain["stats"] is None
    assert body["profile"] == "image-scoring"
    assert body["status"] in {"RUNNING", "SUCCEEDED"}
    assert body["execution_arn"] == started["execution_arn"]
    assert body["plan"] == planned["plan"]
    assert body["stats"]["failed_indices"] == [4]
    assert body["input"]["manifest_uri"] == MANIFEST


def test_get_an_unknown_or_malformed_batch_id(api: ModuleType) -> None:
    missing, body = call(api, "GET", "/batches/image-scoring/no-such-run")
    malformed, problems = call(api, "GET", "/batches/image-scoring/bad.id")

    assert (missing, malformed) == (404, 400)
    assert "no-such-run" in body["message"]
    assert problems["errors"][0]["location"] == "path"


def test_a_batch_run_addressed_under_another_profile_is_a_404_like_a_missing_one(api: ModuleType) -> None:
    """A caller granted GET /batches/thumbnails/* learns nothing of image-scoring's runs."""
    _, started = post_batch(api, {"profile": "image-scoring", "manifest_uri": MANIFEST})

    status, body = call(api, "GET", f"/batches/thumbnails/{started['run_id']}")
    missing, nothing = call(api, "GET", "/batches/thumbnails/thumbnails-api-0000")

    assert (status, missing) == (404, 404)
    assert body["message"] == f"job profile 'thumbnails' has no batch run {started['run_id']!r}"
    assert nothing["message"] == "job profile 'thumbnails' has no batch run 'thumbnails-api-0000'"


# --- GET /scaling/{cluster}/{nodegroup} -------------------------------------------------------------------------------
def test_get_a_node_groups_policy_state_and_decisions_newest_first(api: ModuleType, cloud: Cloud) -> None:
    decide = load_handler("decide_scaling")
    for i, at in enumerate(("2026-11-27T10:00:00Z", "2026-11-27T11:00:00Z")):
        event = copy.deepcopy(load_event("cloudwatch/alarm_state_change"))
        event.update({"id": f"alarm-{i}", "time": at})
        event["detail"]["alarmName"] = "mlcp-scaling-local-gpu-low"
        decide.lambda_handler({"event": event, "execution_arn": "arn:x"}, FakeLambdaContext())

    status, body = call(api, "GET", "/scaling/ml-inference/gpu-b", query="limit=1")
    full_status, full = call(api, "GET", "/scaling/ml-inference/gpu-a")

    assert (status, full_status) == (200, 200)
    assert body["policy_key"] == "ml-inference/gpu"
    assert body["policy"]["max_size"] == 40
    assert body["nodegroup_config"] == {
        "status": "ACTIVE",
        "minSize": 1,
        "maxSize": 20,
        "desiredSize": 4,
        "health_issues": [],
    }
    assert body["state"]["policy"] == "ml-inference/gpu"
    assert [d["decision_id"] for d in body["decisions"]] == ["alarm-1"]
    assert [d["decision_id"] for d in full["decisions"]] == ["alarm-1", "alarm-0"]


def test_get_scaling_of_an_uncovered_node_group_is_404_and_bad_input_400(api: ModuleType) -> None:
    missing, body = call(api, "GET", "/scaling/ml-inference/cpu-x")
    limit, problems = call(api, "GET", "/scaling/ml-inference/gpu-a", query="limit=0")
    name, bad_name = call(api, "GET", "/scaling/-cluster/gpu-a")

    assert (missing, limit, name) == (404, 400, 400)
    assert "no scaling policy covers node group 'cpu-x'" in body["message"]
    assert fields(problems) == {"limit"}
    assert fields(bad_name) == {"cluster"}


# --- POST /scaling/{cluster}/{nodegroup}/actions ----------------------------------------------------------------------
def test_a_manual_action_starts_the_controller_which_clamps_it(api: ModuleType, cloud: Cloud) -> None:
    status, body = call(
        api, "POST", "/scaling/ml-inference/gpu-a/actions", {"desired": 30}, headers={"Idempotency-Key": "m1"}
    )
    again, same = call(
        api, "POST", "/scaling/ml-inference/gpu-a/actions", {"desired": 30}, headers={"Idempotency-Key": "m1"}
    )
    other, conflict = call(
        api, "POST", "/scaling/ml-inference/gpu-a/actions", {"desired": 5}, headers={"Idempotency-Key": "m1"}
    )

    assert (status, again, other) == (202, 202, 409)
    assert body["policy_key"] == "ml-inference/gpu"
    assert body["started"] is True
    assert same == {**body, "started": False}
    assert "new Idempotency-Key" in conflict["message"]
    sent = sent_input(cloud, body["execution_arn"])
    assert (sent["source"], sent["nodegroup"], sent["desired"]) == ("mlcp.scaling.manual", "gpu-a", 30)
    # The state machine's first step: decide_scaling clamps it (gpu-a's share of max 40 is 20; max_step 24).
    decided = load_handler("decide_scaling").lambda_handler(
        {"event": sent, "execution_arn": body["execution_arn"]}, FakeLambdaContext()
    )
    decision = decided["decision"]
    assert decision["decision_id"] == body["decision_id"]
    assert decision["action"] == "update"
    assert decision["updates"] == [
        {
            "nodegroup": "gpu-a",
            "scaling_config": {"minSize": 1, "maxSize": 20, "desiredSize": 20},
            "sdk_scaling_config": {"MinSize": 1, "MaxSize": 20, "DesiredSize": 20},
        }
    ]
    assert "desired 30 moved to 20" in decision["reason"]
    # The decision holds the lease: another manual change is refused until it is recorded.
    busy, held = call(api, "POST", "/scaling/ml-inference/gpu-b/actions", {"desired": 6})
    assert busy == 409
    assert f"in flight ({body['decision_id']}" in held["message"]
    _, view = call(api, "GET", "/scaling/ml-inference/gpu-a")
    assert view["state"]["lease"]["holder"] == body["decision_id"]
    assert view["decisions"][0]["status"] == "IN_PROGRESS"


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({}, "desired"),
        ({"min": 5, "max": 3}, "min"),
        ({"desired": 2, "min": 3}, "desired"),
        ({"desired": 1001}, "desired"),
        ({"desired": "many"}, "desired"),
        ({"max": 0}, "max"),
        ({"desired": 3, "force": True}, "force"),
    ],
)
def test_bad_scaling_actions_are_400_with_the_field(api: ModuleType, request_body: dict[str, Any], field: str) -> None:
    status, body = call(api, "POST", "/scaling/ml-inference/gpu-a/actions", request_body)

    assert status == 400
    assert field in fields(body)


def test_scaling_action_404_without_a_policy_or_node_group(api: ModuleType, cloud: Cloud) -> None:
    cpu = (EXAMPLES / "scaling" / "policy.yaml").read_text()
    cpu = cpu.replace("name: gpu\n", "name: cpu\n").replace("gpu-a", "cpu-a").replace("gpu-b", "cpu-b")
    cpu = cpu.replace("mlcp-scaling-local-gpu", "mlcp-scaling-local-cpu")
    register_policy(cloud, cpu, "cpu")

    no_policy, body = call(api, "POST", "/scaling/ml-inference/other/actions", {"desired": 3})
    no_group, missing = call(api, "POST", "/scaling/ml-inference/cpu-a/actions", {"desired": 3})

    assert (no_policy, no_group) == (404, 404)
    assert "no scaling policy covers" in body["message"]
    assert "node group 'cpu-a' does not exist" in missing["message"]


def test_scaling_action_409_while_the_lease_is_held(api: ModuleType, cloud: Cloud) -> None:
    state = {
        "policy": "ml-inference/gpu",
        "lease": {"holder": "alarm-9", "expires_at": "2099-01-01T00:00:00Z", "direction": "out"},
    }
    DynamoScalingStateStore(SCALING_TABLES["ScalingStateTable"], cloud.dynamodb).put_state(
        "ml-inference/gpu", state, expected_version=0
    )

    status, body = call(api, "POST", "/scaling/ml-inference/gpu-a/actions", {"desired": 6})

    assert status == 409
    assert "in flight (alarm-9" in body["message"]
    assert cloud.sfn.list_executions(stateMachineArn=SCALING_MACHINE_ARN)["executions"] == []


def test_throttled_scaling_action_is_429(api: ModuleType) -> None:
    with Stubber(clients.client("stepfunctions")) as stub:
        stub.add_client_error("describe_execution", "ExecutionDoesNotExist", "none", 400)
        stub.add_client_error("start_execution", "ThrottlingException", "Rate exceeded", 400)
        status, body = call(api, "POST", "/scaling/ml-inference/gpu-a/actions", {"desired": 6})

    assert status == 429
    assert body["code"] == "Throttled"


def test_the_sample_events_route_to_the_new_operations(api: ModuleType) -> None:
    for sample, expected in (
        ("start_batch", {201}),
        ("get_batch", {404}),
        ("get_scaling", {200}),
        ("scaling_action", {202}),
    ):
        event = load_event(f"api/{sample}")
        response = api.lambda_handler(event, FakeLambdaContext())
        assert response["statusCode"] in expected, (sample, response["body"])
    assert (ROOT / "events" / "api" / "scaling_action.json").is_file()


# --- issue 18: an inline spec never replaces a profile; a failed run's cause has no stack trace -----------------------
def test_an_inline_spec_never_replaces_a_different_registered_spec(api: ModuleType, cloud: Cloud) -> None:
    # GIVEN the registered image-scoring profile (its own job definition and queues)
    spec = json.loads(json.dumps(__import__("yaml").safe_load((EXAMPLES / "batch" / "batch.yaml").read_text())))
    before = cloud.s3.get_object(Bucket=BUCKET, Key="batches/image-scoring/batch.yaml")["Body"].read()
    hijack = {**spec, "job": {**spec["job"], "definition": "another-teams-job-definition"}}

    status, body = post_batch(api, {"profile": "image-scoring", "item_count": 5, "spec": hijack})
    same, _ = post_batch(api, {"profile": "image-scoring", "item_count": 5, "spec": spec})

    # THEN the different spec is a 409 naming the registered object, and nothing was overwritten
    assert status == 409
    assert "batches/image-scoring/batch.yaml" in body["message"]
    assert cloud.s3.get_object(Bucket=BUCKET, Key="batches/image-scoring/batch.yaml")["Body"].read() == before
    # AND the identical spec is accepted (idempotent), without a write
    assert same == 201


def test_a_failed_runs_cause_is_shown_without_its_stack_trace(
    api: ModuleType, cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, started = post_batch(api, {"profile": "image-scoring", "manifest_uri": MANIFEST})
    lambda_cause = {
        "errorMessage": "'shard'",
        "errorType": "KeyError",
        "requestId": "1",
        "stackTrace": ['  File "/var/task/app.py", line 40, in lambda_handler\n    return use_cases.plan_batch(\n'],
    }
    original = StepFunctionsExecutions.describe

    def failed(self: StepFunctionsExecutions, arn: str) -> dict[str, Any] | None:
        found = original(self, arn)
        return (
            None
            if found is None
            else {**found, "status": "FAILED", "error": "KeyError", "cause": json.dumps(lambda_cause)}
        )

    monkeypatch.setattr(StepFunctionsExecutions, "describe", failed)

    status, body = call(api, "GET", f"/batches/image-scoring/{started['run_id']}")

    assert status == 200
    assert body["cause"] == "KeyError: 'shard'"
    assert "/var/task" not in json.dumps(body)


def test_an_inline_spec_outside_the_granted_batch_scope_is_400_naming_the_parameter(
    api: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the API function's scope as template.yaml sets it (the stack's own Batch resources only)
    monkeypatch.setenv("BATCH_RESOURCE_PREFIX", "mlcp-")
    api.deps.cache_clear()
    spec = json.loads(json.dumps(__import__("yaml").safe_load((EXAMPLES / "batch" / "batch.yaml").read_text())))
    spec["name"] = "hijack"
    spec["job"]["definition"] = "another-teams-job-definition"

    status, body = post_batch(api, {"profile": "hijack", "item_count": 5, "spec": spec})

    assert status == 400
    assert body["errors"][0]["field"] == "spec.job.definition"
    assert "BatchExtraJobDefinitions" in body["errors"][0]["message"]


# --- node groups outside ScalingNodegroupArns ----------------------------------------------------------------------
def test_a_node_group_outside_the_scope_is_403_naming_the_parameter_before_any_eks_call(
    api: ModuleType, cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the operator narrowed ScalingNodegroupArns to another cluster after the policy was registered THEN
    GET and POST /scaling on it are 403 naming the parameter (no 500), before EKS is asked, and nothing starts."""
    monkeypatch.setenv("SCALING_NODEGROUP_ARNS", f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/other-cluster/*")

    with Stubber(clients.client("eks")):  # any EKS call would fail the Stubber: the scope answers first
        got, view = call(api, "GET", "/scaling/ml-inference/gpu-a")
        posted, action = call(api, "POST", "/scaling/ml-inference/gpu-a/actions", {"desired": 6})

    assert (got, posted) == (403, 403)
    for body in (view, action):
        assert body["code"] == "NodegroupNotGranted"
        assert "ml-inference/gpu-a is outside the template parameter ScalingNodegroupArns" in body["message"]
        assert "nodegroup/ml-inference/gpu-a/*" in body["message"]
    assert cloud.sfn.list_executions(stateMachineArn=SCALING_MACHINE_ARN)["executions"] == []


def test_eks_access_denied_is_the_same_403_when_the_scope_is_not_in_the_settings(api: ModuleType, cloud: Cloud) -> None:
    """GIVEN no scope in the API's settings and EKS answering AccessDeniedException (the role's grant) THEN 403
    with the same words, not a 500; bad input is still a 400 first."""
    with Stubber(clients.client("eks")) as stub:
        for _ in range(2):
            stub.add_client_error("describe_nodegroup", "AccessDeniedException", "User is not authorized", 403)
        got, view = call(api, "GET", "/scaling/ml-inference/gpu-a")
        posted, action = call(api, "POST", "/scaling/ml-inference/gpu-a/actions", {"desired": 6})
        bad, _ = call(api, "POST", "/scaling/ml-inference/gpu-a/actions", {})

    assert (got, posted, bad) == (403, 403, 400)
    for body in (view, action):
        assert body["code"] == "NodegroupNotGranted"
        assert "(EKS answered AccessDeniedException)" in body["message"]
        assert "ScalingNodegroupArns" in body["message"]
        assert "not authorized" not in body["message"]  # EKS's own text stays in the logs
    assert cloud.sfn.list_executions(stateMachineArn=SCALING_MACHINE_ARN)["executions"] == []


def test_a_manual_action_is_timed_by_api_gateways_request_time(api: ModuleType, cloud: Cloud) -> None:
    """GIVEN a request API Gateway received at requestTimeEpoch (the local cloud's API stamps it with its simulated
    clock, days ahead of the wall clock) THEN the manual trigger carries that time, as an alarm event carries the
    alarm's, so cooldowns and "last out/in" compare like with like; without it, the controller's clock."""
    received = 1_800_000_000.0  # 2027-01-15T08:00:00Z
    event = proxy_event(
        "POST",
        "/scaling/ml-inference/gpu-a/actions",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"desired": 4}),
        now=received,
    )
    response = api.lambda_handler(event, FakeLambdaContext())
    assert response["statusCode"] == 202, response["body"]
    sent = sent_input(cloud, json.loads(response["body"])["execution_arn"])
    assert sent["at"] == "2027-01-15T08:00:00+00:00"

    del event["requestContext"]["requestTimeEpoch"]
    event["requestContext"]["requestId"] = event["requestContext"]["extendedRequestId"] = "another-request"
    response = api.lambda_handler(event, FakeLambdaContext())
    assert response["statusCode"] == 202, response["body"]
    sent = sent_input(cloud, json.loads(response["body"])["execution_arn"])
    assert not sent["at"].startswith("2027-01-15")
