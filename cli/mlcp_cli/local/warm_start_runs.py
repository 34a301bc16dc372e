"""Successive dataset versions of one pipeline on the embedded local cloud, with or without warm-start tuning (the
warm-start bench, bench/warm_start.py, and anything that wants such runs: a report's ``compare`` over them).

:func:`run_versions` registers the warm-start example (examples/pipelines/churn-warm/pipeline.yaml) under the given
pipeline name, with its ``tuning.warm_start`` kept (``warm=True``) or removed, then uploads the versions one after
the other (the churn sample data, examples/datasets/churn, under ``datasets/<pipeline>/<version>/``), each through
the real trigger and state machine, waiting for each run to end before the next version: ``last_successful`` then
finds the previous versions' runs. :func:`trial_objectives` reads a run's trials in launch order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml

from mlcp_cli.local.cloud import EXAMPLES, LocalCloud

WARM_SPEC = EXAMPLES / "pipelines" / "churn-warm" / "pipeline.yaml"
DATA = EXAMPLES / "datasets" / "churn"


def pipeline_spec(pipeline: str, *, warm: bool) -> str:
    """The warm-start example under ``pipeline``'s name; without its ``tuning.warm_start`` when not ``warm``."""
    spec: dict[str, Any] = yaml.safe_load(WARM_SPEC.read_text())
    spec["name"] = pipeline
    spec["registry"]["model_package_group"] = f"{pipeline}-models"
    if not warm:
        spec["tuning"].pop("warm_start", None)
    return yaml.safe_dump(spec, sort_keys=False)


def upload_version(cloud: LocalCloud, pipeline: str, version: str) -> None:
    """The churn sample's channel files, then the manifest that starts the run."""
    for file in sorted(p for p in DATA.rglob("*") if p.is_file() and p.name != "manifest.json"):
        cloud.upload(f"datasets/{pipeline}/{version}/{file.relative_to(DATA).as_posix()}", file.read_bytes())
    manifest = json.loads((DATA / "manifest.json").read_text())
    manifest["description"] = f"dataset version {version} of {pipeline}"
    cloud.upload(f"datasets/{pipeline}/{version}/manifest.json", json.dumps(manifest))


def run_versions(
    cloud: LocalCloud, pipeline: str, versions: Sequence[str], warm: bool = True, *, timeout: float = 900.0
) -> list[str]:
    """Register ``pipeline`` (warm start on or off), run ``versions`` in order, one at a time; the run ids, in the
    order of ``versions``. Raises RuntimeError when a version produced no run (e.g. the spec was rejected)."""
    cloud.upload_spec(pipeline, pipeline_spec(pipeline, warm=warm))
    cloud.dispatcher.drain()
    run_ids: list[str] = []
    for version in versions:
        upload_version(cloud, pipeline, version)
        cloud.settle(timeout=timeout)
        run = next(
            (r for r in cloud.runs() if r.get("pipeline") == pipeline and r.get("dataset_version") == version), None
        )
        if run is None:
            raise RuntimeError(
                f"no run of pipeline {pipeline} for dataset version {version}; notifications: {cloud.notifications()}"
            )
        run_ids.append(str(run["run_id"]))
    return run_ids


def trial_objectives(cloud: LocalCloud, tuning_job: str) -> list[float | None]:
    """The objective of every trial of ``tuning_job``, in launch order (None: a trial that reported none)."""
    sagemaker = cloud.client("sagemaker")
    summaries: list[dict[str, Any]] = []
    request: dict[str, Any] = {"HyperParameterTuningJobName": tuning_job, "SortBy": "CreationTime", "MaxResults": 100}
    while True:
        page = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(**request)
        summaries += page["TrainingJobSummaries"]
        if not page.get("NextToken"):
            break
        request["NextToken"] = page["NextToken"]
    summaries.sort(key=lambda s: (s["CreationTime"], s["TrainingJobName"]))
    out: list[float | None] = []
    for summary in summaries:
        metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
        out.append(float(metric["Value"]) if metric else None)
    return out
