"""The local job runner: script-mode training jobs and FrameworkProcessor processing jobs as real local processes.

:class:`ScriptRunner` prepares a job directory standing in for ``/opt/ml`` (:mod:`.script_mode`), downloads the
job's inputs from the local S3 (moto's backend, no API call), starts the entry point with ``sys.executable``
(:mod:`.local_process`) and, once it has ended, turns its exit into what the job shows: the final metrics (the metric
definitions' regexes over the log), ``model.tar.gz`` (and ``output.tar.gz`` when ``output/data`` holds files) at
``<S3OutputPath>/<job>/output/``, a processing job's outputs under each ``ProcessingOutput``'s S3 URI, the failure
reason, and the output in the job's CloudWatch Logs stream (``/aws/sagemaker/TrainingJobs`` or
``/aws/sagemaker/ProcessingJobs``, stream ``<job>/algo-1-<epoch seconds>``, as SageMaker names them).

Times: a script job's events are placed at its real (wall) durations from its creation on the simulated clock:
setting up (download) → running → uploading; so ``TrainingTimeInSeconds`` and ``BillableTimeInSeconds`` are the
real seconds the process took, while the simulated clock keeps running at its speed for everything else.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from mlcp_cli.local.backends import script_mode
from mlcp_cli.local.backends.local_process import Exit, LocalProcess
from mlcp_cli.local.backends.storage import join_s3, list_s3, read_s3

TRAINING_LOG_GROUP: Final = "/aws/sagemaker/TrainingJobs"
PROCESSING_LOG_GROUP: Final = "/aws/sagemaker/ProcessingJobs"
PROCESSING_ROOT: Final = "/opt/ml/processing"
_LOG_BATCH: Final = 1000
_NO_OBJECTS: Final = (
    'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that the bucket '
    "exists in the selected region, that objects exist under that S3 prefix, and that the role has s3:ListBucket "
    "permissions on the bucket."
)


class SetupError(Exception):
    """The job cannot start (its source, an input or a requirement is missing): the message is its FailureReason."""


@dataclass
class ScriptRun:
    """A script-mode job's process and what is needed to turn its exit into the job's outcome."""

    kind: str  # "training" | "processing"
    name: str
    root: Path
    setup_seconds: float
    process: LocalProcess | None = None
    failure: str | None = None  # the job could not start
    metric_definitions: list[Mapping[str, Any]] = field(default_factory=list)
    model_uri: str | None = None  # training: <S3OutputPath>/<job>/output/model.tar.gz
    outputs: list[tuple[str, Path]] = field(default_factory=list)  # processing: (S3 URI, local folder)
    closed: bool = False

    def exit(self) -> Exit | None:
        return None if self.process is None else self.process.exit()


@dataclass(frozen=True)
class RunResult:
    """What an ended script job shows: status, secondary status, failure reason, final metrics, files to upload."""

    status: str
    secondary: str | None
    message: str
    failure: str | None
    metrics: dict[str, float]
    files: dict[str, bytes]
    run_seconds: float
    upload_seconds: float


def _training_channels(p: Mapping[str, Any]) -> list[tuple[str, str]]:
    channels: list[tuple[str, str]] = []
    for channel in p.get("input_data_config") or []:
        uri = ((channel.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
        if uri:
            channels.append((str(channel["ChannelName"]), str(uri)))
    return channels


def _download(backend: Any, uri: str, folder: Path) -> None:
    objects = list_s3(backend, uri)
    if not objects:
        raise SetupError(_NO_OBJECTS.format(uri=uri))
    for relative, data in objects:
        target = (folder / relative).resolve()
        if not target.is_relative_to(folder.resolve()):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _source(backend: Any, uri: str, code_dir: Path) -> None:
    blob = read_s3(backend, uri)
    if blob is None:
        raise SetupError(f"ClientError: Failed to download the source code from {uri} (sagemaker_submit_directory)")
    try:
        script_mode.extract_sourcedir(blob, code_dir)
    except ValueError as exc:
        raise SetupError(f"ClientError: {exc} ({uri})") from exc


def _check_program(code_dir: Path, program: str) -> None:
    if not (code_dir / program).is_file():
        raise SetupError(f"AlgorithmError: the entry point {program!r} is not in the source directory")
    missing = script_mode.missing_requirements(code_dir / script_mode.REQUIREMENTS_FILE)
    if missing:
        raise SetupError(
            "AlgorithmError: InstallRequirementsError: the local job runner never runs pip; install these into the "
            f"local cloud's Python first: {', '.join(missing)}"
        )


def _process_env(extra: Mapping[str, str], code_dir: Path) -> dict[str, str]:
    env = {**os.environ, **extra, "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(code_dir), os.environ.get("PYTHONPATH", "")) if p)
    return env


def write_log(backend: Any, group: str, stream: str, text: str, started_epoch: float) -> None:
    """The job's output as CloudWatch Logs events (one per line) in ``group`` / ``stream`` of the local cloud."""
    from moto.logs.models import logs_backends  # noqa: PLC0415 - moto is the local cloud's, imported on use

    logs = logs_backends[backend.account_id][backend.region_name]
    if group not in logs.groups:
        logs.create_log_group(group, {})
    if stream not in logs.groups[group].streams:
        logs.create_log_stream(group, stream)
    at = int(started_epoch * 1000)
    events = [{"timestamp": at, "message": line} for line in text.splitlines() if line.strip()]
    for start in range(0, len(events), _LOG_BATCH):
        logs.put_log_events(group, stream, events[start : start + _LOG_BATCH])


