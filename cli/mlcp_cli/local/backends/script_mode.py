"""SageMaker script mode as the SageMaker training toolkit runs it, without a container: the pure half of the local
job runner (:mod:`.local_runner` starts and watches the process).

A training job is script mode when its hyperparameters hold ``sagemaker_program`` and
``sagemaker_submit_directory`` (the SageMaker Python SDK's ``Framework.hyperparameters()``; every value is
JSON-encoded, tuned values arrive as plain strings, so each is decoded with ``json.loads`` and falls back to the raw
text). The job directory stands in for ``/opt/ml``: ``input/data/<channel>/``, ``input/config/hyperparameters.json``,
``model/``, ``output/data/``, ``output/failure`` and ``code/`` (the extracted ``sourcedir.tar.gz``). The process
gets the toolkit's ``SM_*`` environment (github.com/aws/sagemaker-training-toolkit,
``src/sagemaker_training/environment.py``) and the user hyperparameters as ``--name value`` arguments, sorted by
name (``mapping.to_cmd_args``: a one-letter name is ``-n``, a dict value is ``k=v,k=v``, anything else ``str()``).

Limits of the local runner (docs/architecture.md): one host (``algo-1``), ``File`` input mode only, no GPU, no
network isolation, the requirements of ``requirements.txt`` must already be installed in the local cloud's Python
(the runner checks them with ``importlib.metadata`` and never runs pip).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from packaging.requirements import InvalidRequirement, Requirement

SAGEMAKER_PROGRAM: Final = "sagemaker_program"
SAGEMAKER_SUBMIT_DIRECTORY: Final = "sagemaker_submit_directory"
HOST: Final = "algo-1"
REQUIREMENTS_FILE: Final = "requirements.txt"
FAILURE_REASON_LIMIT: Final = 1024  # DescribeTrainingJob FailureReason: up to 1024 characters (botocore's model)
LOG_TAIL_LINES: Final = 10


def decode(value: Any) -> Any:
    """A hyperparameter as the toolkit reads it: JSON when it parses, else the raw string."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def is_script_mode(hyper: Mapping[str, Any]) -> bool:
    """Whether a training job's hyperparameters name a script-mode program and its source."""
    return SAGEMAKER_PROGRAM in hyper and SAGEMAKER_SUBMIT_DIRECTORY in hyper


def user_hyperparameters(hyper: Mapping[str, Any]) -> dict[str, Any]:
    """The decoded hyperparameters the script sees (the ``sagemaker_*`` ones are the toolkit's)."""
    return {str(k): decode(v) for k, v in hyper.items() if not str(k).startswith("sagemaker_")}


def _arg_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)


def cmd_args(hps: Mapping[str, Any]) -> list[str]:
    """``--name value`` for each hyperparameter, sorted by name (the toolkit's ``mapping.to_cmd_args``)."""
    args: list[str] = []
    for name in sorted(hps):
        args += [f"--{name}" if len(name) > 1 else f"-{name}", _arg_value(hps[name])]
    return args


def _env_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def module_name(program: str) -> str:
    return program[:-3] if program.endswith(".py") else program


def training_env(
    root: Path, *, job_name: str, program: str, hyper: Mapping[str, Any], channels: Sequence[str], region: str
) -> dict[str, str]:
    """The ``SM_*`` variables of the toolkit for a job whose ``/opt/ml`` is ``root``."""
    hps = user_hyperparameters(hyper)
    cpus = os.cpu_count() or 1
    paths = {
        "model_dir": root / "model",
        "input_dir": root / "input",
        "input_config_dir": root / "input" / "config",
        "output_dir": root / "output",
        "output_data_dir": root / "output" / "data",
        "output_intermediate_dir": root / "output" / "intermediate",
        "module_dir": root / "code",
    }
    channel_dirs = {name: str(root / "input" / "data" / name) for name in channels}
    env: dict[str, Any] = {
        **{key: str(path) for key, path in paths.items()},
        "hosts": [HOST],
        "current_host": HOST,
        "network_interface_name": "eth0",
        "hps": hps,
        "user_entry_point": program,
        "module_name": module_name(program),
        "channels": sorted(channels),
        "num_cpus": cpus,
        "num_gpus": 0,
        "log_level": decode(hyper.get("sagemaker_container_log_level", 20)),
        "job_name": job_name,
        "region": region,
        "resource_config": {"current_host": HOST, "hosts": [HOST], "network_interface_name": "eth0"},
        "user_args": cmd_args(hps),
    }
    result = {f"SM_{key.upper()}": _env_value(value) for key, value in env.items()}
    result["SM_TRAINING_ENV"] = json.dumps({**env, "channel_input_dirs": channel_dirs})
    result.update({f"SM_CHANNEL_{name.upper()}": path for name, path in channel_dirs.items()})
    result.update({f"SM_HP_{name.upper()}": _env_value(value) for name, value in hps.items()})
    return result


