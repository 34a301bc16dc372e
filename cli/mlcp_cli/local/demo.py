"""`mlcp local demo`: deploy, upload the example, follow the run, print a summary. Exit 0 on success.

Everything the summary shows is read back through AWS APIs: the execution history (progress), the runs table
(stages, best model, gate), SageMaker Describe* calls (simulated job times) and SNS (the notification).
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TextIO

from mlcp_cli.costs import cost_text
from mlcp_cli.local.cloud import EXAMPLES, TERMINAL, LocalCloud
from mlcp_cli.local.demo_batch import VALIDATION_KEY, render_batch, score_validation
from mlcp_cli.local.demo_example import EXAMPLE, breast_cancer_channels, packaged_spec
from mlcp_cli.local.faults import FAILABLE, ApiFault, Degradation, Faults, JobFault

STAGES = ("validate", "augment", "tune", "compress", "gate", "register")
# The training pipeline's states of each stage (statemachines/training_pipeline.asl.json): a stage's time is the sum
# of its states' times in the execution history, the one source of the progress lines and the summary.
STAGE_STATES = {
    "validate": ("Validate Spec",),
    "augment": ("Augment Data",),
    "tune": (
        "Build Tuning Request",
        "Warm Start?",
        "Tune Hyperparameters",
        "Tune Hyperparameters (Warm Start)",
        "Select Best Model",
    ),
    "compress": (
        "Build Compression Request",
        "Compress Model",
        "Start Neo Compilation",
        "Wait For Compilation",
        "Describe Compilation",
        "Stop Timed-Out Compilation",
    ),
    "gate": ("Evaluate Gate",),
    "register": ("Register Model", "Record Success"),
}


def faults_for(stage: str | None) -> Faults:
    """The injected fault that makes a run fail at ``stage`` (for `mlcp local demo --fail STAGE`)."""
    faults = Faults()
    if stage == "augment":
        faults.jobs.append(JobFault(job="*-augment", reason="ClientError: injected failure of the augment job"))
    elif stage == "tune":
        faults.jobs.append(JobFault(job="*-hpo", reason="injected failure of the tuning job"))
    elif stage == "compress":
        faults.jobs.append(JobFault(job="*-compress", reason="AlgorithmError: injected failure of the compression job"))
        faults.jobs.append(JobFault(job="*-neo", reason="ClientError: injected failure of the compilation job"))
    elif stage == "gate":
        faults.degradations.append(Degradation(job="*-compress", metric_drop=0.25))
    elif stage == "register":
        faults.api.append(
            ApiFault("sagemaker", "CreateModelPackage", code="ValidationException", message="injected", times=None)
        )
    elif stage is not None:
        raise ValueError(f"--fail takes one of {', '.join(FAILABLE)}, not {stage!r}")
    return faults


@dataclass
class DemoResult:
    status: str
    run_id: str
    execution_arn: str
    wall_seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


def _stage_seconds(stage: str, state_seconds: dict[str, float]) -> float | None:
    times = [state_seconds[name] for name in STAGE_STATES[stage] if name in state_seconds]
    return sum(times) if times else None


def _job_seconds(cloud: LocalCloud, stage: str, job: str | None) -> float | None:
    """A SageMaker job's own (simulated) duration, from its Describe* call."""
    if not job:
        return None
    sagemaker = cloud.client("sagemaker")
    try:
        if stage == "augment":
            d = sagemaker.describe_processing_job(ProcessingJobName=job)
            start, end = d.get("ProcessingStartTime"), d.get("ProcessingEndTime")
        elif stage == "tune":
            d = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
            start, end = d.get("CreationTime"), d.get("HyperParameterTuningEndTime")
        elif stage == "compress" and job.endswith("-neo"):
            d = sagemaker.describe_compilation_job(CompilationJobName=job)
            start, end = d.get("CompilationStartTime"), d.get("CompilationEndTime")
        elif stage == "compress":
            d = sagemaker.describe_training_job(TrainingJobName=job)
            start, end = d.get("TrainingStartTime"), d.get("TrainingEndTime")
        else:
            return None
    except Exception:
        return None
    return (end - start).total_seconds() if start and end else None


