"""`mlcp runs ...`, `mlcp pipelines ...`, `mlcp batch start|get`: the REST API (`mlcp scaling
get|set` live in scaling_api.py) from the
command line.

Endpoint: --endpoint URL, else the ApiUrl output of --stack (CloudFormation DescribeStacks; requests are SigV4
signed with your AWS credentials), or --local for `mlcp local serve` (unsigned; MLCP_LOCAL_API if set, else
http://127.0.0.1:5001, serve's default --api-port).

Exit codes: 0 ok; 1 invalid input (field-level messages on stderr); 2 usage; 3 not found; 4 conflict (e.g. the
run is not running); 5 throttled, unreachable or a server error; 6 not authorised; 7 `runs watch` / `--watch`:
the run ended FAILED, TIMED_OUT or ABORTED.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from mlcp.batch.spec import parse_batch_spec
from mlcp.common.pricing import usd_text
from mlcp_cli.api_client import (
    DEFAULT_STACK,
    LOCAL_API,
    ApiClient,
    ApiUnreachable,
    endpoint_from_stack,
    run_id_argument,
)
from mlcp_cli.codetarget import add_target_arguments, target_from
from mlcp_cli.costs import cost_text, warm_start_text
from mlcp_cli.specfile import load_spec

EXIT_INVALID, EXIT_UNAVAILABLE, EXIT_RUN_FAILED = 1, 5, 7
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
STAGES = ("validate", "augment", "tune", "compress", "gate", "register")


def client(args: argparse.Namespace) -> ApiClient:
    if args.local:
        return ApiClient(args.endpoint or os.environ.get("MLCP_LOCAL_API", LOCAL_API), sign=False)
    endpoint = args.endpoint or os.environ.get("MLCP_API_URL") or endpoint_from_stack(args.stack, args.region)
    return ApiClient(endpoint, sign=True, region=args.region)


def _print(args: argparse.Namespace, data: Any, human: Callable[[], None]) -> None:
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        human()


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c) if r.get(c) is not None else "-")) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        print("  ".join(str(row.get(c) if row.get(c) is not None else "-").ljust(widths[c]) for c in columns).rstrip())


def _load_document(path: str, args: argparse.Namespace) -> dict[str, Any]:
    """The spec file, validated here exactly as `mlcp spec validate` does (its messages, once) before it is sent;
    script-mode code packaged and uploaded to the stack's artifact bucket (mlcp_cli.scriptmode)."""
    use_cache = not getattr(args, "no_cache", False)
    document, _, resolved = load_spec(path, args.region, lambda: target_from(args), use_cache=use_cache)
    for line in resolved:
        print(f"resolved {line}", file=sys.stderr)
    return document


# --- runs --------------------------------------------------------------------------------------------------------
def _run_rows(run: dict[str, Any]) -> None:
    print(f"run       {run['run_id']}")
    print(f"pipeline  {run['pipeline']}   dataset {run.get('dataset_version') or '-'}   status {run['status']}")
    for what in ("started", "cancelled", "redriven"):  # the IAM identities that acted on it through the API
        if run.get(f"{what}_by"):
            print(f"{what:<9} by {run[f'{what}_by']}" + (f" at {run[f'{what}_at']}" if run.get(f"{what}_at") else ""))
    if run.get("redrive_count"):
        print(f"redriven  {run['redrive_count']} time(s)")
    stages = run.get("stages") or {}
    rows = [{"stage": name, **stages[name]} for name in STAGES if name in stages]
    if rows:
        print()
        _table(rows, ["stage", "status", "job_name", "started_at", "ended_at"])
    failure = run.get("failure")
    if failure:
        print(f"\nfailure: {failure.get('stage')} {failure.get('error')}: {failure.get('reason')}")
    if run.get("model_package_arn"):
        print(f"\nmodel package: {run['model_package_arn']}")
    if run.get("warm_start"):
        print(f"\n{warm_start_text(run['warm_start'])}")
    if run.get("cost"):
        print(f"\n{cost_text(run['cost'])}")


