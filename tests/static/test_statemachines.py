"""Static checks of statemachines/*.asl.json: asl-validator, substitutions, the error contract, payload shapes."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mlcp import errors
from mlcp.batch import payloads as batch_payloads
from mlcp.training import payloads as training_payloads
from tests.support import ROOT, STATEMACHINES, load_template

ASL_FILES = sorted(STATEMACHINES.glob("*.asl.json"))
# Which handler input model each Lambda task feeds (by its DefinitionSubstitutions variable).
TASK_INPUT_MODELS: dict[str, type[BaseModel]] = {
    "ValidateSpecFunctionArn": training_payloads.ValidateInput,
    "BuildTuningFunctionArn": training_payloads.StageInput,
    "SelectBestFunctionArn": training_payloads.SelectBestInput,
    "BuildCompressionFunctionArn": training_payloads.CompressionInput,
    "EvaluateGateFunctionArn": training_payloads.GateInput,
    "RecordSuccessFunctionArn": training_payloads.SuccessInput,
    "RecordFailureFunctionArn": training_payloads.FailureInput,
}
LAMBDA_RETRY_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


def _states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, state in definition["States"].items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(_states(branch))
        if "ItemProcessor" in state:
            found.update(_states(state["ItemProcessor"]))
    return found


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_asl_validator_accepts_the_definition(path: Path) -> None:
    validator = ROOT / "node_modules" / ".bin" / "asl-validator"
    assert validator.exists(), "asl-validator is not installed; run `make bootstrap` (npm ci)"
    result = subprocess.run(
        [str(validator), "--json-path", str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _machines() -> dict[str, dict[str, Any]]:
    resources = load_template()["Resources"]
    return {
        Path(r["Properties"]["DefinitionUri"]).name: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Serverless::StateMachine"
    }


def test_every_asl_file_is_deployed_by_the_template() -> None:
    assert set(_machines()) == {p.name for p in ASL_FILES}


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_substitutions_match_the_template(path: Path) -> None:
    used = set(re.findall(r"\$\{(\w+)\}", path.read_text()))
    supplied = set(_machines()[path.name]["DefinitionSubstitutions"])
    assert used == supplied


def documented_service_errors() -> dict[str, str]:
    """The table of service error names in docs/architecture.md ("Error names in Retry and Catch"): name -> source."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Error names in Retry and Catch", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Za-z]+\.[A-Za-z]+)` \| [^|]+ \| (\S+) \|$", section, flags=re.MULTILINE)
    return dict(rows)


def test_the_documented_service_errors_cite_aws_documentation() -> None:
    table = documented_service_errors()
    assert len(table) >= 20
    for name, source in table.items():
        assert source.startswith("https://docs.aws.amazon.com/"), f"{name}: {source}"
    # The two names the Step Functions documentation gives for the optimised SageMaker integrations.
    assert {"SageMaker.AmazonSageMakerException", "SageMaker.ResourceLimitExceededException"} <= set(table)
    # Batch's: the optimised submitJob.sync's generic name (throttling among it) and the aws-sdk form of the code.
    assert {"Batch.AWSBatchException", "Batch.TooManyRequestsException"} <= set(table)


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_caught_and_retried_error_names_exist(path: Path) -> None:
    """Every Retry/Catch name is States.*, an mlcp error class, or a documented service error name (with its
    source in docs/architecture.md)."""
    defined = {name for name, obj in inspect.getmembers(errors, inspect.isclass) if issubclass(obj, Exception)}
    documented = documented_service_errors()
    for name, state in _states(_load(path)).items():
        for rule in [*state.get("Retry", []), *state.get("Catch", [])]:
            for error in rule["ErrorEquals"]:
                known = error.startswith("States.") or error in defined or error in documented
                assert known, f"{name} handles {error}: not States.*, not in mlcp.errors, not in the documented table"


def test_optimised_sagemaker_tasks_retry_what_aws_raises() -> None:
    """connect-sagemaker: the generic error is retried a few times; a quota (ResourceLimitExceeded) is waited out."""
    states = _states(_load(STATEMACHINES / "training_pipeline.asl.json"))
    sync = [n for n, s in states.items() if s.get("Resource", "").startswith("arn:aws:states:::sagemaker:")]
    assert sorted(sync) == [
        "Augment Data",
        "Compress Model",
        "Tune Hyperparameters",
        "Tune Hyperparameters (Warm Start)",
    ]
    for name in sync:
        rules = {e: rule for rule in states[name]["Retry"] for e in rule["ErrorEquals"]}
        generic = rules["SageMaker.AmazonSageMakerException"]
        assert 2 <= generic["MaxAttempts"] <= 10, name
        quota = rules["SageMaker.ResourceLimitExceededException"]
        assert quota["IntervalSeconds"] * quota["MaxAttempts"] >= 6 * 3600, f"{name} gives up on a quota too soon"
        assert quota["ErrorEquals"] == ["SageMaker.ResourceLimitExceededException"], name


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_every_task_retries_transient_errors_and_routes_failures(path: Path) -> None:
    states = _states(_load(path))
    for name, state in states.items():
        if state["Type"] != "Task":
            continue
        assert state.get("Retry"), f"{name} has no Retry"
        assert state.get("Catch"), f"{name} has no Catch"
        if state["Resource"].startswith("${") or state["Resource"].endswith("lambda:invoke"):
            retried = {e for rule in state["Retry"] for e in rule["ErrorEquals"]}
            assert retried >= LAMBDA_RETRY_ERRORS, f"{name} does not retry {LAMBDA_RETRY_ERRORS - retried}"
            assert all(rule.get("JitterStrategy") == "FULL" for rule in state["Retry"]), name


def test_lambda_tasks_send_what_the_handlers_parse() -> None:
    states = _states(_load(STATEMACHINES / "training_pipeline.asl.json"))
    seen = set()
    for name, state in states.items():
        resource = state.get("Resource", "")
        match = re.fullmatch(r"\$\{(\w+)\}", resource)
        if state["Type"] != "Task" or not match:
            continue
        model = TASK_INPUT_MODELS[match[1]]
        seen.add(match[1])
        sent = {key.removesuffix(".$") for key in state["Parameters"]}
        required = {k for k, f in model.model_fields.items() if f.is_required()}
        assert required <= sent <= set(model.model_fields), f"{name}: sends {sent}, {model.__name__} takes {required}"
    assert seen == set(TASK_INPUT_MODELS)


def test_every_failure_path_is_recorded_and_notified() -> None:
    states = _states(_load(STATEMACHINES / "training_pipeline.asl.json"))
    own_catch = ("Record Failure", "Claim Failure Notice", "Notify Failure", "Stop Timed-Out Compilation")
    for name, state in states.items():
        for rule in state.get("Catch", []):
            if name == "Notify Success":  # the model package exists: the run stays SUCCEEDED
                assert rule["Next"] == "Run Succeeded"
            elif name not in own_catch:
                assert rule["Next"] == "Record Failure", f"{name} catches into {rule['Next']}"
    assert states["Record Failure"]["Next"] == "Claim Failure Notice"
    assert states["Claim Failure Notice"]["Next"] == "Notify Failure"
    assert states["Notify Failure"]["Next"] == "Run Failed"
    assert states["Run Failed"]["Type"] == "Fail"


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_every_failure_notice_is_claimed_before_it_is_published(path: Path) -> None:
    """Exactly once: a Catch path publishes a failure only after its conditional claim in the notices table (the
    run recorder claims the same item); a claim that fails ends the execution (the recorder then notifies)."""
    states = _states(_load(path))
    publishers = [n for n, s in states.items() if s.get("Resource", "").endswith(":sns:publish")]
    failure_publishers = [n for n in publishers if states[states[n]["Next"]]["Type"] == "Fail"]
    assert failure_publishers, path.name
    for name in failure_publishers:
        claims = [n for n, s in states.items() if s.get("Next") == name]
        assert len(claims) == 1, f"{name} is reached from {claims}"
        claim = states[claims[0]]
        assert claim["Resource"] == "arn:aws:states:::dynamodb:putItem", claims[0]
        assert claim["Parameters"]["ConditionExpression"] == "attribute_not_exists(execution)"
        assert claim["Parameters"]["Item"]["execution"] == {"S.$": "$$.Execution.Id"}
        assert {c["Next"] for c in claim["Catch"]} == {states[name]["Next"]}, claims[0]
        others = [n for n, s in states.items() if name in {c["Next"] for c in s.get("Catch", [])}]
        assert not others, f"{others} reach {name} without claiming"


def test_the_recorder_hears_every_state_machine() -> None:
    resources = load_template()["Resources"]
    pattern = resources["RecordExecutionFunction"]["Properties"]["Events"]["ExecutionStatusChanged"]["Properties"]
    arns = [a["Fn::Sub"] for a in pattern["Pattern"]["detail"]["stateMachineArn"]]
    names = {r["Properties"]["Name"]["Fn::Sub"] for r in resources.values() if r["Type"].endswith("StateMachine")}
    assert {a.rsplit(":", 1)[-1] for a in arns} == {n.rsplit(":", 1)[-1] for n in names}


def test_sagemaker_jobs_use_sync_integrations_and_neo_a_bounded_loop() -> None:
    states = _states(_load(STATEMACHINES / "training_pipeline.asl.json"))
    assert states["Tune Hyperparameters"]["Resource"].endswith("createHyperParameterTuningJob.sync")
    warm = states["Tune Hyperparameters (Warm Start)"]
    assert warm["Resource"] == states["Tune Hyperparameters"]["Resource"]
    assert warm["Parameters"] == {
        **states["Tune Hyperparameters"]["Parameters"],
        "WarmStartConfig.$": "$.tuning.WarmStartConfig",
    }
    assert {k: v for k, v in warm.items() if k not in ("Parameters", "Comment")} == {
        k: v for k, v in states["Tune Hyperparameters"].items() if k not in ("Parameters", "Comment")
    }
    [choice] = states["Warm Start?"]["Choices"]
    assert choice == {
        "Variable": "$.tuning.WarmStartConfig",
        "IsPresent": True,
        "Next": "Tune Hyperparameters (Warm Start)",
    }
    assert states["Warm Start?"]["Default"] == "Tune Hyperparameters"
    assert states["Compress Model"]["Resource"].endswith("createTrainingJob.sync")
    assert states["Augment Data"]["Resource"].endswith("createProcessingJob.sync")
    choices = states["Compilation Done?"]["Choices"]
    assert any(c.get("NumericGreaterThanEqualsPath") == "$.compression.max_polls" for c in choices)


BATCH_TASK_INPUT_MODELS: dict[str, type[BaseModel]] = {
    "PlanBatchFunctionArn": batch_payloads.PlanInput,
    "CollectBatchStatsFunctionArn": batch_payloads.CollectInput,
}


def test_batch_lambda_tasks_send_what_the_handlers_parse() -> None:
    states = _states(_load(STATEMACHINES / "batch_pipeline.asl.json"))
    seen = set()
    for name, state in states.items():
        match = re.fullmatch(r"\$\{(\w+)\}", state.get("Resource", ""))
        if state["Type"] != "Task" or not match:
            continue
        model = BATCH_TASK_INPUT_MODELS[match[1]]
        seen.add(match[1])
        sent = {key.removesuffix(".$") for key in state["Parameters"]}
        required = {k for k, f in model.model_fields.items() if f.is_required()}
        assert required <= sent <= set(model.model_fields), f"{name}: sends {sent}, {model.__name__} takes {required}"
    assert seen == set(BATCH_TASK_INPUT_MODELS)


def test_batch_pipeline_restores_capacity_on_every_path_after_a_resize() -> None:
    states = _states(_load(STATEMACHINES / "batch_pipeline.asl.json"))
    for name in ("Submit Array Job", "Submit Single Job", "Resize Compute Environment"):
        assert states[name]["Catch"][0]["Next"] == "Restore Needed?", name
        assert states[name]["Resource"].endswith(".sync") or name.startswith("Resize")
    assert states["Submit Array Job"]["Next"] == states["Submit Single Job"]["Next"] == "Restore Needed?"
    assert states["Restore Compute Environment"]["Catch"][0]["Next"] == "Collect Batch Stats"


@pytest.mark.parametrize("name", ["Submit Array Job", "Submit Single Job"])
def test_batch_submit_retries_throttling_as_step_functions_names_it(name: str) -> None:
    """Only throttling is retried on SubmitJob (a retried submission that went through would start a second job).
    The optimised batch:submitJob.sync names an error outside Batch's model (TooManyRequestsException, HTTP 429)
    Batch.AWSBatchException, the generic name; the aws-sdk form of the code is kept for the local cloud. Backoff
    with jitter, long enough to ride out SubmitJob's rate limit; ClientException/ServerException are not retried."""
    state = _states(_load(STATEMACHINES / "batch_pipeline.asl.json"))[name]
    assert state["Resource"] == "arn:aws:states:::batch:submitJob.sync"
    [rule] = state["Retry"]
    assert set(rule["ErrorEquals"]) == {"Batch.AWSBatchException", "Batch.TooManyRequestsException"}
    assert rule["BackoffRate"] >= 2
    assert rule["JitterStrategy"] == "FULL"
    assert rule["MaxAttempts"] >= 5
    delays = (rule["IntervalSeconds"] * rule["BackoffRate"] ** i for i in range(rule["MaxAttempts"]))
    waited = sum(min(delay, rule["MaxDelaySeconds"]) for delay in delays)
    assert waited >= 60, f"{name} gives up on throttling after {waited} s"
    assert "Batch.ServerException" not in rule["ErrorEquals"]
    assert "Batch.ClientException" not in rule["ErrorEquals"]
