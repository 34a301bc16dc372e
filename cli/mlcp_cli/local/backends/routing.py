"""The class-level patches that route moto's SageMaker and Batch job APIs to the installed job backend.

What moto 5.2.5 lacks and the job backends add (backend and response level): ``StopTrainingJob``,
``StopHyperParameterTuningJob``, ``StopCompilationJob`` and ``ListTrainingJobsForHyperParameterTuningJob``. The
patches are installed on moto's classes once per process and route every call through the active backend
(:func:`install`); with none active, moto behaves exactly as before (the added operations raise moto's
``NotImplementedError``). CreateProcessingJob keeps its ``ProcessingResources`` on moto's record (moto drops it).
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

from moto.batch.models import BatchBackend
from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

Handler = Callable[[Any, Callable[[], Any], dict[str, Any]], Any]
"""A routed API: (moto's backend, moto's own call, the call's parameters) -> the API's result."""


class Router(Protocol):
    def route(self, name: str, backend: Any, call: Callable[[], Any], params: dict[str, Any]) -> Any:
        """Answer moto's ``name`` call on ``backend`` (``call`` runs moto's own, ``params`` are its arguments)."""
        ...


_ACTIVE: Router | None = None
_PATCH_LOCK = threading.Lock()
_PATCHED = False
_ORIGINALS: dict[str, Callable[..., Any]] = {}

WRAPPED_SAGEMAKER: Final = (
    "create_processing_job",
    "describe_processing_job",
    "stop_processing_job",
    "list_processing_jobs",
    "create_training_job",
    "describe_training_job",
    "list_training_jobs",
    "create_hyper_parameter_tuning_job",
    "describe_hyper_parameter_tuning_job",
    "list_hyper_parameter_tuning_jobs",
    "create_compilation_job",
    "describe_compilation_job",
    "list_compilation_jobs",
)
ADDED_SAGEMAKER: Final[Mapping[str, tuple[str, ...]]] = {
    "stop_training_job": ("training_job_name",),
    "stop_hyper_parameter_tuning_job": ("hyper_parameter_tuning_job_name",),
    "stop_compilation_job": ("compilation_job_name",),
    "list_training_jobs_for_hyper_parameter_tuning_job": (
        "hyper_parameter_tuning_job_name",
        "next_token",
        "max_results",
        "status_equals",
        "sort_by",
        "sort_order",
    ),
}
WRAPPED_BATCH: Final = ("submit_job", "describe_jobs", "list_jobs", "terminate_job", "cancel_job")
ROUTED: Final = (*WRAPPED_SAGEMAKER, *ADDED_SAGEMAKER, *WRAPPED_BATCH)
"""Every call routed to the active backend."""

MOTO_ADDED_OPERATIONS: list[str] = []
"""SageMaker operations moto lacked and the job backends added (filled when the patches are installed)."""


def active() -> Router | None:
    """The installed backend, if any."""
    return _ACTIVE


def moto_original(name: str) -> Callable[..., Any]:
    """moto's own ``name`` (unrouted), e.g. to create a training job the backend plans itself."""
    return _ORIGINALS[name]


def _not_implemented(name: str) -> Callable[..., Any]:
    def missing(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"The {name} action has not been implemented")

    return missing


def _wrap(cls: type, name: str, original: Callable[..., Any], names: Sequence[str] | None) -> None:
    """Replace ``cls.name`` by a router: the active backend's handler of ``name`` or, with none active, ``original``."""
    signature = inspect.signature(original) if names is None else None

    @functools.wraps(original)
    def router(self: Any, *args: Any, **kwargs: Any) -> Any:
        backend = _ACTIVE
        if backend is None:
            return original(self, *args, **kwargs)
        if signature is not None:
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError:  # e.g. @paginate's extra arguments: pass through untouched
                params: dict[str, Any] = {}
            else:
                params = dict(list(bound.arguments.items())[1:])
        else:
            params = dict(zip(names or (), args, strict=False))
            params.update(kwargs)
        return backend.route(name, self, functools.partial(original, self, *args, **kwargs), params)

    setattr(cls, name, router)


