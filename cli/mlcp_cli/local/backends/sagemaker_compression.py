"""What compressing or compiling a model makes of it: the outcome of a compression (training) job and of a Neo
compilation job, derived from the base model they read.

Compression jobs read the base model from their ``model`` channel (a compilation job from ``InputConfig.S3Uri``)
like a container would, and write a payload of ``base * factor``: pruning ``1 - 0.9·sparsity`` (structured
``0.95``), quantization int8 ``0.27``, fp16/bf16 ``0.52``, Neo ``0.45``
(``<S3OutputLocation>/<model>-<target>.tar.gz``). A compression job reports the base model's objective minus a drop
(plus for ``Minimize``): pruning ``0.002 + 0.04·s²`` (x1.5 structured), int8 0.006 (0.004 with a calibration
channel), fp16 0.0005, bf16 0.0015, plus ``faults.metric_drop(job)``; its other metrics move by the same relative
amount. A missing base model fails a compression job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from mlcp_cli.local.backends.landscape import lower_is_better, metric_names
from mlcp_cli.local.backends.randomness import clamp
from mlcp_cli.local.backends.sagemaker_artifacts import read_meta
from mlcp_cli.local.backends.storage import join_s3, read_s3
from mlcp_cli.local.backends.timelines import Outcome
from mlcp_cli.local.faults import Faults

_PRUNING_SLOPE: Final = 0.9
_STRUCTURED_PRUNING_SLOPE: Final = 0.95
_QUANTIZATION: Final[Mapping[str, tuple[float, float]]] = {  # dtype -> (size factor, metric drop)
    "int8": (0.27, 0.006),
    "fp16": (0.52, 0.0005),
    "bf16": (0.52, 0.0015),
}
_CALIBRATED_INT8_DROP: Final = 0.004
_NEO_SIZE_FACTOR: Final = 0.45
_MODEL_CHANNEL: Final = "model"
# Hyperparameters that make a training job a compression job.
COMPRESSION_HYPERPARAMETERS: Final = ("mlcp_method", "mlcp_target_sparsity", "mlcp_dtype")


@dataclass(frozen=True)
class _Compression:
    sparsity: float
    factor: float  # compressed size / base size
    drop: float  # of the objective, before injected degradations


@dataclass(frozen=True)
class _BaseModel:
    payload: int
    metrics: dict[str, float]
    objective: str
    objective_type: str  # Maximize | Minimize
    objective_value: Any  # float, or None when the base model reports no objective


def _pruning(hyper: Mapping[str, str]) -> _Compression:
    sparsity = clamp(float(hyper["mlcp_target_sparsity"]), 0.0, 0.99)
    structured = hyper.get("mlcp_structured", "false").lower() == "true"
    factor = 1 - sparsity * (_STRUCTURED_PRUNING_SLOPE if structured else _PRUNING_SLOPE)
    drop = (0.002 + 0.04 * sparsity**2) * (1.5 if structured else 1.0)
    return _Compression(sparsity, factor, drop)


def _quantization(hyper: Mapping[str, str]) -> _Compression:
    dtype = hyper.get("mlcp_dtype", "int8")
    factor, drop = _QUANTIZATION.get(dtype, (0.5, 0.003))
    if dtype == "int8" and hyper.get("mlcp_calibration_channel"):
        drop = _CALIBRATED_INT8_DROP
    return _Compression(0.0, factor, drop)


def _model_channel(p: Mapping[str, Any]) -> str | None:
    return next(
        (
            c["DataSource"]["S3DataSource"]["S3Uri"]
            for c in p.get("input_data_config") or []
            if c.get("ChannelName") == _MODEL_CHANNEL and "S3DataSource" in (c.get("DataSource") or {})
        ),
        None,
    )


def _base_model(blob: bytes, hyper: Mapping[str, str]) -> _BaseModel:
    meta = read_meta(blob) or {}
    metrics: dict[str, float] = {str(k): float(v) for k, v in (meta.get("metrics") or {}).items()}
    objective_meta = meta.get("objective") or {}
    objective = str(hyper.get("mlcp_objective_metric") or objective_meta.get("MetricName") or "")
    objective_type = str(objective_meta.get("Type") or ("Minimize" if lower_is_better(objective) else "Maximize"))
    return _BaseModel(
        payload=int(meta.get("payload_bytes") or len(blob)),
        metrics=metrics,
        objective=objective,
        objective_type=objective_type,
        objective_value=metrics.get(objective, objective_meta.get("Value")),
    )


def _other_metric(
    metric: str, base: _BaseModel, compression: _Compression, relative: float, payload: int
) -> float | None:
    """A metric other than the objective: the base model's, moved by ``relative``; or one the compression defines."""
    if metric in base.metrics:
        return round(base.metrics[metric] * ((1 + relative) if lower_is_better(metric) else (1 - relative)), 6)
    name = metric.lower()
    if "sparsity" in name:
        return round(compression.sparsity, 6)
    if "ratio" in name:
        return round(compression.factor, 6)
    if "size" in name or "bytes" in name:
        return float(payload)
    return None