def make_training_dirs(root: Path, hyper: Mapping[str, Any]) -> None:
    """``/opt/ml``'s folders, and ``input/config/hyperparameters.json`` (the request's values, as SageMaker writes
    them)."""
    for sub in ("model", "input/config", "input/data", "output/data", "output/intermediate", "code"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(dict(hyper), indent=1))


def extract_sourcedir(blob: bytes, code_dir: Path) -> None:
    """Unpack ``sourcedir.tar.gz`` into ``code_dir`` (tarfile's ``data`` filter: no absolute paths, no ``..``).

    Raises ValueError when the archive cannot be read."""
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tar:
            tar.extractall(code_dir, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ValueError(f"cannot extract sourcedir.tar.gz: {exc}") from exc


def missing_requirements(requirements: Path) -> list[str]:
    """The requirements of ``requirements.txt`` that this Python does not satisfy (name and why); pip is never run.

    Lines pip reads as options (``-r``, ``--index-url``...) and URLs are reported as unsupported locally."""
    if not requirements.is_file():
        return []
    missing: list[str] = []
    for raw in requirements.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            missing.append(f"{line} (not a requirement the local runner can check)")
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            missing.append(f"{req.name} (not installed)")
            continue
        if req.specifier and not req.specifier.contains(installed, prereleases=True):
            missing.append(f"{req.name}{req.specifier} (installed: {installed})")
    return missing


def final_metrics(log: str, definitions: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Each metric definition's regex over the log; the last match's first group is the final value.

    A regex that does not compile, or a match that is not a number, is skipped (SageMaker reports no value)."""
    values: dict[str, float] = {}
    for definition in definitions:
        name, pattern = str(definition.get("Name") or ""), str(definition.get("Regex") or "")
        try:
            regex = re.compile(pattern)
        except re.error:
            continue
        for match in regex.finditer(log):
            try:
                values[name] = float(match.group(1) if regex.groups else match.group(0))
            except (ValueError, IndexError):
                continue
    return values


def failure_reason(failure_file: Path | None, log: str, exit_code: int) -> str:
    """``AlgorithmError: `` + the failure file's text, or else the log's last lines (AWS: up to 1024 characters)."""
    exists = failure_file is not None and failure_file.is_file()
    text = failure_file.read_text(errors="replace").strip() if failure_file is not None and exists else ""
    if not text:
        tail = "\n".join(log.strip().splitlines()[-LOG_TAIL_LINES:])
        text = f"ExecuteUserScriptError: ExitCode {exit_code}\n{tail}".strip()
    return f"AlgorithmError: {text}"[:FAILURE_REASON_LIMIT]


def tar_dir(folder: Path) -> bytes:
    """A deterministic ``model.tar.gz`` of ``folder``'s files, at the archive's root (SageMaker's layout)."""
    raw = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            info.size = path.stat().st_size
            info.mode = 0o644
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    return raw.getvalue()


_RUNPROC_COMMAND = re.compile(r'^\s*(python[0-9.]*)\s+(\S+)\s+"\$@"\s*$', re.MULTILINE)


def runproc_entry_point(script: str) -> str | None:
    """The entry point of the SDK's FrameworkProcessor ``runproc.sh`` (its last ``python <entry point> "$@"``)."""
    matches = _RUNPROC_COMMAND.findall(script)
    return str(matches[-1][1]).strip("'\"") if matches else None


def rewrite_paths(values: Sequence[str], prefix: str, root: Path) -> list[str]:
    """``prefix`` (e.g. ``/opt/ml/processing``) in each value replaced by ``root``."""
    return [value.replace(prefix, str(root)) for value in values]