def log_stream(name: str, started_epoch: float) -> str:
    return f"{name}/{script_mode.HOST}-{int(started_epoch)}"


class ScriptRunner:
    """Starts script-mode jobs as local processes (module docstring). ``on_exit`` is called when one ends."""

    def __init__(self, on_exit: Callable[[], None]) -> None:
        self._on_exit = on_exit
        self._base: Path | None = None
        self._runs: list[ScriptRun] = []
        self._lock = threading.Lock()

    def _job_root(self, name: str) -> Path:
        with self._lock:
            if self._base is None:
                self._base = Path(tempfile.mkdtemp(prefix="mlcp-jobs-"))
            root = self._base / f"{len(self._runs):04d}-{name}"
        root.mkdir(parents=True)
        return root

    def close(self) -> None:
        """Kill every process still running and delete the job directories."""
        for run in self._runs:
            if run.process is not None:
                run.process.detach()
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None
        self._runs = []

    def _start(
        self, run: ScriptRun, argv: Sequence[str], cwd: Path, env: Mapping[str, str], max_runtime: float | None
    ) -> ScriptRun:
        run.process = LocalProcess(
            argv,
            cwd=cwd,
            env=_process_env(env, cwd),
            log_path=run.root / "job.log",
            max_runtime=max_runtime,
            on_exit=self._on_exit,
        )
        self._runs.append(run)
        return run

    def start_training(
        self, backend: Any, name: str, hyper: Mapping[str, str], p: Mapping[str, Any], model_uri: str
    ) -> ScriptRun:
        """A CreateTrainingJob in script mode (``p``: moto's snake_case request) as a local process; its model goes
        to ``model_uri``."""
        started = time.monotonic()
        root = self._job_root(name)
        algorithm = p.get("algorithm_specification") or {}
        run = ScriptRun(
            "training",
            name,
            root,
            0.0,
            metric_definitions=list(algorithm.get("MetricDefinitions") or []),
            model_uri=model_uri,
        )
        program = str(script_mode.decode(hyper[script_mode.SAGEMAKER_PROGRAM]))
        try:
            script_mode.make_training_dirs(root, hyper)
            _source(backend, str(script_mode.decode(hyper[script_mode.SAGEMAKER_SUBMIT_DIRECTORY])), root / "code")
            _check_program(root / "code", program)
            channels = _training_channels(p)
            for channel, uri in channels:
                _download(backend, uri, root / "input" / "data" / channel)
        except SetupError as exc:
            run.failure = str(exc)
            run.setup_seconds = time.monotonic() - started
            self._runs.append(run)
            return run
        env = script_mode.training_env(
            root,
            job_name=name,
            program=program,
            hyper=hyper,
            channels=[c for c, _ in channels],
            region=backend.region_name,
        )
        env.update({str(k): str(v) for k, v in (p.get("environment") or {}).items()})
        argv = [sys.executable, program, *script_mode.cmd_args(script_mode.user_hyperparameters(hyper))]
        max_runtime = (p.get("stopping_condition") or {}).get("MaxRuntimeInSeconds")
        run.setup_seconds = time.monotonic() - started
        return self._start(run, argv, root / "code", env, float(max_runtime) if max_runtime is not None else None)

    def start_processing(self, backend: Any, name: str, p: Mapping[str, Any], entry_script: str) -> ScriptRun:
        """A FrameworkProcessor CreateProcessingJob as a local process: its inputs downloaded under the job
        directory's ``processing/``, ``/opt/ml/processing`` in its arguments rewritten to that folder."""
        started = time.monotonic()
        root = self._job_root(name)
        local = root / "processing"
        run = ScriptRun("processing", name, root, 0.0)
        app = p.get("app_specification") or {}
        arguments = [str(a) for a in app.get("ContainerArguments") or []]
        arguments = script_mode.rewrite_paths(arguments, PROCESSING_ROOT, local)
        try:
            code_dir = _processing_inputs(backend, p, local)
            blob = code_dir / "sourcedir.tar.gz"
            if blob.is_file():
                script_mode.extract_sourcedir(blob.read_bytes(), code_dir)
            program = script_mode.runproc_entry_point(entry_script)
            if program is None:
                raise SetupError('AlgorithmError: runproc.sh has no `python <entry point> "$@"` line')
            _check_program(code_dir, program)
        except (SetupError, ValueError) as exc:
            run.failure = str(exc)
            run.setup_seconds = time.monotonic() - started
            self._runs.append(run)
            return run
        for output in (p.get("processing_output_config") or {}).get("Outputs") or []:
            s3 = output.get("S3Output") or {}
            folder = Path(script_mode.rewrite_paths([str(s3.get("LocalPath", ""))], PROCESSING_ROOT, local)[0])
            folder.mkdir(parents=True, exist_ok=True)
            run.outputs.append((str(s3.get("S3Uri", "")), folder))
        env = {str(k): str(v) for k, v in (p.get("environment") or {}).items()}
        max_runtime = (p.get("stopping_condition") or {}).get("MaxRuntimeInSeconds")
        run.setup_seconds = time.monotonic() - started
        argv = [sys.executable, program, *arguments]
        return self._start(run, argv, code_dir, env, float(max_runtime) if max_runtime is not None else None)