def cmd_runs_start(args: argparse.Namespace) -> int:
    request: dict[str, Any] = {"dataset_version": args.dataset_version} if args.dataset_version else {}
    if args.spec:
        request["spec"] = _load_document(args.spec, args)
    pipeline = args.pipeline or str((request.get("spec") or {}).get("name") or "")  # POST /pipelines/{name}/runs
    if not pipeline:
        print("give --pipeline (a registered pipeline) or --spec FILE", file=sys.stderr)
        return EXIT_INVALID
    api = client(args)
    key = args.idempotency_key or str(uuid.uuid4())  # a retry of this command with --idempotency-key is safe
    status, body = api.start_run(pipeline, request, key)
    _print(
        args,
        body,
        lambda: print(
            f"{'started' if status == 201 else 'already started'} run {body['run_id']} "
            f"(pipeline {body['pipeline']}, dataset {body['dataset_version']})"
        ),
    )
    if args.watch:
        return _watch(api, body["run_id"], args, body["pipeline"])
    return 0


def cmd_runs_get(args: argparse.Namespace) -> int:
    api = client(args)
    run = api.owned(args.run_id, args.pipeline, lambda pipeline: api.get_run(pipeline, args.run_id))
    _print(args, run, lambda: _run_rows(run))
    return 0


def cmd_runs_list(args: argparse.Namespace) -> int:
    api = client(args)
    query = {"pipeline": args.pipeline, "status": args.status, "limit": args.limit, "next_token": args.next_token}
    page = api.list_runs(**query)
    items = list(page["items"])
    while args.all and page.get("next_token"):
        page = api.list_runs(**{**query, "next_token": page["next_token"]})
        items += page["items"]
    data = {"items": items, "next_token": None if args.all else page.get("next_token")}

    def human() -> None:
        rows = [{**i, "cost": usd_text(float(i["cost_usd"])) if i.get("cost_usd") is not None else None} for i in items]
        _table(rows, ["run_id", "pipeline", "status", "dataset_version", "trigger_type", "created_at", "cost"])
        if data["next_token"]:
            print(f"\nmore: --next-token {data['next_token']}")

    _print(args, data, human)
    return 0


def cmd_runs_cancel(args: argparse.Namespace) -> int:
    api = client(args)
    result = api.owned(args.run_id, args.pipeline, lambda pipeline: api.cancel_run(pipeline, args.run_id))
    _print(args, result, lambda: print(f"run {result['run_id']} {result['status']} (its running job is stopped)"))
    return 0


def cmd_runs_redrive(args: argparse.Namespace) -> int:
    api = client(args)
    result = api.owned(args.run_id, args.pipeline, lambda pipeline: api.redrive_run(pipeline, args.run_id))
    _print(
        args,
        result,
        lambda: print(f"run {result['run_id']} {result['status']} again (redrive {result['redrive_count']})"),
    )
    return 0


POLL_RETRIES = 5  # consecutive unanswered polls a watch rides out (a slow or briefly unreachable endpoint)


def _polled(fetch: Callable[[], dict[str, Any]], interval: float) -> dict[str, Any]:
    """One poll of a watch: a timeout or refused connection is retried (up to POLL_RETRIES in a row), so a long
    watch does not end on one lost answer; API errors (404, 403, ...) end it at once."""
    attempt = 1
    while True:
        try:
            return fetch()
        except ApiUnreachable:
            if attempt >= POLL_RETRIES:
                raise
            attempt += 1
            time.sleep(interval)


