"""The local job backend: SageMaker (and AWS Batch array) jobs with a realistic lifecycle on simulated time.

moto's SageMaker records jobs but does not run them: every job is ``Completed`` the moment it is created, a tuning job
reports a placeholder ``BestTrainingJob`` and launches no trials, training jobs have no metrics and write no model.
:class:`JobBackend` patches moto's ``SageMakerModelBackend`` (and ``BatchBackend``) so that, while it is active, jobs
behave like they do on AWS, with every time on the :class:`~mlcp_cli.local.clock.SimClock`:

Lifecycle
    A job is planned once, at creation, as a timeline of (simulated time, status, secondary status) events; describe
    calls show the events up to ``clock.now()``. Training: ``Starting`` (12 % of the duration) → ``Downloading`` (6 %)
    → ``Training`` → ``Uploading`` (last 10 %) → ``Completed``; ``TrainingStartTime`` is the end of ``Starting``,
    ``TrainingTimeInSeconds`` runs from there to the end, ``BillableTimeInSeconds`` is 35 % of it with managed spot
    training. Processing starts its instances after 30 % of its duration; compilation is ``STARTING`` for 15 %, then
    ``INPROGRESS``, then ``COMPLETED`` (AWS's uppercase statuses). ``faults.job_failure(name)`` is asked once, at
    creation: a failing job ends ``Failed`` half-way through its work with that ``FailureReason``. A stop request makes
    a running job ``Stopping`` for ``durations.stopping`` and then ``Stopped``; a training job that would outlive its
    ``StoppingCondition.MaxRuntimeInSeconds`` ends ``Stopped`` / ``MaxRuntimeExceeded``. Jobs are brought up to date
    lazily, whenever they are described or listed (or :meth:`JobBackend.settle` is called); nothing runs in the
    background.

Durations (:class:`JobDurations`, simulated seconds)
    processing 300, compression training 420, compilation 240; a tuning trial (or a plain training job) takes
    ``training * (0.7 + 0.6 * complexity)``, ``complexity`` ∈ [0, 1] being the model's capacity (below), so bigger
    models train longer. A tuning job launches its first trials ``tuning_startup`` seconds after creation.

Objective
    Each tuning request defines a landscape, seeded by what stays the same across runs of one spec (parameter
    ranges, objective, static hyperparameters, training image): every tuned numeric hyperparameter is mapped to
    ``u`` ∈ [0, 1] along its range (log scale for ``Logarithmic``), gets a centre ``c`` ∈ [0.25, 0.75] and a weight
    ``w`` ∈ [0.6, 1.4]; every categorical value gets a factor in [0.88, 0.98] (one value per parameter: 1). The quality
    ``q = exp(-Σ w·(u - c)² / (0.08·Σ w)) · Π factor`` ∈ (0, 1] peaks inside the ranges. The objective metric is
    ``hi - 0.35·(1 - q)`` with ``hi`` ∈ [0.90, 0.98] for ``Maximize`` and ``lo + 0.6·(1 - q)`` with ``lo`` ∈
    [0.05, 0.15] for ``Minimize``; every other metric definition is reported too (names with loss/error/rmse/mae/mse
    go down with ``q``, all others go up). Values are rounded to 6 decimals; the same hyperparameters always score
    the same. A training job outside any tuning job scores ``q`` from a hash of its hyperparameters.

Strategies
    ``Grid`` launches every combination of the categorical ranges exactly once (AWS: categorical ranges only);
    ``Random`` draws trial ``i`` from a generator seeded by ``RandomSeed`` (or the job name) and ``i``, so a seed
    reproduces the trials; ``Bayesian`` draws ``max(3, MaxParallelTrainingJobs)`` random trials, then perturbs the
    incumbent (best trial completed at launch time) with a shrinking Gaussian step (15 % of draws stay random);
    ``Hyperband`` draws randomly and, once a few trials completed, stops a trial whose quality is below their median
    at ``MinResource / MaxResource`` of its training (status ``Stopped``; it reports the partial objective). Trials are
    real moto training jobs named ``<tuning job>-<NNN>-<8 hex>``, launched as slots of ``MaxParallelTrainingJobs``
    free up, with the static hyperparameters, the tuned ones and ``_tuning_objective_metric``. ``BestTrainingJob``
    is the best ``Completed`` trial so far. The tuning job fails when its first ``min(5, MaxNumberOfTrainingJobs)``
    finished trials all failed (AWS: "No training job succeeded after 5 attempts"), or ``tuning_startup`` seconds
    after creation when a fault matches its own name.

Artifacts
    A completed training job writes ``<S3OutputPath>/<job>/output/model.tar.gz``: a real gzip'd tar holding
    ``mlcp-model.json`` (job, hyperparameters, metrics, objective) and ``model.bin`` (pseudo-random bytes). The
    payload is ``32 KiB + 224 KiB * complexity``; complexity is the mean position in their ranges of the capacity
    hyperparameters (depth, layers, units, rounds, trees, …), or of all numeric ones. Compression jobs read the base
    model from their ``model`` channel (a compilation job from ``InputConfig.S3Uri``) like a container would, and
    write a payload of ``base * factor``: pruning ``1 - 0.9·sparsity`` (structured ``0.95``), quantization int8
    ``0.27``, fp16/bf16 ``0.52``, Neo ``0.45`` (``<S3OutputLocation>/<model>-<target>.tar.gz``). A compression job
    reports the base model's objective minus a drop (plus for ``Minimize``): pruning ``0.002 + 0.04·s²`` (x1.5
    structured), int8 0.006 (0.004 with a calibration channel), fp16 0.0005, bf16 0.0015, plus
    ``faults.metric_drop(job)``. Processing jobs write ``part-00000.csv`` under each ``ProcessingOutput`` S3 URI. A
    missing output bucket makes the job fail when it uploads; a missing base model fails a compression job.

AWS Batch (second priority)
    ``submit_job`` with ``arrayProperties`` creates the parent and the children ``<jobId>:<index>`` in moto without
    starting moto's Docker threads; each child takes ``batch_child_duration(job_name, index)`` seconds (default
    ``durations.batch_child``) and goes SUBMITTED → PENDING → RUNNABLE → STARTING → RUNNING → SUCCEEDED (or FAILED
    when ``faults.job_failure("<job name>:<index>")`` says so); children run ``batch_parallelism`` at a time. The
    parent is PENDING, RUNNABLE while its children wait, RUNNING once one started, SUCCEEDED when all succeeded and
    FAILED when all ended and any failed. ``describe_jobs`` reports ``arrayProperties.statusSummary``, ``startedAt``
    and ``stoppedAt`` in epoch ms; ``terminate_job`` fails the children still running, ``cancel_job`` those not
    started. Jobs without ``arrayProperties`` keep moto's own (Docker) behaviour.

What moto 5.2.5 lacks and this module adds (backend and response level): ``StopTrainingJob``,
``StopHyperParameterTuningJob``, ``StopCompilationJob`` and ``ListTrainingJobsForHyperParameterTuningJob``. The
patches are installed on the classes once and route through the active :class:`JobBackend`; with none active, moto
behaves exactly as before (the added operations raise moto's ``NotImplementedError``). While active, two more moto
differences are fixed: CreateTrainingJob / CreateProcessingJob reject a name that exists (moto overwrote the job), and
DescribeTrainingJob returns the request's ``MetricDefinitions`` (moto replaced them with a placeholder).

Every public call takes one lock: the Step Functions interpreter polls describe* from many threads at once.
"""

from __future__ import annotations

import copy
import functools
import gzip
import hashlib
import inspect
import io
import itertools
import json
import math
import random
import tarfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Final

from moto.batch.models import BatchBackend
from moto.batch.models import Job as BatchJob
from moto.core.responses import ActionResult, EmptyResult
from moto.s3.exceptions import S3ClientError
from moto.s3.models import S3Backend, s3_backends
from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.utilities.utils import get_partition

from mlcp_cli.local.clock import SimClock
from mlcp_cli.local.faults import Faults

__all__ = [
    "MOTO_ADDED_OPERATIONS",
    "BatchChildDuration",
    "BatchWork",
    "JobBackend",
    "JobDurations",
    "JobResult",
    "active_backend",
]


@dataclass(frozen=True)
class JobDurations:
    """Simulated seconds each kind of job takes (see the module docstring for how trials vary)."""

    processing: float = 300.0
    training: float = 600.0  # a tuning trial or plain training job at complexity 0.5
    compression: float = 420.0
    compilation: float = 240.0
    tuning_startup: float = 30.0  # from CreateHyperParameterTuningJob to the first trials
    stopping: float = 20.0  # Stopping -> Stopped
    batch_child: float = 120.0  # default duration of one array child (its RUNNING phase)
    batch_startup: float = 15.0  # SUBMITTED -> ... -> RUNNING of a child


@dataclass(frozen=True)
class JobResult:
    """What a job produced so far (for tests and the demo): status, final metrics and the artifact written."""

    name: str
    kind: str  # "processing" | "training" | "compilation"
    status: str
    metrics: Mapping[str, float]
    artifact_uri: str | None
    artifact_bytes: int | None  # None until the artifact is written to S3


BatchChildDuration = Callable[[str, int], float]
"""(array job name, child index) -> simulated seconds the child runs."""


