"""`mlcp local ...` from the command line, and the local cloud served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from mlcp_cli.local.cloud import EXAMPLES, LocalCloud
from mlcp_cli.main import main


def test_demo_succeeds_and_prints_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["local", "demo", "--json", "--speed", "5000"])

    out = capsys.readouterr()
    assert code == 0, out.err
    result = json.loads(out.out)
    summary = result["summary"]
    assert result["status"] == "SUCCEEDED"
    assert [s["stage"] for s in summary["stages"]] == ["validate", "augment", "tune", "compress", "gate", "register"]
    assert {s["status"] for s in summary["stages"]} == {"SUCCEEDED"}
    assert summary["best"]["objective_metric"] == "validation:auc"
    # The real example (examples/pipelines/breast-cancer): trials trained by the local job runner.
    assert summary["real_training"] is True
    assert set(summary["best"]["hyperparameters"]) == {"alpha", "epochs", "hidden_units", "learning_rate"}
    assert 0.9 < summary["best"]["objective_value"] <= 1.0  # a real MLP on the breast-cancer data
    assert summary["best"]["metrics"]["validation:auc"] == summary["best"]["objective_value"]
    assert 0.8 < summary["best"]["metrics"]["validation:accuracy"] <= 1.0
    assert int(summary["trials"]["Completed"]) == 6
    assert summary["compression"]["ratio"] > 2  # int8 quantization of float32 weights
    assert abs(summary["compression"]["metric_delta"]) <= 0.01 * summary["compression"]["metric_before"]
    assert summary["gate"] == "passed"
    assert summary["model_package_arn"].startswith("arn:aws:sagemaker:us-east-1:")
    assert "Tune Hyperparameters" in out.err  # progress goes to stderr with --json
    # One source for stage times (the execution history): the progress line and the summary agree.
    printed = re.search(r"Validate Spec\s+done in (\d+\.\d\d)s", out.err)
    assert printed is not None, out.err
    (validate,) = [s for s in summary["stages"] if s["stage"] == "validate"]
    assert f"{validate['wall_seconds']:.2f}" == printed.group(1)
    assert "Notify Success" in out.err
    # The registered model scores the validation rows in the batch pipeline, through the reference worker's
    # processes (real scores: about the best trial's own validation accuracy, up to int8 rounding).
    batch = summary["batch"]
    assert batch["status"] == "SUCCEEDED"
    assert batch["rows"] == 113  # the validation channel: 20 % of 569, stratified
    assert batch["children"] >= 2
    assert batch["shards"] == batch["children"]
    assert batch["model_uri"].endswith("-compress/output/model.tar.gz")  # the registered (int8) model
    assert batch["accuracy"] > 0.85  # real scores (the stand-in's hash scores would be right half the time)
    assert abs(batch["accuracy"] - summary["best"]["metrics"]["validation:accuracy"]) <= 0.05  # int8 vs float32
    assert batch["results"].startswith("s3://")
    assert batch["results"].endswith("/results/")
    assert "batch scoring   SUCCEEDED: 113 validation rows scored" in out.err
    assert f"batch accuracy  {batch['accuracy']:.4f}" in out.err
    assert f"batch results   {batch['results']}" in out.err


def test_demo_with_an_injected_failure_exits_1_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["local", "demo", "--fail", "compress", "--speed", "5000"])

    out = capsys.readouterr()
    assert code == 1
    assert "FAILED" in out.err
    assert "injected failure of the compression job" in out.err
    assert "compress   FAILED" in out.out
    # Every failure path shows its notification: the failure branch's states and the SNS message.
    assert "Record Failure" in out.out
    assert "Notify Failure" in out.out
    assert "notification    mlcp: run" in out.out


def test_status_lists_every_resource_created_or_emulated(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "status", "--json"]) == 0

    rows = json.loads(capsys.readouterr().out)
    by_type: dict[str, set[str]] = {}
    for row in rows:
        by_type.setdefault(row["type"], set()).add(row["status"])
        if row["status"] == "EMULATED":
            assert row["note"], row  # every resource not created says how it is stood in for
    assert by_type["AWS::Lambda::Function"] == {"CREATE_COMPLETE"}
    assert by_type["AWS::StepFunctions::StateMachine"] == {"CREATE_COMPLETE"}
    assert by_type["AWS::Scheduler::Schedule"] == {"CREATE_COMPLETE"}  # created by the post-deploy step
    assert "EMULATED" in by_type["AWS::S3::BucketPolicy"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture  # one local cloud at a time per process: each test gets its own
def served() -> Iterator[tuple[LocalCloud, str]]:
    with LocalCloud(speed=5000.0) as cloud:
        port = _free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield cloud, f"http://127.0.0.1:{port}"
        finally:
            server.stop()


def test_serve_exposes_the_same_cloud_over_http(served: tuple[LocalCloud, str]) -> None:
    cloud, endpoint = served
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    sfn = boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1")

    # An upload over HTTP goes through the same EventBridge rules and handlers.
    s3.put_object(
        Bucket=cloud.bucket,
        Key="pipelines/churn/pipeline.yaml",
        Body=(EXAMPLES / "pipelines/churn/pipeline.yaml").read_bytes(),
    )
    cloud.settle()
    s3.put_object(Bucket=cloud.bucket, Key="datasets/churn/http1/manifest.json", Body=b"{}")
    cloud.settle()

    executions = sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"]
    assert [(e["name"].split("-")[1], e["status"]) for e in executions] == [("http1", "SUCCEEDED")]
    assert main(["local", "status", "--endpoint", endpoint]) == 0


def test_fire_schedule_against_a_served_cloud_starts_a_run(
    served: tuple[LocalCloud, str], capsys: pytest.CaptureFixture[str]
) -> None:
    cloud, endpoint = served
    cloud.upload_example("churn", "http2")
    cloud.settle()
    before = {e["executionArn"] for e in cloud.executions()}

    code = main(["local", "fire-schedule", "mlcp-local-TrainingSchedule", "--endpoint", endpoint])
    executions = [e for e in cloud.settle() if e["executionArn"] not in before]

    assert code == 0
    assert "fired mlcp-local-TrainingSchedule" in capsys.readouterr().out
    assert len(executions) == 1
    assert executions[0]["status"] == "SUCCEEDED"
    assert main(["local", "fire-schedule", "no-such-schedule", "--endpoint", endpoint]) == 1


def test_status_of_a_served_cloud_is_the_deployed_status(
    served: tuple[LocalCloud, str], capsys: pytest.CaptureFixture[str]
) -> None:
    cloud, endpoint = served

    assert main(["local", "status", "--json", "--endpoint", endpoint]) == 0

    rows = json.loads(capsys.readouterr().out)
    assert [tuple(r.values()) for r in rows] == cloud.stack.status_rows()


def test_fire_schedule_in_process_runs_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "fire-schedule", "mlcp-local-TrainingSchedule", "--speed", "5000"]) == 0

    result = json.loads(capsys.readouterr().out)
    assert result["fired"]["source"] == "mlcp.schedule"
    # The example's manifest upload starts one run, the schedule a second one on the latest dataset version.
    assert [status for _, status in result["executions"]] == ["SUCCEEDED", "SUCCEEDED"]


def test_the_local_timer_fires_rate_schedules() -> None:
    # rate(5 minutes) at 300 simulated seconds per wall second: about one firing per wall second.
    with LocalCloud(speed=300.0, parameters={"ScheduleExpression": "rate(5 minutes)"}) as cloud:
        cloud.upload_example("churn", "timer1")
        (manifest_run,) = _wait_for_executions(cloud, 1)

        cloud.start_timer()
        scheduled = [e for e in _wait_for_executions(cloud, 2) if e["executionArn"] != manifest_run["executionArn"]]

        run_input = json.loads(cloud.describe(scheduled[0]["executionArn"])["input"])
        assert run_input["trigger"]["type"] == "schedule"
        assert run_input["dataset"]["version"] == "timer1"


def _wait_for_executions(cloud: LocalCloud, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        executions = cloud.executions()
        if len(executions) >= count:
            return executions
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} executions after {timeout:.0f}s: {cloud.executions()}")


def test_serve_command_runs_until_interrupted() -> None:
    port, api_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlcp_cli.main", "local", "serve", "--port", str(port), "--api-port", str(api_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()  # blocks until the cloud is deployed and served
        assert banner.startswith(f"mlcp local cloud on http://127.0.0.1:{port}"), banner
        endpoint = f"http://127.0.0.1:{port}"
        buckets = [
            b["Name"]
            for b in boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").list_buckets()["Buckets"]
        ]
        schedules = boto3.client("scheduler", endpoint_url=endpoint, region_name="us-east-1").list_schedules()
        assert any(b.startswith("mlcp-local-artifactbucket-") for b in buckets), buckets
        names = sorted(s["Name"] for s in schedules["Schedules"])
        assert names == ["mlcp-local-ScalingEvaluationSchedule", "mlcp-local-TrainingSchedule"]
        api_banner = next(line for line in process.stdout if line.startswith("REST API on"))
        assert api_banner.startswith(f"REST API on http://127.0.0.1:{api_port}"), api_banner
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/pipelines", timeout=30) as response:
            assert response.status == 200
            assert json.loads(response.read()) == {"items": [], "next_token": None}
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    assert code == 0