def _watch(api: ApiClient, run_id: str, args: argparse.Namespace, pipeline: str | None) -> int:
    """Print each stage change until the run ends; exit 0 if it SUCCEEDED, 7 otherwise."""
    deadline = time.monotonic() + args.timeout
    seen: dict[str, str] = {}
    out = sys.stderr if args.json else sys.stdout
    pipeline = pipeline or api.owned(run_id, None, lambda name: (api.get_run(name, run_id), name)[1])
    while True:
        run = _polled(lambda: api.get_run(str(pipeline), run_id), args.interval)
        for name in STAGES:
            stage = (run.get("stages") or {}).get(name)
            if stage and seen.get(name) != stage["status"]:
                seen[name] = stage["status"]
                job = f"  {stage['job_name']}" if stage.get("job_name") else ""
                print(f"{name:<9} {stage['status']}{job}", file=out, flush=True)
        if run["status"] in TERMINAL:
            break
        if time.monotonic() > deadline:
            print(f"run {run_id} still {run['status']} after {args.timeout:.0f} s", file=sys.stderr)
            return EXIT_UNAVAILABLE
        time.sleep(args.interval)
    if args.json:
        print(json.dumps(run, indent=2, sort_keys=True))
    else:
        print(f"run {run_id} {run['status']}")
        if run.get("failure"):
            failure = run["failure"]
            print(f"  {failure.get('stage')}: {failure.get('reason')}")
    return 0 if run["status"] == "SUCCEEDED" else EXIT_RUN_FAILED


def cmd_runs_watch(args: argparse.Namespace) -> int:
    return _watch(client(args), args.run_id, args, args.pipeline)


# --- pipelines ---------------------------------------------------------------------------------------------------
def cmd_pipelines_put(args: argparse.Namespace) -> int:
    document = _load_document(args.file, args)
    name = args.name or str(document.get("name") or "")
    if not name:
        print(f"{args.file}: the spec has no name (or pass --name)", file=sys.stderr)
        return EXIT_INVALID
    status, view = client(args).put_pipeline(name, document)
    _print(
        args,
        view,
        lambda: print(
            f"{'registered' if status == 201 else 'updated'} pipeline {name} (version {view['spec_version']})"
        ),
    )
    return 0


def cmd_pipelines_list(args: argparse.Namespace) -> int:
    page = client(args).list_pipelines(limit=args.limit, next_token=args.next_token)
    _print(
        args,
        page,
        lambda: _table(page["items"], ["name", "spec_version", "spec_updated_at", "latest_dataset_version"]),
    )
    return 0


def _rejection_rows(rejection: dict[str, Any]) -> None:
    """The last rejected upload and why, one ``field: message`` line per error (as the notification lists them)."""
    at = f" at {rejection['at']}" if rejection.get("at") else ""
    print(f"last rejected upload: {rejection.get('source') or '-'}{at}")
    for error in rejection.get("errors") or []:
        field, message = error.get("field") or "", error.get("message") or ""
        print(f"  {field}: {message}" if field else f"  {message}")


def cmd_pipelines_get(args: argparse.Namespace) -> int:
    view = client(args).get_pipeline(args.name)

    def human() -> None:
        print(f"pipeline  {view['name']}   version {view.get('spec_version') or '-'}")
        print(f"source    {view.get('spec_source') or '-'}   updated {view.get('spec_updated_at') or '-'}")
        dataset = view.get("latest_dataset") or {}
        print(f"dataset   {dataset.get('version') or '-'}")
        if view.get("last_rejection"):
            _rejection_rows(view["last_rejection"])
        if view.get("spec"):
            print()
            print(yaml.safe_dump(view["spec"], sort_keys=False).rstrip())

    _print(args, view, human)
    return 0


# --- batch start|get -----------------------------------------------------------------------------------------------
def cmd_batch_start(args: argparse.Namespace) -> int:
    request: dict[str, Any] = {}
    if args.manifest:
        request["manifest_uri"] = args.manifest
    if args.items is not None:
        request["item_count"] = args.items
    if args.spec:
        raw = Path(args.spec).read_bytes()
        parse_batch_spec(raw, source=args.spec)  # the messages of `mlcp batch plan`, before anything is sent
        request["spec"] = yaml.safe_load(raw)
    if args.retry_of:
        request["retry_of"] = args.retry_of
    if args.indices:
        request["indices"] = [int(i) for i in args.indices.split(",") if i.strip()]
    key = args.idempotency_key or str(uuid.uuid4())
    status, body = client(args).start_batch(args.profile, request, key)
    _print(
        args,
        body,
        lambda: print(
            f"{'started' if status == 201 else 'already started'} batch run {body['run_id']} "
            f"(profile {body['profile']})"
        ),
    )
    return 0


