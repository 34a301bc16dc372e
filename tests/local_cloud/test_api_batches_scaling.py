"""/batches and /scaling over real HTTP (the local API in front of ApiFunction in the local cloud), with the CLI:
POST /batches runs the batch pipeline to success; a manual scaling action resizes the example node group through
the scaling controller (nodegroup_scaling: decide -> UpdateNodegroupConfig -> record)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp_cli.local.api_server import LocalApi, serve_api
from mlcp_cli.local.backends.batch import BatchWork
from mlcp_cli.local.cloud import EXAMPLES, LocalCloud
from mlcp_cli.local.patches.eks import EKS_UPDATE_SECONDS
from mlcp_cli.main import main
from tests.local_cloud.conftest import states_entered
from tests.local_cloud.test_api import http

CLUSTER = "ml-inference"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCloud, LocalApi]]:
    policy = yaml.safe_load((EXAMPLES / "scaling" / "policy.yaml").read_text())
    policy.pop("schedules")  # their floors depend on the day the tests run
    policy_file = tmp_path_factory.mktemp("scaling") / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy))
    parameters = {"ScalingFirstWaitSeconds": str(int(EKS_UPDATE_SECONDS))}
    with LocalCloud(speed=5000.0, parameters=parameters) as cloud:
        cloud.jobs.batch_work_default = BatchWork(per_item_seconds=0.5, startup_seconds=30.0)
        cloud.create_example_nodegroups(policy_file, desired=2)
        cloud.settle_scaling()
        api = serve_api(cloud)
        try:
            yield cloud, api
        finally:
            api.stop()


def mlcp(api: LocalApi, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLCP_LOCAL_API", api.url)
        code = main([*argv, "--local"])
    out = capsys.readouterr()
    printed = "".join(line for line in out.out.splitlines(keepends=True) if not line.startswith('{"_aws"'))
    return code, printed, out.err


def test_post_batches_runs_the_batch_pipeline_to_success(
    served: tuple[LocalCloud, LocalApi], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cloud, api = served
    spec = {
        "name": "api-scoring",
        "items": {"count": 1},
        "job": {"definition": f"{cloud.stack_name}-batch-worker", "vcpus": 16, "memory_mib": 32768},
        "queues": [{"name": cloud.output("BatchSpotQueueArn"), "max_vcpus": 64, "spot": True}],
        "estimate": {"per_item_seconds": 0.5, "startup_seconds": 30.0},
    }
    request = {"item_count": 2000, "spec": spec}

    status, started = http(api, "POST", "/batches/api-scoring", request, {"Idempotency-Key": "batch-1"})
    retried = http(api, "POST", "/batches/api-scoring", request, {"Idempotency-Key": "batch-1"})
    cloud.settle(timeout=300)

    assert status == 201, started
    assert retried == (200, {**started, "started": False})
    assert "Submit Array Job" in states_entered(cloud, started["execution_arn"])
    code, out, err = mlcp(api, capsys, "batch", "get", started["run_id"], "--json")
    assert code == 0, err
    run = json.loads(out)
    assert run["status"] == "SUCCEEDED"
    assert run["stats"]["status"] == "SUCCEEDED"
    assert run["stats"]["failed_indices"] == []
    assert run["shards"]["item_count"] == 2000
    code, out, _ = mlcp(api, capsys, "batch", "get", started["run_id"])
    assert f"batch run {started['run_id']}   profile api-scoring   status SUCCEEDED" in out
    assert "failed shards: none" in out
    # The CLI's start: a manifest that is not there is a 404 (exit 3); a bad field is a 400 (exit 1).
    code, _, err = mlcp(api, capsys, "batch", "start", "api-scoring", "--manifest", f"s3://{cloud.bucket}/gone.json")
    assert code == 3, err
    code, _, err = mlcp(api, capsys, "batch", "start", "api-scoring", "--items", "0")
    assert code == 1
    assert "\n  item_count: " in err  # a body field as `mlcp batch plan` names it, printed once
    assert err.count("item_count:") == 1


def test_a_manual_scaling_action_resizes_the_node_group_through_the_controller(
    served: tuple[LocalCloud, LocalApi], capsys: pytest.CaptureFixture[str]
) -> None:
    cloud, api = served
    before = {e["executionArn"] for e in cloud.executions()}

    sim_before = cloud.clock.now()
    code, out, err = mlcp(
        api, capsys, "scaling", "set", CLUSTER, "gpu-a", "--desired", "30", "--reason", "load test", "--json"
    )
    sim_after = cloud.clock.now()
    assert code == 0, err
    accepted = json.loads(out)
    # The manual trigger is timed on the simulated clock (API Gateway's requestTimeEpoch, stamped by the local API),
    # like the alarm events: hours ahead of the wall clock at speed 5000, so no wall-clock time fits in between.
    sent = json.loads(cloud.client("stepfunctions").describe_execution(executionArn=accepted["execution_arn"])["input"])
    at = dt.datetime.fromisoformat(sent["at"])
    assert sim_before - dt.timedelta(milliseconds=1) <= at <= sim_after, (sim_before, at, sim_after)
    executions = [e for e in cloud.settle_scaling() if e["executionArn"] not in before]

    assert [e["executionArn"] for e in executions] == [accepted["execution_arn"]]
    assert executions[0]["status"] == "SUCCEEDED"
    assert "Update Node Groups" in states_entered(cloud, accepted["execution_arn"])
    eks = cloud.client("eks")
    config = eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="gpu-a")["nodegroup"]["scalingConfig"]
    assert config["desiredSize"] == 20  # 30, clamped to gpu-a's share of max_size (20); max_step 24 allows it
    view: dict[str, Any] = http(api, "GET", f"/scaling/{CLUSTER}/gpu-a?limit=1")[1]
    (decision,) = view["decisions"]
    assert decision["decision_id"] == accepted["decision_id"]
    assert decision["status"] == "SUCCEEDED"
    assert "(load test)" in decision["reason"]
    assert decision["change"] == "2 -> 20"  # this node group's own change, not the group's capacity
    assert view["state"]["lease"] is None
    code, out, _ = mlcp(api, capsys, "scaling", "get", CLUSTER, "gpu-a")
    assert code == 0
    assert "desired 20" in out
    assert "2 -> 20" in out
    assert "lease     free" in out
    decided = out.split("DECIDED", 1)[1].splitlines()[1].split()[0]  # the newest decision's time, to the second
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", decided), decided
    code, _, err = mlcp(api, capsys, "scaling", "set", CLUSTER, "nowhere", "--desired", "3")
    assert code == 3
    assert "no scaling policy covers" in err
