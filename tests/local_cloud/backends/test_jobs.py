"""The local job backend's the JobBackend: installation, moto as before without one, one lock under concurrent polling:
cli/mlcp_cli/local/backends/jobs.py (with routing.py).

Most tests drive a manual clock (instant and exact); a few run on a fast SimClock and poll like the state machine
(tests/local_cloud/backends/support.py has the requests and helpers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import boto3
import pytest
from mypy_boto3_sagemaker import SageMakerClient

from mlcp_cli.local.backends.jobs import MOTO_ADDED_OPERATIONS, JobBackend, active_backend
from mlcp_cli.local.backends.routing import ROUTED
from mlcp_cli.local.faults import Faults
from tests.local_cloud.backends.support import (
    REGION,
    ManualClock,
    plain_training,
    trials_of,
    tuning_job,
    wait_for,
)


def test_without_a_backend_moto_behaves_as_before(sm: SageMakerClient, faults: Faults) -> None:
    JobBackend(ManualClock(), faults).install().uninstall()  # the class patches stay, routed to nobody
    assert active_backend() is None
    assert MOTO_ADDED_OPERATIONS == [
        "stop_training_job",
        "stop_hyper_parameter_tuning_job",
        "stop_compilation_job",
        "list_training_jobs_for_hyper_parameter_tuning_job",
    ]
    sm.create_training_job(TrainingJobName="plain-moto", HyperParameters={}, **plain_training())
    training = sm.describe_training_job(TrainingJobName="plain-moto")
    assert training["TrainingJobStatus"] == "Completed"
    assert training["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "test:dcg"  # moto's placeholder
    assert training["FinalMetricDataList"][0]["MetricName"] == "train:progress"
    sm.create_hyper_parameter_tuning_job(**tuning_job("plain-hpo"))
    description = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="plain-hpo")
    assert description["HyperParameterTuningJobStatus"] == "Completed"
    assert description["BestTrainingJob"]["TrainingJobName"] == "FakeTrainingJobName"
    assert sm.list_training_jobs()["TrainingJobSummaries"][0]["TrainingJobName"] == "plain-moto"
    calls: list[Callable[[], object]] = [
        lambda: sm.stop_training_job(TrainingJobName="plain-moto"),
        lambda: sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="plain-hpo"),
        lambda: sm.stop_compilation_job(CompilationJobName="x"),
        lambda: sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="plain-hpo"),
    ]
    for call in calls:
        with pytest.raises(NotImplementedError):
            call()


def test_only_one_backend_at_a_time(faults: Faults, backend: JobBackend) -> None:
    assert active_backend() is backend
    with pytest.raises(RuntimeError, match="already installed"):
        JobBackend(ManualClock(), faults).install()


def test_concurrent_polling_sees_one_consistent_tuning_job(sm: SageMakerClient, fast: JobBackend) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("busy-hpo", max_jobs=9, parallel=3))
    errors: list[BaseException] = []
    seen: list[str] = []

    def poll() -> None:
        client = boto3.client("sagemaker", region_name=REGION)
        try:
            for _ in range(400):
                status = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="busy-hpo")
                seen.append(status["HyperParameterTuningJobStatus"])
                if status["HyperParameterTuningJobStatus"] != "InProgress":
                    return
                time.sleep(0.001)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not errors
    final = wait_for(
        lambda: (
            d
            if (d := sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="busy-hpo"))[
                "HyperParameterTuningJobStatus"
            ]
            == "Completed"
            else None
        )
    )
    trials = trials_of(sm, "busy-hpo")
    assert len(trials) == 9 == final["TrainingJobStatusCounters"]["Completed"]
    assert len({t["TrainingJobName"] for t in trials}) == 9


def test_every_routed_call_has_a_handler(faults: Faults) -> None:
    backend = JobBackend(ManualClock(), faults)
    assert sorted(backend._handlers) == sorted(ROUTED)  # one lifecycle answers each call moto routes here
