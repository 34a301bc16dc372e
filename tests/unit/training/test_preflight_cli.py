"""`mlcp spec validate`, `mlcp batch plan` and `mlcp scaling validate` run the preflight: each case file exits 1
with its field on stderr, or 0 (the numeric grid)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcp_cli.main import main

ROOT = Path(__file__).resolve().parents[3]
CASES = ROOT / "tests" / "data" / "cases" / "preflight"
REACH = ["--artifact-bucket", "mlcp-artifacts-123456789012-us-east-1"]


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["spec", "validate", "compression-101-hyperparameters.yaml"], "compression.hyperparameters"),
        (["spec", "validate", "training-env-names.yaml"], "tuning.training.environment"),
        (["spec", "validate", "role-override.yaml", *REACH], "role_arn"),
        (["spec", "validate", "data-outside-artifact-bucket.yaml", *REACH], "output.s3_prefix"),
        (["batch", "plan", "batch-fargate-0.3vcpu.yaml"], "job.vcpus"),
        (["batch", "plan", "batch-fargate-1vcpu-4000mib.yaml"], "job.memory_mib"),
        (["batch", "plan", "batch-overrides-over-8192.yaml"], "job.environment"),
    ],
)
def test_each_case_is_refused_before_anything_launches(
    argv: list[str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(CASES / a) if a.endswith(".yaml") else a for a in argv]
    assert main(argv) == 1
    assert f"  {field}: " in capsys.readouterr().err


def test_the_numeric_grid_is_accepted_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "validate", str(CASES / "grid-numeric-categories.yaml"), *REACH]) == 0
    assert "preflight passed (roles and buckets checked)" in capsys.readouterr().out


def test_the_examples_pass_their_preflights() -> None:
    assert main(["spec", "validate", str(ROOT / "examples" / "pipelines" / "churn" / "pipeline.yaml")]) == 0
    # with the stack's bucket, the sample run's channels and outputs are in it (and its role is the stack's)
    assert main(["spec", "plan", str(ROOT / "examples" / "pipelines" / "churn" / "pipeline.yaml"), *REACH]) == 0
    assert main(["scaling", "validate", str(ROOT / "examples" / "scaling" / "policy.yaml")]) == 0
    assert main(["batch", "plan", str(ROOT / "examples" / "batch" / "batch.yaml"), "--items", "1000"]) == 0
