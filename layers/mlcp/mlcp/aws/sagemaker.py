"""SageMaker adapter: describe jobs, make sure a model package group exists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from mlcp.aws.clients import client, error_code
from mlcp.errors import NotFound


class SageMakerAdapter:
    def __init__(self, sagemaker: Any | None = None) -> None:
        self._sm = sagemaker

    @property
    def sm(self) -> Any:
        if self._sm is None:
            self._sm = client("sagemaker")
        return self._sm

    def describe_tuning_job(self, name: str) -> Mapping[str, Any]:
        result: Mapping[str, Any] = self.sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        return result

    def describe_training_job(self, name: str) -> Mapping[str, Any]:
        result: Mapping[str, Any] = self.sm.describe_training_job(TrainingJobName=name)
        return result

    def describe_compilation_job(self, name: str) -> Mapping[str, Any]:
        result: Mapping[str, Any] = self.sm.describe_compilation_job(CompilationJobName=name)
        return result

    def describe_processing_job(self, name: str) -> Mapping[str, Any]:
        result: Mapping[str, Any] = self.sm.describe_processing_job(ProcessingJobName=name)
        return result

    def list_tuning_trials(self, name: str) -> list[Mapping[str, Any]]:
        """Every trial of a tuning job: ListTrainingJobsForHyperParameterTuningJob's HyperParameterTrainingJobSummary
        items (TrainingJobName, TrainingJobStatus, CreationTime, TrainingStartTime, TrainingEndTime,
        TunedHyperParameters, FinalHyperParameterTuningJobObjectiveMetric), all pages, sorted by CreationTime.
        Raises NotFound when SageMaker has no tuning job of that name (its ResourceNotFound)."""
        paginator = self.sm.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job")
        trials: list[Mapping[str, Any]] = []
        pages = paginator.paginate(
            HyperParameterTuningJobName=name, SortBy="CreationTime", SortOrder="Ascending", MaxResults=100
        )
        try:
            for page in pages:
                trials.extend(page.get("TrainingJobSummaries") or [])
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFound":
                raise
            raise NotFound(f"SageMaker has no hyperparameter tuning job {name!r}") from exc
        return trials

    def ensure_model_package_group(self, name: str, description: str, tags: Mapping[str, str]) -> None:
        try:
            self.sm.describe_model_package_group(ModelPackageGroupName=name)
            return
        except ClientError as exc:
            if error_code(exc) not in ("ValidationException", "ResourceNotFound"):
                raise
        try:
            self.sm.create_model_package_group(
                ModelPackageGroupName=name,
                ModelPackageGroupDescription=description,
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            )
        except ClientError as exc:
            # Another run created it between our describe and create.
            if "already exists" not in str(exc):
                raise