def cmd_batch_get(args: argparse.Namespace) -> int:
    api = client(args)
    run = api.owned(args.batch_id, args.profile, lambda profile: api.get_batch(profile, args.batch_id))
    deadline = time.monotonic() + args.timeout
    while args.wait and run["status"] not in TERMINAL:  # --wait: until the batch run has ended
        if time.monotonic() > deadline:
            print(f"batch run {args.batch_id} still {run['status']} after {args.timeout:.0f} s", file=sys.stderr)
            return EXIT_UNAVAILABLE
        time.sleep(args.interval)
        run = _polled(partial(api.get_batch, str(run["profile"]), args.batch_id), args.interval)

    def human() -> None:
        print(f"batch run {run['run_id']}   profile {run.get('profile') or '-'}   status {run['status']}")
        print(f"started   {run.get('started_at') or '-'}   stopped {run.get('stopped_at') or '-'}")
        plan, shards, stats = run.get("plan") or {}, run.get("shards") or {}, run.get("stats") or {}
        if shards:
            print(
                f"plan      {shards.get('children')} children x {shards.get('items_per_child')} items "
                f"({shards.get('item_count')} items) on {plan.get('queue') or '-'}"
            )
        if stats:
            failed = [int(i) for i in stats.get("failed_indices") or []]
            print(f"outcome   {stats.get('status') or '-'}   failed shards: {_ranges(failed) or 'none'}")
            if failed and len(failed) < int(shards.get("children") or 0):
                print(f"retry     mlcp batch start {run.get('profile')} --retry-of {run['run_id']}")
            elif failed:  # every shard failed: the cause is the job (definition, image, role), not one shard
                print("          every shard failed: fix the cause (--json shows each child's reason), start again")
        _print_cost(stats.get("cost"))
        if run.get("error"):
            print(f"error     {run['error']}: {run.get('cause') or ''}")

    _print(args, run, human)
    return 0


def _print_cost(cost: dict[str, Any] | None) -> None:
    if cost:
        print(cost_text(cost))


def _ranges(indices: list[int]) -> str:
    """0, 1, 2, 5, 7, 8 -> "0-2, 5, 7-8" (a failed array can list thousands of shards)."""
    spans: list[list[int]] = []
    for index in sorted(set(indices)):
        if spans and index == spans[-1][1] + 1:
            spans[-1][1] = index
        else:
            spans.append([index, index])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def add_batch_parsers(batch: argparse.ArgumentParser) -> None:
    """`batch start|get` join the `batch` group (batch_commands: plan, schema)."""
    sub = _subcommands(batch)
    start = _command(sub, "start", cmd_batch_start, "start a batch pipeline run through the REST API")
    start.add_argument("profile", help="the job profile (batches/<profile>/batch.yaml)")
    start.add_argument("--manifest", help="s3://<artifact bucket>/... manifest (default: the spec's items)")
    start.add_argument("--items", type=int, help="item count, without a manifest")
    start.add_argument("--spec", help="an inline batch spec file (YAML/JSON), registered as the profile's spec")
    start.add_argument("--retry-of", help="retry this run's failed shards")
    start.add_argument("--indices", help="with --retry-of: comma-separated shard indices (default: the failed)")
    start.add_argument("--idempotency-key", help="retry-safe key (default: a new UUID per invocation)")
    get = _command(sub, "get", cmd_batch_get, "a batch run: status, plan, failed shards")
    get.add_argument("batch_id", type=run_id_argument)
    get.add_argument("--profile", help="the run's job profile (default: found from the run id)")
    get.add_argument("--wait", action="store_true", help="poll until the batch run has ended")
    get.add_argument("--interval", type=float, default=2.0, help=argparse.SUPPRESS)
    get.add_argument("--timeout", type=float, default=24 * 3600.0, help=argparse.SUPPRESS)


def _subcommands(parser: argparse.ArgumentParser) -> Any:
    """The subcommand group of a command group built elsewhere."""
    for action in parser._actions:  # argparse has no public accessor for it
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise LookupError(f"{parser.prog} has no subcommands")


