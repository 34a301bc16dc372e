"""The embedded local cloud: moto in this process, the moto fixes, the job backend, the Lambda runtime, the stack.

    with LocalCloud(speed=2000) as cloud:
        cloud.upload_example("churn", "v1")        # S3 put -> EventBridge -> rules -> handlers -> Step Functions
        cloud.settle()                              # every delivery made, every execution ended
        print(cloud.runs())

Everything goes through AWS APIs (boto3 against moto); nothing reaches into the product's internals.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import yaml
from botocore.config import Config

from mlcp_cli.local import patches
from mlcp_cli.local.backends.clock import SimClock
from mlcp_cli.local.backends.jobs import JobBackend, JobDurations
from mlcp_cli.local.deploy import ROOT, TEMPLATE, Deployment, deploy
from mlcp_cli.local.dispatch import Dispatcher
from mlcp_cli.local.faults import Faults
from mlcp_cli.local.http_endpoint import HttpEndpoint
from mlcp_cli.local.patches.events import deliver
from mlcp_cli.local.patches.iam import RoleSessions
from mlcp_cli.local.runtime import FunctionConfig, Invocation, LambdaRuntime, restore_environ

REGION = "us-east-1"
STACK_NAME = "mlcp-local"
EXAMPLES = ROOT / "examples"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
DEFAULT_PARAMETERS = {
    "EnvironmentName": "local",
    "ScheduledPipeline": "churn",
    "ScheduleExpression": "rate(1 day)",
    "NeoPollSeconds": "30",
    # The example scaling policy's re-evaluation schedule (a recorded no-op until the policy is registered).
    "ScalingPolicyKey": "ml-inference/gpu",
    # The node groups the controller may update: the example cluster's (ScalingNodegroupArns; none by default).
    "ScalingNodegroupArns": "arn:aws:eks:us-east-1:123456789012:nodegroup/ml-inference/*",
    "ScalingEvaluationExpression": "rate(1 hour)",
}
_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@dataclass
class LocalCloud:
    speed: float = 1000.0
    stack_name: str = STACK_NAME
    parameters: dict[str, str] = field(default_factory=dict)
    region: str = REGION
    faults: Faults = field(default_factory=Faults)
    durations: JobDurations | None = None  # simulated job durations (default: JobDurations())
    deployment: Deployment | None = None
    # Authorise every call of a function or state machine against its template role (patches.iam); False: allow all.
    enforce_iam: bool = True
    template_path: Path = TEMPLATE  # a copy beside the original (same folder) keeps its CodeUri paths

    def __post_init__(self) -> None:
        self.clock = SimClock(self.speed)
        self.runtime = LambdaRuntime()
        self.dispatcher = Dispatcher()
        self.jobs = JobBackend(self.clock, self.faults, self.durations)
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._clients: dict[str, Any] = {}
        self._inbox_url = ""
        self._timer: threading.Thread | None = None
        self._timer_stop = threading.Event()
        self._fired: dict[str, float] = {}
        self.iam: RoleSessions | None = None  # the template roles' sessions and every authorisation made
        self.http = HttpEndpoint()  # this cloud over HTTP for local processes (`serve` fixes its own server's)
        self.jobs.batch_worker_script = EXAMPLES / "batch" / "worker.py"
        self.jobs.batch_endpoint = self.http.url

    # --- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> LocalCloud:
        from moto import mock_aws  # noqa: PLC0415 - moto is the local cloud's dependency, not the product's

        from mlcp.aws import clients as product_clients  # noqa: PLC0415

        for key, value in _FAKE_CREDENTIALS.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ.setdefault(key, value)
        # moto warns about each resource type its CloudFormation skips; `mlcp local status` lists them with reasons.
        warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        logging.getLogger("moto").setLevel(logging.CRITICAL)  # failed executions are in their history
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        product_clients.clear_cache()
        sessions = RoleSessions(account_id=_account(), region=self.region) if self.enforce_iam else None
        patches.activate(
            patches.LocalContext(
                clock=self.clock, faults=self.faults, runtime=self.runtime, dispatcher=self.dispatcher, iam=sessions
            )
        )
        self.jobs.install()
        self.runtime.log_sink = self._write_log
        self.runtime.credentials = sessions.credentials if sessions is not None else None
        self.iam = sessions
        self.runtime.start()
        self.deployment = deploy(
            self.client,
            self.runtime,
            stack_name=self.stack_name,
            parameters={**DEFAULT_PARAMETERS, **self._batch_network(), **self.parameters},
            template_path=self.template_path,
        )
        self._subscribe_inbox()
        return self

    def stop(self) -> None:
        self._timer_stop.set()
        if self._timer is not None:
            self._timer.join(timeout=5)
        self.stop_executions()
        self.dispatcher.drain(timeout=30)
        # deliveries drained just now may have started executions after the first stop (several state machines)
        self.stop_executions()
        self._await_stopped(timeout=10)
        self.dispatcher.drain(timeout=30)
        self.dispatcher.shutdown()
        self.runtime.stop()
        self.jobs.uninstall()
        self.http.stop()
        patches.deactivate()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        restore_environ(self._saved_env)

    def deploy_stack(self, stack_name: str, **parameters: str) -> Deployment:
        """Another stack of the template in this account and region (e.g. ``EnvironmentName="prod"``), beside the
        first one; the helpers of this class (output, settle, ...) keep addressing the first."""
        merged = {**DEFAULT_PARAMETERS, **self._batch_network(), **self.parameters, **parameters}
        return deploy(
            self.client, self.runtime, stack_name=stack_name, parameters=merged, template_path=self.template_path
        )

    def _batch_network(self) -> dict[str, str]:
        """The Batch compute environments' subnets and security group: moto's default VPC (created with EC2)."""
        ec2 = self.client("ec2")
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            return {}
        vpc = vpcs[0]["VpcId"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"]
        if not subnets or not groups:
            return {}
        return {"BatchSubnetIds": subnets[0]["SubnetId"], "BatchSecurityGroupIds": groups[0]["GroupId"]}

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.stop()

    # --- handles -------------------------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,  # type: ignore[call-overload]
                region_name=self.region,
                config=Config(retries={"mode": "standard", "max_attempts": 5}),
            )
        return self._clients[service]

    @property
    def stack(self) -> Deployment:
        if self.deployment is None:
            raise RuntimeError("the local cloud is not started")
        return self.deployment

    def output(self, key: str) -> str:
        return self.stack.outputs[key]

    @property
    def bucket(self) -> str:
        return self.output("ArtifactBucketName")

    @property
    def state_machine_arn(self) -> str:
        return self.output("TrainingPipelineArn")

    # --- triggers ------------------------------------------------------------------------------------------------
    def upload(self, key: str, body: bytes | str) -> str:
        """PutObject into the artifact bucket (EventBridge notifications follow); returns the version id."""
        response = self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=body)
        return str(response.get("VersionId", ""))

    def upload_spec(self, name: str, text: str | bytes) -> str:
        return self.upload(f"pipelines/{name}/pipeline.yaml", text)

    def upload_dataset(self, pipeline: str, version: str, manifest: dict[str, Any] | None = None) -> str:
        """Channel data from examples/datasets/<pipeline>/ (if any), then the manifest that starts the run."""
        data_dir = EXAMPLES / "datasets" / pipeline
        if data_dir.is_dir():
            for file in sorted(p for p in data_dir.rglob("*") if p.is_file() and p.name != "manifest.json"):
                self.upload(f"datasets/{pipeline}/{version}/{file.relative_to(data_dir).as_posix()}", file.read_bytes())
        if manifest is None:
            manifest_file = data_dir / "manifest.json"
            manifest = json.loads(manifest_file.read_text()) if manifest_file.is_file() else {}
        return self.upload(f"datasets/{pipeline}/{version}/manifest.json", json.dumps(manifest))

    def upload_example(self, pipeline: str = "churn", version: str = "v1") -> None:
        """Register the example spec (and wait until it is registered), then upload its dataset and manifest."""
        self.upload_spec(pipeline, (EXAMPLES / "pipelines" / pipeline / "pipeline.yaml").read_bytes())
        self.dispatcher.drain()
        self.upload_dataset(pipeline, version)

    def upload_example_batch(self, label: str = "2026-11-27") -> str:
        """Register the example batch profile (examples/batch/batch.yaml) on this stack's job definition, queues,
        compute environments and bucket (its names are those of a stack named ``mlcp``), then upload its manifest
        to batches/<profile>/<label>/manifest.json, which starts a run. Returns the profile name."""
        text = (EXAMPLES / "batch" / "batch.yaml").read_text()
        text = text.replace("mlcp-batch-", f"{self.stack_name}-batch-").replace("mlcp-artifacts-example", self.bucket)
        profile = str(yaml.safe_load(text)["name"])
        self.upload(f"batches/{profile}/batch.yaml", text)
        self.dispatcher.drain()
        self.upload(f"batches/{profile}/{label}/manifest.json", (EXAMPLES / "batch" / "manifest.json").read_bytes())
        return profile

    def schedules(self) -> list[str]:
        return [s["Name"] for s in self.client("scheduler").list_schedules()["Schedules"]]

    def fire_schedule(self, name: str, at: str | None = None) -> dict[str, Any]:
        """Fire a schedule now, as EventBridge Scheduler would at ``at`` (default: the simulated now)."""
        schedule = self.client("scheduler").get_schedule(Name=name)
        target = schedule["Target"]
        payload: dict[str, Any] = json.loads(
            scheduler_input(schedule, at or self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
        )
        self.dispatcher.submit(
            lambda: deliver(
                target["Arn"],
                payload,
                retry_policy=target.get("RetryPolicy"),
                dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn"),
                rule_arn=schedule["Arn"],
                account=target["Arn"].split(":")[4],
                region=self.region,
            )
        )
        return dict(payload)

    def start_timer(self) -> None:
        """Fire `rate(...)` schedules on the simulated clock (cron and at() fire on demand only)."""
        if self._timer is not None:
            return

        def tick() -> None:
            while not self._timer_stop.wait(0.2):
                for name in self.schedules():
                    expression = self.client("scheduler").get_schedule(Name=name)["ScheduleExpression"]
                    period = _rate_seconds(expression)
                    if period is None:
                        continue
                    last = self._fired.setdefault(name, self.clock.seconds())
                    if self.clock.seconds() - last >= period:
                        self._fired[name] = self.clock.seconds()
                        self.fire_schedule(name)

        self._timer = threading.Thread(target=tick, name="mlcp-local-scheduler", daemon=True)
        self._timer.start()

    # --- observation ---------------------------------------------------------------------------------------------
    def state_machine_arns(self) -> list[str]:
        """Every state machine of the stack (the training pipeline first)."""
        others = [
            physical
            for logical, physical in sorted(self.stack.physical.items())
            if self.stack.types.get(logical) == "AWS::StepFunctions::StateMachine"
            and physical != self.state_machine_arn
        ]
        return [self.state_machine_arn, *others]

    def executions(self, state_machine_arn: str | None = None) -> list[dict[str, Any]]:
        """The executions of one state machine, or of every state machine of the stack."""
        paginator = self.client("stepfunctions").get_paginator("list_executions")
        found: list[dict[str, Any]] = []
        for arn in [state_machine_arn] if state_machine_arn else self.state_machine_arns():
            for page in paginator.paginate(stateMachineArn=arn):
                found.extend(page["executions"])
        return found

    def settle(self, timeout: float = 120.0) -> list[dict[str, Any]]:
        """Wait until every delivery is made and every execution has ended; return the executions."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.dispatcher.drain(timeout=max(0.0, deadline - time.monotonic()))
            executions = self.executions()
            if all(e["status"] in TERMINAL for e in executions) and self.dispatcher.pending == 0:
                self.dispatcher.drain(timeout=max(0.0, deadline - time.monotonic()))
                if self.dispatcher.pending == 0:
                    return executions
            time.sleep(0.05)
        raise TimeoutError(
            f"the local cloud did not settle in {timeout}s: {self.dispatcher.pending} deliveries pending"
        )

    def stop_executions(self) -> None:
        if self.deployment is None:
            return
        for execution in self.executions():
            if execution["status"] == "RUNNING":
                self.client("stepfunctions").stop_execution(executionArn=execution["executionArn"])

    def _await_stopped(self, timeout: float) -> None:
        """Until no execution runs: a stopped one still emits its status event, which needs the dispatcher."""
        if self.deployment is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(e["status"] == "RUNNING" for e in self.executions()):
            time.sleep(0.05)

    def describe(self, execution_arn: str) -> dict[str, Any]:
        result: dict[str, Any] = dict(self.client("stepfunctions").describe_execution(executionArn=execution_arn))
        return result

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        paginator = self.client("stepfunctions").get_paginator("get_execution_history")
        events: list[dict[str, Any]] = []
        for page in paginator.paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events

    def runs(self) -> list[dict[str, Any]]:
        """Every item of the runs table (the run registry)."""
        table = self.stack.physical["RunsTable"]
        paginator = self.client("dynamodb").get_paginator("scan")
        items: list[dict[str, Any]] = []
        for page in paginator.paginate(TableName=table):
            items.extend(page["Items"])
        from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415

        deserializer = TypeDeserializer()
        return [{k: deserializer.deserialize(v) for k, v in item.items()} for item in items]

    def run(self, run_id: str) -> dict[str, Any] | None:
        return next((r for r in self.runs() if r.get("run_id") == run_id), None)

    def _subscribe_inbox(self) -> None:
        sqs = self.client("sqs")
        self._inbox_url = sqs.create_queue(QueueName=f"{self.stack_name}-inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self._inbox_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.client("sns").subscribe(
            TopicArn=self.output("NotificationTopicArn"),
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "false"},
        )

    def notifications(self) -> list[dict[str, Any]]:
        """Every SNS notification published so far (a local subscriber queue stands in for the e-mail)."""
        return [
            {"subject": body.get("Subject"), "message": _json_or_text(body.get("Message", ""))}
            for body in self._drain(self._inbox_url)
        ]

    def dead_letters(self) -> list[dict[str, Any]]:
        """Trigger events that failed every retry (the FailedTriggersQueue)."""
        return self._drain(self.output("FailedTriggersQueueUrl"))

    def _drain(self, url: str) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    # --- node-group scaling ----------------------------------------------------------------------------------------
    def create_example_nodegroups(
        self, policy_file: Path = EXAMPLES / "scaling" / "policy.yaml", desired: int = 2, register: bool = True
    ) -> dict[str, Any]:
        """The EKS cluster and node groups a scaling policy names (moto EKS), its CloudWatch alarms, and the policy
        uploaded to scaling/<cluster>/<name>/policy.yaml (registered through EventBridge). Returns the policy."""
        policy: dict[str, Any] = yaml.safe_load(policy_file.read_text())
        eks, cloudwatch = self.client("eks"), self.client("cloudwatch")
        account = _account()
        if policy["cluster"] not in eks.list_clusters()["clusters"]:
            eks.create_cluster(
                name=policy["cluster"], roleArn=f"arn:aws:iam::{account}:role/eks-cluster", resourcesVpcConfig={}
            )
        existing = eks.list_nodegroups(clusterName=policy["cluster"])["nodegroups"]
        for member in policy["nodegroups"]:
            if member["name"] not in existing:
                eks.create_nodegroup(
                    clusterName=policy["cluster"],
                    nodegroupName=member["name"],
                    nodeRole=f"arn:aws:iam::{account}:role/eks-nodes",
                    subnets=["subnet-0example"],
                    scalingConfig={"minSize": 1, "maxSize": policy["max_size"], "desiredSize": desired},
                )
        for alarm in policy.get("alarms", []):
            cloudwatch.put_metric_alarm(
                AlarmName=alarm["name"],
                Namespace=alarm.get("namespace", "ContainerInsights"),
                MetricName=alarm.get("metric", "node_cpu_utilization"),
                Dimensions=[{"Name": "ClusterName", "Value": policy["cluster"]}],
                Statistic=alarm.get("statistic", "Average"),
                Period=alarm.get("period_seconds", 60),
                EvaluationPeriods=alarm.get("evaluation_periods", 3),
                DatapointsToAlarm=alarm.get("datapoints_to_alarm", 3),
                Threshold=float(alarm["threshold"]),
                ComparisonOperator=alarm["comparison"],
                TreatMissingData=alarm.get("treat_missing_data", "missing"),
            )
        if register:
            self.upload(f"scaling/{policy['cluster']}/{policy['name']}/policy.yaml", policy_file.read_bytes())
            self.dispatcher.drain()
        return policy

    def scaling_executions(self) -> list[dict[str, Any]]:
        """The executions of the node-group scaling state machine."""
        return self.executions(self.output("NodegroupScalingArn"))

    def settle_scaling(self, timeout: float = 120.0) -> list[dict[str, Any]]:
        """Wait until everything has settled; return the node-group scaling executions."""
        arn = self.output("NodegroupScalingArn")
        return [e for e in self.settle(timeout) if e["stateMachineArn"] == arn]

    def _write_log(self, fn: FunctionConfig, invocation: Invocation) -> None:
        """Each invocation's output goes to the function's log group, as the Lambda service does."""
        from moto.logs.models import logs_backends  # noqa: PLC0415

        backend = logs_backends[_account()][self.region]
        stream = f"{time.strftime('%Y/%m/%d')}/{fn.name}"
        lines = [line for line in invocation.log.splitlines() if line.strip()]
        report = f"REPORT RequestId: {invocation.request_id}\tDuration: {invocation.duration_ms:.2f} ms"
        try:
            if fn.log_group not in backend.groups:
                backend.create_log_group(fn.log_group, {})
            group = backend.groups[fn.log_group]
            if stream not in group.streams:
                backend.create_log_stream(fn.log_group, stream)
            now = int(time.time() * 1000)
            backend.put_log_events(fn.log_group, stream, [{"timestamp": now, "message": m} for m in [*lines, report]])
        except Exception:
            return


def scheduler_input(schedule: dict[str, Any], scheduled_time: str) -> str:
    """A schedule target's Input with the context attributes EventBridge Scheduler fills in."""
    text = str(schedule["Target"].get("Input", "{}"))
    for placeholder, value in {
        "<aws.scheduler.schedule-arn>": schedule["Arn"],
        "<aws.scheduler.scheduled-time>": scheduled_time,
        "<aws.scheduler.execution-id>": f"{schedule['Name']}-{scheduled_time}",
        "<aws.scheduler.attempt-number>": "1",
    }.items():
        text = text.replace(placeholder, value)
    return text


def _account() -> str:
    from moto.core import DEFAULT_ACCOUNT_ID  # noqa: PLC0415

    return str(DEFAULT_ACCOUNT_ID)


def _rate_seconds(expression: str) -> float | None:
    if not expression.startswith("rate(") or not expression.endswith(")"):
        return None
    amount, unit = expression[5:-1].split()
    seconds = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}[unit]
    return int(amount) * float(seconds)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