def summarize(cloud: LocalCloud, run_id: str, state_seconds: dict[str, float] | None = None) -> dict[str, Any]:
    """The run as the summary shows it; ``state_seconds`` (from :func:`follow`) gives each stage's wall time."""
    run = cloud.run(run_id) or {}
    state_seconds = state_seconds or {}
    stages = []
    for stage in STAGES:
        status = run.get(f"stage_{stage}__status")
        if status is None:
            continue
        job = run.get(f"stage_{stage}__job_name")
        stages.append(
            {
                "stage": stage,
                "status": status,
                "job": job,
                "job_seconds": _job_seconds(cloud, stage, job),
                "wall_seconds": _stage_seconds(stage, state_seconds),
                "detail": run.get(f"stage_{stage}__detail"),
            }
        )
    best = run.get("best") or {}
    gate = run.get("gate") or {}
    best_metrics, script = _best_trial(cloud, best.get("training_job_name"))
    return {
        "run_id": run_id,
        "status": run.get("status"),
        "stages": stages,
        "best": {
            "training_job": best.get("training_job_name"),
            "hyperparameters": best.get("hyperparameters"),
            "objective_metric": best.get("objective_metric"),
            "objective_value": _num(best.get("objective_value")),
            "metrics": best_metrics,
        },
        "real_training": script,
        "trials": run.get("trials"),
        "compression": {
            "size_before": _num(gate.get("size_before")),
            "size_after": _num(gate.get("size_after")),
            "ratio": _ratio(gate.get("size_before"), gate.get("size_after")),
            "metric_before": _num(gate.get("metric_before")),
            "metric_after": _num(gate.get("metric_after")),
            "metric_delta": _delta(gate.get("metric_before"), gate.get("metric_after")),
        },
        "gate": None
        if not gate
        else ("passed" if gate.get("passed") else "failed: " + "; ".join(gate.get("reasons", []))),
        "model_package_arn": run.get("model_package_arn"),
        "failure": run.get("failure"),
        "cost": _plain(run.get("cost")),
    }


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals as floats (the summary is JSON)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return float(value) if isinstance(value, Decimal) else value


def _best_trial(cloud: LocalCloud, job: str | None) -> tuple[dict[str, float], bool]:
    """The best trial's final metrics (DescribeTrainingJob) and whether it ran as a real process (script mode:
    ``sagemaker_program`` among its hyperparameters; the local job runner ran it)."""
    if not job:
        return {}, False
    try:
        d = cloud.client("sagemaker").describe_training_job(TrainingJobName=job)
    except Exception:
        return {}, False
    metrics = {m["MetricName"]: float(m["Value"]) for m in d.get("FinalMetricDataList") or []}
    return metrics, "sagemaker_program" in (d.get("HyperParameters") or {})


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _ratio(before: Any, after: Any) -> float | None:
    return None if not before or after is None else float(before) / max(float(after), 1.0)


def _delta(before: Any, after: Any) -> float | None:
    return None if before is None or after is None else float(after) - float(before)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _best_lines(summary: dict[str, Any]) -> list[str]:
    """The best trial: name, hyperparameters, objective, its other final metrics, and whether it ran for real."""
    best = summary["best"]
    params = ", ".join(f"{k}={v}" for k, v in sorted((best["hyperparameters"] or {}).items()))
    trials = summary.get("trials") or {}
    lines = [
        f"  best trial      {best['training_job']}  ({_fmt(trials.get('Completed'))} trials completed)",
        f"  hyperparameters {params}",
        f"  objective       {best['objective_metric']} = {_fmt(best['objective_value'])}",
    ]
    others = {k: v for k, v in (best.get("metrics") or {}).items() if k != best["objective_metric"]}
    if others:
        lines.append("  best metrics    " + ", ".join(f"{k} = {_fmt(v)}" for k, v in sorted(others.items())))
    if summary.get("real_training"):
        lines.append(
            "  trained for real: the augment job, every trial and the compression ran as local processes "
            "(script mode); their job times are real seconds (a tuning job adds its simulated start-up)"
        )
    return lines


