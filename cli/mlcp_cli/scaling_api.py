"""`mlcp scaling get|set`: a node group's policy, controller state and decisions, and manual changes, through the
REST API (endpoint, signing and exit codes as in api_commands)."""

from __future__ import annotations

import argparse
import datetime as dt
import uuid

from mlcp_cli.api_commands import _command, _print, _subcommands, _table, client


# --- scaling get|set -----------------------------------------------------------------------------------------------
def cmd_scaling_get(args: argparse.Namespace) -> int:
    view = client(args).get_scaling(args.cluster, args.nodegroup, args.limit)

    def human() -> None:
        config = view.get("nodegroup_config") or {}
        policy = view.get("policy") or {}
        print(f"node group {view['cluster']}/{view['nodegroup']}   policy {view['policy_key']} ({policy.get('mode')})")
        print(
            f"now       {config.get('status') or 'not found'}   min {config.get('minSize', '-')}   "
            f"max {config.get('maxSize', '-')}   desired {config.get('desiredSize', '-')}"
        )
        print(f"policy    {policy.get('min_size')}..{policy.get('max_size')} nodes, max_step {policy.get('max_step')}")
        state = view.get("state") or {}
        lease = state.get("lease")
        held = f"{lease.get('holder')} until {lease.get('expires_at')}" if lease else "free"
        print(f"lease     {held}")
        out, into = (_utc_seconds(state.get(k) or "-") for k in ("last_scale_out_at", "last_scale_in_at"))
        print(f"last out  {out}   last in {into}")
        print()
        rows = [
            {
                **d,
                "decided": _utc_seconds(d.get("decided_at") or d.get("decision", "").split("#")[0]),
                "trigger": (d.get("trigger") or {}).get("kind", "-"),
                "change": d.get("change") or "-",  # this node group's own change
                "group": f"{d.get('capacity')} -> {d.get('target')}",
            }
            for d in view.get("decisions") or []
        ]
        _table(rows, ["decided", "trigger", "action", "status", "change", "group", "reason"])

    _print(args, view, human)
    return 0


def _utc_seconds(at: str) -> str:
    """``2026-11-30T05:48:46Z`` from an ISO 8601 time (as given when it is not one)."""
    try:
        return f"{dt.datetime.fromisoformat(at.replace('Z', '+00:00')).astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
    except ValueError:
        return at


def cmd_scaling_set(args: argparse.Namespace) -> int:
    change = {
        k: v
        for k, v in (("desired", args.desired), ("min", args.min), ("max", args.max), ("reason", args.reason))
        if v is not None
    }
    key = args.idempotency_key or str(uuid.uuid4())
    result = client(args).scaling_action(args.cluster, args.nodegroup, change, key)
    _print(
        args,
        result,
        lambda: print(
            f"accepted: decision {result['decision_id']} of {result['policy_key']} "
            f"(the controller clamps it to the policy; see `mlcp scaling get {args.cluster} {args.nodegroup}`)"
        ),
    )
    return 0


def add_scaling_parsers(scaling: argparse.ArgumentParser) -> None:
    """`scaling get|set` join the `scaling` group (scaling_commands: validate, schema, simulate)."""
    sub = _subcommands(scaling)
    get = _command(sub, "get", cmd_scaling_get, "a node group's policy, controller state and last decisions")
    get.add_argument("cluster")
    get.add_argument("nodegroup")
    get.add_argument("--limit", type=int, default=10, help="decisions to show (default 10)")
    put = _command(sub, "set", cmd_scaling_set, "request a manual change (clamped to the policy; 409 while busy)")
    put.add_argument("cluster")
    put.add_argument("nodegroup")
    put.add_argument("--desired", type=int)
    put.add_argument("--min", type=int)
    put.add_argument("--max", type=int)
    put.add_argument("--reason", help="kept on the decision")
    put.add_argument("--idempotency-key", help="retry-safe key (default: a new UUID per invocation)")
