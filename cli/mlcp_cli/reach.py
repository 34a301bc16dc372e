"""The stack's reach on the command line: which roles and buckets the preflight may accept offline.

Offline the CLI does not know the deployed stack; give its artifact bucket (the stack output ArtifactBucketName) and
the template parameters ExtraSageMakerExecutionRoleArns / DataBucketNames to check roles and buckets as the
deployed functions will, and --account-id (+ --region, ExtraImageRegistries) to check container images. Without
--artifact-bucket, roles, buckets and images are not checked (everything else is).
"""

from __future__ import annotations

import argparse

from mlcp.common.images import IMAGES_PARAMETER, ImageScope
from mlcp.common.preflight import BUCKETS_PARAMETER, ROLES_PARAMETER, StackReach, split_list
from mlcp_cli.specfile import default_region


def add_reach_arguments(parser: argparse.ArgumentParser, *, roles: bool = True) -> None:
    group = parser.add_argument_group("stack reach (checked when --artifact-bucket is given)")
    group.add_argument("--artifact-bucket", help="the stack's artifact bucket (stack output ArtifactBucketName)")
    if roles:
        group.add_argument("--stack-role-arn", help="the stack's SageMaker execution role (always allowed)")
        group.add_argument("--extra-role-arns", default="", help=f"the template parameter {ROLES_PARAMETER} (a,b)")
    group.add_argument("--data-buckets", default="", help=f"the template parameter {BUCKETS_PARAMETER} (a,b)")
    group.add_argument(
        "--account-id",
        help="the stack's AWS account (12 digits): images must come from its ECR in --region, SageMaker's "
        "registries there, or --extra-image-registries (not checked without it)",
    )
    group.add_argument(
        "--region",
        help="the stack's Region: images are checked against its registries, script-mode images resolved for it "
        "(default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1)",
    )
    group.add_argument("--extra-image-registries", default="", help=f"the template parameter {IMAGES_PARAMETER} (a,b)")


def reach_from(args: argparse.Namespace) -> StackReach | None:
    if not getattr(args, "artifact_bucket", None):
        return None
    return StackReach(
        artifact_bucket=args.artifact_bucket,
        stack_role_arn=getattr(args, "stack_role_arn", None),
        extra_role_arns=split_list(getattr(args, "extra_role_arns", "")),
        data_buckets=split_list(args.data_buckets),
        images=_images(args),
    )


def _images(args: argparse.Namespace) -> ImageScope | None:
    account = getattr(args, "account_id", None)
    if not account:
        return None
    if not account.isdigit() or len(account) != 12:
        raise SystemExit(f"--account-id: {account!r} is not a 12-digit AWS account ID")
    return ImageScope(account, default_region(args.region), split_list(args.extra_image_registries))