@dataclass(frozen=True)
class BatchWork:
    """The cost model of a batch worker that follows mlcp's shard contract (MLCP_ITEMS_PER_CHILD, MLCP_ITEM_COUNT,
    MLCP_INDEX_MAP_URI in its environment): a child runs ``startup + items x per_item x (1 ± noise)`` seconds, the
    noise fixed by (job name, index) so runs are reproducible."""

    per_item_seconds: float = 0.5
    startup_seconds: float = 30.0
    noise: float = 0.05

    def seconds(self, job_name: str, index: int, items: int) -> float:
        jitter = 1.0 + self.noise * (2.0 * _unit_hash(job_name, index, "batch-noise") - 1.0)
        return self.startup_seconds + items * self.per_item_seconds * jitter


# Model of sizes and compression (see module docstring).
_MIN_PAYLOAD: Final = 32 * 1024
_PAYLOAD_RANGE: Final = 224 * 1024
_PRUNING_SLOPE: Final = 0.9
_STRUCTURED_PRUNING_SLOPE: Final = 0.95
_QUANTIZATION: Final[Mapping[str, tuple[float, float]]] = {  # dtype -> (size factor, metric drop)
    "int8": (0.27, 0.006),
    "fp16": (0.52, 0.0005),
    "bf16": (0.52, 0.0015),
}
_CALIBRATED_INT8_DROP: Final = 0.004
_NEO_SIZE_FACTOR: Final = 0.45
_SPOT_BILLABLE: Final = 0.35
_TUNING_FAIL_FAST: Final = 5
_CAPACITY_WORDS: Final = (
    "depth",
    "layer",
    "unit",
    "hidden",
    "width",
    "round",
    "tree",
    "estimator",
    "embed",
    "dim",
    "filter",
    "leaves",
    "leaf",
    "neuron",
    "channel",
    "head",
)
_LOWER_IS_BETTER_WORDS: Final = ("loss", "error", "rmse", "mse", "mae", "mape", "perplexity")
_METADATA_FILE: Final = "mlcp-model.json"
_MODEL_CHANNEL: Final = "model"
_TERMINAL: Final = frozenset({"Completed", "Failed", "Stopped", "COMPLETED", "FAILED", "STOPPED"})
_SUCCEEDED: Final = frozenset({"Completed", "COMPLETED"})

# ---------------------------------------------------------------------------------------------------------------------
# Deterministic helpers


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()


