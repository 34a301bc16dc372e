"""`mlcp`: pipeline specs offline (`mlcp spec validate|plan|schema`; `mlcp spec package` packs and uploads
script-mode code and resolves its image for a spec you upload to S3 yourself), batch plans (`mlcp batch plan`),
scaling policies (`mlcp scaling ...`), the REST API (`mlcp runs ...`, `mlcp pipelines ...`), and the embedded local
cloud (`mlcp local demo|status|serve|fire-schedule`).

Exit codes: 0 ok, 1 invalid input (field-level messages on stderr), 2 usage or missing configuration (region,
an extra), 3 not found, 4 conflict, 5 throttled/unreachable/server error, 6 not authorised or no AWS credentials,
7 the watched run did not succeed. Errors are one or two lines; MLCP_DEBUG=1 shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from mlcp.aws.service_models import ServiceModels
from mlcp.common.naming import execution_name
from mlcp.common.payloads import Trigger, TriggerType
from mlcp.common.pricing import sagemaker_prices
from mlcp.training.budget import worst_case
from mlcp.training.payloads import DatasetRef, RunInput
from mlcp.training.preflight import check_budget, check_run, preflight_spec
from mlcp.training.preparation import prepare_run, processing_request
from mlcp.training.spec import PipelineSpec, spec_json_schema
from mlcp.training.tuning import tuning_request
from mlcp_cli import api_commands, scaling_api
from mlcp_cli.batch_commands import add_batch_commands
from mlcp_cli.errors import EXIT_PIPE_CLOSED, EXIT_USAGE, explain, unexpected
from mlcp_cli.imagecache import add_cache_argument
from mlcp_cli.local import commands as local_commands
from mlcp_cli.reach import add_reach_arguments, reach_from
from mlcp_cli.report_commands import add_report_parsers
from mlcp_cli.scaling_commands import add_scaling_commands
from mlcp_cli.scriptmode import CodeTarget, plan_rows
from mlcp_cli.specfile import DRY_RUN_MARKER, EXAMPLE_BUCKET, default_region, load_spec

EXAMPLE_ROLE = "arn:aws:iam::123456789012:role/mlcp-sagemaker"
DRY_RUN_WRITES_NO_FILE = (
    "a spec naming code that was never uploaded would register and then fail at its first job; run without "
    "--dry-run to upload the code and write the spec"
)
DRY_RUN_RUN_AGAIN = "the code is not in S3: run `mlcp spec package` without --dry-run to upload it"


def _load(path: str, args: argparse.Namespace, bucket: str | None = None) -> PipelineSpec:
    """The spec file; script-mode source_dir packaged (not uploaded) into the URI it would have in ``bucket``."""
    region = default_region(args.region)
    target = CodeTarget(bucket=bucket or args.artifact_bucket or EXAMPLE_BUCKET, region=region)
    return load_spec(path, region, target, use_cache=not args.no_cache)[1]


def cmd_openapi(_: argparse.Namespace) -> int:
    from mlcp.rest.resolver import openapi_text  # noqa: PLC0415 - Powertools' event handler loads on demand

    print(openapi_text(), end="")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    spec = _load(args.file, args)
    reach = reach_from(args)
    preflight_spec(spec, reach=reach, checker=ServiceModels(), source=args.file, region=default_region(args.region))
    checked = "roles and buckets checked" if reach else "roles and buckets not checked: give --artifact-bucket"
    extras = ""
    warm = spec.tuning.warm_start
    if warm is not None:
        wanted = warm.parents_wanted()
        source = ", ".join(warm.explicit_runs()) or "last_successful"
        extras += f"; warm start {warm.type} from {source} ({wanted} parent{'s' if wanted > 1 else ''})"
    if spec.budget is not None:
        total = _worst_case(spec, default_region(args.region))["total_usd"]
        extras += f"; budget ${spec.budget.max_usd:.2f}, worst case ${total:.2f}"
    print(
        f"{args.file}: valid pipeline spec {spec.name!r} ({spec.tuning.strategy} tuning, {spec.compression.method})"
        f"{extras}; preflight passed ({checked})"
    )
    return 0


def _worst_case(spec: PipelineSpec, region: str) -> dict[str, Any]:
    """The run's worst-case cost (mlcp.training.budget: every job at its MaxRuntimeInSeconds x the shipped price
    table), as ``spec plan --json`` prints it: USD per stage (augment, tune, compress; a Neo compilation has no
    charge and no entry), ``total_usd``, the instance types without a price (they add nothing to the total), the
    Region and the table's date."""
    table = sagemaker_prices()
    cases = worst_case(spec, table, region)
    stages = {
        c.stage: {
            "usd": round(c.usd, 6),
            "jobs": c.jobs,
            "max_runtime_seconds": c.max_runtime_seconds,
            "instance_type": c.instance_type,
            "instance_count": c.instance_count,
            "price_per_hour": c.price_per_hour,
        }
        for c in cases
    }
    return {
        "currency": "USD",
        "total_usd": round(sum(c.usd for c in cases), 6),
        "stages": stages,
        "unpriced": sorted({c.instance_type for c in cases if c.price_per_hour is None}),
        "region": region,
        "prices_as_of": table.as_of,
    }