def render(summary: dict[str, Any], wall_seconds: float) -> str:
    lines = [f"Run {summary['run_id']}: {summary['status']}  ({wall_seconds:.1f} s wall)", ""]
    job_time = "job time" if summary.get("real_training") else "job time (simulated)"
    header = f"  {'stage':<10} {'status':<10} {job_time:>21} {'wall':>13}  job / detail"
    lines += [header, "  " + "-" * (len(header) + 20)]
    for s in summary["stages"]:
        job_time = "-" if s["job_seconds"] is None else f"{s['job_seconds']:.0f} s"
        wall = "-" if s["wall_seconds"] is None else f"{s['wall_seconds']:.2f} s"
        tail = s["job"] or ""
        if s["status"] == "FAILED" and s["detail"]:
            tail = f"{tail}  {s['detail']}".strip()
        lines.append(f"  {s['stage']:<10} {s['status']:<10} {job_time:>21} {wall:>13}  {tail}")
    best, comp = summary["best"], summary["compression"]
    lines.append("")
    if best["training_job"]:
        lines += _best_lines(summary)
    if comp["size_before"] is not None:
        lines.append(
            f"  compression     {_fmt(comp['size_before'], 6)} -> {_fmt(comp['size_after'], 6)} bytes "
            f"(ratio {_fmt(comp['ratio'], 3)}x), metric {_fmt(comp['metric_before'])} -> {_fmt(comp['metric_after'])} "
            f"(delta {_fmt(comp['metric_delta'], 3)})"
        )
    if summary["gate"]:
        lines.append(f"  gate            {summary['gate']}")
    lines.append(f"  model package   {summary['model_package_arn'] or '-'}")
    if summary.get("cost"):
        lines.append("  " + cost_text(summary["cost"]).replace("cost: ", "cost            ", 1))
    if summary.get("failure"):
        failure = summary["failure"]
        lines.append(f"  failure         {failure.get('stage')}: {failure.get('error')}: {failure.get('reason')}")
    return "\n".join(lines)


def follow(
    cloud: LocalCloud, execution_arn: str, out: Callable[[str], None], timeout: float = 300.0
) -> tuple[dict[str, Any], dict[str, float]]:
    """Print each state as the execution leaves it, timed by the execution history's own timestamps; return
    DescribeExecution once the execution has ended and every state's seconds (the summary's times: one source).

    The status is read before the history, so the history read after a terminal status is complete: the failure
    path's last states (Record Failure, Notify Failure) are printed too."""
    seen = 0
    started = time.monotonic()
    first: datetime | None = None
    entered: dict[str, datetime] = {}
    seconds: dict[str, float] = {}
    while True:
        description = cloud.describe(execution_arn)
        history = cloud.history(execution_arn)
        for event in history[seen:]:
            kind, at = event["type"], event["timestamp"]
            first = first or at
            if kind.endswith("StateEntered"):
                entered[event["stateEnteredEventDetails"]["name"]] = at
            elif kind.endswith("StateExited"):
                name = event["stateExitedEventDetails"]["name"]
                took = (at - entered.get(name, at)).total_seconds()
                seconds[name] = seconds.get(name, 0.0) + took
                out(f"  [{(at - first).total_seconds():6.2f}s] {name:<28} done in {took:.2f}s")
            elif kind in ("TaskFailed", "LambdaFunctionFailed"):
                details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
                out(f"  [{(at - first).total_seconds():6.2f}s]   ! {details.get('error')}")
        seen = len(history)
        if description["status"] in TERMINAL:
            return description, seconds
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{execution_arn} still {description['status']} after {timeout:.0f}s")
        time.sleep(0.05)


