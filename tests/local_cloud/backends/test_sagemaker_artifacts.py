"""The local job backend's the model artifacts completed jobs write to S3:
cli/mlcp_cli/local/backends/sagemaker_artifacts.py.

Most tests drive a manual clock (instant and exact); a few run on a fast SimClock and poll like the state machine
(tests/local_cloud/backends/support.py has the requests and helpers).
"""

from __future__ import annotations

from mypy_boto3_s3 import S3Client
from mypy_boto3_sagemaker import SageMakerClient

from mlcp_cli.local.backends.jobs import JobBackend
from tests.local_cloud.backends.support import (
    BUCKET,
    LONG,
    ManualClock,
    object_size,
    trials_of,
    tuning_job,
)


def test_artifacts_exist_in_s3_with_the_reported_sizes(
    sm: SageMakerClient, s3: S3Client, clock: ManualClock, backend: JobBackend
) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("art-hpo", max_jobs=6, parallel=3))
    clock.advance(LONG)
    sizes = {}
    for trial in trials_of(sm, "art-hpo"):
        training = sm.describe_training_job(TrainingJobName=trial["TrainingJobName"])
        uri = training["ModelArtifacts"]["S3ModelArtifacts"]
        assert uri == f"s3://{BUCKET}/runs/t/tuning/{trial['TrainingJobName']}/output/model.tar.gz"
        result = backend.result(trial["TrainingJobName"])
        assert result is not None
        assert result.artifact_uri == uri
        sizes[trial["TrainingJobName"]] = object_size(s3, uri)
        assert result.artifact_bytes == sizes[trial["TrainingJobName"]]
    assert all(16 * 1024 < size < 300 * 1024 for size in sizes.values())
    assert len(set(sizes.values())) > 1  # depends on the hyperparameters