def _worst_case_text(spec: PipelineSpec, region: str) -> str:
    """Every job at its MaxRuntimeInSeconds x the shipped price table (mlcp.training.budget)."""
    worst = _worst_case(spec, region)
    text = f"${worst['total_usd']:.2f} ({region}, prices of {worst['prices_as_of']})"
    if worst["unpriced"]:
        text += f"; no price for {', '.join(worst['unpriced'])}"
    if spec.budget is not None:
        text += f"; budget ${spec.budget.max_usd:.2f}"
    return text


def _warm_start_text(spec: PipelineSpec) -> str:
    """What the run's tuning job will start from: its parents are chosen when the run starts (build_tuning)."""
    warm = spec.tuning.warm_start
    if warm is None:
        return "none (cold)"
    runs, wanted = warm.explicit_runs(), warm.parents_wanted()
    if runs and len(runs) > wanted:  # the first max_parents usable ones (mlcp.training.warm_start.plan)
        source = f"the first {wanted} usable of run(s) {', '.join(runs)} (max_parents {wanted})"
    elif runs:
        source = f"run(s) {', '.join(runs)}"
    else:
        source = f"the last {wanted} SUCCEEDED run(s)"
    return f"{warm.type} from {source}, chosen when the run starts (none usable: it starts cold)"


def _warm_start_json(spec: PipelineSpec) -> dict[str, Any] | None:
    """``tuning.warm_start`` for ``spec plan --json``: ``type``, ``from`` (``last_successful`` or the run ids) and
    ``max_parents``, the most parents the run will use (WarmStart.parents_wanted); None: the run starts cold."""
    warm = spec.tuning.warm_start
    if warm is None:
        return None
    return {"type": str(warm.type), "from": warm.from_, "max_parents": warm.parents_wanted()}