def _response_stop(api: str, param: str, backend_method: str) -> Callable[[SageMakerResponse], EmptyResult]:
    def handler(self: SageMakerResponse) -> EmptyResult:
        getattr(self.sagemaker_backend, backend_method)(**{param: self._get_param(api)})
        return EmptyResult()

    return handler


def _response_list_trials(self: SageMakerResponse) -> ActionResult:
    summaries, token = self.sagemaker_backend.list_training_jobs_for_hyper_parameter_tuning_job(
        hyper_parameter_tuning_job_name=self._get_param("HyperParameterTuningJobName"),
        next_token=self._get_param("NextToken"),
        max_results=self._get_param("MaxResults"),
        status_equals=self._get_param("StatusEquals"),
        sort_by=self._get_param("SortBy"),
        sort_order=self._get_param("SortOrder"),
    )
    result: dict[str, Any] = {"TrainingJobSummaries": summaries}
    if token is not None:
        result["NextToken"] = token
    return ActionResult(result)


_RESPONSES: Final[Mapping[str, Callable[[SageMakerResponse], Any]]] = {
    "stop_training_job": _response_stop("TrainingJobName", "training_job_name", "stop_training_job"),
    "stop_hyper_parameter_tuning_job": _response_stop(
        "HyperParameterTuningJobName", "hyper_parameter_tuning_job_name", "stop_hyper_parameter_tuning_job"
    ),
    "stop_compilation_job": _response_stop("CompilationJobName", "compilation_job_name", "stop_compilation_job"),
    "list_training_jobs_for_hyper_parameter_tuning_job": _response_list_trials,
}


def _keep_processing_resources(original: Callable[[SageMakerResponse], Any]) -> Callable[[SageMakerResponse], Any]:
    """moto 5.2.5 drops CreateProcessingJob's ProcessingResources, so DescribeProcessingJob lacks the instance type
    and count AWS returns (the run's cost reads them): keep the request's on moto's record."""

    @functools.wraps(original)
    def handler(self: SageMakerResponse) -> Any:
        result = original(self)
        job = self.sagemaker_backend.processing_jobs.get(self._get_param("ProcessingJobName"))
        if job is not None and getattr(job, "processing_resources", None) is None:
            job.processing_resources = self._get_param("ProcessingResources")
        return result

    return handler


def _add_sagemaker(name: str, names: tuple[str, ...]) -> None:
    """Route ``name``, which moto may lack: then it is added (backend and response), not implemented when idle."""
    native = getattr(SageMakerModelBackend, name, None)
    if native is None:
        MOTO_ADDED_OPERATIONS.append(name)
    _ORIGINALS[name] = native or _not_implemented(name)
    _wrap(SageMakerModelBackend, name, _ORIGINALS[name], names if native is None else None)
    if not hasattr(SageMakerResponse, name):
        setattr(SageMakerResponse, name, _RESPONSES[name])


def _ensure_patched() -> None:
    global _PATCHED  # noqa: PLW0603 - the patches are process-wide, installed once
    with _PATCH_LOCK:
        if _PATCHED:
            return
        for name in WRAPPED_SAGEMAKER:
            _ORIGINALS[name] = getattr(SageMakerModelBackend, name)
            _wrap(SageMakerModelBackend, name, _ORIGINALS[name], None)
        for name, names in ADDED_SAGEMAKER.items():
            _add_sagemaker(name, names)
        SageMakerResponse.create_processing_job = _keep_processing_resources(SageMakerResponse.create_processing_job)
        for name in WRAPPED_BATCH:
            _ORIGINALS[f"batch.{name}"] = getattr(BatchBackend, name)
            _wrap(BatchBackend, name, _ORIGINALS[f"batch.{name}"], None)
        _PATCHED = True


def install(backend: Router) -> None:
    """Route the job APIs through ``backend`` (one at a time per process)."""
    global _ACTIVE  # noqa: PLW0603 - one active backend per process, by design
    _ensure_patched()
    with _PATCH_LOCK:
        if _ACTIVE is not None and _ACTIVE is not backend:
            raise RuntimeError("another JobBackend is already installed")
        _ACTIVE = backend


def uninstall(backend: Router) -> None:
    global _ACTIVE  # noqa: PLW0603
    with _PATCH_LOCK:
        if _ACTIVE is backend:
            _ACTIVE = None