def _compressed_metrics(
    base: _BaseModel, compression: _Compression, drop: float, payload: int, names: list[str]
) -> tuple[dict[str, float], tuple[str, str, float] | None]:
    relative = drop / abs(float(base.objective_value)) if base.objective_value else 0.0
    metrics: dict[str, float] = {}
    objective: tuple[str, str, float] | None = None
    for metric in list(dict.fromkeys([base.objective, *names])):
        if metric == base.objective and base.objective_value is not None:
            lower = base.objective_type == "Minimize"
            shifted = round(float(base.objective_value) + (drop if lower else -drop), 6)
            objective = (metric, base.objective_type, shifted)
            metrics[metric] = shifted
            continue
        value = _other_metric(metric, base, compression, relative, payload)
        if value is not None:
            metrics[metric] = value
    return metrics, objective


def compression_outcome(
    backend: Any,
    name: str,
    hyper: Mapping[str, str],
    p: Mapping[str, Any],
    *,
    algorithm: Mapping[str, Any],
    faults: Faults,
) -> tuple[Outcome, str | None]:
    """Read the base model from the ``model`` channel and derive the compressed size and metrics; the failure reason
    when the base model cannot be read."""
    model_uri = _model_channel(p)
    blob = read_s3(backend, model_uri) if model_uri else None
    if blob is None:
        return Outcome(), f"ClientError: Data download failed: could not download the model channel ({model_uri})"
    base = _base_model(blob, hyper)
    method = hyper.get("mlcp_method") or ("pruning" if "mlcp_target_sparsity" in hyper else "quantization")
    compression = _pruning(hyper) if "mlcp_target_sparsity" in hyper else _quantization(hyper)
    drop = compression.drop + faults.metric_drop(name)
    payload = max(1024, round(base.payload * compression.factor))
    metrics, objective = _compressed_metrics(base, compression, drop, payload, metric_names(algorithm))
    outcome = Outcome(
        metrics=metrics,
        objective=objective,
        payload=payload,
        meta={
            "hyperparameters": dict(hyper),
            "base_model": model_uri,
            "method": method,
            "size_factor": compression.factor,
        },
    )
    return outcome, None


def _compilation_target(output: Mapping[str, Any]) -> str:
    """The target device, or the target platform's ``os_arch_accelerator``."""
    platform = output.get("TargetPlatform") or {}
    target: str = output.get("TargetDevice") or "_".join(
        str(platform[k]).lower() for k in ("Os", "Arch", "Accelerator") if platform.get(k)
    )
    return target


def _compiled_uri(input_uri: str | None, output: Mapping[str, Any], target: str) -> str:
    """``<S3OutputLocation>/<model>-<target>.tar.gz``, as Neo names its artifact."""
    base_name = (input_uri or "model.tar.gz").rstrip("/").rsplit("/", 1)[-1].removesuffix(".tar.gz") or "model"
    return join_s3(str(output.get("S3OutputLocation", "")), f"{base_name}-{target or 'compiled'}.tar.gz")


def compilation_outcome(backend: Any, p: Mapping[str, Any]) -> tuple[Outcome, str | None]:
    """The Neo artifact's location, size and objective (the base model's); the failure reason when the model cannot
    be read."""
    input_uri = (p.get("input_config") or {}).get("S3Uri")
    output = p.get("output_config") or {}
    target = _compilation_target(output)
    outcome = Outcome(artifact_uri=_compiled_uri(input_uri, output, target))
    blob = read_s3(backend, input_uri) if input_uri else None
    if blob is None:
        return outcome, f"ClientError: InputConfiguration: Unable to download the model from {input_uri}"
    meta = read_meta(blob) or {}
    base_payload = int(meta.get("payload_bytes") or len(blob))
    outcome.payload = max(1024, round(base_payload * _NEO_SIZE_FACTOR))
    outcome.meta = {"base_model": input_uri, "target": target, "size_factor": _NEO_SIZE_FACTOR}
    if meta.get("objective"):
        objective = meta["objective"]
        outcome.objective = (str(objective["MetricName"]), str(objective["Type"]), float(objective["Value"]))
    return outcome, None