def cmd_schema(_: argparse.Namespace) -> int:
    print(json.dumps(spec_json_schema(), indent=2, sort_keys=True))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """What a run of this spec would submit, without AWS: names, channels and the SageMaker requests."""
    # The stack's artifact bucket, when given, is where the run's channels and outputs default to; the run's role
    # (--role-arn) is the stack's own unless --stack-role-arn says otherwise.
    args.bucket = args.bucket or args.artifact_bucket or EXAMPLE_BUCKET
    spec = _load(args.file, args, args.bucket)
    args.stack_role_arn = args.stack_role_arn or args.role_arn
    manifest = f"s3://{args.bucket}/datasets/{spec.name}/{args.dataset_version}/manifest.json"
    run_input = RunInput(
        run_id=execution_name(spec.name, args.dataset_version, args.bucket, manifest, "plan"),
        pipeline=spec.name,
        dataset=DatasetRef(name=spec.name, version=args.dataset_version, manifest_uri=manifest),
        trigger=Trigger(type=TriggerType.MANUAL, source="mlcp spec plan"),
    )
    run = prepare_run(
        run_input,
        execution_arn=f"arn:aws:states:{default_region(args.region)}:123456789012:execution:plan:{run_input.run_id}",
        spec=spec,
        spec_version="local",
        manifest=None,
        default_role_arn=args.role_arn,
        artifact_bucket=args.bucket,
    )
    check_budget(spec, region=default_region(args.region), source=args.file)
    check_run(run, reach=reach_from(args), checker=ServiceModels(), source=args.file)
    plan = {
        "run_id": run.run_id,
        "jobs": run.names.model_dump(),
        "channels": run.channels,
        "output_prefix": run.output_prefix,
        "augment_request": processing_request(run),
        "tuning_request": tuning_request(run),
        "warm_start": _warm_start_json(spec),
        "worst_case": _worst_case(spec, default_region(args.region)),
        "budget": spec.budget.model_dump() if spec.budget is not None else None,
    }
    if args.json:
        print(json.dumps(plan, indent=2))
        return 0
    tuning = spec.tuning
    compression_job = run.names.compilation if spec.compression.method == "neo" else run.names.compression
    rows = [
        ("run id", run.run_id),
        ("augment job", run.names.processing if spec.augment else "(no augment stage)"),
        ("tuning job", f"{run.names.tuning}  {tuning.strategy}, max {tuning.max_jobs or len(tuning.grid())} jobs"),
        ("objective", f"{tuning.objective.type} {tuning.objective.metric}"),
        ("warm start", _warm_start_text(spec)),
        ("compression", f"{spec.compression.method}: {compression_job}"),
        ("registry", f"{spec.registry.model_package_group} ({spec.registry.approval_status})"),
        *((f"channel {name}", uri) for name, uri in run.channels.items()),
        ("output", run.output_prefix),
        *plan_rows(spec, yaml.safe_load(Path(args.file).read_bytes()), default_region(args.region)),
        ("worst-case cost", _worst_case_text(spec, default_region(args.region))),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"Plan of a run of {spec.name!r} on dataset {args.dataset_version} (no AWS calls; --json for requests):")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    return 0


def cmd_package(args: argparse.Namespace) -> int:
    """Package and upload script-mode code, resolve images, preflight, and print the spec to upload to S3."""
    from mlcp_cli.codetarget import target_from  # noqa: PLC0415 - boto3 only when uploading

    if args.dry_run and args.output:
        print(f"mlcp: --dry-run writes no file: {DRY_RUN_WRITES_NO_FILE}", file=sys.stderr)
        return EXIT_USAGE
    region = default_region(args.region)
    dry = CodeTarget(bucket=args.artifact_bucket or EXAMPLE_BUCKET, region=region, dry_run=True)
    target = dry if args.dry_run else target_from(args)
    document, spec, changed = load_spec(args.file, region, target, use_cache=not args.no_cache)
    preflight_spec(spec, reach=reach_from(args), checker=ServiceModels(), source=args.file, region=region)
    for line in changed:
        print(f"resolved {line}", file=sys.stderr)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    if args.dry_run:  # a look, not a spec to send: `spec validate`, `pipelines put` ... refuse it (specfile)
        text = f"{DRY_RUN_MARKER}: do not upload or register this spec ({DRY_RUN_RUN_AGAIN})\n{text}"
        print(f"dry run: nothing uploaded; {DRY_RUN_RUN_AGAIN}", file=sys.stderr)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(
            f"wrote {args.output}: upload it as s3://{target.bucket}/pipelines/{spec.name}/pipeline.yaml",
            file=sys.stderr,
        )
    else:
        print(text, end="")
    return 0


