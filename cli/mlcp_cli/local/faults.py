"""Faults injected into the local cloud, for tests and `mlcp local demo --fail <stage>`.

Three kinds, each matched by a glob and optionally limited to the first ``times`` matches:

- ``api``: an AWS API call (``service`` + ``operation``, e.g. ``sagemaker`` / ``CreateTrainingJob``) answers with an
  error code (``ThrottlingException``, ``ServiceException`` ...) instead of running;
- ``job``: a SageMaker or Batch job whose name matches ends ``Failed`` with ``reason``;
- ``degrade``: a compression job whose name matches loses ``metric_drop`` of its objective (drives the gate to fail).
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field

# Stages `mlcp local demo --fail STAGE` can make fail.
FAILABLE = ("augment", "tune", "compress", "gate", "register")


@dataclass
class ApiFault:
    service: str  # boto3 service name: "sagemaker", "lambda", "stepfunctions", ...
    operation: str  # API operation (glob), e.g. "CreateTrainingJob", "Invoke"
    code: str = "ThrottlingException"
    message: str = "Rate exceeded"
    status: int = 400
    times: int | None = 1  # None: every matching call
    target: str = "*"  # glob on the call's main resource name (function name, job name); "*" for any
    hits: int = 0


@dataclass
class JobFault:
    job: str  # glob on the job name
    reason: str = "AlgorithmError: injected failure"
    times: int | None = None
    hits: int = 0


@dataclass
class Degradation:
    job: str  # glob on the compression job name
    metric_drop: float  # absolute drop of the objective metric after compression
    hits: int = 0


@dataclass
class Faults:
    api: list[ApiFault] = field(default_factory=list)
    jobs: list[JobFault] = field(default_factory=list)
    degradations: list[Degradation] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def clear(self) -> None:
        with self._lock:
            self.api.clear()
            self.jobs.clear()
            self.degradations.clear()

    def api_fault(self, service: str, operation: str, target: str = "") -> ApiFault | None:
        """The fault to answer this call with (and count it), or None to run the call."""
        with self._lock:
            for fault in self.api:
                if (
                    fault.service == service
                    and fnmatch.fnmatchcase(operation, fault.operation)
                    and fnmatch.fnmatchcase(target, fault.target)
                    and (fault.times is None or fault.hits < fault.times)
                ):
                    fault.hits += 1
                    return fault
        return None

    def job_failure(self, job_name: str) -> str | None:
        """The failure reason for this job, or None when it should succeed."""
        with self._lock:
            for fault in self.jobs:
                if fnmatch.fnmatchcase(job_name, fault.job) and (fault.times is None or fault.hits < fault.times):
                    fault.hits += 1
                    return fault.reason
        return None

    def metric_drop(self, job_name: str) -> float:
        with self._lock:
            for fault in self.degradations:
                if fnmatch.fnmatchcase(job_name, fault.job):
                    fault.hits += 1
                    return fault.metric_drop
        return 0.0
