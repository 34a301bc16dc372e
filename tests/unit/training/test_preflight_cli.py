"""`mlcp spec validate`, `mlcp batch plan` and `mlcp scaling validate` run the preflight: each case file exits 1
with its field on stderr, or 0 (the numeric grid)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


IMAGES = [*REACH, "--account-id", "123456789012", "--region", "us-east-1"]


def test_an_image_from_another_account_is_refused_offline_naming_the_parameter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "examples" / "pipelines" / "churn" / "pipeline.yaml").read_text()
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(
        text.replace(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-train",
            "999999999999.dkr.ecr.us-east-1.amazonaws.com/churn-train",
        )
    )
    assert main(["spec", "validate", str(spec), *IMAGES]) == 1
    err = capsys.readouterr().err
    assert "  tuning.training.image_uri: " in err
    assert "ExtraImageRegistries" in err
    granted = ["--extra-image-registries", "999999999999.dkr.ecr.us-east-1.amazonaws.com"]
    assert main(["spec", "validate", str(spec), *IMAGES, *granted]) == 0


def test_every_image_in_the_examples_and_test_data_is_the_local_accounts_or_sagemakers() -> None:
    """The examples and test specs name 123456789012 images: the local cloud's account (moto's), which the
    template's STACK_ACCOUNT_ID (!Ref AWS::AccountId) resolves to locally, so they all pass the allow-list."""
    from mlcp.common.images import ImageScope  # noqa: PLC0415

    scope = ImageScope("123456789012", "us-east-1")
    pattern = re.compile(r"image(?:_uri)?[\"']?\s*:\s*[\"']?([0-9a-z.\-]+\.[a-z]+/[^\s\"',}]+)")
    found = {}
    for path in [*(ROOT / "examples").rglob("*"), *(ROOT / "tests" / "data").rglob("*"), *(ROOT / "events").rglob("*")]:
        if path.is_file() and path.suffix in {".yaml", ".yml", ".json"}:
            for image in pattern.findall(path.read_text(errors="replace")):
                found[image.replace("\\n", "")] = path
    assert len(found) >= 5
    refused = {image: str(path) for image, path in found.items() if scope.problem(image.split("\\")[0])}
    assert refused == {}


def test_scaling_validate_checks_the_node_groups_against_the_stacks_grant(capsys: pytest.CaptureFixture[str]) -> None:
    policy = str(ROOT / "examples" / "scaling" / "policy.yaml")
    other = "arn:aws:eks:us-east-1:123456789012:nodegroup/other-cluster/*"
    assert main(["scaling", "validate", policy, "--nodegroup-arns", other]) == 1
    err = capsys.readouterr().err
    assert "  nodegroups[0].name: " in err
    assert "ScalingNodegroupArns" in err
    granted = "arn:aws:eks:us-east-1:123456789012:nodegroup/ml-inference/*"
    assert main(["scaling", "validate", policy, "--nodegroup-arns", granted, "--account-id", "123456789012"]) == 0
    assert main(["scaling", "validate", policy, "--nodegroup-arns", granted, "--account-id", "999999999999"]) == 1


def test_batch_plan_checks_the_stacks_batch_scope(capsys: pytest.CaptureFixture[str]) -> None:
    """`mlcp batch plan --stack-name` checks the spec's job definition, queues and compute environments as the
    deployed functions do (own <stack>-* plus BatchExtra*), before anything is deployed."""
    spec = str(ROOT / "examples" / "batch" / "batch.yaml")
    assert main(["batch", "plan", spec, "--items", "1000", "--stack-name", "mlcp"]) == 0
    capsys.readouterr()
    assert main(["batch", "plan", spec, "--items", "1000", "--stack-name", "team-b"]) == 1
    err = capsys.readouterr().err
    for field, parameter in [
        ("job.definition", "BatchExtraJobDefinitions"),
        ("queues[0].name", "BatchExtraJobQueues"),
        ("queues[0].compute_environment", "BatchExtraComputeEnvironments"),
    ]:
        assert f"  {field}: " in err
        assert parameter in err
    granted = [
        "--extra-job-definitions",
        "arn:aws:batch:us-east-1:123456789012:job-definition/mlcp-batch-worker:*",
        "--extra-job-queues",
        "arn:aws:batch:us-east-1:123456789012:job-queue/mlcp-batch-*",
        "--extra-compute-environments",
        "arn:aws:batch:us-east-1:123456789012:compute-environment/mlcp-batch-*",
    ]
    assert main(["batch", "plan", spec, "--items", "1000", "--stack-name", "team-b", *granted]) == 0


