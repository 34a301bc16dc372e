"""Faults injected into the local cloud, for tests and `mlcp local demo --fail <stage>`.

Three kinds, each matched by a glob and optionally limited to the first ``times`` matches:

- ``api``: an AWS API call (``service`` + ``operation``, e.g. ``sagemaker`` / ``CreateTrainingJob``) answers with an
  error code (``ThrottlingException``, ``ServiceException`` ...) instead of running;
- ``job``: a SageMaker or Batch job whose name matches ends ``Failed`` with ``reason``;
- ``degrade``: a compression job whose name matches loses ``metric_drop`` of its objective (drives the gate to fail);
- ``delivery``: EventBridge deliveries of a rule (glob) are duplicated, delayed (so later events overtake earlier
  ones) or dropped, drawn from a seeded random generator: the same seed gives the same deliveries.
"""

from __future__ import annotations

import fnmatch
import random
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
class DeliveryFault:
    """How EventBridge delivers a rule's events to its Lambda and Step Functions targets.

    EventBridge delivers at least once and does not keep order
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html; "Events might be delivered
    more than once ... and not in the order they were put"): ``duplicate`` is the probability that an event is
    delivered twice, ``delay_seconds`` the most (simulated) seconds a delivery is held back, drawn uniformly, so that
    later events overtake it, and ``drop`` the probability that an event never arrives (beyond AWS's promise, for
    chaos tests of what a lost alarm or upload does).
    """

    rule: str = "*"  # glob on the rule name
    duplicate: float = 0.0
    delay_seconds: float = 0.0
    drop: float = 0.0
    seed: int = 0
    delivered: int = 0
    duplicated: int = 0
    dropped: int = 0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - fault injection, not cryptography

    def plan(self) -> list[float]:
        """The delays (simulated seconds) of each delivery of one event: [] dropped, two entries duplicated."""
        if self._random.random() < self.drop:
            self.dropped += 1
            return []
        copies = 2 if self._random.random() < self.duplicate else 1
        self.duplicated += copies - 1
        self.delivered += copies
        return [self._random.uniform(0.0, self.delay_seconds) if self.delay_seconds else 0.0 for _ in range(copies)]


@dataclass
class Faults:
    api: list[ApiFault] = field(default_factory=list)
    jobs: list[JobFault] = field(default_factory=list)
    degradations: list[Degradation] = field(default_factory=list)
    delivery: list[DeliveryFault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def clear(self) -> None:
        with self._lock:
            self.api.clear()
            self.jobs.clear()
            self.degradations.clear()
            self.delivery.clear()

    def delivery_plan(self, rule: str) -> list[float]:
        """The delays of each delivery of one event of ``rule``: [0.0] when no fault matches (delivered once, now)."""
        with self._lock:
            for fault in self.delivery:
                if fnmatch.fnmatchcase(rule, fault.rule):
                    return fault.plan()
        return [0.0]

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
