"""Warm start: the spec's field-level errors, the preflight's WarmStartConfig (botocore's model: 1..5 parents),
SageMaker's restrictions on a parent, and the parent resolution against in-memory run records."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mlcp.aws.service_models import ServiceModels
from mlcp.errors import SpecInvalid
from mlcp.training import tuning, warm_start
from mlcp.training.api_models import RunView
from mlcp.training.preflight import preflight_spec, requests, sample_run
from mlcp.training.tuning_spec import WarmStartType
from tests.unit.builders import asl_parameter_keys, make_run, make_spec, spec_data

CHECKER = ServiceModels()


def warm_data(warm: dict[str, Any], **tuning_fields: Any) -> dict[str, Any]:
    data = spec_data()
    data["tuning"] = {**data["tuning"], **tuning_fields, "warm_start": warm}
    return data


def spec_errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecInvalid) as caught:
        make_spec(data)
    return {e.field: e.message for e in caught.value.errors}


# --- the spec ----------------------------------------------------------------------------------------------------
def test_warm_start_defaults_to_the_last_successful_run() -> None:
    warm = make_spec(warm_data({"type": "TransferLearning"})).tuning.warm_start
    assert warm is not None
    assert (warm.type, warm.from_, warm.parents_wanted()) == (WarmStartType.TRANSFER_LEARNING, "last_successful", 1)


def test_a_list_of_runs_means_every_listed_run_unless_max_parents_says_fewer() -> None:
    listed = make_spec(warm_data({"type": "TransferLearning", "from": ["a", "b", "c"]})).tuning.warm_start
    assert listed is not None
    assert listed.parents_wanted() == 3
    capped = make_spec(warm_data({"type": "TransferLearning", "from": ["a", "b", "c"], "max_parents": 2}))
    assert capped.tuning.warm_start is not None
    assert capped.tuning.warm_start.parents_wanted() == 2
    runs = Runs([parent_record(f"churn-{i:02d}", i) for i in (1, 2, 3)])
    run = make_run(warm_data({"type": "TransferLearning", "from": ["churn-03", "churn-01", "churn-02"]}))
    plan = warm_start.plan(run, runs, runs)  # type: ignore[arg-type]
    assert plan is not None
    assert plan.parent_runs == ["churn-03", "churn-01", "churn-02"]


@pytest.mark.parametrize(
    ("warm", "field"),
    [
        ({"type": "Identical"}, "tuning.warm_start.type"),
        ({"type": "TransferLearning", "max_parents": 6}, "tuning.warm_start.max_parents"),
        ({"type": "TransferLearning", "max_parents": 0}, "tuning.warm_start.max_parents"),
        ({"type": "TransferLearning", "from": ["r1", "r2", "r3", "r4", "r5", "r6"]}, "tuning.warm_start.from"),
        ({"type": "TransferLearning", "from": "latest"}, "tuning.warm_start.from"),
        ({"type": "TransferLearning", "from": ["r1", "r1"]}, "tuning.warm_start.from"),
        ({"type": "TransferLearning", "parents": ["x"]}, "tuning.warm_start.parents"),
    ],
)
def test_bad_warm_start_fields_are_refused_by_name(warm: dict[str, Any], field: str) -> None:
    errors = spec_errors(warm_data(warm))
    assert any(f == field or f.startswith(field + ".") for f in errors), errors


def test_grid_and_hyperband_refuse_warm_start() -> None:
    data = warm_data({"type": "TransferLearning"}, strategy="Hyperband", early_stopping="Off")
    assert "not Hyperband" in spec_errors(data)["tuning.warm_start"]
    grid = spec_data()
    grid["tuning"] = {
        **grid["tuning"],
        "strategy": "Grid",
        "parameter_ranges": {"categorical": [{"name": "booster", "values": ["gbtree", "dart"]}]},
        "max_jobs": None,
        "max_parallel_jobs": 2,
        "warm_start": {"type": "TransferLearning"},
    }
    grid["tuning"].pop("max_jobs")
    assert "not Grid" in spec_errors(grid)["tuning.warm_start"]


def test_random_search_takes_warm_start() -> None:
    assert make_spec(warm_data({"type": "IdenticalDataAndAlgorithm"}, strategy="Random")).tuning.warm_start


def test_the_stored_run_spec_reads_back_with_from() -> None:
    spec = make_spec(warm_data({"type": "TransferLearning", "from": ["a", "b"], "max_parents": 2}))
    stored = spec.model_dump_json(exclude_none=True)
    assert '"from":["a","b"]' in stored
    assert type(spec).model_validate_json(stored) == spec


# --- the preflight -----------------------------------------------------------------------------------------------
def test_preflight_sends_max_parents_stand_ins_that_aws_model_accepts() -> None:
    spec = make_spec(warm_data({"type": "TransferLearning", "max_parents": 5}))
    preflight_spec(spec, reach=None, checker=CHECKER)
    request = next(r for op, r, _, _ in requests(sample_run(spec)) if op == "CreateHyperParameterTuningJob")
    config = request["WarmStartConfig"]
    assert config["WarmStartType"] == "TransferLearning"
    assert len(config["ParentHyperParameterTuningJobs"]) == 5
    assert CHECKER.check("sagemaker", "CreateHyperParameterTuningJob", request) == []


def test_botocore_model_refuses_a_sixth_parent() -> None:
    """The model check the preflight runs is live for WarmStartConfig: six parents break its 1..5 bound."""
    run = make_run(warm_data({"type": "TransferLearning"}))
    plan = warm_start.WarmStartPlan(type=WarmStartType.TRANSFER_LEARNING, parents=[f"job-{i}" for i in range(6)])
    request = tuning.tuning_request(run, plan.config())
    problems = CHECKER.check("sagemaker", "CreateHyperParameterTuningJob", request)
    assert [p.path for p in problems] == [("WarmStartConfig", "ParentHyperParameterTuningJobs")]


def test_no_warm_start_sends_no_warm_start_config() -> None:
    assert "WarmStartConfig" not in tuning.tuning_request(make_run())


# --- SageMaker's restrictions on a parent ------------------------------------------------------------------------
def stage(data: dict[str, Any]) -> Any:
    return make_spec(data).tuning


BASE = warm_data({"type": "TransferLearning"})


def changed(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    change(data["tuning"])
    return data


def test_a_same_spec_parent_is_usable() -> None:
    assert warm_start.stage_problem(stage(BASE), stage(BASE), WarmStartType.IDENTICAL_DATA_AND_ALGORITHM) is None


def test_another_objective_metric_is_refused() -> None:
    def change(t: dict[str, Any]) -> None:
        t["objective"] = {"metric": "train:loss", "type": "Minimize"}

    problem = warm_start.stage_problem(stage(BASE), stage(changed(change)), WarmStartType.TRANSFER_LEARNING)
    assert problem is not None
    assert "objective metric is 'train:loss'" in problem


def test_a_static_hyperparameter_made_tunable_keeps_the_count() -> None:
    def change(t: dict[str, Any]) -> None:  # the parent tuned num_round, this run holds it static
        t["static_hyperparameters"] = {"objective": "binary:logistic"}
        t["parameter_ranges"]["integer"].append({"name": "num_round", "min": 50, "max": 400})

    assert warm_start.stage_problem(stage(BASE), stage(changed(change)), WarmStartType.TRANSFER_LEARNING) is None


def test_a_hyperparameter_that_changes_type_is_refused() -> None:
    def change(t: dict[str, Any]) -> None:
        t["parameter_ranges"]["integer"] = []
        t["parameter_ranges"]["continuous"].append({"name": "max_depth", "min": 3.0, "max": 10.0})

    problem = warm_start.stage_problem(stage(BASE), stage(changed(change)), WarmStartType.TRANSFER_LEARNING)
    assert problem == "hyperparameter 'max_depth' was continuous, now integer (the type must not change)"


def test_more_than_ten_static_changes_are_refused() -> None:
    def parent(t: dict[str, Any]) -> None:  # 11 categorical values tuned in the parent, static in this run
        t["parameter_ranges"]["categorical"].append({"name": "tree_method", "values": [f"m{i}" for i in range(11)]})

    def new(t: dict[str, Any]) -> None:
        t["static_hyperparameters"] = {**t["static_hyperparameters"], "tree_method": "m0"}

    def fewer_values(t: dict[str, Any]) -> None:  # 10 values: exactly the limit
        t["parameter_ranges"]["categorical"].append({"name": "tree_method", "values": [f"m{i}" for i in range(10)]})

    assert (
        warm_start.stage_problem(stage(changed(new)), stage(changed(fewer_values)), WarmStartType.TRANSFER_LEARNING)
        is None
    )
    problem = warm_start.stage_problem(stage(changed(new)), stage(changed(parent)), WarmStartType.TRANSFER_LEARNING)
    assert problem is not None
    assert "11 changes" in problem


def test_identical_data_needs_the_same_image_transfer_learning_does_not() -> None:
    def change(t: dict[str, Any]) -> None:
        t["training"]["image_uri"] = t["training"]["image_uri"].replace(":1.4", ":2.0")

    parent = stage(changed(change))
    assert warm_start.stage_problem(stage(BASE), parent, WarmStartType.TRANSFER_LEARNING) is None
    problem = warm_start.stage_problem(stage(BASE), parent, WarmStartType.IDENTICAL_DATA_AND_ALGORITHM)
    assert problem is not None
    assert "same training image" in problem


# --- choosing the parents (in-memory run store) -------------------------------------------------------------------
class Runs:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = {r["run_id"]: r for r in records}

    def get(self, run_id: str) -> dict[str, Any] | None:
        return self.records.get(run_id)

    def page(self, pipeline: str | None, status: str | None, limit: int, start: dict[str, Any] | None) -> Any:
        found = [r for r in self.records.values() if r["pipeline"] == pipeline and r["status"] == status]
        found.sort(key=lambda r: r["created_at"], reverse=True)
        offset = int((start or {}).get("offset", 0))
        rest = found[offset + limit :]
        return found[offset : offset + limit], ({"offset": offset + limit} if rest else None)


def parent_record(run_id: str, created: int, data: dict[str, Any] = BASE, **fields: Any) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "pipeline": "churn",
        "status": "SUCCEEDED",
        "created_at": f"2026-11-{created:02d}T00:00:00Z",
        "dataset_version": f"2026-11-{created:02d}",
        "run_spec_json": make_spec(data).model_dump_json(exclude_none=True),
        "stages": {"tune": {"status": "SUCCEEDED", "job_name": f"{run_id}-hpo"}},
        "best": {"tuning_job_name": f"{run_id}-hpo"},
        **fields,
    }


def test_last_successful_pages_through_the_index_newest_first() -> None:
    runs = Runs([parent_record(f"churn-{i:02d}", i) for i in range(1, 27)])  # two pages of 25
    run = make_run(warm_data({"type": "TransferLearning", "max_parents": 3}))
    plan = warm_start.plan(run, runs, runs)  # type: ignore[arg-type]
    assert plan is not None
    assert plan.parent_runs == ["churn-26", "churn-25", "churn-24"]
    assert plan.config() == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": f"churn-{i}-hpo"} for i in (26, 25, 24)],
        "WarmStartType": "TransferLearning",
    }


def test_unusable_runs_are_skipped_for_older_usable_ones() -> None:
    bad = copy.deepcopy(BASE)
    bad["tuning"]["objective"] = {"metric": "train:loss", "type": "Minimize"}
    runs = Runs([parent_record("churn-01", 1), parent_record("churn-02", 2, bad)])
    plan = warm_start.plan(make_run(BASE), runs, runs)  # type: ignore[arg-type]
    assert plan is not None
    assert plan.parent_runs == ["churn-01"]
    assert plan.cold_reason is None


def test_without_a_run_index_last_successful_starts_cold() -> None:
    plan = warm_start.plan(make_run(BASE), Runs([]), None)  # type: ignore[arg-type]
    assert plan is not None
    assert plan.config() is None
    assert plan.cold_reason == "this deployment cannot list the pipeline's runs"
    assert plan.detail() == "started cold: this deployment cannot list the pipeline's runs"


def test_a_run_is_never_its_own_parent() -> None:
    run = make_run(warm_data({"type": "TransferLearning", "from": ["self"]}), run_id="churn-2026-11-27-4ff98e78fd")
    runs = Runs([parent_record(run.run_id, 27)])
    plan = warm_start.plan(run, runs, runs)  # type: ignore[arg-type]
    assert plan is not None
    assert plan.cold_reason == "no usable parent: run self does not exist"
    explicit = make_run(warm_data({"type": "TransferLearning", "from": [run.run_id]}), run_id=run.run_id)
    plan = warm_start.plan(explicit, runs, runs)  # type: ignore[arg-type]
    assert plan is not None
    assert plan.cold_reason == f"no usable parent: run {run.run_id} is this run"


def test_the_warm_start_task_passes_every_key_of_the_warm_request() -> None:
    """The state machine's warm-start task lists exactly the request's keys (Parameters cannot pass an optional
    one: the Choice "Warm Start?" picks this task only when build_tuning sent WarmStartConfig)."""
    run = make_run(warm_data({"type": "TransferLearning"}))
    plan = warm_start.WarmStartPlan(type=WarmStartType.TRANSFER_LEARNING, parents=["churn-v1-hpo"])
    assert set(tuning.tuning_request(run, plan.config())) == asl_parameter_keys("Tune Hyperparameters (Warm Start)")
    assert set(tuning.tuning_request(run)) == asl_parameter_keys("Tune Hyperparameters")


def test_the_api_returns_the_run_records_warm_start() -> None:
    """GET /pipelines/{name}/runs/{run_id} (RunView drops unknown fields): warm_start is one of its fields."""
    record = parent_record("churn-02", 2)
    record["warm_start"] = warm_start.WarmStartPlan(
        type=WarmStartType.TRANSFER_LEARNING, cold_reason="pipeline churn has no earlier SUCCEEDED run"
    ).record()
    view = RunView.model_validate(record).model_dump(mode="json")
    assert view["warm_start"] == {
        "type": "TransferLearning",
        "parents": [],
        "parent_runs": [],
        "cold_reason": "pipeline churn has no earlier SUCCEEDED run",
    }


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("last_succesful", "not 'last_succesful' (did you mean 'last_successful'?)"),
        ("churn-v1-abc", "not 'churn-v1-abc' (one run: from: [churn-v1-abc])"),
        ([], "lists 0 run ids; give 1..5 (SageMaker's limit on parent tuning jobs), or 'last_successful'"),
        (["a", "b", "c", "d", "e", "f"], "lists 6 run ids; give 1..5"),
        (3, "must be 'last_successful' or a list of run ids of this pipeline"),
    ],
)
def test_a_bad_from_is_one_error_on_the_field_not_one_per_union_branch(written: Any, message: str) -> None:
    errors = spec_errors(warm_data({"type": "TransferLearning", "from": written}))
    assert list(errors) == ["tuning.warm_start.from"], errors
    assert message in errors["tuning.warm_start.from"]


def test_parents_whose_jobs_would_exceed_the_tuning_jobs_limit_are_skipped() -> None:
    """SageMaker counts the parents' training jobs against the new tuning job's limit (750; Random 10,000): a parent
    that would push the total over it is skipped for a smaller older one, and one alone over it means a cold start."""
    big = {"Completed": 700, "Stopped": 40}  # 740 launched
    runs = Runs(
        [
            parent_record("churn-01", 1, trials={"Completed": 30}),
            parent_record("churn-02", 2, trials=big),
            parent_record("churn-03", 3, trials={"Completed": 4}),
        ]
    )
    run = make_run(warm_data({"type": "TransferLearning", "max_parents": 3}))
    own = run.spec.tuning.max_jobs
    assert own == 12  # the example's Bayesian job: 12 + 4 + 740 > 750, 12 + 4 + 30 fits
    plan = warm_start.plan(run, runs, runs)  # type: ignore[arg-type]
    assert plan is not None
    assert plan.parent_runs == ["churn-03", "churn-01"]
    assert warm_start.launched_jobs({"trials": big}) == 740
    alone = Runs([parent_record("churn-02", 2, trials={"Completed": 750})])
    cold = warm_start.plan(run, alone, alone)  # type: ignore[arg-type]
    assert cold is not None
    assert cold.parents == []
    assert cold.cold_reason == (
        f"no usable parent: run churn-02: its 750 training jobs and the {own} already counted would exceed the 750 "
        "training jobs of one tuning job (a parent's jobs count against the limit)"
    )
