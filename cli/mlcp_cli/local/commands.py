"""`mlcp local ...`: the embedded local cloud from the command line.

demo           deploy, upload the example pipeline and dataset, follow the run, print a summary (exit 0 = SUCCEEDED)
status         every resource of template.yaml: created in moto, or emulated differently (and why)
serve          the same cloud as a moto server on 127.0.0.1 (AWS_ENDPOINT_URL for the AWS CLI and boto3), and the
               REST API on 127.0.0.1:5001 (API Gateway proxy events to ApiFunction; `mlcp runs ... --local`;
               with another --api-port, export MLCP_LOCAL_API=http://127.0.0.1:<port> for --local)
fire-schedule  fire an EventBridge Scheduler schedule now (in-process, or against `serve` with --endpoint)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from mlcp_cli.local.faults import FAILABLE

NO_IAM_HELP = (
    "do not enforce IAM: by default every call of a function or state machine runs under its template role and is "
    "refused as AWS would refuse it (see the IAM roles in mlcp local status)"
)


def cmd_demo(args: argparse.Namespace) -> int:
    from mlcp_cli.local.demo import run_demo, to_json  # noqa: PLC0415 - moto loads only for `mlcp local`

    progress = sys.stderr if args.json else sys.stdout
    after = None
    if args.report:
        from mlcp_cli.report.local import report_after  # noqa: PLC0415 - plotly loads only with --report

        after = report_after(Path(args.report))
    result = run_demo(fail=args.fail, speed=args.speed, out=progress, enforce_iam=not args.no_iam, after=after)
    if args.json:
        print(to_json(result))
    if result.status != "SUCCEEDED":
        print(f"\nmlcp local demo: run {result.run_id} {result.status}: {result.reason}", file=sys.stderr)
        return 1
    return 0


def _served_client(service: str, endpoint: str) -> Any:
    """A boto3 client of a running `mlcp local serve`: its region and placeholder credentials (moto checks none),
    so it works in a shell without any AWS configuration."""
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        config=Config(retries={"mode": "standard", "max_attempts": 1}),  # a local server: answer now or say so
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's placeholder, not a secret
    )


def _status_rows(args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    if args.endpoint:
        from mlcp_cli.local.deploy import DEPLOY_BUCKET  # noqa: PLC0415

        s3 = _served_client("s3", args.endpoint)
        body = s3.get_object(Bucket=DEPLOY_BUCKET, Key=f"{args.stack}/status.json")["Body"].read()
        return [(str(a), str(b), str(c), str(d)) for a, b, c, d in json.loads(body)]
    from mlcp_cli.local.cloud import LocalCloud  # noqa: PLC0415

    with LocalCloud() as cloud:
        return cloud.stack.status_rows()


def cmd_status(args: argparse.Namespace) -> int:
    rows = _status_rows(args)
    if args.json:
        print(json.dumps([dict(zip(("logical_id", "type", "status", "note"), r, strict=True)) for r in rows], indent=2))
        return 0
    width = max(len(r[0]) for r in rows)
    type_width = max(len(r[1]) for r in rows)
    for logical_id, kind, status, note in rows:
        print(f"{logical_id:<{width}}  {kind:<{type_width}}  {status:<15}  {note}")
    print(
        f"\n{len(rows)} resources: {sum(r[2] == 'CREATE_COMPLETE' for r in rows)} created by CloudFormation in moto, "
        f"{sum(r[2] == 'EMULATED' for r in rows)} emulated by the local cloud"
    )
    return 0


def api_hint(url: str) -> str:
    """The banner's line on reaching the served REST API: `--local` means LOCAL_API (the default --api-port)
    unless MLCP_LOCAL_API says otherwise, so on any other port the line exports it first."""
    from mlcp_cli.api_client import LOCAL_API  # noqa: PLC0415 - the banner is the only user here

    export = "" if url == LOCAL_API else f"export MLCP_LOCAL_API={url}; "
    return f"  curl {url}/runs    {export}mlcp runs list --local    mlcp pipelines list --local"


def cmd_serve(args: argparse.Namespace) -> int:
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    from mlcp_cli.local.api_server import serve_api  # noqa: PLC0415
    from mlcp_cli.local.cloud import LocalCloud  # noqa: PLC0415

    with LocalCloud(speed=args.speed, enforce_iam=not args.no_iam) as cloud:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
        server.start()
        cloud.http.fixed = f"http://127.0.0.1:{args.port}"  # the reference batch worker's processes reach it here
        api = serve_api(cloud, port=args.api_port)
        cloud.start_timer()
        batch_profile = ""
        if args.example:  # everything the README's examples use
            cloud.upload_example()  # pipeline churn, dataset v1 (a run)
            batch_profile = cloud.upload_example_batch()  # profile image-scoring on the batch-worker job definition
            cloud.create_example_nodegroups()  # EKS node groups, alarms and the scaling policy of examples/scaling
        endpoint = f"http://127.0.0.1:{args.port}"
        print(f"mlcp local cloud on {endpoint} (stack {cloud.stack_name}); Ctrl-C stops it.")
        print(
            f"  export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
            "AWS_DEFAULT_REGION=us-east-1"
        )
        print(f"  aws s3 cp examples/pipelines/churn/pipeline.yaml s3://{cloud.bucket}/pipelines/churn/pipeline.yaml")
        training = [s for s in cloud.schedules() if "TrainingSchedule" in s]
        print(f"  mlcp local fire-schedule {training[0] if training else 'NAME'} --endpoint {endpoint}")
        print(f"REST API on {api.url} (routes of MlcpApi; unsigned requests are the local user)")
        print(api_hint(api.url))
        if args.example:
            print(
                f"examples: pipeline churn (dataset v1), batch profile {batch_profile} (job definition "
                f"{cloud.stack_name}-batch-worker), scaling policy ml-inference/gpu (node groups gpu-a, gpu-b)"
            )
        sys.stdout.flush()
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            print("stopping")
        finally:
            api.stop()
            server.stop()
    return 0


def cmd_fire_schedule(args: argparse.Namespace) -> int:
    if args.endpoint:
        return _fire_remote(args)
    from mlcp_cli.local.cloud import LocalCloud  # noqa: PLC0415

    with LocalCloud(speed=args.speed) as cloud:
        if args.name not in cloud.schedules():
            print(f"no schedule {args.name!r}; schedules: {', '.join(cloud.schedules()) or '(none)'}", file=sys.stderr)
            return 1
        cloud.upload_example()
        cloud.settle()
        payload = cloud.fire_schedule(args.name)
        executions = cloud.settle()
        print(json.dumps({"fired": payload, "executions": [(e["name"], e["status"]) for e in executions]}, indent=2))
    return 0


def _fire_remote(args: argparse.Namespace) -> int:
    """Against `mlcp local serve`: read the schedule, invoke its target as Scheduler does (asynchronously)."""
    scheduler = _served_client("scheduler", args.endpoint)
    try:
        schedule = scheduler.get_schedule(Name=args.name)
    except scheduler.exceptions.ResourceNotFoundException:
        print(f"no schedule {args.name!r} at {args.endpoint}", file=sys.stderr)
        return 1
    from mlcp_cli.local.cloud import scheduler_input  # noqa: PLC0415

    target = schedule["Target"]
    scheduled_time = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    payload = scheduler_input(schedule, scheduled_time)
    _served_client("lambda", args.endpoint).invoke(
        FunctionName=target["Arn"], InvocationType="Event", Payload=payload.encode()
    )
    print(f"fired {args.name} at {scheduled_time}: {payload.strip()}")
    return 0


def add_parser(sub: Any) -> None:
    local = sub.add_parser(
        "local",
        help="the embedded local cloud (moto): demo, status, serve, fire-schedule",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    local_sub = local.add_subparsers(dest="local_command", required=True)
    demo = local_sub.add_parser("demo", help="run the example pipeline end to end and print a summary")
    demo.add_argument("--fail", choices=FAILABLE, help="inject a failure at this stage (the run must end FAILED)")
    demo.add_argument("--speed", type=float, default=2000.0, help="simulated seconds per wall second (default 2000)")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON (progress goes to stderr)")
    demo.add_argument(
        "--no-iam",
        action="store_true",
        help=NO_IAM_HELP,
    )
    demo.add_argument(
        "--report", metavar="HTML", help="also write the run's report there (as `mlcp runs report` does; make report)"
    )
    demo.set_defaults(func=cmd_demo)
    status = local_sub.add_parser("status", help="what of template.yaml is created in moto and what is emulated")
    status.add_argument("--endpoint", help="a running `mlcp local serve` (default: deploy in-process)")
    status.add_argument("--stack", default="mlcp-local")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    serve = local_sub.add_parser("serve", help="run the local cloud as a moto server on 127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument(
        "--api-port",
        type=int,
        default=5001,
        help="port of the local REST API (default 5001; on another port, set MLCP_LOCAL_API=http://127.0.0.1:PORT "
        "for the --local of mlcp runs/pipelines/batch/scaling)",
    )
    serve.add_argument("--speed", type=float, default=100.0)
    serve.add_argument(
        "--no-iam",
        action="store_true",
        help=NO_IAM_HELP,
    )
    serve.add_argument(
        "--example",
        action="store_true",
        help="register what the README's examples use on start: the example pipeline and dataset, the batch profile "
        "image-scoring and its manifest, the scaling policy with its node groups",
    )
    serve.set_defaults(func=cmd_serve)
    fire = local_sub.add_parser("fire-schedule", help="fire a schedule now (e.g. mlcp-local-TrainingSchedule)")
    fire.add_argument("name")
    fire.add_argument("--endpoint", help="a running `mlcp local serve` (default: a fresh in-process cloud)")
    fire.add_argument("--speed", type=float, default=2000.0)
    fire.set_defaults(func=cmd_fire_schedule)
