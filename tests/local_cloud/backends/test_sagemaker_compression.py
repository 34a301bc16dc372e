"""The local job backend's compression and Neo compilation jobs derive their size and metrics from the base model:
cli/mlcp_cli/local/backends/sagemaker_compression.py.

Most tests drive a manual clock (instant and exact); a few run on a fast SimClock and poll like the state machine
(tests/local_cloud/backends/support.py has the requests and helpers).
"""

from __future__ import annotations

from typing import Any

import pytest
from mypy_boto3_s3 import S3Client
from mypy_boto3_sagemaker import SageMakerClient

from mlcp.training import compression, gate, tuning
from mlcp.training.payloads import BestModel, CompressedRef
from mlcp_cli.local.backends.jobs import JobBackend
from mlcp_cli.local.faults import Degradation, Faults
from tests.local_cloud.backends.support import (
    BUCKET,
    LONG,
    ManualClock,
    churn_run,
    compress,
    object_size,
    tune_and_select,
)


@pytest.mark.parametrize(
    ("method", "factor"),
    [
        ({"method": "quantization", "dtype": "int8", "calibration_channel": "validation"}, 0.27),
        ({"method": "quantization", "dtype": "fp16"}, 0.52),
        ({"method": "pruning", "target_sparsity": 0.6}, 1 - 0.6 * 0.9),
    ],
)
def test_compression_is_consistent_with_its_method(
    sm: SageMakerClient,
    s3: S3Client,
    clock: ManualClock,
    backend: JobBackend,
    method: dict[str, Any],
    factor: float,
) -> None:
    run = churn_run({**method, "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/compress:1"})
    best = tune_and_select(sm, clock, run)
    description = compress(sm, clock, run, best)
    artifact, metrics = compression.compressed_result(_ref(run.names.compression), description)
    size_before, size_after = object_size(s3, best.model_artifact), object_size(s3, artifact)
    assert size_after / size_before == pytest.approx(factor, rel=0.03)
    drop = best.objective_value - metrics[best.objective_metric]
    assert 0 < drop < 0.05
    result = gate.evaluate(
        run,
        best,
        metric_after=metrics[best.objective_metric],
        size_before=size_before,
        size_after=size_after,
        compressed_artifact=artifact,
    )
    assert result.size_reduction == pytest.approx(1 - factor, abs=0.03)
    assert any("size reduced" in reason for reason in result.reasons) == (result.size_reduction < 0.5)


def _ref(job_name: str) -> CompressedRef:
    return CompressedRef(kind="training", job_name=job_name)


def test_pruning_drop_grows_with_sparsity(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    drops = []
    for index, sparsity in enumerate((0.3, 0.6, 0.9)):
        run = churn_run(
            {
                "method": "pruning",
                "target_sparsity": sparsity,
                "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/compress:1",
            }
        )
        if index == 0:
            best = tune_and_select(sm, clock, run)
        plan = compression.compression_plan(run, best, poll_seconds=30, max_polls=60)
        sm.create_training_job(**{**plan.request, "TrainingJobName": f"prune-{index}"})
        clock.advance(LONG)
        metrics = tuning.final_metrics(sm.describe_training_job(TrainingJobName=f"prune-{index}"))
        drops.append(best.objective_value - metrics[best.objective_metric])
    assert drops == sorted(drops)
    assert drops[0] > 0


def test_degradation_fault_fails_the_gate(
    sm: SageMakerClient, s3: S3Client, clock: ManualClock, faults: Faults, backend: JobBackend
) -> None:
    run = churn_run()
    faults.degradations.append(Degradation(job=run.names.compression, metric_drop=0.1))
    best = tune_and_select(sm, clock, run)
    description = compress(sm, clock, run, best)
    artifact, metrics = compression.compressed_result(_ref(run.names.compression), description)
    result = gate.evaluate(
        run,
        best,
        metric_after=metrics[best.objective_metric],
        size_before=object_size(s3, best.model_artifact),
        size_after=object_size(s3, artifact),
        compressed_artifact=artifact,
    )
    assert not result.passed
    assert result.metric_drop == pytest.approx(0.1 + 0.004, abs=1e-6)  # calibrated int8 + the fault
    assert any("dropped" in reason for reason in result.reasons)


def test_compression_without_its_base_model_fails(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    run = churn_run()
    best = BestModel(
        tuning_job_name="x",
        training_job_name="x",
        hyperparameters={},
        objective_metric="validation:auc",
        objective_value=0.9,
        final_metrics={},
        model_artifact=f"s3://{BUCKET}/missing/model.tar.gz",
    )
    description = compress(sm, clock, run, best)
    assert description["TrainingJobStatus"] == "Failed"
    assert "Data download failed" in description["FailureReason"]


def test_neo_compilation_makes_a_smaller_artifact(
    sm: SageMakerClient, s3: S3Client, clock: ManualClock, backend: JobBackend
) -> None:
    run = churn_run(
        {"method": "neo", "framework": "XGBOOST", "input_shape": {"data": [1, 20]}, "target_device": "ml_c5"}
    )
    best = tune_and_select(sm, clock, run)
    plan = compression.compression_plan(run, best, poll_seconds=30, max_polls=60)
    sm.create_compilation_job(**plan.request)
    starting = sm.describe_compilation_job(CompilationJobName=plan.job_name)
    assert starting["CompilationJobStatus"] == "STARTING"
    assert "CompilationEndTime" not in starting
    clock.advance(100)
    assert sm.describe_compilation_job(CompilationJobName=plan.job_name)["CompilationJobStatus"] == "INPROGRESS"
    clock.advance(LONG)
    done = sm.describe_compilation_job(CompilationJobName=plan.job_name)
    assert done["CompilationJobStatus"] == "COMPLETED"
    assert done["FailureReason"] == ""
    artifact, _ = compression.compressed_result(CompressedRef(kind="neo", job_name=plan.job_name), done)
    assert artifact == f"{run.output_prefix}compilation/model-ml_c5.tar.gz"
    assert object_size(s3, artifact) / object_size(s3, best.model_artifact) == pytest.approx(0.45, rel=0.03)
    assert done["CompilationStartTime"] < done["CompilationEndTime"]