def test_the_budget_is_checked_by_spec_validate_and_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The churn example with a budget below its worst case is refused on budget.max_usd by `spec validate` and
    `spec plan` (the same preflight); with one above it, plan prints the worst case."""
    import yaml  # noqa: PLC0415

    from mlcp.common.pricing import sagemaker_prices  # noqa: PLC0415

    price = sagemaker_prices().price("us-east-1", "ml.m5.xlarge")
    assert price is not None
    worst = 14 * price  # augment + 12 trials + quantization, 3600 s each on one ml.m5.xlarge
    data = yaml.safe_load((ROOT / "examples" / "pipelines" / "churn" / "pipeline.yaml").read_text())
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(yaml.safe_dump({**data, "budget": {"max_usd": 3.0}}))
    for command in ("validate", "plan"):
        assert main(["spec", command, str(spec), "--region", "us-east-1"]) == 1
        err = capsys.readouterr().err
        assert f"  budget.max_usd: the worst case ${worst:.2f} exceeds the budget $3.00 (us-east-1" in err
    spec.write_text(yaml.safe_dump({**data, "budget": {"max_usd": 5.0}}))
    assert main(["spec", "plan", str(spec), "--region", "us-east-1"]) == 0
    assert f"worst-case cost     ${worst:.2f} (us-east-1, prices of " in capsys.readouterr().out


def test_the_breast_cancer_examples_budget_fits_its_worst_case() -> None:
    import yaml  # noqa: PLC0415

    from mlcp.common.pricing import sagemaker_prices  # noqa: PLC0415
    from mlcp.training.budget import budget_findings, worst_case  # noqa: PLC0415
    from mlcp.training.spec import PipelineSpec  # noqa: PLC0415

    data = yaml.safe_load((ROOT / "examples" / "pipelines" / "breast-cancer" / "pipeline.yaml").read_text())
    spec = PipelineSpec.model_validate(data)
    assert spec.budget is not None
    table = sagemaker_prices()
    assert budget_findings(spec, table, "us-east-1") == []
    worst = sum(c.usd for c in worst_case(spec, table, "us-east-1"))
    price = table.price("us-east-1", "ml.m5.large")
    assert price is not None
    assert worst == pytest.approx(8 * 600 * price / 3600)  # augment + 6 trials + compression, 600 s each
    assert worst < spec.budget.max_usd


@pytest.mark.parametrize(
    ("warm", "shown"),
    [
        (None, "warm start          none (cold)"),
        (
            {"type": "TransferLearning", "max_parents": 2},
            "warm start          TransferLearning from the last 2 SUCCEEDED run(s), chosen when the run starts",
        ),
        (
            {"type": "IdenticalDataAndAlgorithm", "from": ["churn-v1-a", "churn-v2-b"], "max_parents": 2},
            "warm start          IdenticalDataAndAlgorithm from run(s) churn-v1-a, churn-v2-b, chosen when",
        ),
        (
            {"type": "TransferLearning", "from": ["churn-v1-a", "churn-v2-b"], "max_parents": 1},
            "from the first 1 usable of run(s) churn-v1-a, churn-v2-b (max_parents 1)",
        ),
        (  # without max_parents a list means every listed run
            {"type": "TransferLearning", "from": ["churn-v1-a", "churn-v2-b"]},
            "warm start          TransferLearning from run(s) churn-v1-a, churn-v2-b, chosen when",
        ),
    ],
)
def test_spec_plan_says_where_the_tuning_job_warm_starts_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], warm: dict[str, Any] | None, shown: str
) -> None:
    import yaml  # noqa: PLC0415

    data = yaml.safe_load((ROOT / "examples" / "pipelines" / "churn" / "pipeline.yaml").read_text())
    data["tuning"] = {**data["tuning"], "warm_start": warm}
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(yaml.safe_dump(data))

    assert main(["spec", "plan", str(spec), "--region", "us-east-1"]) == 0
    assert shown in capsys.readouterr().out


def _churn_with(tmp_path: Path, **extra: Any) -> Path:
    """The churn example with ``tuning.warm_start`` (``warm``) and/or ``budget``."""
    import yaml  # noqa: PLC0415

    data = yaml.safe_load((ROOT / "examples" / "pipelines" / "churn" / "pipeline.yaml").read_text())
    if "warm" in extra:
        data["tuning"] = {**data["tuning"], "warm_start": extra["warm"]}
    if "budget" in extra:
        data["budget"] = extra["budget"]
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(yaml.safe_dump(data))
    return spec


def test_spec_plan_json_has_the_warm_start_the_worst_case_and_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json  # noqa: PLC0415

    from mlcp.common.pricing import sagemaker_prices  # noqa: PLC0415

    table = sagemaker_prices()
    price = table.price("us-east-1", "ml.m5.xlarge")
    assert price is not None
    warm = {"type": "TransferLearning", "from": ["churn-v1-a", "churn-v2-b"]}
    spec = _churn_with(tmp_path, warm=warm, budget={"max_usd": 5.0})

    assert main(["spec", "plan", str(spec), "--region", "us-east-1", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)

    assert plan["warm_start"] == {**warm, "max_parents": 2}  # every listed run (WarmStart.parents_wanted)
    assert plan["budget"] == {"max_usd": 5.0}
    worst = plan["worst_case"]
    assert {name: stage["usd"] for name, stage in worst["stages"].items()} == pytest.approx(
        {"augment": price, "tune": 12 * price, "compress": price}  # 3600 s each on one ml.m5.xlarge
    )
    assert worst["stages"]["tune"]["jobs"] == 12
    assert worst["total_usd"] == pytest.approx(14 * price)
    assert (worst["currency"], worst["region"], worst["prices_as_of"], worst["unpriced"]) == (
        "USD",
        "us-east-1",
        table.as_of,
        [],
    )

    assert main(["spec", "plan", str(_churn_with(tmp_path)), "--region", "us-east-1", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert (plan["warm_start"], plan["budget"]) == (None, None)
    assert plan["worst_case"]["total_usd"] == pytest.approx(14 * price)


def test_spec_validate_names_the_warm_start_and_the_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlcp.common.pricing import sagemaker_prices  # noqa: PLC0415

    price = sagemaker_prices().price("us-east-1", "ml.m5.xlarge")
    assert price is not None
    warm = {"type": "TransferLearning", "max_parents": 2}
    spec = _churn_with(tmp_path, warm=warm, budget={"max_usd": 5.0})

    assert main(["spec", "validate", str(spec), "--region", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert (
        f"; warm start TransferLearning from last_successful (2 parents); budget $5.00, worst case ${14 * price:.2f};"
        " preflight passed"
    ) in out

    spec = _churn_with(tmp_path, warm={"type": "IdenticalDataAndAlgorithm", "from": ["churn-v1-a"]})
    assert main(["spec", "validate", str(spec), "--region", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert "; warm start IdenticalDataAndAlgorithm from churn-v1-a (1 parent); preflight passed" in out
    assert "budget" not in out