def _processing_inputs(backend: Any, p: Mapping[str, Any], local: Path) -> Path:
    """Download each ProcessingInput under ``local``; the folder of the ``code`` input (the source)."""
    code_dir: Path | None = None
    for item in p.get("processing_inputs") or []:
        s3 = item.get("S3Input") or {}
        if not s3.get("S3Uri"):
            continue
        folder = Path(script_mode.rewrite_paths([str(s3.get("LocalPath", ""))], PROCESSING_ROOT, local)[0])
        _download(backend, str(s3["S3Uri"]), folder)
        if item.get("InputName") == "code":
            code_dir = folder
    if code_dir is None:
        raise SetupError("ClientError: the FrameworkProcessor job has no `code` input (the sourcedir.tar.gz prefix)")
    return code_dir


def _training_result(run: ScriptRun, exit_: Exit) -> RunResult:
    if exit_.timed_out:
        return RunResult(
            "Stopped", "MaxRuntimeExceeded", "Training job runtime exceeded MaxRuntimeInSeconds provided", None, {}, {},
            exit_.seconds, 0.0,
        )  # fmt: skip
    if exit_.code != 0:
        reason = script_mode.failure_reason(run.root / "output" / "failure", exit_.log, exit_.code)
        return RunResult("Failed", "Failed", f"Training job failed: {reason}", reason, {}, {}, exit_.seconds, 0.0)
    started = time.monotonic()
    metrics = script_mode.final_metrics(exit_.log, run.metric_definitions)
    model_uri = str(run.model_uri)
    files = {model_uri: script_mode.tar_dir(run.root / "model")}
    if any(p.is_file() for p in (run.root / "output" / "data").rglob("*")):
        files[model_uri.rsplit("/", 1)[0] + "/output.tar.gz"] = script_mode.tar_dir(run.root / "output" / "data")
    upload = time.monotonic() - started
    return RunResult("Completed", "Completed", "Training job completed", None, metrics, files, exit_.seconds, upload)


def _processing_result(run: ScriptRun, exit_: Exit) -> RunResult:
    if exit_.timed_out:
        reason = "Processing job exceeded MaxRuntimeInSeconds"
        return RunResult("Stopped", None, reason, None, {}, {}, exit_.seconds, 0.0)
    if exit_.code != 0:
        reason = script_mode.failure_reason(None, exit_.log, exit_.code)
        return RunResult("Failed", None, reason, reason, {}, {}, exit_.seconds, 0.0)
    files: dict[str, bytes] = {}
    for uri, folder in run.outputs:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            files[join_s3(uri, path.relative_to(folder).as_posix())] = path.read_bytes()
    return RunResult("Completed", None, "Processing job completed", None, {}, files, exit_.seconds, 0.0)


def result(run: ScriptRun, exit_: Exit) -> RunResult:
    """What the ended job shows (status, failure, metrics, files to upload) from its process's exit."""
    return _training_result(run, exit_) if run.kind == "training" else _processing_result(run, exit_)
