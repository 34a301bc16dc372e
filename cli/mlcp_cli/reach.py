"""The stack's reach on the command line: which roles and buckets the preflight may accept offline.

Offline the CLI does not know the deployed stack; give its artifact bucket (the stack output ArtifactBucketName) and
the template parameters ExtraSageMakerExecutionRoleArns / DataBucketNames to check roles and buckets as the
deployed functions will. Without --artifact-bucket, roles and buckets are not checked (everything else is).
"""

from __future__ import annotations

import argparse

from mlcp.common.preflight import BUCKETS_PARAMETER, ROLES_PARAMETER, StackReach, split_list


def add_reach_arguments(parser: argparse.ArgumentParser, *, roles: bool = True) -> None:
    group = parser.add_argument_group("stack reach (checked when --artifact-bucket is given)")
    group.add_argument("--artifact-bucket", help="the stack's artifact bucket (stack output ArtifactBucketName)")
    if roles:
        group.add_argument("--stack-role-arn", help="the stack's SageMaker execution role (always allowed)")
        group.add_argument("--extra-role-arns", default="", help=f"the template parameter {ROLES_PARAMETER} (a,b)")
    group.add_argument("--data-buckets", default="", help=f"the template parameter {BUCKETS_PARAMETER} (a,b)")


def reach_from(args: argparse.Namespace) -> StackReach | None:
    if not getattr(args, "artifact_bucket", None):
        return None
    return StackReach(
        artifact_bucket=args.artifact_bucket,
        stack_role_arn=getattr(args, "stack_role_arn", None),
        extra_role_arns=split_list(getattr(args, "extra_role_arns", "")),
        data_buckets=split_list(args.data_buckets),
    )
