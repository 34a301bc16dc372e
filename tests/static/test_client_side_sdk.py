"""The SageMaker Python SDK (the `sagemaker` extra: sagemaker-core, for image_uris) is client side only: no module
under layers/ or functions/ imports it and the Lambda layer does not install it (about 10 s to import, hundreds of
MB; the service only ever sees resolved image URIs)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICE_DIRS = ("layers", "functions")
SDK_MODULES = ("sagemaker",)  # sagemaker.core.image_uris (v3) and sagemaker.image_uris (v2)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            names += [str(a.value) for a in node.args[:1] if isinstance(a, ast.Constant)]
    return names


def test_no_service_module_imports_the_sagemaker_sdk() -> None:
    files = [p for d in SERVICE_DIRS for p in sorted((ROOT / d).rglob("*.py"))]
    assert len(files) > 50, "the service sources were not found"
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in _imports(path)
        if name.split(".")[0] in SDK_MODULES
    ]
    assert not offenders, f"the SageMaker SDK is client side only (cli/mlcp_cli/images.py): {offenders}"


def test_the_checker_sees_every_form_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import sagemaker.core.image_uris as a\nfrom sagemaker import image_uris\nimport importlib\n"
        "importlib.import_module('sagemaker.image_uris')\nfrom . import sagemaker_limits\n"
    )
    found = [n for n in _imports(sample) if n.split(".")[0] in SDK_MODULES]
    assert found == ["sagemaker.core.image_uris", "sagemaker", "sagemaker.image_uris"]


def test_the_lambda_layer_does_not_install_the_sdk() -> None:
    for requirements in (ROOT / "layers").rglob("requirements*.txt"):
        names = [line.split("=")[0].split("[")[0].strip().lower() for line in requirements.read_text().splitlines()]
        assert not {"sagemaker", "sagemaker-core"} & set(names), f"{requirements.relative_to(ROOT)} installs the SDK"