def run_demo(
    *,
    fail: str | None = None,
    speed: float = 2000.0,
    pipeline: str = EXAMPLE,
    version: str = "v1",
    out: TextIO | None = None,
    enforce_iam: bool = True,
    after: Callable[[LocalCloud, str], str] | None = None,
) -> DemoResult:
    """Deploy, upload the example, follow its run, print the summary. ``after(cloud, run_id)``, when given, runs on
    the still-running cloud once the run has ended (e.g. writes its report) and returns a line for the summary."""
    stream = out or sys.stdout

    def say(text: str) -> None:
        stream.write(text + "\n")
        stream.flush()

    wall0 = time.monotonic()
    say(f"mlcp local demo: template.yaml -> embedded local cloud (moto, simulated time x{speed:g})")
    with LocalCloud(speed=speed, faults=faults_for(fail), enforce_iam=enforce_iam) as cloud:
        rows = cloud.stack.status_rows()
        emulated = sum(1 for r in rows if r[2] == "EMULATED")
        say(
            f"  deployed stack {cloud.stack.stack_name}: {len(rows)} resources "
            f"({emulated} emulated, see `mlcp local status`)"
        )
        packaging = io.StringIO()
        spec = packaged_spec(
            EXAMPLES / "pipelines" / pipeline / "pipeline.yaml", bucket=cloud.bucket, region=cloud.region,
            s3=cloud.client("s3"), log=packaging,
        )  # fmt: skip
        for line in dict.fromkeys(packaging.getvalue().splitlines()):  # the stages share one source_dir
            if line.startswith("uploaded "):
                say(f"  {line}")
        cloud.upload_spec(pipeline, spec)
        cloud.dispatcher.drain()
        say(f"  uploaded pipelines/{pipeline}/pipeline.yaml -> registered")
        channels: dict[str, bytes] = {}
        if pipeline == EXAMPLE:
            channels = breast_cancer_channels()
            for key, blob in channels.items():
                cloud.upload(f"datasets/{pipeline}/{version}/{key}", blob)
            say(f"  wrote scikit-learn's breast-cancer data as CSV channels: {', '.join(sorted(channels))}")
        cloud.upload_dataset(pipeline, version)
        say(f"  uploaded datasets/{pipeline}/{version}/manifest.json -> EventBridge -> start_run")
        execution = _wait_for_execution(cloud)
        say(f"  run {execution['name']} started; following {execution['executionArn'].split(':')[-2]}")
        description, state_seconds = follow(cloud, execution["executionArn"], say)
        cloud.settle()
        summary = summarize(cloud, execution["name"], state_seconds)
        notifications = cloud.notifications()  # the training run's (the batch run notifies too)
        if pipeline == EXAMPLE and summary.get("model_package_arn"):
            validation_rows = channels[VALIDATION_KEY].count(b"\n") - 1
            say(f"  scoring the {validation_rows} validation rows with the registered model (batch pipeline) ...")
            summary["batch"] = score_validation(
                cloud, summary["model_package_arn"], f"datasets/{pipeline}/{version}", validation_rows
            )
        wall = time.monotonic() - wall0
        say("")
        say(render(summary, wall))
        if summary.get("batch"):
            for line in render_batch(summary["batch"]):
                say(line)
        if notifications:
            say(f"  notification    {notifications[-1]['subject']}")
        if after is not None:
            say(f"  {after(cloud, execution['name'])}")
        reason = None
        if description["status"] != "SUCCEEDED":
            failure = summary.get("failure") or {}
            reason = failure.get("reason") or description.get("cause") or description["status"]
        return DemoResult(description["status"], execution["name"], execution["executionArn"], wall, summary, reason)


def _wait_for_execution(cloud: LocalCloud, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        executions = cloud.executions()
        if executions:
            return executions[0]
        time.sleep(0.02)
    raise TimeoutError(f"no run started within {timeout:.0f}s of the manifest upload")


def to_json(result: DemoResult) -> str:
    return json.dumps(
        {
            "status": result.status,
            "run_id": result.run_id,
            "execution_arn": result.execution_arn,
            "wall_seconds": round(result.wall_seconds, 3),
            "reason": result.reason,
            "summary": result.summary,
        },
        indent=2,
        default=str,
    )
