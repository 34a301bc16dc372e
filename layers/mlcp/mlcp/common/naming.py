"""Deterministic names for everything AWS keeps unique, so a retried or duplicated trigger never runs twice.

Limits (AWS API references): Step Functions execution names <= 80 chars of [A-Za-z0-9_-] and unique per state
machine for 90 days; hyperparameter tuning job names <= 32 chars, training / processing / compilation job names
<= 63 chars, all matching ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime

EXECUTION_NAME_MAX = 80
TUNING_JOB_NAME_MAX = 32
JOB_NAME_MAX = 63
_HASH_LEN = 10

_NOT_EXEC = re.compile(r"[^A-Za-z0-9_-]+")
_NOT_JOB = re.compile(r"[^A-Za-z0-9]+")


def digest(*parts: str, length: int = _HASH_LEN) -> str:
    """A short, stable hex digest of the parts (not a secret; collision odds 16^-length)."""
    # JSON keeps the parts apart (no separator collisions); surrogatepass accepts any str.
    h = hashlib.sha256(json.dumps(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return h[:length]


def _slug(text: str, pattern: re.Pattern[str], max_len: int) -> str:
    slug = pattern.sub("-", text).strip("-_")
    slug = re.sub(r"-{2,}", "-", slug)
    return slug[:max_len].strip("-_")


def execution_name(pipeline: str, label: str, *identity: str) -> str:
    """``<pipeline>-<label>-<hash of identity>``, <= 80 chars; identity decides uniqueness, the rest is for humans."""
    suffix = digest(pipeline, label, *identity)
    room = EXECUTION_NAME_MAX - len(suffix) - 2
    head_p = _slug(pipeline, _NOT_EXEC, min(40, room)) or "run"
    head_l = _slug(label, _NOT_EXEC, room - len(head_p))
    parts = [p for p in (head_p, head_l, suffix) if p]
    return "-".join(parts)


def _job_name(run_id: str, stage: str, max_len: int) -> str:
    suffix = digest(run_id, stage, length=8)
    tail = f"{suffix}-{stage}"
    head = _slug(run_id, _NOT_JOB, max_len - len(tail) - 1)
    return f"{head}-{tail}" if head else tail


def tuning_job_name(run_id: str) -> str:
    # SageMaker names each trial <tuning-name>-<3 digits>-<8 hex>, so 32 is a hard ceiling.
    return _job_name(run_id, "hpo", TUNING_JOB_NAME_MAX)


def processing_job_name(run_id: str) -> str:
    return _job_name(run_id, "augment", JOB_NAME_MAX)


def compression_job_name(run_id: str) -> str:
    return _job_name(run_id, "compress", JOB_NAME_MAX)


def compilation_job_name(run_id: str) -> str:
    return _job_name(run_id, "neo", JOB_NAME_MAX)


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN of execution ``name`` of a state machine (arn:aws:states:<region>:<account>:execution:<sm>:<name>)."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def schedule_stamp(at: datetime) -> str:
    """A schedule's time as it appears in execution names and trigger sources: UTC, ``20261128T060000Z`` (a naive
    time is taken as UTC, as EventBridge Scheduler's ``<aws.scheduler.scheduled-time>`` is)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