def _add_package_parser(spec_sub: Any) -> None:
    package = spec_sub.add_parser(
        "package",
        help="script mode: package source_dir, upload it, resolve image_uri; print the spec to upload to S3",
        description="For a spec you upload straight to s3://<artifact bucket>/pipelines/<name>/pipeline.yaml: packs "
        "each local source_dir (relative to the spec file) into s3://<artifact bucket>/code/<pipeline>/<sha256>/"
        "sourcedir.tar.gz (skipped when it is there already), uploads the augment stage's runproc.sh, resolves "
        "image_uri for --region with the SageMaker SDK's image_uris (mlcp[sagemaker]), runs the preflight and prints "
        "the resulting spec (YAML).",
    )
    package.add_argument("file")
    package.add_argument("-o", "--output", help="write the spec to this file instead of stdout")
    package.add_argument(
        "--dry-run",
        action="store_true",
        help="compute the URIs and upload nothing: prints (never writes, no -o) a spec marked as not uploaded, "
        "which `spec validate` and `pipelines put` refuse",
    )
    add_cache_argument(package)
    package.add_argument("--local", action="store_true", help="upload to the local cloud of `mlcp local serve`")
    package.add_argument("--stack", default=os.environ.get("MLCP_STACK", "mlcp"), help="deployed stack name")
    add_reach_arguments(package)
    package.set_defaults(func=cmd_package)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlcp", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    spec = sub.add_parser("spec", help="pipeline specs: validate, JSON Schema, dry-run plan, package (script mode)")
    spec_sub = spec.add_subparsers(dest="spec_command", required=True)
    validate = spec_sub.add_parser("validate", help="validate a spec (YAML or JSON); exit 1 with field-level errors")
    validate.add_argument("file")
    add_reach_arguments(validate)
    add_cache_argument(validate)
    validate.set_defaults(func=cmd_validate)
    schema = spec_sub.add_parser("schema", help="print the JSON Schema of the pipeline spec")
    schema.set_defaults(func=cmd_schema)
    plan = spec_sub.add_parser("plan", help="print the job names and SageMaker requests a run would submit")
    plan.add_argument("file")
    plan.add_argument("--dataset-version", default="v1", help="the dataset version the sample run reads (default v1)")
    plan.add_argument(
        "--bucket", help=f"the artifact bucket of the sample run (default: --artifact-bucket, else {EXAMPLE_BUCKET})"
    )
    plan.add_argument(
        "--role-arn", default=EXAMPLE_ROLE, help="the stack's SageMaker execution role, used when the spec names none"
    )
    plan.add_argument(
        "--json",
        action="store_true",
        help="print the plan as JSON: the full SageMaker requests, warm start, worst-case cost and budget",
    )
    add_reach_arguments(plan)
    add_cache_argument(plan)
    plan.set_defaults(func=cmd_plan)
    _add_package_parser(spec_sub)
    local_commands.add_parser(sub)
    scaling = add_scaling_commands(sub)
    api_commands.add_parsers(sub)
    add_report_parsers(sub)
    scaling_api.add_scaling_parsers(scaling)
    openapi = sub.add_parser("openapi", help="print the OpenAPI document of the REST API (docs/openapi.json)")
    openapi.set_defaults(func=cmd_openapi)
    api_commands.add_batch_parsers(add_batch_commands(sub))
    return parser


def _pipe_closed() -> int:
    """The reader of stdout went away (`mlcp runs list | head -1`): stop quietly, as a program killed by SIGPIPE
    would, with the shell's status for it (128 + SIGPIPE). stdout is pointed at /dev/null so that the interpreter's
    final flush does not fail again (https://docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PIPE_CLOSED


def main(argv: list[str] | None = None) -> int:
    """Run one command; every error is one or two lines on stderr and an exit code (mlcp_cli.errors)."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit as "Exception ignored ... BrokenPipeError"
    except BrokenPipeError:
        return _pipe_closed()
    except Exception as exc:
        if os.environ.get("MLCP_DEBUG"):
            raise
        explained = explain(exc)
        status, lines = explained if explained is not None else unexpected(exc)
        for line in lines:
            print(line, file=sys.stderr)
        return status
    return code


if __name__ == "__main__":
    sys.exit(main())
