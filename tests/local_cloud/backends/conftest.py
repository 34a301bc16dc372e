"""Fixtures of the job backend tests: moto with the artifact bucket, clients, faults, a manual clock, and a backend
installed on it (or on a fast SimClock)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws
from mypy_boto3_s3 import S3Client
from mypy_boto3_sagemaker import SageMakerClient

from mlcp_cli.local.backends.clock import SimClock
from mlcp_cli.local.backends.jobs import JobBackend
from mlcp_cli.local.faults import Faults
from tests.local_cloud.backends.support import BUCKET, ManualClock
from tests.support import aws_client


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        aws_client("s3").create_bucket(Bucket=BUCKET)
        yield


@pytest.fixture
def sm(aws: None) -> SageMakerClient:
    client: SageMakerClient = aws_client("sagemaker")
    return client


@pytest.fixture
def s3(aws: None) -> S3Client:
    client: S3Client = aws_client("s3")
    return client


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def backend(clock: ManualClock, faults: Faults) -> Iterator[JobBackend]:
    with JobBackend(clock, faults) as installed:
        yield installed


@pytest.fixture
def fast(faults: Faults) -> Iterator[JobBackend]:
    with JobBackend(SimClock(speed=50_000), faults) as installed:
        yield installed