def _unit_hash(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``."""
    return int.from_bytes(_digest(*parts)[:8], "big") / 2.0**64


def _rng(*parts: object) -> random.Random:
    # A simulation, not security: the same parts always give the same draws.
    return random.Random(_digest(*parts).hex())  # noqa: S311


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def _lower_is_better(metric: str) -> bool:
    name = metric.lower()
    return any(word in name for word in _LOWER_IS_BETTER_WORDS)


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def _join_s3(prefix: str, *parts: str) -> str:
    return "/".join([prefix.rstrip("/"), *parts])


def _drop_none(response: Mapping[str, Any], *keep: str) -> dict[str, Any]:
    return {k: v for k, v in response.items() if v is not None or k in keep}


# ---------------------------------------------------------------------------------------------------------------------
# Hyperparameter space and the objective landscape


@dataclass(frozen=True)
class _Param:
    name: str
    kind: str  # "Continuous" | "Integer" | "Categorical"
    low: float = 0.0
    high: float = 1.0
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    @property
    def numeric(self) -> bool:
        return self.kind != "Categorical"

    def _log(self) -> bool:
        return self.scaling == "Logarithmic" and self.low > 0

    def _reverse_log(self) -> bool:
        return self.scaling == "ReverseLogarithmic" and self.high < 1

    def unit(self, raw: str) -> float:
        """Position of ``raw`` in the range, in [0, 1] (the space the landscape and the samplers live in)."""
        if not self.numeric:
            index = self.values.index(raw) if raw in self.values else 0
            return index / (len(self.values) - 1) if len(self.values) > 1 else 0.5
        try:
            x = float(raw)
        except ValueError:
            return 0.5
        if self.high <= self.low:
            return 0.5
        if self._log():
            u = (math.log(max(x, self.low)) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        elif self._reverse_log():
            top, bottom = math.log(1 - self.low), math.log(1 - self.high)
            u = (top - math.log(max(1 - x, 1 - self.high))) / (top - bottom)
        else:
            u = (x - self.low) / (self.high - self.low)
        return _clamp(u)

    def value(self, u: float) -> str:
        """The hyperparameter value (as SageMaker passes it: a string) at position ``u``."""
        u = _clamp(u)
        if not self.numeric:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        if self._log():
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        elif self._reverse_log():
            top, bottom = math.log(1 - self.low), math.log(1 - self.high)
            x = 1 - math.exp(top - u * (top - bottom))
        else:
            x = self.low + u * (self.high - self.low)
        if self.kind == "Integer":
            return str(int(_clamp(round(x), self.low, self.high)))
        return f"{_clamp(x, self.low, self.high):.6g}"

    def sample(self, rng: random.Random) -> str:
        if not self.numeric:
            return rng.choice(self.values)
        return self.value(rng.random())


def _parse_ranges(ranges: Mapping[str, Any]) -> list[_Param]:
    params: list[_Param] = []
    for kind in ("Continuous", "Integer"):
        for r in ranges.get(f"{kind}ParameterRanges") or []:
            params.append(
                _Param(
                    name=str(r["Name"]),
                    kind=kind,
                    low=float(r["MinValue"]),
                    high=float(r["MaxValue"]),
                    scaling=str(r.get("ScalingType") or "Auto"),
                )
            )
    for r in ranges.get("CategoricalParameterRanges") or []:
        params.append(_Param(name=str(r["Name"]), kind="Categorical", values=tuple(str(v) for v in r["Values"])))
    return params


class _Landscape:
    """The deterministic objective of a tuning request (module docstring, "Objective")."""

    def __init__(self, seed: str, params: Sequence[_Param], objective: str | None, maximize: bool) -> None:
        self.seed = seed
        self.params = list(params)
        self.objective = objective
        self.maximize = maximize

    def quality(self, hyperparameters: Mapping[str, str]) -> float:
        if not self.params:
            return 0.55 + 0.4 * _unit_hash(self.seed, "q", json.dumps(dict(hyperparameters), sort_keys=True))
        distance = weights = 0.0
        factor = 1.0
        for p in self.params:
            raw = hyperparameters.get(p.name)
            if p.numeric:
                u = p.unit(raw) if raw is not None else 0.5
                centre = 0.25 + 0.5 * _unit_hash(self.seed, p.name, "centre")
                weight = 0.6 + 0.8 * _unit_hash(self.seed, p.name, "weight")
                distance += weight * (u - centre) ** 2
                weights += weight
            elif raw is not None and len(p.values) > 1:
                best = p.values[int(_unit_hash(self.seed, p.name, "best") * len(p.values))]
                if raw != best:
                    factor *= 0.88 + 0.1 * _unit_hash(self.seed, p.name, raw)
        spread = math.exp(-distance / (0.08 * weights)) if weights else 1.0
        return spread * factor

    def complexity(self, hyperparameters: Mapping[str, str]) -> float:
        numeric = [p for p in self.params if p.numeric and p.name in hyperparameters]
        capacity = [p for p in numeric if any(w in p.name.lower() for w in _CAPACITY_WORDS)]
        chosen = capacity or numeric
        if not chosen:
            return _unit_hash(self.seed, "size", json.dumps(dict(hyperparameters), sort_keys=True))
        return sum(p.unit(hyperparameters[p.name]) for p in chosen) / len(chosen)

    def metric(self, name: str, q: float) -> float:
        if name == self.objective:
            lower = not self.maximize
            if lower:
                value = 0.05 + 0.1 * _unit_hash(self.seed, "lo") + 0.6 * (1 - q)
            else:
                value = 0.90 + 0.08 * _unit_hash(self.seed, "hi") - 0.35 * (1 - q)
        elif _lower_is_better(name):
            value = 0.04 + 0.1 * _unit_hash(self.seed, name) + 0.5 * (1 - q)
        else:
            value = 0.85 + 0.1 * _unit_hash(self.seed, name) - 0.35 * (1 - q)
        return round(value, 6)

    def metrics(self, q: float, names: Iterable[str]) -> dict[str, float]:
        wanted = list(dict.fromkeys([*([self.objective] if self.objective else []), *names]))
        return {name: self.metric(name, q) for name in wanted}


def _metric_names(algorithm: Mapping[str, Any] | None) -> list[str]:
    return [str(m["Name"]) for m in (algorithm or {}).get("MetricDefinitions") or []]


# ---------------------------------------------------------------------------------------------------------------------
# Jobs as timelines


@dataclass(frozen=True)
class _Event:
    t: float  # simulated seconds
    status: str
    secondary: str | None
    message: str


@dataclass
class _Outcome:
    """What a job produces when it completes (decided at creation)."""

    metrics: dict[str, float] = field(default_factory=dict)
    objective: tuple[str, str, float] | None = None  # (metric, Maximize|Minimize, value)
    payload: int = 0
    artifact_uri: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    metrics_when_stopped: bool = False  # Hyperband: an early-stopped trial reports its partial objective


@dataclass
class _Job:
    kind: str  # "processing" | "training" | "compilation"
    name: str
    fake: Any  # moto's record: FakeProcessingJob | FakeTrainingJob | CompilationJob
    backend: SageMakerModelBackend
    created: float
    events: list[_Event]
    start_marker: str  # the secondary status / status whose first event is the *StartTime
    failure: str | None = None
    spot: bool = False
    outcome: _Outcome = field(default_factory=_Outcome)
    tuning: _Tuning | None = None
    finalized: bool = False
    artifact_bytes: int | None = None
    stop_requested: float | None = None

    @property
    def end(self) -> float:
        """Planned time of the terminal event."""
        return self.events[-1].t

    def seen(self, at: float) -> list[_Event]:
        seen = [e for e in self.events if e.t <= at]
        return seen or self.events[:1]

    def state(self, at: float) -> _Event:
        return self.seen(at)[-1]

    def started(self, at: float) -> float | None:
        for e in self.seen(at):
            if self.start_marker in (e.secondary, e.status):
                return e.t
        return None

    def truncate(self, at: float, *tail: _Event) -> None:
        self.events = [e for e in self.events if e.t <= at and e.status not in _TERMINAL] + list(tail)


_STOP_EVENTS: Final[Mapping[str, tuple[tuple[str, str | None, str], tuple[str, str | None, str]]]] = {
    "training": (
        ("Stopping", "Stopping", "Stopping the training job"),
        ("Stopped", "Stopped", "Training job stopped"),
    ),
    "processing": (("Stopping", None, "Stopping the processing job"), ("Stopped", None, "Processing job stopped")),
    "compilation": (("STOPPING", None, "Stopping the compilation job"), ("STOPPED", None, "Compilation job stopped")),
}


@dataclass
class _Trial:
    index: int
    values: dict[str, str]
    quality: float
    job: _Job


@dataclass
class _Tuning:
    name: str
    fake: Any  # moto's HyperParameterTuningJob
    backend: SageMakerModelBackend
    created: float
    strategy: str
    params: list[_Param]
    landscape: _Landscape
    objective: str
    objective_type: str
    max_jobs: int
    max_parallel: int
    seed: str
    definition: dict[str, Any]
    tags: list[dict[str, str]]
    grid: list[dict[str, str]] | None
    min_resource_fraction: float
    planned_failure: str | None
    trials: list[_Trial] = field(default_factory=list)
    cursor: float = 0.0
    ended: float | None = None
    final_status: str | None = None
    failure: str | None = None
    stop_requested: float | None = None

    @property
    def maximize(self) -> bool:
        return self.objective_type != "Minimize"

    def objective_value(self, trial: _Trial) -> float | None:
        metric = trial.job.outcome.objective
        return metric[2] if metric is not None else None


# ---------------------------------------------------------------------------------------------------------------------
# Artifacts


def _model_blob(meta: Mapping[str, Any], payload: int, seed: str) -> bytes:
    """A real model.tar.gz: metadata + ``payload`` incompressible bytes (so its size tracks ``payload``)."""
    raw = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        for name, data in (
            (_METADATA_FILE, json.dumps(meta, sort_keys=True, indent=1).encode()),
            ("model.bin", _rng(seed, "payload").randbytes(payload)),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _read_meta(blob: bytes) -> dict[str, Any] | None:
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            member = tar.extractfile(_METADATA_FILE)
            if member is None:
                return None
            meta = json.loads(member.read())
    except (tarfile.TarError, OSError, KeyError, ValueError, EOFError):
        return None
    return meta if isinstance(meta, dict) else None


def _csv_blob(seed: str, rows: int = 200) -> bytes:
    rng = _rng(seed, "csv")
    lines = ["label,f1,f2,f3,f4,f5"]
    for _ in range(rows):
        lines.append(",".join([str(rng.randint(0, 1)), *(f"{rng.gauss(0, 1):.5f}" for _ in range(5))]))
    return ("\n".join(lines) + "\n").encode()


# ---------------------------------------------------------------------------------------------------------------------
# Class-level patches, routed to the active backend

_ACTIVE: JobBackend | None = None
_PATCH_LOCK = threading.Lock()
_PATCHED = False
_ORIGINALS: dict[str, Callable[..., Any]] = {}

_WRAPPED_SAGEMAKER: Final = (
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
_ADDED_SAGEMAKER: Final[Mapping[str, tuple[str, ...]]] = {
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
_WRAPPED_BATCH: Final = ("submit_job", "describe_jobs", "list_jobs", "terminate_job", "cancel_job")

MOTO_ADDED_OPERATIONS: list[str] = []
"""SageMaker operations moto lacked and this module added (filled when the patches are installed)."""


def active_backend() -> JobBackend | None:
    """The installed :class:`JobBackend`, if any."""
    return _ACTIVE


def _not_implemented(name: str) -> Callable[..., Any]:
    def missing(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"The {name} action has not been implemented")

    return missing


def _wrap(cls: type, name: str, original: Callable[..., Any], names: Sequence[str] | None) -> None:
    """Replace ``cls.name`` by a router: the active backend's ``_api_<name>`` or, with none active, ``original``."""
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
        return backend._route(name, self, functools.partial(original, self, *args, **kwargs), params)

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


def _ensure_patched() -> None:
    global _PATCHED  # noqa: PLW0603 - the patches are process-wide, installed once
    with _PATCH_LOCK:
        if _PATCHED:
            return
        for name in _WRAPPED_SAGEMAKER:
            _ORIGINALS[name] = getattr(SageMakerModelBackend, name)
            _wrap(SageMakerModelBackend, name, _ORIGINALS[name], None)
        for name, names in _ADDED_SAGEMAKER.items():
            native = getattr(SageMakerModelBackend, name, None)
            if native is None:
                MOTO_ADDED_OPERATIONS.append(name)
            _ORIGINALS[name] = native or _not_implemented(name)
            _wrap(SageMakerModelBackend, name, _ORIGINALS[name], names if native is None else None)
            if not hasattr(SageMakerResponse, name):
                setattr(SageMakerResponse, name, _RESPONSES[name])
        for name in _WRAPPED_BATCH:
            _ORIGINALS[f"batch.{name}"] = getattr(BatchBackend, name)
            _wrap(BatchBackend, name, _ORIGINALS[f"batch.{name}"], None)
        _PATCHED = True


# ---------------------------------------------------------------------------------------------------------------------
# Batch records


def _no_start(self: threading.Thread) -> None:
    """Stands in for ``Thread.start`` of moto's Batch jobs: array children run on the clock, not in Docker."""


@dataclass
class _BatchChild:
    job: BatchJob
    index: int
    submitted: float
    started: float
    end: float
    failure: str | None
    terminated: float | None = None
    reason: str | None = None


@dataclass
class _BatchArray:
    parent: BatchJob
    backend: BatchBackend
    created: float
    children: list[_BatchChild]
    single: bool = False  # a non-array job with the shard contract: the job is its own only "child"


# ---------------------------------------------------------------------------------------------------------------------
# The backend


class JobBackend:
    """Realistic SageMaker (and Batch array) jobs on moto, on simulated time. See the module docstring."""

    def __init__(
        self,
        clock: SimClock,
        faults: Faults,
        durations: JobDurations | None = None,
        *,
        batch_child_duration: BatchChildDuration | None = None,
        batch_parallelism: int = 16,
    ) -> None:
        self.clock = clock
        self.faults = faults
        self.durations = durations or JobDurations()
        self.batch_child_duration: BatchChildDuration = batch_child_duration or (
            lambda _name, _index: self.durations.batch_child
        )
        self.batch_parallelism = max(1, batch_parallelism)
        # job definition name -> cost model; ``batch_work_default`` for any other job with the shard contract
        self.batch_work: dict[str, BatchWork] = {}
        self.batch_work_default = BatchWork()
        self._lock = threading.RLock()
        self._epoch = clock.now() - timedelta(seconds=clock.seconds())
        self._jobs: dict[tuple[str, str, str, str], _Job] = {}
        self._tunings: dict[tuple[str, str, str], _Tuning] = {}
        self._arrays: dict[tuple[str, str, str], _BatchArray] = {}

    # -- installation -------------------------------------------------------------------------------------------------

    def install(self) -> JobBackend:
        """Route moto's SageMaker (and Batch) job APIs through this backend until :meth:`uninstall`."""
        global _ACTIVE  # noqa: PLW0603 - one active backend per process, by design
        _ensure_patched()
        with _PATCH_LOCK:
            if _ACTIVE is not None and _ACTIVE is not self:
                raise RuntimeError("another JobBackend is already installed")
            _ACTIVE = self
        return self

    def uninstall(self) -> None:
        """Give moto its own behaviour back (jobs created meanwhile keep what they showed last)."""
        global _ACTIVE  # noqa: PLW0603
        with _PATCH_LOCK:
            if _ACTIVE is self:
                _ACTIVE = None

    @property
    def installed(self) -> bool:
        return _ACTIVE is self

    def __enter__(self) -> JobBackend:
        return self.install()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.uninstall()

    # -- public helpers -----------------------------------------------------------------------------------------------

    def settle(self) -> None:
        """Bring every job up to the clock: statuses, and the artifacts of jobs that completed meanwhile."""
        with self._lock:
            now = self.clock.seconds()
            self._settle_all(now)

    def result(self, job_name: str, kind: str | None = None) -> JobResult | None:
        """Status, final metrics and artifact of a job this backend runs (None if it does not know the job)."""
        with self._lock:
            now = self.clock.seconds()
            for (_, _, job_kind, name), job in self._jobs.items():
                if name == job_name and (kind is None or kind == job_kind) and self._current(job):
                    if job.tuning is not None:
                        self._advance_tuning(job.tuning, now)
                    self._settle(job, now)
                    status = job.state(now).status
                    reports = status in _SUCCEEDED or (status == "Stopped" and job.outcome.metrics_when_stopped)
                    return JobResult(
                        name=name,
                        kind=job_kind,
                        status=status,
                        metrics=dict(job.outcome.metrics) if reports else {},
                        artifact_uri=job.outcome.artifact_uri,
                        artifact_bytes=job.artifact_bytes,
                    )
        return None

    # -- routing ------------------------------------------------------------------------------------------------------

    def _route(self, name: str, backend: Any, call: Callable[[], Any], params: dict[str, Any]) -> Any:
        handler: Callable[[Any, Callable[[], Any], dict[str, Any]], Any] = getattr(self, f"_api_{name}")
        with self._lock:
            return handler(backend, call, params)

    def _dt(self, t: float) -> datetime:
        """Simulated seconds -> a naive UTC datetime (what moto stores)."""
        return (self._epoch + timedelta(seconds=t)).astimezone(UTC).replace(tzinfo=None)

    def _key(self, backend: Any, kind: str, name: str) -> tuple[str, str, str, str]:
        return (backend.account_id, backend.region_name, kind, name)

    def _current(self, job: _Job) -> bool:
        """Whether moto still holds the record this job drives (moto's reset() and deletes forget jobs)."""
        backend = job.backend
        if job.kind == "training":
            return backend.training_jobs.get(job.name) is job.fake
        if job.kind == "processing":
            return backend.processing_jobs.get(job.name) is job.fake
        return backend.compilation_jobs.get(job.name) is job.fake

    def _job(self, backend: SageMakerModelBackend, kind: str, name: str) -> _Job | None:
        job = self._jobs.get(self._key(backend, kind, name))
        if job is None:
            return None
        if not self._current(job):
            del self._jobs[self._key(backend, kind, name)]
            return None
        return job

    def _tuning(self, backend: SageMakerModelBackend, name: str) -> _Tuning | None:
        key = (backend.account_id, backend.region_name, name)
        tuning = self._tunings.get(key)
        if tuning is None:
            return None
        if backend.hyper_parameter_tuning_jobs.get(name) is not tuning.fake:
            del self._tunings[key]
            return None
        return tuning

    def _settle_all(self, now: float, backend: SageMakerModelBackend | None = None) -> None:
        for tuning in list(self._tunings.values()):
            if (backend is None or tuning.backend is backend) and self._tuning(tuning.backend, tuning.name):
                self._advance_tuning(tuning, now)
        for job in list(self._jobs.values()):
            if (backend is None or job.backend is backend) and self._current(job):
                self._settle(job, now)
        if backend is None:
            for array in list(self._arrays.values()):
                self._settle_array(array, now)

    # -- S3 -----------------------------------------------------------------------------------------------------------

    def _s3(self, backend: Any) -> S3Backend:
        store: S3Backend = s3_backends[backend.account_id][get_partition(backend.region_name)]
        return store

    def _read_s3(self, backend: Any, uri: str) -> bytes | None:
        try:
            bucket, key = _split_s3(uri)
            obj = self._s3(backend).get_object(bucket, key)
        except (S3ClientError, ValueError):
            return None
        return None if obj is None else bytes(obj.value)

    def _write_s3(self, backend: Any, uri: str, data: bytes) -> str | None:
        """Put ``data`` at ``uri``; the error (as a SageMaker failure reason) when it cannot."""
        try:
            bucket, key = _split_s3(uri)
            self._s3(backend).put_object(bucket, key, data)
        except ValueError as exc:
            return f"ClientError: {exc}"
        except S3ClientError as exc:
            return f"ClientError: Failed to upload to {uri}: {getattr(exc, 'code', type(exc).__name__)}"
        return None

    # -- timelines ----------------------------------------------------------------------------------------------------

    def _training_events(
        self, created: float, duration: float, failure: str | None, max_runtime: float | None
    ) -> list[_Event]:
        started = created + 0.12 * duration
        training = started + 0.06 * duration
        uploading = created + 0.9 * duration
        end = created + duration
        events = [
            _Event(created, "InProgress", "Starting", "Preparing the instances for training"),
            _Event(started, "InProgress", "Downloading", "Downloading input data"),
            _Event(training, "InProgress", "Training", "Training image download completed. Training in progress."),
            _Event(uploading, "InProgress", "Uploading", "Uploading generated training model"),
            _Event(end, "Completed", "Completed", "Training job completed"),
        ]
        if failure is not None:
            at = training + 0.5 * (uploading - training)
            events = [e for e in events if e.t < at] + [
                _Event(at, "Failed", "Failed", f"Training job failed: {failure}")
            ]
        elif max_runtime is not None and end - started > max_runtime:
            at = started + max_runtime
            events = [e for e in events if e.t < at] + [
                _Event(at, "Stopped", "MaxRuntimeExceeded", "Training job exceeded MaxRuntimeInSeconds")
            ]
        return events

    def _new_training(
        self,
        backend: SageMakerModelBackend,
        fake: Any,
        *,
        created: float,
        duration: float,
        outcome: _Outcome,
        failure: str | None,
        tuning: _Tuning | None = None,
    ) -> _Job:
        stopping = fake.stopping_condition or {}
        max_runtime = stopping.get("MaxRuntimeInSeconds")
        job = _Job(
            kind="training",
            name=fake.training_job_name,
            fake=fake,
            backend=backend,
            created=created,
            events=self._training_events(
                created, duration, failure, float(max_runtime) if max_runtime is not None else None
            ),
            start_marker="Downloading",
            failure=failure,
            spot=bool(fake.enable_managed_spot_training),
            outcome=outcome,
            tuning=tuning,
        )
        outcome.artifact_uri = fake.model_artifacts["S3ModelArtifacts"]
        fake.creation_time = self._dt(created)
        if tuning is not None:
            fake.tuning_job_arn = tuning.fake.arn
        self._jobs[self._key(backend, "training", job.name)] = job
        self._settle(job, created)
        return job

    def _stop(self, job: _Job, at: float) -> None:
        stopping, stopped = _STOP_EVENTS[job.kind]
        job.stop_requested = at
        job.truncate(at, _Event(at, *stopping), _Event(at + self.durations.stopping, *stopped))

    def _settle(self, job: _Job, at: float) -> None:
        """Show ``job`` as it is at ``at`` on moto's record; on reaching Completed, write its outputs."""
        current = job.state(at)
        if current.status in _SUCCEEDED and not job.finalized and current.t <= at:
            job.finalized = True
            error = self._finalize(job)
            if error is not None:  # nobody has seen it Completed yet: it failed while uploading
                job.failure = error
                failed = "FAILED" if job.kind == "compilation" else "Failed"
                job.events[-1] = _Event(current.t, failed, "Failed" if job.kind == "training" else None, error)
                current = job.events[-1]
        elif current.status in _TERMINAL:
            job.finalized = True
        terminal = current.status in _TERMINAL
        start = job.started(at)
        fake = job.fake
        fake.last_modified_time = self._dt(current.t)
        fake.creation_time = self._dt(job.created)
        failure = job.failure if current.status in ("Failed", "FAILED") else None
        if job.kind == "training":
            fake.training_job_status = current.status
            fake.secondary_status = current.secondary
            fake.secondary_status_transitions = self._transitions(job, at)
            fake.training_start_time = self._dt(start) if start is not None else None
            fake.training_end_time = self._dt(current.t) if terminal else None
            fake.failure_reason = failure
            seconds = int(current.t - start) if terminal and start is not None else None
            fake.training_time_in_seconds = seconds
            fake.billable_time_in_seconds = (
                None if seconds is None else max(1, int(seconds * _SPOT_BILLABLE)) if job.spot else seconds
            )
            reports = current.status == "Completed" or (
                current.status == "Stopped" and job.outcome.metrics_when_stopped
            )
            fake.final_metric_data_list = (
                [
                    {"MetricName": k, "Value": v, "Timestamp": self._dt(current.t)}
                    for k, v in job.outcome.metrics.items()
                ]
                if reports and terminal
                else None
            )
        elif job.kind == "processing":
            fake.processing_job_status = current.status
            fake.processing_start_time = self._dt(start) if start is not None else None
            fake.processing_end_time = self._dt(current.t) if terminal else None
            fake.failure_reason = failure
            fake.exit_message = failure
        else:
            fake.compilation_job_status = current.status
            fake.compilation_start_time = self._dt(start) if start is not None else None
            fake.compilation_end_time = self._dt(current.t) if terminal else None
            fake.failure_reason = failure or ""

    def _transitions(self, job: _Job, at: float) -> list[dict[str, Any]]:
        seen = job.seen(at)
        out: list[dict[str, Any]] = []
        for i, event in enumerate(seen):
            item: dict[str, Any] = {
                "Status": event.secondary,
                "StartTime": self._dt(event.t),
                "StatusMessage": event.message,
            }
            if i + 1 < len(seen):
                item["EndTime"] = self._dt(seen[i + 1].t)
            elif event.status in _TERMINAL:
                item["EndTime"] = self._dt(event.t)
            out.append(item)
        return out

    def _finalize(self, job: _Job) -> str | None:
        """Write the outputs of a job that just completed; a failure reason if that is impossible."""
        if job.kind == "processing":
            outputs = (job.fake.processing_output_config or {}).get("Outputs") or []
            for output in outputs:
                uri = (output.get("S3Output") or {}).get("S3Uri")
                if uri:
                    blob = _csv_blob(f"{job.name}/{output.get('OutputName')}")
                    error = self._write_s3(job.backend, _join_s3(uri, "part-00000.csv"), blob)
                    if error is not None:
                        return error
            return None
        uri = job.outcome.artifact_uri
        if uri is None:
            return None
        meta = {
            "mlcp_local": 1,
            "job": job.name,
            "kind": job.kind,
            "metrics": job.outcome.metrics,
            "objective": (
                None
                if job.outcome.objective is None
                else dict(zip(("MetricName", "Type", "Value"), job.outcome.objective, strict=True))
            ),
            "payload_bytes": job.outcome.payload,
            **job.outcome.meta,
        }
        blob = _model_blob(meta, job.outcome.payload, job.name)
        error = self._write_s3(job.backend, uri, blob)
        if error is None:
            job.artifact_bytes = len(blob)
            if job.kind == "compilation":
                job.fake.model_digests = {"ArtifactDigest": hashlib.sha256(blob).hexdigest()}
        return error

    # -- processing ---------------------------------------------------------------------------------------------------

    def _api_create_processing_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["processing_job_name"]
        if name in backend.processing_jobs:
            raise ValidationError(
                message="Job name must be unique within an AWS account and region, and a job with this name "
                f"already exists ({backend.processing_jobs[name].arn})"
            )
        fake = call()
        now = self.clock.seconds()
        duration = self.durations.processing
        failure = self.faults.job_failure(name)
        start = now + 0.3 * duration
        events = [
            _Event(now, "InProgress", None, "Provisioning instances"),
            _Event(start, "InProgress", "Running", "Processing job running"),
            _Event(now + duration, "Completed", None, "Processing job completed"),
        ]
        if failure is not None:
            events = [*events[:2], _Event(start + 0.5 * (now + duration - start), "Failed", None, failure)]
        job = _Job("processing", name, fake, backend, now, events, "Running", failure=failure)
        self._jobs[self._key(backend, "processing", name)] = job
        self._settle(job, now)
        return fake

    def _api_describe_processing_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        job = self._job(backend, "processing", p["processing_job_name"])
        if job is not None:
            self._settle(job, self.clock.seconds())
        return call()

    def _api_stop_processing_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        job = self._job(backend, "processing", p["processing_job_name"])
        if job is None:
            return call()
        self._stop_job(job, "processing job")
        return None

    def _api_list_processing_jobs(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], _p: dict[str, Any]
    ) -> Any:
        self._settle_all(self.clock.seconds(), backend)
        return call()

    def _stop_job(self, job: _Job, what: str) -> None:
        now = self.clock.seconds()
        if job.tuning is not None:
            self._advance_tuning(job.tuning, now)
        self._settle(job, now)
        status = job.state(now).status
        if status not in ("InProgress", "INPROGRESS", "STARTING"):
            raise ValidationError(message=f"The request was rejected because the {what} is in status {status}.")
        self._stop(job, now)
        self._settle(job, now)

    # -- training -----------------------------------------------------------------------------------------------------

    def _api_create_training_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["training_job_name"]
        if name in backend.training_jobs:
            raise ValidationError(
                message="Training job names must be unique within an AWS account and region, and a training job "
                f"with this name already exists ({backend.training_jobs[name].arn})"
            )
        algorithm = copy.deepcopy(p.get("algorithm_specification") or {})
        fake = call()
        fake.algorithm_specification = algorithm  # moto replaces the metric definitions with its own
        now = self.clock.seconds()
        failure = self.faults.job_failure(name)
        hyper = {str(k): str(v) for k, v in (p.get("hyper_parameters") or {}).items()}
        if any(k in hyper for k in ("mlcp_method", "mlcp_target_sparsity", "mlcp_dtype")):
            outcome, duration, read_error = self._compression_outcome(backend, name, hyper, p, algorithm)
            failure = failure or read_error
        else:
            seed = json.dumps({"image": algorithm.get("TrainingImage"), "hp": hyper}, sort_keys=True)
            landscape = _Landscape(seed, [], None, True)
            q = landscape.quality(hyper)
            complexity = landscape.complexity(hyper)
            outcome = _Outcome(
                metrics=landscape.metrics(q, _metric_names(algorithm)),
                payload=int(_MIN_PAYLOAD + _PAYLOAD_RANGE * complexity),
                meta={"hyperparameters": hyper},
            )
            duration = self.durations.training * (0.7 + 0.6 * complexity)
        self._new_training(backend, fake, created=now, duration=duration, outcome=outcome, failure=failure)
        return fake

    def _compression_outcome(
        self,
        backend: SageMakerModelBackend,
        name: str,
        hyper: Mapping[str, str],
        p: Mapping[str, Any],
        algorithm: Mapping[str, Any],
    ) -> tuple[_Outcome, float, str | None]:
        """Read the base model from the ``model`` channel and derive the compressed size and metrics."""
        duration = self.durations.compression
        model_uri = next(
            (
                c["DataSource"]["S3DataSource"]["S3Uri"]
                for c in p.get("input_data_config") or []
                if c.get("ChannelName") == _MODEL_CHANNEL and "S3DataSource" in (c.get("DataSource") or {})
            ),
            None,
        )
        blob = self._read_s3(backend, model_uri) if model_uri else None
        if blob is None:
            reason = f"ClientError: Data download failed: could not download the model channel ({model_uri})"
            return _Outcome(), duration, reason
        meta = _read_meta(blob) or {}
        base_payload = int(meta.get("payload_bytes") or len(blob))
        base_metrics: dict[str, float] = {str(k): float(v) for k, v in (meta.get("metrics") or {}).items()}
        objective_meta = meta.get("objective") or {}
        objective_name = str(hyper.get("mlcp_objective_metric") or objective_meta.get("MetricName") or "")
        objective_type = str(
            objective_meta.get("Type") or ("Minimize" if _lower_is_better(objective_name) else "Maximize")
        )
        method = hyper.get("mlcp_method") or ("pruning" if "mlcp_target_sparsity" in hyper else "quantization")
        sparsity = 0.0
        if "mlcp_target_sparsity" in hyper:
            sparsity = _clamp(float(hyper["mlcp_target_sparsity"]), 0.0, 0.99)
            structured = hyper.get("mlcp_structured", "false").lower() == "true"
            factor = 1 - sparsity * (_STRUCTURED_PRUNING_SLOPE if structured else _PRUNING_SLOPE)
            drop = (0.002 + 0.04 * sparsity**2) * (1.5 if structured else 1.0)
        else:
            dtype = hyper.get("mlcp_dtype", "int8")
            factor, drop = _QUANTIZATION.get(dtype, (0.5, 0.003))
            if dtype == "int8" and hyper.get("mlcp_calibration_channel"):
                drop = _CALIBRATED_INT8_DROP
        drop += self.faults.metric_drop(name)
        payload = max(1024, round(base_payload * factor))
        metrics: dict[str, float] = {}
        base_value = base_metrics.get(objective_name, objective_meta.get("Value"))
        relative = drop / abs(float(base_value)) if base_value else 0.0
        objective: tuple[str, str, float] | None = None
        for metric in list(dict.fromkeys([objective_name, *_metric_names(algorithm)])):
            lower = objective_type == "Minimize" if metric == objective_name else _lower_is_better(metric)
            if metric == objective_name and base_value is not None:
                value = round(float(base_value) + (drop if lower else -drop), 6)
                objective = (metric, objective_type, value)
            elif metric in base_metrics:
                value = round(base_metrics[metric] * ((1 + relative) if lower else (1 - relative)), 6)
            elif "sparsity" in metric.lower():
                value = round(sparsity, 6)
            elif "ratio" in metric.lower():
                value = round(factor, 6)
            elif "size" in metric.lower() or "bytes" in metric.lower():
                value = float(payload)
            else:
                continue
            metrics[metric] = value
        outcome = _Outcome(
            metrics=metrics,
            objective=objective,
            payload=payload,
            meta={"hyperparameters": dict(hyper), "base_model": model_uri, "method": method, "size_factor": factor},
        )
        return outcome, duration, None

    def _api_describe_training_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        job = self._job(backend, "training", p["training_job_name"])
        if job is not None:
            now = self.clock.seconds()
            if job.tuning is not None:
                self._advance_tuning(job.tuning, now)
            self._settle(job, now)
        return call()

    def _api_list_training_jobs(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], _p: dict[str, Any]
    ) -> Any:
        self._settle_all(self.clock.seconds(), backend)
        return call()

    def _api_stop_training_job(
        self, backend: SageMakerModelBackend, _call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["training_job_name"]
        job = self._job(backend, "training", name)
        if job is None:
            if name in backend.training_jobs:  # created while no backend was active: moto's job is Completed
                raise ValidationError(
                    message="The request was rejected because the training job is in status Completed."
                )
            raise ResourceNotFound(message=f"Could not find training job '{name}'.")
        self._stop_job(job, "training job")
        return None

    # -- compilation --------------------------------------------------------------------------------------------------

    def _api_create_compilation_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["compilation_job_name"]
        arn = call()
        fake = backend.compilation_jobs[name]
        now = self.clock.seconds()
        duration = self.durations.compilation
        failure = self.faults.job_failure(name)
        input_uri = (p.get("input_config") or {}).get("S3Uri")
        output = p.get("output_config") or {}
        platform = output.get("TargetPlatform") or {}
        target = output.get("TargetDevice") or "_".join(
            str(platform[k]).lower() for k in ("Os", "Arch", "Accelerator") if platform.get(k)
        )
        base_name = (input_uri or "model.tar.gz").rstrip("/").rsplit("/", 1)[-1].removesuffix(".tar.gz") or "model"
        artifact = _join_s3(str(output.get("S3OutputLocation", "")), f"{base_name}-{target or 'compiled'}.tar.gz")
        blob = self._read_s3(backend, input_uri) if input_uri else None
        outcome = _Outcome(artifact_uri=artifact)
        if blob is None:
            failure = failure or f"ClientError: InputConfiguration: Unable to download the model from {input_uri}"
        else:
            meta = _read_meta(blob) or {}
            base_payload = int(meta.get("payload_bytes") or len(blob))
            outcome.payload = max(1024, round(base_payload * _NEO_SIZE_FACTOR))
            outcome.meta = {"base_model": input_uri, "target": target, "size_factor": _NEO_SIZE_FACTOR}
            if meta.get("objective"):
                objective = meta["objective"]
                outcome.objective = (str(objective["MetricName"]), str(objective["Type"]), float(objective["Value"]))
        start = now + 0.15 * duration
        events = [
            _Event(now, "STARTING", None, "Starting the compilation job"),
            _Event(start, "INPROGRESS", None, "Compiling the model"),
            _Event(now + duration, "COMPLETED", None, "Compilation job completed"),
        ]
        if failure is not None:
            events = [*events[:2], _Event(start + 0.5 * (now + duration - start), "FAILED", None, failure)]
        fake.model_artifacts = {"S3ModelArtifacts": artifact}
        job = _Job("compilation", name, fake, backend, now, events, "INPROGRESS", failure=failure, outcome=outcome)
        self._jobs[self._key(backend, "compilation", name)] = job
        self._settle(job, now)
        return arn

    def _api_describe_compilation_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        job = self._job(backend, "compilation", p["compilation_job_name"])
        if job is None:
            return call()
        self._settle(job, self.clock.seconds())
        return _drop_none(call(), "FailureReason")

    def _api_list_compilation_jobs(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], _p: dict[str, Any]
    ) -> Any:
        self._settle_all(self.clock.seconds(), backend)
        return call()

    def _api_stop_compilation_job(
        self, backend: SageMakerModelBackend, _call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["compilation_job_name"]
        job = self._job(backend, "compilation", name)
        if job is None:
            if name in backend.compilation_jobs:
                raise ValidationError(
                    message="The request was rejected because the compilation job is in status COMPLETED."
                )
            raise ResourceNotFound(message=f"Could not find compilation job '{name}'.")
        self._stop_job(job, "compilation job")
        return None

    # -- hyperparameter tuning ----------------------------------------------------------------------------------------

    def _api_create_hyper_parameter_tuning_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["hyper_parameter_tuning_job_name"]
        config = p.get("hyper_parameter_tuning_job_config") or {}
        definition = p.get("training_job_definition") or next(iter(p.get("training_job_definitions") or []), None)
        if not definition:
            raise ValidationError(message="TrainingJobDefinition or TrainingJobDefinitions is required.")
        params = _parse_ranges(config.get("ParameterRanges") or definition.get("HyperParameterRanges") or {})
        strategy = str(config.get("Strategy") or "Bayesian")
        if strategy == "Grid" and any(param.numeric for param in params):
            raise ValidationError(message="The Grid search strategy supports only categorical parameter ranges.")
        if strategy == "Grid" and not params:
            raise ValidationError(message="The Grid search strategy needs at least one categorical parameter range.")
        arn = call()
        fake = backend.hyper_parameter_tuning_jobs[name]
        now = self.clock.seconds()
        objective_spec = config.get("HyperParameterTuningJobObjective") or definition.get("TuningObjective") or {}
        objective = str(objective_spec.get("MetricName") or "objective")
        objective_type = str(objective_spec.get("Type") or "Maximize")
        algorithm = definition.get("AlgorithmSpecification") or {}
        landscape_seed = json.dumps(
            {
                "ranges": config.get("ParameterRanges") or definition.get("HyperParameterRanges"),
                "objective": objective_spec,
                "static": definition.get("StaticHyperParameters"),
                "image": algorithm.get("TrainingImage") or algorithm.get("AlgorithmName"),
            },
            sort_keys=True,
        )
        limits = config.get("ResourceLimits") or {}
        grid = None
        if strategy == "Grid":
            grid = [
                dict(zip([q.name for q in params], combo, strict=True))
                for combo in itertools.product(*(q.values for q in params))
            ]
        max_jobs = len(grid) if grid is not None else int(limits.get("MaxNumberOfTrainingJobs") or 10)
        hyperband = (config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
        min_resource = float(hyperband.get("MinResource") or 1)
        max_resource = float(hyperband.get("MaxResource") or 3)
        seed = config.get("RandomSeed")
        tuning = _Tuning(
            name=name,
            fake=fake,
            backend=backend,
            created=now,
            strategy=strategy,
            params=params,
            landscape=_Landscape(landscape_seed, params, objective, objective_type != "Minimize"),
            objective=objective,
            objective_type=objective_type,
            max_jobs=max_jobs,
            max_parallel=max(1, int(limits.get("MaxParallelTrainingJobs") or 1)),
            seed=f"seed:{seed}" if seed is not None else f"name:{name}",
            definition=copy.deepcopy(definition),
            tags=list(p.get("tags") or []),
            grid=grid,
            min_resource_fraction=_clamp(min_resource / max_resource if max_resource > 0 else 1 / 3, 0.05, 0.9),
            planned_failure=self.faults.job_failure(name),
            cursor=now + self.durations.tuning_startup,
        )
        self._tunings[(backend.account_id, backend.region_name, name)] = tuning
        self._advance_tuning(tuning, now)
        return arn

    def _advance_tuning(self, tuning: _Tuning, now: float) -> None:
        """Run the tuning job's scheduler up to ``now``: launch trials as slots free up, finish when done."""
        if tuning.ended is None and tuning.planned_failure is not None and tuning.cursor <= now:
            self._end_tuning(tuning, "Failed", tuning.cursor, tuning.planned_failure)
        while tuning.ended is None and tuning.cursor <= now:
            t = tuning.cursor
            for trial in tuning.trials:
                if trial.job.end <= t:
                    self._settle(trial.job, t)
            finished = [tr for tr in tuning.trials if tr.job.end <= t]
            failed = [tr for tr in finished if tr.job.events[-1].status == "Failed"]
            succeeded = [tr for tr in finished if tr.job.events[-1].status == "Completed"]
            active = [tr for tr in tuning.trials if tr.job.end > t]
            limit = min(_TUNING_FAIL_FAST, tuning.max_jobs)
            if not succeeded and len(failed) >= limit and tuning.stop_requested is None:
                reason = (
                    f"No training job succeeded after {len(failed)} attempts. Please take a look at the training "
                    f"job failures to get more details. Last failure: {failed[-1].job.failure}"
                )
                for trial in active:
                    self._stop(trial.job, t)
                self._end_tuning(tuning, "Failed", t, reason)
                break
            if tuning.stop_requested is None:
                while len(active) < tuning.max_parallel and len(tuning.trials) < tuning.max_jobs:
                    active.append(self._launch_trial(tuning, t))
            if not active:
                status = "Stopped" if tuning.stop_requested is not None else "Completed"
                self._end_tuning(tuning, status, t, None)
                break
            tuning.cursor = min(tr.job.end for tr in active)
        self._show_tuning(tuning, now)

    def _end_tuning(self, tuning: _Tuning, status: str, at: float, reason: str | None) -> None:
        tuning.ended = at
        tuning.cursor = at
        tuning.final_status = status
        tuning.failure = reason

    def _propose(self, tuning: _Tuning, index: int, at: float) -> dict[str, str]:
        if tuning.grid is not None:
            return dict(tuning.grid[index - 1])
        rng = _rng(tuning.seed, index)
        warmup = max(3, tuning.max_parallel)
        if tuning.strategy != "Bayesian" or index <= warmup or rng.random() < 0.15:
            return {param.name: param.sample(rng) for param in tuning.params}
        done = [tr for tr in tuning.trials if tr.job.end <= at and tr.job.events[-1].status == "Completed"]
        if not done:
            return {param.name: param.sample(rng) for param in tuning.params}
        incumbent = max(done, key=lambda tr: (tr.quality, -tr.index))
        sigma = max(0.04, 0.25 * 0.8 ** (index - warmup))
        values: dict[str, str] = {}
        for param in tuning.params:
            current = incumbent.values[param.name]
            if param.numeric:
                values[param.name] = param.value(param.unit(current) + rng.gauss(0.0, sigma))
            else:
                values[param.name] = current if rng.random() < 0.75 else rng.choice(param.values)
        return values

    def _launch_trial(self, tuning: _Tuning, at: float) -> _Trial:
        index = len(tuning.trials) + 1
        values = self._propose(tuning, index, at)
        name = f"{tuning.name}-{index:03d}-{_digest(tuning.name, index).hex()[:8]}"
        definition = tuning.definition
        hyper = {
            **{str(k): str(v) for k, v in (definition.get("StaticHyperParameters") or {}).items()},
            **values,
            "_tuning_objective_metric": tuning.objective,
        }
        algorithm = copy.deepcopy(definition.get("AlgorithmSpecification") or {})
        fake = _ORIGINALS["create_training_job"](
            tuning.backend,
            training_job_name=name,
            hyper_parameters=hyper,
            algorithm_specification=copy.deepcopy(algorithm),
            role_arn=definition.get("RoleArn"),
            input_data_config=copy.deepcopy(definition.get("InputDataConfig")),
            output_data_config=copy.deepcopy(definition.get("OutputDataConfig")),
            resource_config=copy.deepcopy(definition.get("ResourceConfig")),
            vpc_config=copy.deepcopy(definition.get("VpcConfig")),
            stopping_condition=copy.deepcopy(definition.get("StoppingCondition")),
            tags=copy.deepcopy(tuning.tags),
            enable_network_isolation=bool(definition.get("EnableNetworkIsolation", False)),
            enable_inter_container_traffic_encryption=bool(
                definition.get("EnableInterContainerTrafficEncryption", False)
            ),
            enable_managed_spot_training=bool(definition.get("EnableManagedSpotTraining", False)),
            checkpoint_config=copy.deepcopy(definition.get("CheckpointConfig")),
            debug_hook_config=None,
            debug_rule_configurations=None,
            tensor_board_output_config=None,
            experiment_config=None,
        )
        fake.algorithm_specification = algorithm
        landscape = tuning.landscape
        quality = landscape.quality(values)
        complexity = landscape.complexity(values)
        metrics = landscape.metrics(quality, _metric_names(algorithm))
        outcome = _Outcome(
            metrics=metrics,
            objective=(tuning.objective, tuning.objective_type, metrics[tuning.objective]),
            payload=int(_MIN_PAYLOAD + _PAYLOAD_RANGE * complexity),
            meta={"hyperparameters": hyper, "tuning_job": tuning.name},
        )
        duration = self.durations.training * (0.7 + 0.6 * complexity)
        failure = self.faults.job_failure(name)
        job = self._new_training(
            tuning.backend, fake, created=at, duration=duration, outcome=outcome, failure=failure, tuning=tuning
        )
        if tuning.strategy == "Hyperband" and failure is None:
            self._maybe_early_stop(tuning, job, quality, at)
        trial = _Trial(index=index, values=values, quality=quality, job=job)
        tuning.trials.append(trial)
        return trial

    def _maybe_early_stop(self, tuning: _Tuning, job: _Job, quality: float, at: float) -> None:
        done = [tr.quality for tr in tuning.trials if tr.job.end <= at and tr.job.events[-1].status == "Completed"]
        if len(done) < max(2, tuning.max_parallel):
            return
        median = sorted(done)[len(done) // 2]
        if quality >= median:
            return
        training = next(e.t for e in job.events if e.secondary == "Training")
        uploading = next((e.t for e in job.events if e.secondary == "Uploading"), job.end)
        stop_at = training + tuning.min_resource_fraction * (uploading - training)
        if stop_at >= job.end:
            return
        partial = quality * (0.5 + 0.5 * tuning.min_resource_fraction)
        metrics = tuning.landscape.metrics(partial, job.outcome.metrics)
        job.outcome = _Outcome(
            metrics=metrics,
            objective=(tuning.objective, tuning.objective_type, metrics[tuning.objective]),
            payload=job.outcome.payload,
            artifact_uri=None,
            meta=job.outcome.meta,
            metrics_when_stopped=True,
        )
        self._stop(job, stop_at)
        self._settle(job, at)

    def _show_tuning(self, tuning: _Tuning, now: float) -> None:
        """Write the tuning job's state at ``now`` onto moto's record."""
        fake = tuning.fake
        ended = tuning.ended is not None and tuning.ended <= now
        counters = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
        objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
        best: _Trial | None = None
        last_event = tuning.created
        for trial in tuning.trials:
            self._settle(trial.job, now)
            state = trial.job.state(now)
            last_event = max(last_event, state.t)
            if state.status == "Completed":
                counters["Completed"] += 1
                objectives["Succeeded"] += 1
                if best is None or self._better(tuning, trial, best):
                    best = trial
            elif state.status == "Failed":
                retryable = any(w in (trial.job.failure or "") for w in ("InternalServerError", "CapacityError"))
                counters["RetryableError" if retryable else "NonRetryableError"] += 1
                objectives["Failed"] += 1
            elif state.status == "Stopped":
                counters["Stopped"] += 1
                objectives["Succeeded" if trial.job.outcome.metrics_when_stopped else "Failed"] += 1
            else:
                counters["InProgress"] += 1
                objectives["Pending"] += 1
        if ended:
            status = tuning.final_status or "Completed"
        elif tuning.stop_requested is not None:
            status = "Stopping"
        else:
            status = "InProgress"
        fake.hyper_parameter_tuning_job_status = status
        fake.creation_time = self._dt(tuning.created)
        end = tuning.ended if ended and tuning.ended is not None else None
        fake.last_modified_time = self._dt(max(last_event, end or 0.0))
        fake.hyper_parameter_tuning_end_time = self._dt(end) if end is not None else None
        fake.training_job_status_counters = counters
        fake.objective_status_counters = objectives
        fake.best_training_job = self._summary(tuning, best, now) if best is not None else None
        fake.OverallBestTrainingJob = None
        fake.failure_reason = tuning.failure if ended and status == "Failed" else None
        fake.tuning_job_completion_details = {
            "NumberOfTrainingJobsObjectiveNotImproving": self._not_improving(tuning, now)
        }
        fake.consumed_resources = {"RuntimeInSeconds": int((end if end is not None else now) - tuning.created)}

    def _better(self, tuning: _Tuning, a: _Trial, b: _Trial) -> bool:
        va, vb = tuning.objective_value(a), tuning.objective_value(b)
        if va is None or vb is None:
            return vb is None and va is not None
        if va == vb:
            return a.index < b.index
        return va > vb if tuning.maximize else va < vb

    def _not_improving(self, tuning: _Tuning, now: float) -> int:
        completed = sorted(
            (tr for tr in tuning.trials if tr.job.state(now).status == "Completed"),
            key=lambda tr: (tr.job.end, tr.index),
        )
        best: _Trial | None = None
        since = 0
        for trial in completed:
            if best is None or self._better(tuning, trial, best):
                best, since = trial, 0
            else:
                since += 1
        return since

    def _summary(self, tuning: _Tuning, trial: _Trial, now: float) -> dict[str, Any]:
        job = trial.job
        state = job.state(now)
        start = job.started(now)
        summary: dict[str, Any] = {
            "TrainingJobName": job.name,
            "TrainingJobArn": job.fake.arn,
            "CreationTime": self._dt(job.created),
            "TrainingJobStatus": state.status,
            "TunedHyperParameters": dict(trial.values),
        }
        if start is not None:
            summary["TrainingStartTime"] = self._dt(start)
        if state.status in _TERMINAL:
            summary["TrainingEndTime"] = self._dt(state.t)
        if state.status == "Failed":
            summary["FailureReason"] = job.failure
            summary["ObjectiveStatus"] = "Failed"
        elif state.status == "Completed" or (state.status == "Stopped" and job.outcome.metrics_when_stopped):
            value = tuning.objective_value(trial)
            summary["ObjectiveStatus"] = "Succeeded"
            if value is not None:
                summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                    "Type": tuning.objective_type,
                    "MetricName": tuning.objective,
                    "Value": value,
                }
        elif state.status == "Stopped":
            summary["ObjectiveStatus"] = "Failed"
        else:
            summary["ObjectiveStatus"] = "Pending"
        return summary

    def _api_describe_hyper_parameter_tuning_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        tuning = self._tuning(backend, p["hyper_parameter_tuning_job_name"])
        if tuning is None:
            return call()
        self._advance_tuning(tuning, self.clock.seconds())
        response = _drop_none(call())
        if not response.get("FailureReason"):
            response.pop("FailureReason", None)
        return response

    def _api_list_hyper_parameter_tuning_jobs(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], _p: dict[str, Any]
    ) -> Any:
        self._settle_all(self.clock.seconds(), backend)
        return call()

    def _api_stop_hyper_parameter_tuning_job(
        self, backend: SageMakerModelBackend, _call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["hyper_parameter_tuning_job_name"]
        tuning = self._tuning(backend, name)
        if tuning is None:
            if name in backend.hyper_parameter_tuning_jobs:
                raise ValidationError(
                    message="The request was rejected because the hyperparameter tuning job is in status Completed."
                )
            raise ResourceNotFound(message=f"Could not find hyper parameter tuning job '{name}'.")
        now = self.clock.seconds()
        self._advance_tuning(tuning, now)
        status = tuning.fake.hyper_parameter_tuning_job_status
        if status != "InProgress":
            raise ValidationError(
                message=f"The request was rejected because the hyperparameter tuning job is in status {status}."
            )
        tuning.stop_requested = now
        tuning.planned_failure = None
        for trial in tuning.trials:
            if trial.job.end > now:
                self._stop(trial.job, now)
        tuning.cursor = now
        self._advance_tuning(tuning, now)
        return None

    def _api_list_training_jobs_for_hyper_parameter_tuning_job(
        self, backend: SageMakerModelBackend, _call: Callable[[], Any], p: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], str | None]:
        name = p["hyper_parameter_tuning_job_name"]
        tuning = self._tuning(backend, name)
        if tuning is None:
            if name not in backend.hyper_parameter_tuning_jobs:
                raise ResourceNotFound(message=f"Could not find hyper parameter tuning job '{name}'.")
            return [], None  # created while no backend was active: moto launched no trials
        now = self.clock.seconds()
        self._advance_tuning(tuning, now)
        summaries = [self._summary(tuning, trial, now) for trial in tuning.trials]
        if p.get("status_equals"):
            summaries = [s for s in summaries if s["TrainingJobStatus"] == p["status_equals"]]
        sort_by = p.get("sort_by") or "Name"
        descending = p.get("sort_order") == "Descending"
        if sort_by == "FinalObjectiveMetricValue":
            summaries = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
            summaries.sort(key=lambda s: float(s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]))
        else:
            field_name = {"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus"}.get(
                str(sort_by), "TrainingJobName"
            )
            summaries.sort(key=lambda s: (s[field_name], s["TrainingJobName"]))
        if descending:
            summaries.reverse()
        start = int(p.get("next_token") or 0)
        size = int(p.get("max_results") or 10)
        page = summaries[start : start + size]
        token = str(start + size) if start + size < len(summaries) else None
        return page, token

    # -- AWS Batch arrays ---------------------------------------------------------------------------------------------

    def _api_submit_job(self, backend: BatchBackend, call: Callable[[], Any], p: dict[str, Any]) -> Any:
        size = int((p.get("array_properties") or {}).get("size") or 0)
        env = {
            str(e.get("name")): str(e.get("value"))
            for e in (p.get("container_overrides") or {}).get("environment") or []
        }
        sharded = "MLCP_ITEMS_PER_CHILD" in env and "MLCP_ITEM_COUNT" in env
        if size <= 0 and not sharded:
            return call()  # a single job outside the shard contract: moto's own (Docker) behaviour
        original_start = BatchJob.start
        try:  # create moto's parent + children records without starting their Docker threads
            BatchJob.start = _no_start
            result = call()
        finally:
            BatchJob.start = original_start
        _, job_id, _ = result
        parent = backend._jobs[job_id]
        now = self.clock.seconds()
        name = str(p["job_name"])
        child_jobs = list(parent._child_jobs or []) if size > 0 else [parent]
        work = self._work_of(backend, p, env) if sharded else None
        children: list[_BatchChild] = []
        lanes = [now] * min(self._slots(backend, p), len(child_jobs))
        for child_job in child_jobs:
            index = int(child_job.array_properties["index"]) if size > 0 else 0
            lane = min(range(len(lanes)), key=lambda i: (lanes[i], i))
            started = lanes[lane] + self.durations.batch_startup
            seconds = work(name, index) if work is not None else float(self.batch_child_duration(name, index))
            duration = max(0.0, seconds)
            failure = self.faults.job_failure(f"{name}:{index}")
            end = started + (0.5 * duration if failure is not None else duration)
            lanes[lane] = end
            child_job.job_created_at = self._dt(now)
            child_job._transitions = []  # moto's ManagedState would otherwise jump to RUNNING when read
            children.append(_BatchChild(child_job, index, now, started, end, failure))
        parent.job_created_at = self._dt(now)
        parent._transitions = []
        array = _BatchArray(parent, backend, now, children, single=size <= 0)
        self._arrays[(backend.account_id, backend.region_name, job_id)] = array
        self._settle_array(array, now)
        return result

    def _work_of(self, backend: BatchBackend, p: dict[str, Any], env: Mapping[str, str]) -> Callable[[str, int], float]:
        """Child seconds from the shard contract: items of the child's shard x the job definition's cost model."""
        definition = str(p.get("job_def_id") or "").rsplit("/", 1)[-1].split(":", 1)[0]
        model = self.batch_work.get(definition, self.batch_work_default)
        per_child, total = int(env["MLCP_ITEMS_PER_CHILD"]), int(env["MLCP_ITEM_COUNT"])
        index_map: list[int] | None = None
        if env.get("MLCP_INDEX_MAP_URI"):
            blob = self._read_s3(backend, env["MLCP_INDEX_MAP_URI"])
            index_map = [int(i) for i in json.loads(blob)] if blob else None

        def seconds(name: str, index: int) -> float:
            shard = index_map[index] if index_map is not None and index < len(index_map) else index
            items = max(0, min(per_child, total - shard * per_child))
            return model.seconds(name, shard, items)

        return seconds

    def _slots(self, backend: BatchBackend, p: dict[str, Any]) -> int:
        """Children running at once: the queue's compute environments' maxvCpus / the child's vCPUs (AWS places
        jobs while capacity lasts); ``batch_parallelism`` when the queue or its capacity is unknown."""
        queue = backend.get_job_queue(str(p.get("job_queue") or ""))
        if queue is None:
            return self.batch_parallelism
        capacity = 0
        for environment in queue.environments:
            resources = environment.compute_resources or {}
            capacity += int(resources.get("maxvCpus") or 0)
        if capacity <= 0:
            return self.batch_parallelism
        vcpus = 1.0
        for requirement in (p.get("container_overrides") or {}).get("resourceRequirements") or []:
            if requirement.get("type") == "VCPU":
                vcpus = float(requirement["value"])
        return max(1, int(capacity // vcpus))

    def _child_status(self, child: _BatchChild, now: float) -> str:
        if child.terminated is not None and child.terminated <= now:
            return "FAILED"
        if now >= child.end:
            return "FAILED" if child.failure is not None else "SUCCEEDED"
        if now >= child.started:
            return "RUNNING"
        startup = self.durations.batch_startup
        if now - child.submitted < 0.1 * startup:
            return "SUBMITTED"
        if now - child.submitted < 0.2 * startup:
            return "PENDING"
        if child.started - now <= 0.3 * startup:
            return "STARTING"
        return "RUNNABLE"  # waiting for a free slot (batch_parallelism) or for capacity

    def _settle_array(self, array: _BatchArray, now: float) -> None:
        if array.backend._jobs.get(array.parent.job_id) is not array.parent:
            return
        statuses: list[str] = []
        for child in array.children:
            status = self._child_status(child, now)
            statuses.append(status)
            job = child.job
            job.status = status
            if status in ("RUNNING", "SUCCEEDED", "FAILED"):
                job.job_started_at = self._dt(min(child.started, child.terminated or child.started))
            if status in ("SUCCEEDED", "FAILED"):
                stopped = child.end if child.terminated is None else min(child.terminated, child.end)
                job.job_stopped = True
                job.job_stopped_at = self._dt(stopped)
                job.exit_code = 0 if status == "SUCCEEDED" else 1
                if status == "FAILED":
                    job.job_stopped_reason = child.reason or child.failure or "Essential container in task exited"
        if array.single:
            return  # the job itself was the one child
        parent = array.parent
        if statuses and all(s == "SUCCEEDED" for s in statuses):
            parent_status = "SUCCEEDED"
        elif statuses and all(s in ("SUCCEEDED", "FAILED") for s in statuses):
            parent_status = "FAILED"
        elif any(s in ("RUNNING", "SUCCEEDED", "FAILED") for s in statuses):
            parent_status = "RUNNING"
        elif any(s in ("RUNNABLE", "STARTING") for s in statuses):
            parent_status = "RUNNABLE"
        else:
            parent_status = "PENDING"
        parent.status = parent_status
        started = [
            c.started for c in array.children if self._child_status(c, now) in ("RUNNING", "SUCCEEDED", "FAILED")
        ]
        if started:
            parent.job_started_at = self._dt(min(started))
        if parent_status in ("SUCCEEDED", "FAILED"):
            parent.job_stopped = True
            parent.job_stopped_at = self._dt(
                max(c.end if c.terminated is None else min(c.terminated, c.end) for c in array.children)
            )
            if parent_status == "FAILED":
                failed = sum(1 for s in statuses if s == "FAILED")
                parent.job_stopped_reason = f"{failed} of {len(statuses)} child jobs failed"

    def _array_of(self, backend: BatchBackend, job_id: str) -> _BatchArray | None:
        array = self._arrays.get((backend.account_id, backend.region_name, job_id.split(":", maxsplit=1)[0]))
        if array is None or backend._jobs.get(array.parent.job_id) is not array.parent:
            return None
        return array

    def _api_describe_jobs(self, backend: BatchBackend, call: Callable[[], Any], _p: dict[str, Any]) -> Any:
        now = self.clock.seconds()
        for array in list(self._arrays.values()):
            if array.backend is backend:
                self._settle_array(array, now)
        described: list[dict[str, Any]] = call()
        for item in described:
            owner = self._array_of(backend, str(item.get("jobId", "")))
            if owner is None:
                continue
            if owner.single:
                item["status"] = owner.parent.status
            elif item["jobId"] == owner.parent.job_id:
                summary = dict.fromkeys(
                    ("STARTING", "FAILED", "RUNNING", "SUCCEEDED", "RUNNABLE", "SUBMITTED", "PENDING"), 0
                )
                for child in owner.children:
                    summary[self._child_status(child, now)] += 1
                item["arrayProperties"] = {"statusSummary": summary, "size": len(owner.children)}
                item["status"] = owner.parent.status
            else:
                item["arrayProperties"] = {"index": int(item["jobId"].rsplit(":", 1)[1])}
        return described

    def _api_list_jobs(self, backend: BatchBackend, call: Callable[[], Any], _p: dict[str, Any]) -> Any:
        now = self.clock.seconds()
        for array in list(self._arrays.values()):
            if array.backend is backend:
                self._settle_array(array, now)
        return call()

    def _api_terminate_job(self, backend: BatchBackend, call: Callable[[], Any], p: dict[str, Any]) -> Any:
        job_id = str(p.get("job_id") or "")
        array = self._array_of(backend, job_id)
        if array is None:
            return call()
        now = self.clock.seconds()
        reason = str(p.get("reason") or "")
        if not reason:
            return call()  # moto's validation error
        for child in array.children:
            if job_id in (array.parent.job_id, child.job.job_id) and child.end > now:
                child.terminated = now
                child.reason = reason
        self._settle_array(array, now)
        return None

    def _api_cancel_job(self, backend: BatchBackend, call: Callable[[], Any], p: dict[str, Any]) -> Any:
        job_id = str(p.get("job_id") or "")
        array = self._array_of(backend, job_id)
        if array is None or not p.get("reason"):
            return call()
        now = self.clock.seconds()
        for child in array.children:
            if job_id in (array.parent.job_id, child.job.job_id) and child.started > now:
                child.terminated = now
                child.reason = str(p["reason"])
        self._settle_array(array, now)
        return None
