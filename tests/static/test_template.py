"""Static checks of template.yaml: cfn-lint (+ serverless rules), sam validate --lint, sam build, house rules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlcp.batch.settings import BatchSettings
from mlcp.common.settings import FunctionSettings
from mlcp.rest.settings import ApiSettings
from mlcp.scaling.settings import ScalingSettings
from mlcp.training.settings import TrainingSettings
from tests.support import FUNCTIONS, ROOT, load_template

BIN = Path(sys.executable).parent


def _run(
    *args: str, timeout: int = 600, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env or {}), "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False)


def _tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is not installed in the venv; run `make bootstrap`"
    return str(path)


def test_cfn_lint_with_serverless_rules_is_clean() -> None:
    result = _run(_tool("cfn-lint"), "--append-rules", "cfn_lint_serverless.rules", "--", "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_is_clean() -> None:
    result = _run(_tool("sam"), "validate", "--lint", "--template-file", "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_sam_build_packages_handlers_and_layer_for_arm64(tmp_path: Path) -> None:
    env = _python313_env()
    build_dir = tmp_path / "build"
    result = _run(
        _tool("sam"), "build", "--template-file", "template.yaml", "--build-dir", str(build_dir), timeout=900, env=env
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    layer = build_dir / "MlcpLayer" / "python"
    core = ROOT / "layers" / "mlcp"
    missing = [
        str(f.relative_to(core)) for f in core.glob("mlcp/**/*.py") if not (layer / f.relative_to(core)).exists()
    ]
    assert not missing, f"not in the built layer: {missing}"
    assert list((layer / "pydantic_core").glob("*aarch64*.so")), "pydantic_core was not built for arm64"
    for function in load_functions():
        handler_dir = build_dir / function
        assert (handler_dir / "app.py").exists(), f"{function} was not built"


def _python313_env() -> dict[str, str]:
    """SAM builds the python3.13 runtime with a local python3.13; under pyenv, expose it beside the default."""
    pyenv = shutil.which("pyenv")
    if pyenv is None or os.environ.get("PYENV_VERSION", "").count("3.13"):
        return {}
    listed = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True, check=False).stdout
    versions = [v for v in listed.split() if v.startswith(("3.11.", "3.12.", "3.13."))]
    if not any(v.startswith("3.13.") for v in versions):
        pytest.fail("sam build needs Python 3.13 (the Lambda runtime); install it, e.g. `pyenv install 3.13`")
    return {"PYENV_VERSION": ":".join(versions)}


def load_functions() -> dict[str, dict[str, Any]]:
    resources = load_template()["Resources"]
    return {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}


def test_globals_follow_the_house_rules() -> None:
    glob = load_template()["Globals"]["Function"]
    assert glob["Runtime"] == "python3.13"
    assert glob["Architectures"] == ["arm64"]
    assert glob["Tracing"] == "Active"
    variables = glob["Environment"]["Variables"]
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"} <= set(variables)


def test_every_function_points_at_a_handler_directory_and_back() -> None:
    code_uris = {Path(f["Properties"]["CodeUri"]).name for f in load_functions().values()}
    directories = {p.name for p in FUNCTIONS.iterdir() if p.is_dir() and not p.name.startswith("__")}
    assert code_uris == directories
    for name in directories:
        source = (FUNCTIONS / name / "app.py").read_text()
        assert "def lambda_handler(" in source, name


# The settings each capability's wiring validates (mlcp.aws.wiring.<module>); the API serves /batches and /scaling too.
WIRING_SETTINGS: dict[str, list[type[FunctionSettings]]] = {
    "training": [TrainingSettings],
    "batch": [BatchSettings],
    "scaling": [ScalingSettings],
    "api": [ApiSettings, BatchSettings, ScalingSettings],
}


def test_each_function_is_given_exactly_the_settings_its_capability_requires() -> None:
    """GIVEN each function of template.yaml WHEN its handler wires one capability (mlcp.aws.wiring.<capability>)
    THEN Globals + the function's own Environment hold every variable that capability's settings require."""
    template = load_template()
    globals_ = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for function in load_functions().values():
        name = Path(function["Properties"]["CodeUri"]).name
        source = (FUNCTIONS / name / "app.py").read_text()
        wiring = [cap for cap in WIRING_SETTINGS if f"from mlcp.aws.wiring.{cap} import" in source]
        assert len(wiring) == 1, f"{name}: expected one mlcp.aws.wiring import, found {wiring}"
        own = set((function["Properties"].get("Environment") or {}).get("Variables") or {})
        for model in WIRING_SETTINGS[wiring[0]]:
            required = {str(f.alias) for f in model.model_fields.values() if f.is_required()}
            missing = required - globals_ - own
            assert not missing, f"{name}: {model.__name__} requires {sorted(missing)}, not set in template.yaml"


def test_bucket_is_encrypted_tls_only_private_and_sends_events_to_eventbridge() -> None:
    resources = load_template()["Resources"]
    bucket = resources["ArtifactBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    statements = resources["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in statements)


def test_wildcard_resources_are_explained() -> None:
    """`Resource: "*"` only where the API has no resource-level permissions, with a comment saying so."""
    lines = (ROOT / "template.yaml").read_text().splitlines()
    for number, line in enumerate(lines):
        if 'Resource: "*"' in line and "Principal" not in lines[number - 1]:
            window = "\n".join(lines[max(0, number - 14) : number])
            assert "no resource-level permissions" in window, f"template.yaml:{number + 1} has an unexplained *"


def _in_partition(value: Any, partition: str, conditions: dict[str, Any], buckets: list[str]) -> Any:
    """The intrinsics of the DataBucketNames policies, resolved as CloudFormation would in ``partition``."""
    if isinstance(value, list):
        return [_in_partition(v, partition, conditions, buckets) for v in value]
    if not isinstance(value, dict) or len(value) != 1:
        return value
    ((key, arg),) = value.items()

    def resolve(inner: Any) -> Any:
        return _in_partition(inner, partition, conditions, buckets)

    if key == "Ref":
        return {"AWS::Partition": partition, "DataBucketNames": buckets}.get(arg, arg)
    if key == "Fn::Equals":
        left, right = resolve(arg)
        return left == right
    if key == "Condition":
        return resolve(conditions[arg])
    if key == "Fn::If":
        return resolve(arg[1] if resolve(conditions[arg[0]]) else arg[2])
    if key == "Fn::Join":
        assert isinstance(arg[0], str), "Fn::Join takes no function in its delimiter"
        return arg[0].join(resolve(arg[1]))
    if key == "Fn::Split":
        return str(resolve(arg[1])).split(arg[0])
    if key == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        values = {"AWS::Partition": partition, **{k: resolve(v) for k, v in variables.items()}}
        for name, sub in values.items():
            text = text.replace("${" + name + "}", str(sub))
        return text
    return {key: resolve(arg)}


def _data_bucket_resources(node: Any) -> list[Any]:
    """Every Resource element of the template that names DataBucketNames."""
    found: list[Any] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Resource" and "DataBucketNames" in repr(value):
                found.append(value)
            else:
                found.extend(_data_bucket_resources(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_data_bucket_resources(item))
    return found


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_data_bucket_arns_are_in_the_stacks_partition(partition: str) -> None:
    """Every ARN built from DataBucketNames, the 2nd and later included, is in the partition the stack runs in."""
    template = load_template()
    resources = _data_bucket_resources(template["Resources"])
    assert len(resources) >= 8
    for resource in resources:
        arns = _in_partition(resource, partition, template["Conditions"], ["data-a", "data-b", "data-c"])
        assert len(arns) == 3, arns
        assert all(arn.startswith(f"arn:{partition}:s3:::data-") for arn in arns), arns
