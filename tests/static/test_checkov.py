"""checkov over template.yaml and its SAM-transformed form: no failed check. Each accepted finding is suppressed
in template.yaml with its reason (Metadata.checkov.skip), so a new finding fails `make test`.

checkov is not a dev dependency: `pip install checkov` would replace pinned packages of the dev venv (boto3,
botocore, s3transfer, packaging, ...). `make checkov` (and so `make bootstrap`/`make test`) installs the version
pinned in requirements-checkov.txt into its own venv, .tools/checkov, and the Makefile exports MLCP_CHECKOV as its
executable. The test uses MLCP_CHECKOV (and fails if that names no executable), else .tools/checkov/bin/checkov,
else `checkov` on PATH; without any, it is skipped with the reason and the command that installs it.
tests/static/test_least_privilege.py makes the hygiene checks by hand either way."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlcp_cli.local.deploy import load_template, transform

ROOT = Path(__file__).resolve().parents[2]
TOOL_VENV_CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
PINNED = (ROOT / "requirements-checkov.txt").read_text().split("checkov==")[1].split()[0]


def _checkov() -> str:
    named = os.environ.get("MLCP_CHECKOV")
    if named:
        # `make test` names it: a missing tool venv must fail there, not skip.
        assert os.access(named, os.X_OK), f"MLCP_CHECKOV={named} is not an executable; run `make checkov`"
        return named
    if os.access(TOOL_VENV_CHECKOV, os.X_OK):
        return str(TOOL_VENV_CHECKOV)
    found = shutil.which("checkov")
    if not found:
        pytest.skip(
            f"checkov not installed: run `make checkov` (checkov=={PINNED} into its own venv .tools/checkov; "
            "installing it into .venv would change pinned packages there) or set MLCP_CHECKOV=/path/to/checkov"
        )
    return found


def _transformed(path: Path) -> Path:
    """template.yaml through the SAM transform, code URIs stubbed; an Api's Metadata copied to its generated Stage
    (SAM copies a function's Metadata to its AWS::Lambda::Function, but not an Api's to the Stage)."""
    template = load_template()
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(key), str):
                properties[key] = "s3://deploy/code.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    result: dict[str, Any] = transform(template, {})
    resources = result["Resources"]
    for resource in resources.values():
        if resource["Type"] == "AWS::ApiGateway::Stage":
            api = resources.get(resource["Properties"]["RestApiId"].get("Ref", ""), {})
            if "Metadata" in api:
                resource["Metadata"] = api["Metadata"]
    path.write_text(json.dumps(result))
    return path


def _run(checkov: str, template: Path) -> dict[str, Any]:
    command = [checkov, "-f", str(template), "--framework", "cloudformation", "--quiet", "--compact", "-o", "json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.stdout.strip(), f"checkov exited {done.returncode} without a report: {done.stderr[-2000:]}"
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.mark.parametrize("form", ["template.yaml", "transformed"])
def test_checkov_finds_nothing_unsuppressed(form: str, tmp_path: Path) -> None:
    checkov = _checkov()
    template = ROOT / "template.yaml" if form == "template.yaml" else _transformed(tmp_path / "transformed.json")
    report = _run(checkov, template)
    summary = report["summary"]
    print(f"checkov {form}: {summary}")
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    assert summary["checkov_version"] == PINNED, f"{checkov} is checkov {summary['checkov_version']}, not {PINNED}"
    assert summary["parsing_errors"] == 0
    assert failed == []
    assert summary["passed"] > 100


# The accepted findings (template.yaml Metadata.checkov.skip), each with its reason there.
ACCEPTED = {
    "CKV_AWS_116": "AWS::Serverless::Function",  # DLQ: FailedTriggersQueue via OnFailure / rule DLQ; others sync
    "CKV_AWS_117": "AWS::Serverless::Function",  # VPC: AWS endpoints only
    "CKV_AWS_120": "AWS::Serverless::Api",  # API cache: state must be current; cache ignores the IAM caller
    "CKV_AWS_19": "AWS::S3::Bucket",  # encryption under Fn::If HasKmsKey (checkov does not resolve it)
    "CKV_AWS_18": "AWS::S3::Bucket",  # access logging of the access-log bucket itself
}


def test_every_suppression_is_an_accepted_one_with_its_reason() -> None:
    """Runs without checkov: a new Metadata.checkov.skip needs a comment and a line in ACCEPTED (a review)."""
    found = set()
    for name, resource in load_template()["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(str(skip.get("comment", ""))) >= 30, f"{name}: {skip['id']} needs its reason"
            assert ACCEPTED.get(skip["id"]) == resource["Type"], f"{name}: {skip['id']} is not an accepted finding"
            found.add(skip["id"])
    assert found == set(ACCEPTED)
