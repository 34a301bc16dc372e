"""Issue 16, deliverable 4: the requests of a script-mode spec (tests/data/script_mode) meet the framework
container's contract and botocore's model.

The contract, from the sources (docs/architecture.md, "Script mode"):
- sagemaker-training-toolkit ``src/sagemaker_training/params.py``: the framework's own hyperparameters
  (``sagemaker_program``, ``sagemaker_submit_directory``, ...) start with ``sagemaker_`` and are split off by that
  prefix (``mapping.split_by_criteria``); ``environment.read_hyperparameters`` json-decodes every value (the raw
  string when that fails); ``modules.download_and_install`` extracts ``sagemaker_submit_directory`` into the code
  dir and ``sagemaker_program`` runs from there;
- sagemaker-python-sdk v2 ``processing.py`` FrameworkProcessor: ``sourcedir.tar.gz`` in the ``code`` input,
  ``runproc.sh`` in the ``entrypoint`` input, run by ``/bin/bash``.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import boto3
import yaml
from moto import mock_aws

from mlcp.aws.service_models import ServiceModels
from mlcp.common.preflight import StackReach
from mlcp.training.preflight import requests, sample_run
from mlcp.training.script_mode import runproc_script
from mlcp.training.spec import PipelineSpec
from mlcp_cli.scriptmode import CodeTarget
from mlcp_cli.specfile import load_spec

DATA = Path(__file__).resolve().parents[2] / "data" / "script_mode"
BUCKET = "mlcp-artifacts-123456789012-us-east-1"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
TOOLKIT_PREFIX = "sagemaker_"  # sagemaker_training.params.SAGEMAKER_PREFIX
TOOLKIT_NAMES = {  # sagemaker_training.params: the names the toolkit reads
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "sagemaker_region",
}
SDK_TUNER_NAMES = {"sagemaker_estimator_class_name", "sagemaker_estimator_module"}  # sagemaker.tuner (attach())


def _decode(value: str) -> Any:
    """sagemaker_training.environment.read_hyperparameters: json.loads, else the raw string."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def _packaged(tmp_path: Path) -> tuple[PipelineSpec, Any]:
    """The test spec sent through the CLI (uploaded to a moto S3), and that S3 client."""
    shutil.copytree(DATA, tmp_path / "spec")
    path = tmp_path / "spec" / "pipeline.yaml"
    data = yaml.safe_load(path.read_text())
    for stage in (data["augment"], data["tuning"]["training"], data["compression"]):
        stage["image_uri"] = IMAGE  # resolution is tested in test_script_mode_cli.py
    path.write_text(yaml.safe_dump(data))
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    _, spec, _ = load_spec(
        str(path), "us-east-1", CodeTarget(bucket=BUCKET, region="us-east-1", s3=s3, log=io.StringIO())
    )
    return spec, s3


def _object(s3: Any, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _extract(archive: bytes, into: Path) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(into, filter="data")
        return {m.name for m in tar.getmembers()}


def _check_training(hyperparameters: dict[str, str], *, entry_point: str, s3: Any, tmp_path: Path) -> dict[str, Any]:
    """The toolkit's view of a training job's hyperparameters; returns the user's (decoded)."""
    decoded = {name: _decode(value) for name, value in hyperparameters.items()}
    framework = {k: v for k, v in decoded.items() if k.startswith(TOOLKIT_PREFIX)}
    assert set(framework) >= TOOLKIT_NAMES
    assert set(framework) - TOOLKIT_NAMES <= SDK_TUNER_NAMES
    assert framework["sagemaker_program"] == entry_point
    assert framework["sagemaker_container_log_level"] == 20
    assert framework["sagemaker_region"] == "us-east-1"
    code_dir = tmp_path / "opt" / "ml" / "code"
    names = _extract(_object(s3, framework["sagemaker_submit_directory"]), code_dir)
    assert entry_point in names  # at the tar's root: the toolkit runs code_dir/<sagemaker_program>
    assert (code_dir / entry_point).read_bytes() == (DATA / "src" / entry_point).read_bytes()
    assert "requirements.txt" in names  # the toolkit pip-installs code_dir/requirements.txt
    return {k: v for k, v in decoded.items() if not k.startswith(TOOLKIT_PREFIX)}


def test_the_requests_meet_the_framework_containers_contract(tmp_path: Path) -> None:
    with mock_aws():
        spec, s3 = _packaged(tmp_path)
        run = sample_run(spec, StackReach(artifact_bucket=BUCKET))
        built = {operation: request for operation, request, _, _ in requests(run)}

        tuning = built["CreateHyperParameterTuningJob"]["TrainingJobDefinition"]
        user = _check_training(tuning["StaticHyperParameters"], entry_point="train.py", s3=s3, tmp_path=tmp_path / "t")
        assert user == {"n_estimators": "200"}  # decoded: the string the spec wrote, as the SDK sends a str
        assert tuning["AlgorithmSpecification"]["TrainingImage"] == IMAGE

        compression = built["CreateTrainingJob"]["HyperParameters"]
        user = _check_training(compression, entry_point="compress.py", s3=s3, tmp_path=tmp_path / "c")
        assert user["mlcp_method"] == "quantization"
        assert user["mlcp_dtype"] == "int8"
        assert set(spec.tuning.parameter_ranges.names()) <= set(user)  # the best trial's values

        processing = built["CreateProcessingJob"]
        inputs = {i["InputName"]: i["S3Input"] for i in processing["ProcessingInputs"]}
        assert processing["AppSpecification"]["ContainerEntrypoint"] == [
            "/bin/bash",
            inputs["entrypoint"]["LocalPath"] + "runproc.sh",
        ]
        runproc = _object(s3, inputs["entrypoint"]["S3Uri"]).decode()
        assert runproc == runproc_script("augment.py", "requirements.txt")
        assert f"cd {inputs['code']['LocalPath']}" in runproc
        names = _extract(_object(s3, inputs["code"]["S3Uri"]), tmp_path / "p")
        assert "augment.py" in names
        assert inputs["code"]["S3Uri"].endswith("/sourcedir.tar.gz")  # runproc.sh extracts that name

        models = ServiceModels()
        for operation, request in built.items():
            assert not list(models.check("sagemaker", operation, request)), operation
