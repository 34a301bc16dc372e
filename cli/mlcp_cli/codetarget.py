"""Where `mlcp pipelines put` / `mlcp runs start --spec` / `mlcp spec package` upload script-mode code: the stack's
artifact bucket (--artifact-bucket, else the stack output ArtifactBucketName) in the stack's region, or the local
cloud of `mlcp local serve` (--local: its moto server: MLCP_LOCAL_ENDPOINT, else the AWS_ENDPOINT_URL that `serve`'s
banner exports, else http://127.0.0.1:5000)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from mlcp_cli.imagecache import add_cache_argument
from mlcp_cli.scriptmode import CodeTarget

LOCAL_ENDPOINT = "http://127.0.0.1:5000"
LOCAL_STACK = "mlcp-local"  # mlcp_cli.local.cloud.STACK_NAME (not imported: that loads moto)
BUCKET_OUTPUT = "ArtifactBucketName"


def _clients(region: str | None, endpoint: str | None) -> tuple[Any, Any, str]:
    import boto3  # noqa: PLC0415 - only when a spec has code to upload

    if endpoint is not None:  # the local cloud: moto checks no credentials
        session = boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's placeholder, not a secret
            region_name=region or "us-east-1",
        )
    else:
        session = boto3.Session(region_name=region)
    name = session.region_name
    if not name:
        from botocore.exceptions import NoRegionError  # noqa: PLC0415

        raise NoRegionError
    cfn = session.client("cloudformation", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)
    return cfn, s3, str(name)


def stack_bucket(cfn: Any, stack: str) -> str:
    """The stack's ``ArtifactBucketName`` output (CloudFormation DescribeStacks)."""
    outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for output in outputs:
        if output["OutputKey"] == BUCKET_OUTPUT:
            return str(output["OutputValue"])
    raise LookupError(f"stack {stack} has no {BUCKET_OUTPUT} output; give --artifact-bucket")


def local_endpoint() -> str:
    """The moto server of `mlcp local serve`: MLCP_LOCAL_ENDPOINT, else AWS_ENDPOINT_URL (what `serve --port N`
    prints to export), else the default port."""
    return os.environ.get("MLCP_LOCAL_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL") or LOCAL_ENDPOINT


def target_from(args: argparse.Namespace) -> CodeTarget:
    """The upload target of an API command's arguments (--local, --stack, --region, --artifact-bucket)."""
    local = bool(getattr(args, "local", False))
    endpoint = local_endpoint() if local else None
    cfn, s3, region = _clients(getattr(args, "region", None), endpoint)
    bucket = getattr(args, "artifact_bucket", None) or stack_bucket(cfn, LOCAL_STACK if local else args.stack)
    return CodeTarget(bucket=bucket, region=region, s3=s3)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--artifact-bucket",
        help="where script-mode code is uploaded (default: the stack output ArtifactBucketName)",
    )
    add_cache_argument(parser)
