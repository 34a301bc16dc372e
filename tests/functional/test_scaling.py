"""Scaling controller handlers against moto: register_scaling_policy, decide_scaling, record_scaling."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlcp.aws.dynamodb.scaling import DynamoScalingStateStore
from mlcp.aws.dynamodb.table import from_dynamo
from mlcp.aws.eks import EksAdapter
from mlcp.errors import EventInvalid, InputInvalid, NodegroupNotGranted, PolicyNotFound
from mlcp.scaling.payloads import DecideInput, RecordInput
from tests.functional.conftest import ACCOUNT, REGION, Cloud, _create_table
from tests.support import EVENTS, EXAMPLES, FakeLambdaContext, aws_client, load_event, load_handler

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")

POLICY_KEY = "scaling/ml-inference/gpu/policy.yaml"
POLICY_TEXT = (EXAMPLES / "scaling" / "policy.yaml").read_text()
EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:mlcp-nodegroup-scaling:e1"
TABLES = {
    "ScalingPoliciesTable": "mlcp-scaling-policies",
    "ScalingStateTable": "mlcp-scaling-state",
    "ScalingDecisionsTable": "mlcp-scaling-decisions",
}


@dataclass
class Scaling:
    cloud: Cloud
    eks: Any

    def upload_policy(self, text: str = POLICY_TEXT, key: str = POLICY_KEY) -> dict[str, Any]:
        version = self.cloud.put(key, text)
        event = copy.deepcopy(load_event("s3/scaling_policy_uploaded"))
        event["detail"]["object"].update({"key": key, "version-id": version})
        result: dict[str, Any] = load_handler("register_scaling_policy").lambda_handler(event, FakeLambdaContext())
        return result

    def decide(self, event: dict[str, Any], execution: str = EXECUTION) -> dict[str, Any]:
        payload = {"event": event, "execution_arn": execution}
        result: dict[str, Any] = load_handler("decide_scaling").lambda_handler(payload, FakeLambdaContext())
        return result

    def record(self, decided: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
        payload = {
            "decision": decided["decision"],
            "decision_key": decided["decision_key"],
            "results": results,
            "execution_arn": EXECUTION,
        }
        result: dict[str, Any] = load_handler("record_scaling").lambda_handler(payload, FakeLambdaContext())
        return result

    def state(self) -> dict[str, Any]:
        return (
            DynamoScalingStateStore(TABLES["ScalingStateTable"], self.cloud.dynamodb).get_state("ml-inference/gpu")
            or {}
        )

    def decisions(self) -> list[dict[str, Any]]:
        items = self.cloud.dynamodb.scan(TableName=TABLES["ScalingDecisionsTable"])["Items"]
        return sorted((from_dynamo(i) for i in items), key=lambda d: d["decision"])


@pytest.fixture
def scaling(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scaling]:
    for logical_id, name in TABLES.items():
        _create_table(cloud.dynamodb, logical_id, name)
    monkeypatch.setenv("SCALING_POLICIES_TABLE", TABLES["ScalingPoliciesTable"])
    monkeypatch.setenv("SCALING_STATE_TABLE", TABLES["ScalingStateTable"])
    monkeypatch.setenv("SCALING_DECISIONS_TABLE", TABLES["ScalingDecisionsTable"])
    monkeypatch.setenv("MLCP_ENVIRONMENT", "local")  # the example policy's alarms: mlcp-scaling-local-*
    # the operator granted the example cluster's node groups (template parameter ScalingNodegroupArns)
    monkeypatch.setenv("SCALING_NODEGROUP_ARNS", f"arn:aws:eks:us-east-1:{ACCOUNT}:nodegroup/ml-inference/*")
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
    for function in ("register_scaling_policy", "decide_scaling", "record_scaling"):
        load_handler(function).deps.cache_clear()
    yield Scaling(cloud=cloud, eks=eks)
    for function in ("register_scaling_policy", "decide_scaling", "record_scaling"):
        load_handler(function).deps.cache_clear()


def set_alarm(alarm: str, state: str) -> None:
    """The alarm in moto CloudWatch, in ``state`` (decide_scaling reads every alarm with DescribeAlarms)."""
    cloudwatch = aws_client("cloudwatch")
    if not cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]:
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            Namespace="ContainerInsights",
            MetricName="node_gpu_utilization",
            Statistic="Average",
            Period=60,
            EvaluationPeriods=1,
            Threshold=75,
            ComparisonOperator="GreaterThanThreshold",
        )
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue=state, StateReason="test")


def alarm_event(event_id: str, state: str = "ALARM", alarm: str = "mlcp-scaling-local-gpu-high") -> dict[str, Any]:
    set_alarm(alarm, state)
    event = copy.deepcopy(load_event("cloudwatch/alarm_state_change"))
    event["id"] = event_id
    event["detail"]["alarmName"] = alarm
    event["detail"]["state"]["value"] = state
    return event


# --- samples -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sample", "model"),
    [("nodegroup_scaling/decide_scaling", DecideInput), ("nodegroup_scaling/record_scaling", RecordInput)],
)
def test_samples_parse_with_the_handler_models(sample: str, model: Any) -> None:
    assert (EVENTS / f"{sample}.json").is_file()
    parsed = model.model_validate(load_event(sample))
    assert parsed.execution_arn.startswith("arn:aws:states:")


# --- registration ------------------------------------------------------------------------------------------------
CASES = EXAMPLES.parent / "tests" / "data" / "cases" / "scaling"


def test_a_policy_that_cannot_leave_zero_is_refused_with_the_reason(scaling: Scaling) -> None:
    text = (CASES / "policy-scale-from-zero.yaml").read_text().replace("mlcp-scaling-", "mlcp-scaling-local-")

    result = scaling.upload_policy(
        text.replace("cluster: ml-cluster", "cluster: ml-inference"), "scaling/ml-inference/gpu-batch/policy.yaml"
    )

    assert result["status"] == "rejected"
    (error,) = result["errors"]
    assert error["field"] == "scale_out"
    assert "never leaves 0" in error["message"]
    assert "pod_status_pending" in error["message"]


def test_a_policy_on_another_stacks_alarms_is_refused(scaling: Scaling) -> None:
    result = scaling.upload_policy(POLICY_TEXT.replace("mlcp-scaling-local-", "mlcp-scaling-prod-"))

    assert result["status"] == "rejected"
    assert {e["field"] for e in result["errors"]} == {
        "scale_out.0.alarm",
        "scale_out.1.alarm",
        "scale_in.0.alarm",
        "scale_in.1.alarm",
    }
    assert "must start with 'mlcp-scaling-local-'" in result["errors"][0]["message"]


@pytest.mark.parametrize(
    ("granted", "refused"),
    [
        ("", ["nodegroups[0].name", "nodegroups[1].name"]),  # the stack default: none
        (f"arn:aws:eks:us-east-1:{ACCOUNT}:nodegroup/other-cluster/*", ["nodegroups[0].name", "nodegroups[1].name"]),
        (f"arn:aws:eks:us-east-1:{ACCOUNT}:nodegroup/ml-inference/gpu-a/*", ["nodegroups[1].name"]),
        (f"arn:aws:eks:eu-west-1:{ACCOUNT}:nodegroup/ml-inference/*", ["nodegroups[0].name", "nodegroups[1].name"]),
        ("arn:aws:eks:us-east-1:999999999999:nodegroup/ml-inference/*", ["nodegroups[0].name", "nodegroups[1].name"]),
        (f"arn:aws:eks:us-east-1:{ACCOUNT}:nodegroup/ml-inference/gpu-a/*,arn:aws:eks:*:*:nodegroup/*/gpu-b/*", []),
    ],
    ids=["none", "another-cluster", "one-of-two", "another-region", "another-account", "both"],
)
def test_a_policy_on_node_groups_the_stack_was_not_granted_is_refused_naming_the_parameter(
    scaling: Scaling, monkeypatch: pytest.MonkeyPatch, granted: str, refused: list[str]
) -> None:
    """GIVEN the template parameter ScalingNodegroupArns (what the controller's role may update) THEN a policy
    over any other node group is rejected at registration, naming the parameter and the node group."""
    monkeypatch.setenv("SCALING_NODEGROUP_ARNS", granted)
    load_handler("register_scaling_policy").deps.cache_clear()

    result = scaling.upload_policy()

    if not refused:
        assert result["status"] == "registered"
        return
    assert result["status"] == "rejected"
    assert [e["field"] for e in result["errors"]] == refused
    assert all("ScalingNodegroupArns" in e["message"] for e in result["errors"])
    assert "ml-inference/gpu-b" in result["errors"][-1]["message"]


def test_register_a_policy_and_its_alarm_index(scaling: Scaling) -> None:
    result = scaling.upload_policy()

    assert result["status"] == "registered"
    table = TABLES["ScalingPoliciesTable"]
    alarm = scaling.cloud.dynamodb.get_item(TableName=table, Key={"key": {"S": "alarm#mlcp-scaling-local-gpu-low"}})[
        "Item"
    ]
    assert alarm["policy"]["S"] == "ml-inference/gpu"


def test_invalid_policy_is_rejected_with_field_errors_and_the_old_one_kept(scaling: Scaling) -> None:
    scaling.upload_policy()
    bad = POLICY_TEXT.replace("max_size: 40", "max_size: 1")

    result = scaling.upload_policy(bad)

    assert result["status"] == "rejected"
    assert {"field": "min_size", "message": "must be <= max_size (1)"} in result["errors"]
    (note,) = scaling.cloud.notifications()
    assert "scaling policy ml-inference/gpu rejected" in note["Subject"]
    assert "min_size: must be <= max_size (1)" in note["Message"]
    item = scaling.cloud.dynamodb.get_item(
        TableName=TABLES["ScalingPoliciesTable"], Key={"key": {"S": "policy#ml-inference/gpu"}}
    )["Item"]
    assert json.loads(item["policy_json"]["S"])["max_size"] == 40


def test_policy_under_the_wrong_key_is_rejected(scaling: Scaling) -> None:
    result = scaling.upload_policy(key="scaling/ml-inference/cpu/policy.yaml")
    assert result["status"] == "rejected"
    assert result["errors"][0]["field"] == "cluster"


# --- decide ------------------------------------------------------------------------------------------------------
def test_alarm_decides_an_update_takes_the_lease_and_logs_inputs(scaling: Scaling) -> None:
    scaling.upload_policy()

    decided = scaling.decide(alarm_event("e-1"))

    decision = decided["decision"]
    assert decision["action"] == "update"
    # A tracking rule without a data point to size the step takes the smallest one.
    assert decision["reason"].endswith("(no data point vs target 85) in ALARM; scale out 8 -> 9")
    assert [u["sdk_scaling_config"]["DesiredSize"] for u in decision["updates"]] == [5, 4]
    assert decision["alarms_read"]["mlcp-scaling-local-gpu-high"]["state"] == "ALARM"  # what it read
    assert decided["settings"] == {"first_wait_seconds": 180, "poll_seconds": 30, "max_polls": 40}
    assert scaling.state()["lease"]["holder"] == "e-1"
    (logged,) = scaling.decisions()
    assert logged["status"] == "IN_PROGRESS"
    assert logged["execution_arn"] == EXECUTION
    assert [n["desired_size"] for n in logged["nodegroups"]] == [4, 4]  # its inputs
    assert logged["trigger"]["alarm"] == "mlcp-scaling-local-gpu-high"


def test_alarm_storm_one_update_then_recorded_noops_and_duplicates(scaling: Scaling) -> None:
    scaling.upload_policy()
    first = scaling.decide(alarm_event("e-1"))

    second = scaling.decide(alarm_event("e-2", alarm="mlcp-scaling-local-gpu-critical"))
    again = scaling.decide(alarm_event("e-1"))

    assert first["decision"]["action"] == "update"
    assert second["decision"]["action"] == "noop"
    assert "an update is in flight (e-1" in second["decision"]["reason"]
    assert again["duplicate"] is True
    assert again["decision"]["action"] == "noop"
    assert [d["status"] for d in scaling.decisions()] == ["IN_PROGRESS", "NOOP"]


def test_racing_decisions_only_one_takes_the_lease(scaling: Scaling, monkeypatch: pytest.MonkeyPatch) -> None:
    scaling.upload_policy()
    store = DynamoScalingStateStore
    original = store.get_state
    raced = {"done": False}

    def get_state_then_race(self: Any, policy: str) -> dict[str, Any] | None:
        seen = original(self, policy)
        if not raced["done"]:  # another decision writes between this read and our conditional write
            raced["done"] = True
            monkeypatch.setattr(store, "get_state", original)
            scaling.decide(alarm_event("e-other", alarm="mlcp-scaling-local-gpu-critical"))
        return seen

    monkeypatch.setattr(store, "get_state", get_state_then_race)
    ours = scaling.decide(alarm_event("e-ours"))

    assert ours["decision"]["action"] == "noop"
    assert "in flight (e-other" in ours["decision"]["reason"]
    assert scaling.state()["lease"]["holder"] == "e-other"


def test_stale_state_write_is_refused(scaling: Scaling) -> None:
    store = DynamoScalingStateStore(TABLES["ScalingStateTable"], scaling.cloud.dynamodb)
    assert store.put_state("p", {"policy": "p"}, expected_version=0)
    assert not store.put_state("p", {"policy": "p"}, expected_version=0)
    assert store.put_state("p", {"policy": "p"}, expected_version=1)


def test_schedule_evaluation_and_unknown_policies(scaling: Scaling) -> None:
    with pytest.raises(
        PolicyNotFound, match="no scaling policy is registered for the alarm mlcp-scaling-local-gpu-high"
    ):
        scaling.decide(alarm_event("e-1"))
    set_alarm("mlcp-scaling-local-gpu-high", "OK")  # a re-evaluation reads the alarms' states now
    early = scaling.decide(load_event("scheduler/scaling_evaluation"))  # the schedule before its policy
    assert early["decision"]["action"] == "noop"
    assert "no scaling policy is registered for the schedule of ml-inference/gpu" in early["decision"]["reason"]
    assert scaling.decisions()[0]["status"] == "NOOP"
    scaling.upload_policy()
    later = {**load_event("scheduler/scaling_evaluation"), "scheduled_time": "2026-11-25T07:05:00Z"}
    evaluated = scaling.decide(later)
    assert evaluated["decision"]["action"] == "noop"
    assert "schedule business-hours" in evaluated["decision"]["reason"]
    with pytest.raises(EventInvalid, match="detail-type"):
        scaling.decide({"source": "somewhere"})


# --- record ------------------------------------------------------------------------------------------------------
def test_record_success_releases_the_lease_and_starts_the_cooldown(scaling: Scaling) -> None:
    scaling.upload_policy()
    decided = scaling.decide(alarm_event("e-1"))
    results = [
        {"nodegroup": u["nodegroup"], "update": {"update_id": "u"}, "result": {"Status": "Successful", "Errors": []}}
        for u in decided["decision"]["updates"]
    ]

    recorded = scaling.record(decided, results)

    assert recorded["failed"] is False
    assert "scaling ml-inference/gpu 8 -> 9 done" in recorded["subject"]
    state = scaling.state()
    assert state["lease"] is None
    assert state["last_scale_out_at"] is not None
    (logged,) = scaling.decisions()
    assert logged["status"] == "SUCCEEDED"
    assert logged["results"]["gpu-a"]["outcome"] == "Successful"
    cooled = scaling.decide(alarm_event("e-2", alarm="mlcp-scaling-local-gpu-critical"))
    assert "scale-out cooldown" in cooled["decision"]["reason"]


@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        ({"error": {"Error": "Eks.InvalidParameterException", "Cause": "Desired capacity 41 ..."}}, "Rejected"),
        ({"error": {"Error": "Eks.ResourceInUseException", "Cause": "update in progress"}}, "ResourceInUse"),
        ({"result": {"Status": "Failed", "Errors": [{"ErrorCode": "Unknown", "ErrorMessage": "boom"}]}}, "Failed"),
        ({"result": {"Status": "InProgress", "Errors": []}, "counter": {"polls": 40}}, "TimedOut"),
    ],
)
def test_record_failures_release_the_lease_without_cooldown(
    scaling: Scaling, result: dict[str, Any], outcome: str
) -> None:
    scaling.upload_policy()
    decided = scaling.decide(alarm_event("e-1"))

    recorded = scaling.record(decided, [{"nodegroup": "gpu-a", **result}])

    assert recorded["failed"] is True
    assert recorded["outcome"] == outcome
    assert scaling.state()["lease"] is None
    assert scaling.state()["last_scale_out_at"] is None
    assert scaling.decisions()[0]["status"] == "FAILED"


def test_handlers_refuse_a_missing_table_setting(scaling: Scaling, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCALING_STATE_TABLE")
    load_handler("decide_scaling").deps.cache_clear()
    with pytest.raises(InputInvalid, match="function environment is invalid: SCALING_STATE_TABLE: Field required"):
        scaling.decide(alarm_event("e-1"))


def test_a_missing_node_group_is_a_recorded_noop(scaling: Scaling) -> None:
    scaling.upload_policy(POLICY_TEXT.replace("{name: gpu-b, weight: 1}", "{name: gpu-c, weight: 1}"))

    decided = scaling.decide(alarm_event("e-1"))

    assert decided["decision"]["action"] == "noop"
    assert decided["decision"]["reason"] == "node group(s) gpu-c not found in cluster ml-inference"


class Refusing:
    """An EKS client answering every DescribeNodegroup with ``code``."""

    def __init__(self, code: str) -> None:
        self.code = code

    def describe_nodegroup(self, **_: Any) -> Any:
        raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "DescribeNodegroup")


def test_eks_errors_other_than_not_found_and_access_denied_propagate() -> None:
    with pytest.raises(ClientError, match="ServerException"):
        EksAdapter(Refusing("ServerException")).describe_nodegroup("c", "n")


def test_eks_access_denied_is_node_group_not_granted_naming_the_parameter() -> None:
    with pytest.raises(NodegroupNotGranted) as raised:
        EksAdapter(Refusing("AccessDeniedException")).describe_nodegroup("ml-inference", "gpu-a")

    assert "ml-inference/gpu-a is outside the template parameter ScalingNodegroupArns" in raised.value.reason
    assert "(EKS answered AccessDeniedException)" in raised.value.reason


def _not_granted_decision(scaling: Scaling, event_id: str) -> dict[str, Any]:
    decided = scaling.decide(alarm_event(event_id), execution=f"{EXECUTION}-{event_id}")
    assert decided["decision"]["action"] == "noop"
    assert "ScalingNodegroupArns" in decided["decision"]["reason"]
    return decided


def test_a_narrowed_scope_is_a_failed_decision_notified_once_then_cleared(
    scaling: Scaling, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a registered policy and the operator narrowing ScalingNodegroupArns to another cluster THEN each
    trigger is recorded FAILED (outcome NotGranted, the reason naming the parameter) without any EKS call, only the
    first carries a notification (words, no stack trace); once granted again it decides an update as before."""
    scaling.upload_policy()
    monkeypatch.setenv("SCALING_NODEGROUP_ARNS", f"arn:aws:eks:us-east-1:{ACCOUNT}:nodegroup/other/*")
    real_eks = EksAdapter.eks
    monkeypatch.setattr(EksAdapter, "eks", property(lambda _: Refusing("ServerException")))  # EKS is never asked

    first = _not_granted_decision(scaling, "e-1")
    second = _not_granted_decision(scaling, "e-2")

    record = first["record"]
    assert record["failed"] is True
    assert record["outcome"] == "NotGranted"
    assert "ScalingNodegroupArns" in record["subject"]
    message = record["message"]
    assert "ml-inference/gpu-a, ml-inference/gpu-b is outside the template parameter ScalingNodegroupArns" in message
    assert "nothing was changed" in message
    assert "What to do:" in message
    assert "Traceback" not in message
    assert "{" not in message
    assert second["record"] is None  # notified once
    logged = scaling.decisions()
    assert [(d["status"], d["outcome"]) for d in logged] == [("FAILED", "NotGranted")] * 2
    assert all("ScalingNodegroupArns" in d["reason"] for d in logged)
    assert "lease" not in scaling.state() or scaling.state()["lease"] is None  # no lease taken
    assert "ScalingNodegroupArns" in scaling.state()["not_granted"]

    monkeypatch.setenv("SCALING_NODEGROUP_ARNS", f"arn:aws:eks:us-east-1:{ACCOUNT}:nodegroup/ml-inference/*")
    monkeypatch.setattr(EksAdapter, "eks", real_eks)
    granted = scaling.decide(alarm_event("e-3"))

    assert granted["decision"]["action"] == "update"
    assert granted["record"] is None
    assert scaling.state()["not_granted"] is None  # a later refusal is notified anew


def test_eks_access_denied_without_the_scope_setting_is_the_same_failed_decision(
    scaling: Scaling, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN no scope in decide's settings and EKS answering AccessDeniedException THEN a recorded failure
    with a notification, not a raw error out of the Lambda function."""
    scaling.upload_policy()
    monkeypatch.delenv("SCALING_NODEGROUP_ARNS")
    monkeypatch.setattr(EksAdapter, "eks", property(lambda _: Refusing("AccessDeniedException")))

    decided = _not_granted_decision(scaling, "e-1")

    assert "(EKS answered AccessDeniedException)" in decided["record"]["message"]
    ((status, outcome),) = [(d["status"], d["outcome"]) for d in scaling.decisions()]
    assert (status, outcome) == ("FAILED", "NotGranted")


def test_update_access_denied_is_recorded_as_not_granted_with_the_parameter(scaling: Scaling) -> None:
    scaling.upload_policy()
    decided = scaling.decide(alarm_event("e-1"))
    cause = "User is not authorized to perform: eks:UpdateNodegroupConfig (Service: Eks, Status Code: 403)"

    recorded = scaling.record(
        decided, [{"nodegroup": "gpu-a", "error": {"Error": "Eks.AccessDeniedException", "Cause": cause}}]
    )

    assert recorded["outcome"] == "NotGranted"
    assert "ScalingNodegroupArns" in recorded["message"]
    assert "nodegroup/ml-inference/gpu-a/*" in recorded["message"]


def test_a_lease_that_cannot_be_released_is_said_not_swallowed(
    scaling: Scaling, monkeypatch: pytest.MonkeyPatch
) -> None:
    scaling.upload_policy()
    decided = scaling.decide(alarm_event("e-1"))
    results = [
        {"nodegroup": u["nodegroup"], "update": {"update_id": "u"}, "result": {"Status": "Successful", "Errors": []}}
        for u in decided["decision"]["updates"]
    ]
    monkeypatch.setattr(DynamoScalingStateStore, "put_state", lambda *_, **__: False)  # always raced

    recorded = scaling.record(decided, results)

    assert recorded["failed"] is True
    assert recorded["outcome"] == "LeaseNotReleased"
    assert "was not released and blocks further updates until it expires" in recorded["message"]
    (logged,) = scaling.decisions()
    assert logged["status"] == "FAILED"
    assert "kept changing (4 attempts)" in logged["lease_error"]
    assert scaling.state()["lease"]["holder"] == "e-1"  # still held: it expires by itself


def test_failure_mails_are_words_and_the_record_keeps_the_error(scaling: Scaling) -> None:
    scaling.upload_policy()
    decided = scaling.decide(alarm_event("e-1"))
    cause = json.dumps({"errorMessage": "Desired capacity 41 can't be greater than max size 40", "stackTrace": ["x"]})

    recorded = scaling.record(
        decided, [{"nodegroup": "gpu-a", "error": {"Error": "Eks.InvalidParameterException", "Cause": cause}}]
    )

    message = recorded["message"]
    assert "gpu-a: Rejected - Desired capacity 41 can't be greater than max size 40" in message
    assert "What to do:" in message
    assert "stackTrace" not in message
    assert "{" not in message
    (logged,) = scaling.decisions()
    assert "stackTrace" in logged["results"]["gpu-a"]["detail"]  # the full error is in the record


def test_a_failed_update_mail_names_the_node_group_and_the_commands(scaling: Scaling) -> None:
    scaling.upload_policy()
    decided = scaling.decide(alarm_event("e-1"))
    failed = {"Status": "Failed", "Errors": [{"ErrorCode": "NodeCreationFailure", "ErrorMessage": "no capacity"}]}
    results = [{"nodegroup": u["nodegroup"], "update": {"update_id": "u"}, "result": failed}
               for u in decided["decision"]["updates"]]  # fmt: skip

    message = scaling.record(decided, results)["message"]

    first = decided["decision"]["updates"][0]["nodegroup"]
    assert f"{first}: Failed - no capacity" in message
    assert f"mlcp scaling get ml-inference {first}" in message
    assert f"POST /scaling/ml-inference/{first}/actions" in message
    assert "{" not in message
    assert "<nodegroup>" not in message