# --- wiring --------------------------------------------------------------------------------------------------------
def run_command(args: argparse.Namespace) -> int:
    """Run an API command (errors become messages and exit codes in mlcp_cli.errors, through main())."""
    func: Callable[[argparse.Namespace], int] = args.api_func
    return func(args)


def _common(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--endpoint", help="the API's URL (default: the ApiUrl output of --stack)")
    where.add_argument(
        "--local",
        action="store_true",
        help=f"the local API of `mlcp local serve`: $MLCP_LOCAL_API if set, else {LOCAL_API} (its default --api-port)",
    )
    parser.add_argument("--stack", default=os.environ.get("MLCP_STACK", DEFAULT_STACK), help="deployed stack name")
    parser.add_argument("--region", default=None, help="AWS region (default: your configuration)")
    parser.add_argument("--json", action="store_true", help="JSON output for scripts")


def _command(sub: Any, name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> Any:
    parser = sub.add_parser(name, help=help_text)
    _common(parser)
    parser.set_defaults(func=run_command, api_func=func)
    return parser


def add_parsers(sub: Any) -> None:
    runs = sub.add_parser(
        "runs",
        help="training runs through the REST API: start, get, list, cancel, redrive, watch",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    runs_sub = runs.add_subparsers(dest="runs_command", required=True)
    start = _command(runs_sub, "start", cmd_runs_start, "start a run (registered pipeline or --spec FILE)")
    start.add_argument("--pipeline", help="a registered pipeline")
    start.add_argument("--dataset-version", help="default: the pipeline's latest dataset version")
    start.add_argument("--spec", help="an inline spec file (YAML or JSON) instead of the registered one")
    add_target_arguments(start)
    start.add_argument("--idempotency-key", help="retry-safe key (default: a new UUID per invocation)")
    start.add_argument("--watch", action="store_true", help="follow the run until it ends (exit 7 unless SUCCEEDED)")
    start.add_argument("--interval", type=float, default=2.0, help=argparse.SUPPRESS)
    start.add_argument("--timeout", type=float, default=6 * 3600.0, help=argparse.SUPPRESS)
    get = _command(runs_sub, "get", cmd_runs_get, "a run with its stages")
    get.add_argument("run_id", type=run_id_argument)
    listing = _command(runs_sub, "list", cmd_runs_list, "runs, newest first per pipeline")
    listing.add_argument("--pipeline")
    listing.add_argument("--status", choices=sorted(TERMINAL | {"PENDING", "RUNNING"}))
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--next-token")
    listing.add_argument("--all", action="store_true", help="follow next_token to the end")
    cancel = _command(runs_sub, "cancel", cmd_runs_cancel, "stop a running run (and its SageMaker job)")
    cancel.add_argument("run_id", type=run_id_argument)
    redrive = _command(runs_sub, "redrive", cmd_runs_redrive, "redrive a failed, timed-out or aborted run")
    redrive.add_argument("run_id", type=run_id_argument)
    watch = _command(runs_sub, "watch", cmd_runs_watch, "show stage progress until the run ends")
    watch.add_argument("run_id", type=run_id_argument)
    watch.add_argument("--interval", type=float, default=2.0, help="seconds between polls (default 2)")
    watch.add_argument("--timeout", type=float, default=6 * 3600.0, help="give up after this many seconds")
    for command in (get, cancel, redrive, watch):
        command.add_argument("--pipeline", help="the run's pipeline (default: found from the run id)")

    pipelines = sub.add_parser(
        "pipelines",
        help="pipeline specs through the REST API: put, list, get",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    pipelines_sub = pipelines.add_subparsers(dest="pipelines_command", required=True)
    put = _command(
        pipelines_sub,
        "put",
        cmd_pipelines_put,
        "register a spec file (script mode: source_dir packaged, image resolved)",
    )
    put.add_argument("file")
    add_target_arguments(put)
    put.add_argument("--name", help="default: the spec's name")
    plist = _command(pipelines_sub, "list", cmd_pipelines_list, "registered pipelines")
    plist.add_argument("--limit", type=int, default=50)
    plist.add_argument("--next-token")
    pget = _command(pipelines_sub, "get", cmd_pipelines_get, "a pipeline and its registered spec")
    pget.add_argument("name")
