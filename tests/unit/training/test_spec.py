"""The pipeline spec: the example parses; each broken rule is reported on the exact field the user wrote."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from mlcp.errors import FieldError, SpecInvalid
from mlcp.training.spec import Neo, PipelineSpec, Pruning, Quantization, parse_spec, spec_json_schema
from mlcp.training.tuning_spec import Strategy
from tests.support import ROOT, example_spec, example_spec_text

Doc = dict[str, Any]
Mutation = Callable[[Doc], None]

SCHEMA_FILE = ROOT / "docs" / "pipeline-spec.schema.json"
NEO_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/neo-inference:1.0"


# --- helpers -------------------------------------------------------------------------------------------------
def _parts(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def _parent(doc: Doc, path: str) -> tuple[Any, str | int]:
    *head, last = _parts(path)
    node: Any = doc
    for part in head:
        node = node[part]
    return node, last


def put(path: str, value: Any) -> Mutation:
    """Set ``path`` (dots; digits index lists) to ``value``."""

    def mutate(doc: Doc) -> None:
        node, last = _parent(doc, path)
        node[last] = copy.deepcopy(value)

    return mutate


def drop(path: str) -> Mutation:
    def mutate(doc: Doc) -> None:
        node, last = _parent(doc, path)
        del node[last]

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(doc: Doc) -> None:
        for m in mutations:
            m(doc)

    return mutate


def grid_tuning(**changes: Any) -> Mutation:
    """Switch the example to a valid Grid search (2 x 2 categorical grid), then apply ``changes`` to tuning."""

    def mutate(doc: Doc) -> None:
        tuning = doc["tuning"]
        tuning["strategy"] = "Grid"
        tuning["parameter_ranges"] = {
            "categorical": [
                {"name": "booster", "values": ["gbtree", "dart"]},
                {"name": "max_depth", "values": ["3", "6"]},
            ]
        }
        tuning.pop("max_jobs")
        tuning["early_stopping"] = "Off"
        tuning.update(copy.deepcopy(changes))

    return mutate


def neo(**changes: Any) -> Mutation:
    """Switch the example to a valid Neo compilation (no metric gate, an inference image), then apply changes."""

    def mutate(doc: Doc) -> None:
        doc["compression"] = {
            "method": "neo",
            "framework": "XGBOOST",
            "input_shape": {"data": [1, 20]},
            "target_device": "ml_c5",
        }
        doc["gate"] = {"min_size_reduction": 0.1}
        doc["registry"]["inference_image_uri"] = NEO_IMAGE
        for key, value in changes.items():
            if value is None:
                doc["compression"].pop(key, None)
            else:
                doc["compression"][key] = copy.deepcopy(value)

    return mutate


def pruning(**changes: Any) -> Mutation:
    def mutate(doc: Doc) -> None:
        doc["compression"] = {
            "method": "pruning",
            "target_sparsity": 0.5,
            "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model-compress:0.9",
            **copy.deepcopy(changes),
        }

    return mutate


def continuous(n: int) -> list[dict[str, Any]]:
    return [{"name": f"p{i}", "min": 0.1, "max": 0.9} for i in range(n)]


def metrics(n: int) -> list[dict[str, str]]:
    return [{"name": "validation:auc", "regex": "auc=(.*)"}] + [
        {"name": f"m{i}", "regex": f"m{i}=(.*)"} for i in range(n - 1)
    ]


def mutated(*mutations: Mutation) -> Doc:
    doc = copy.deepcopy(example_spec())
    for m in mutations:
        m(doc)
    return doc


def errors_of(document: str | bytes | Doc) -> list[FieldError]:
    with pytest.raises(SpecInvalid) as info:
        parse_spec(document)
    return info.value.errors


# --- the valid example ---------------------------------------------------------------------------------------
def _check_example(spec: PipelineSpec) -> None:
    assert spec.name == "churn"
    assert [c.name for c in spec.dataset.channels] == ["train", "validation"]
    assert spec.tuning.strategy is Strategy.BAYESIAN
    assert spec.tuning.max_jobs == 12
    assert spec.tuning.parameter_ranges.names() == ["eta", "subsample", "max_depth", "booster"]
    assert isinstance(spec.compression, Quantization)
    assert spec.compression.calibration_channel == "validation"
    assert spec.tags == {"team": "growth"}


def test_example_spec_parses_from_yaml_text() -> None:
    _check_example(parse_spec(example_spec_text()))


def test_example_spec_parses_from_yaml_bytes() -> None:
    _check_example(parse_spec(example_spec_text().encode()))


def test_example_spec_parses_from_dict() -> None:
    _check_example(parse_spec(example_spec()))


def test_example_spec_parses_from_json_text() -> None:
    _check_example(parse_spec(json.dumps(example_spec(), indent=2)))


def test_yaml_dict_and_json_forms_give_the_same_spec() -> None:
    from_yaml = parse_spec(example_spec_text())
    assert parse_spec(example_spec()) == from_yaml
    assert parse_spec(json.dumps(example_spec())) == from_yaml


def test_parse_spec_does_not_modify_the_given_dict() -> None:
    doc = example_spec()
    before = copy.deepcopy(doc)
    parse_spec(doc)
    assert doc == before


# --- invalid specs: one broken rule each -----------------------------------------------------------------------
INVALID = [
    # names, URIs, ARNs, instance types
    pytest.param(put("name", "Churn"), "name", "should match pattern", id="name-uppercase"),
    pytest.param(put("name", "a" * 41), "name", "at most 40 characters", id="name-too-long"),
    pytest.param(put("name", "churn--v2"), "name", "should match pattern", id="name-double-hyphen"),
    pytest.param(put("api_version", "mlcp/v2"), "api_version", "'mlcp/v1'", id="api-version-unknown"),
    pytest.param(
        put("output", {"s3_prefix": "https://my-bucket/runs/"}),
        "output.s3_prefix",
        "should match pattern",
        id="s3-scheme",
    ),
    pytest.param(
        put("dataset.channels.0.uri", "s3://My_Bucket/data/"),
        "dataset.channels[0].uri",
        "should match pattern",
        id="s3-bucket-name",
    ),
    pytest.param(
        put("tuning.training.instance_type", "m5.xlarge"),
        "tuning.training.instance_type",
        "should match pattern",
        id="instance-type-without-ml-prefix",
    ),
    pytest.param(
        put("augment.instance_type", "ml.M5.xlarge"),
        "augment.instance_type",
        "should match pattern",
        id="instance-type-uppercase",
    ),
    pytest.param(
        put("tuning.training.image_uri", "churn-train:1.4"),
        "tuning.training.image_uri",
        "should match pattern",
        id="image-uri-without-registry",
    ),
    pytest.param(
        put("compression.image_uri", "123456789012.dkr.ecr.us-east-1.amazonaws.com/compress@sha256:abc"),
        "compression.image_uri",
        "should match pattern",
        id="image-uri-short-digest",
    ),
    pytest.param(
        put("role_arn", "arn:aws:iam::1234:role/mlcp"), "role_arn", "should match pattern", id="role-arn-account"
    ),
    pytest.param(
        put("role_arn", "arn:aws:iam::123456789012:user/mlcp"), "role_arn", "should match pattern", id="role-arn-user"
    ),
    pytest.param(
        put("registry.model_package_group", "churn_models"),
        "registry.model_package_group",
        "should match pattern",
        id="model-package-group-underscore",
    ),
    pytest.param(
        put("registry.model_package_group", "-churn"),
        "registry.model_package_group",
        "should match pattern",
        id="model-package-group-leading-hyphen",
    ),
    # structure
    pytest.param(put("colour", "blue"), "colour", "Extra inputs are not permitted", id="unknown-top-level-field"),
    pytest.param(
        put("tuning.training.gpus", 4), "tuning.training.gpus", "Extra inputs are not permitted", id="unknown-nested"
    ),
    pytest.param(drop("registry"), "registry", "Field required", id="registry-missing"),
    pytest.param(put("dataset.channels", []), "dataset.channels", "at least 1 item", id="no-channels"),
    pytest.param(
        put("dataset.channels.1.name", "train"),
        "dataset.channels[1].name",
        "duplicate channel name 'train'",
        id="duplicate-channel",
    ),
    pytest.param(
        put("dataset.channels.0.name", "model"),
        "dataset.channels",
        "'model' is reserved",
        id="channel-named-model-with-quantization",
    ),
    pytest.param(
        put("dataset.channels", [{"name": "validation"}] + [{"name": f"c{i}"} for i in range(19)]),
        "dataset.channels",
        "at most 19 channels with quantization",
        id="20-channels-with-quantization",
    ),
    pytest.param(
        put(
            "augment.inputs",
            [{"name": "train", "s3_uri": "s3://my-bucket/raw/", "local_path": "/opt/ml/processing/input/raw"}],
        ),
        "augment.outputs",
        "'train' is used twice",
        id="augment-input-output-same-name",
    ),
    # tuning: strategy rules
    pytest.param(
        grid_tuning(parameter_ranges={"continuous": [{"name": "eta", "min": 0.1, "max": 0.5}]}, max_parallel_jobs=1),
        "tuning.parameter_ranges",
        "Grid strategy takes categorical ranges only",
        id="grid-with-continuous",
    ),
    pytest.param(
        grid_tuning(
            parameter_ranges={
                "integer": [{"name": "max_depth", "min": 3, "max": 10}],
                "categorical": [{"name": "booster", "values": ["gbtree", "dart"]}],
            },
            max_parallel_jobs=2,
        ),
        "tuning.parameter_ranges",
        "Grid strategy takes categorical ranges only",
        id="grid-with-integer",
    ),
    pytest.param(grid_tuning(max_jobs=4), "tuning.max_jobs", "not allowed with the Grid strategy", id="grid-max-jobs"),
    pytest.param(
        grid_tuning(
            parameter_ranges={
                "categorical": [
                    {"name": "a", "values": [f"a{i}" for i in range(28)]},
                    {"name": "b", "values": [f"b{i}" for i in range(28)]},
                ]
            }
        ),
        "tuning.parameter_ranges.categorical",
        "784 combinations",
        id="grid-too-large",
    ),
    pytest.param(
        grid_tuning(max_parallel_jobs=5),
        "tuning.max_parallel_jobs",
        "number of grid combinations (4)",
        id="grid-parallel-exceeds-grid",
    ),
    pytest.param(grid_tuning(random_seed=7), "tuning.random_seed", "Grid strategy", id="grid-random-seed"),
    pytest.param(
        drop("tuning.max_jobs"), "tuning.max_jobs", "required with the Bayesian strategy", id="bayesian-no-max-jobs"
    ),
    pytest.param(
        both(put("tuning.strategy", "Random"), drop("tuning.max_jobs")),
        "tuning.max_jobs",
        "required with the Random strategy",
        id="random-no-max-jobs",
    ),
    pytest.param(
        both(put("tuning.strategy", "Hyperband"), put("tuning.early_stopping", "Off"), drop("tuning.max_jobs")),
        "tuning.max_jobs",
        "required with the Hyperband strategy",
        id="hyperband-no-max-jobs",
    ),
    pytest.param(
        put("tuning.max_jobs", 751),
        "tuning.max_jobs",
        "at most 750 training jobs with the Bayesian strategy",
        id="bayesian-751-jobs",
    ),
    pytest.param(
        both(put("tuning.strategy", "Hyperband"), put("tuning.early_stopping", "Off"), put("tuning.max_jobs", 751)),
        "tuning.max_jobs",
        "at most 750 training jobs with the Hyperband strategy",
        id="hyperband-751-jobs",
    ),
    pytest.param(
        both(put("tuning.strategy", "Random"), put("tuning.max_jobs", 10_001)),
        "tuning.max_jobs",
        "less than or equal to 10000",
        id="random-10001-jobs",
    ),
    pytest.param(put("tuning.max_jobs", 0), "tuning.max_jobs", "greater than or equal to 1", id="zero-jobs"),
    pytest.param(
        put("tuning.max_parallel_jobs", 13),
        "tuning.max_parallel_jobs",
        "must not exceed max_jobs (12)",
        id="parallel-exceeds-max-jobs",
    ),
    pytest.param(
        put("tuning.strategy", "Hyperband"),
        "tuning.early_stopping",
        "must be Off with Hyperband",
        id="hyperband-early-stopping-auto",
    ),
    pytest.param(
        put("tuning.hyperband", {"min_resource": 1, "max_resource": 27}),
        "tuning.hyperband",
        "only allowed with the Hyperband strategy",
        id="hyperband-config-with-bayesian",
    ),
    pytest.param(
        both(
            put("tuning.strategy", "Hyperband"),
            put("tuning.early_stopping", "Off"),
            put("tuning.hyperband", {"min_resource": 10, "max_resource": 10}),
        ),
        "tuning.hyperband.max_resource",
        "greater than min_resource",
        id="hyperband-resources-not-ordered",
    ),
    # --- tuning: hyperparameters and metrics ---
    pytest.param(
        put(
            "tuning.parameter_ranges",
            {"continuous": continuous(16), "integer": [{"name": f"i{i}", "min": 1, "max": 2} for i in range(15)]},
        ),
        "tuning.parameter_ranges",
        "31 tunable hyperparameters; SageMaker allows at most 30",
        id="31-tunable-hyperparameters",
    ),
    pytest.param(
        put("tuning.parameter_ranges", {}),
        "tuning.parameter_ranges",
        "at least one hyperparameter range",
        id="no-tunable-hyperparameters",
    ),
    pytest.param(
        put("tuning.static_hyperparameters", {f"s{i}": "1" for i in range(97)}),
        "tuning.static_hyperparameters",
        "101 hyperparameters given (4 tunable + 97 static), at most 100 in all",
        id="101-hyperparameters-in-all",
    ),
    pytest.param(
        put("tuning.metric_definitions", metrics(21)),
        "tuning.metric_definitions",
        "at most 20 items",
        id="21-metric-definitions",
    ),
    pytest.param(
        put("tuning.metric_definitions.1.name", "validation:auc"),
        "tuning.metric_definitions",
        "'validation:auc' is defined twice",
        id="metric-defined-twice",
    ),
    pytest.param(
        put("tuning.objective.metric", "validation:f1"),
        "tuning.objective.metric",
        "'validation:f1' is not among metric_definitions (validation:auc, train:loss)",
        id="objective-not-a-metric",
    ),
    pytest.param(
        put("tuning.objective.type", "Maximise"), "tuning.objective.type", "'Maximize' or", id="objective-type"
    ),
    pytest.param(
        put("tuning.parameter_ranges.integer.0.name", "eta"),
        "tuning.parameter_ranges",
        "hyperparameter 'eta' has more than one range",
        id="duplicate-range",
    ),
    pytest.param(
        put("tuning.static_hyperparameters.max_depth", "6"),
        "tuning.static_hyperparameters.max_depth",
        "is also a tunable range",
        id="static-also-tunable",
    ),
    pytest.param(
        put("tuning.parameter_ranges.continuous.0.min", 0),
        "tuning.parameter_ranges.continuous[0].min",
        "Logarithmic scaling needs min > 0",
        id="continuous-log-min-zero",
    ),
    pytest.param(
        put("tuning.parameter_ranges.integer.0", {"name": "max_depth", "min": 0, "max": 10, "scaling": "Logarithmic"}),
        "tuning.parameter_ranges.integer[0].min",
        "Logarithmic scaling needs min > 0",
        id="integer-log-min-zero",
    ),
    pytest.param(
        put("tuning.parameter_ranges.continuous.1.scaling", "ReverseLogarithmic"),
        "tuning.parameter_ranges.continuous[1].scaling",
        "ReverseLogarithmic scaling needs 0 <= min and max < 1",
        id="reverse-log-max-one",
    ),
    pytest.param(
        put(
            "tuning.parameter_ranges.continuous.1",
            {"name": "subsample", "min": -0.1, "max": 0.9, "scaling": "ReverseLogarithmic"},
        ),
        "tuning.parameter_ranges.continuous[1].scaling",
        "ReverseLogarithmic scaling needs 0 <= min and max < 1",
        id="reverse-log-negative-min",
    ),
    pytest.param(
        put("tuning.parameter_ranges.integer.0.scaling", "ReverseLogarithmic"),
        "tuning.parameter_ranges.integer[0].scaling",
        "Input should be",
        id="integer-reverse-log",
    ),
    pytest.param(
        put("tuning.parameter_ranges.continuous.1.min", 1.0),
        "tuning.parameter_ranges.continuous[1].max",
        "must be greater than min (1.0)",
        id="continuous-min-equals-max",
    ),
    pytest.param(
        put("tuning.parameter_ranges.integer.0.min", 11),
        "tuning.parameter_ranges.integer[0].max",
        "must be greater than min (11)",
        id="integer-min-above-max",
    ),
    pytest.param(
        put("tuning.parameter_ranges.continuous.1.max", float("inf")),
        "tuning.parameter_ranges.continuous[1].max",
        "must be a finite number",
        id="continuous-infinite-max",
    ),
    pytest.param(
        put("tuning.parameter_ranges.categorical.0.values", [f"v{i}" for i in range(31)]),
        "tuning.parameter_ranges.categorical[0].values",
        "at most 30 items",
        id="categorical-31-values",
    ),
    pytest.param(
        put("tuning.parameter_ranges.categorical.0.values", ["gbtree", "dart", "gbtree"]),
        "tuning.parameter_ranges.categorical[0].values",
        "values must be unique",
        id="categorical-duplicate-values",
    ),
    pytest.param(
        put("tuning.parameter_ranges.continuous.0.name", "learning rate"),
        "tuning.parameter_ranges.continuous[0].name",
        "should match pattern",
        id="hyperparameter-name-space",
    ),
    # training resources
    pytest.param(
        put("tuning.training.spot.max_wait_seconds", 1800),
        "tuning.training.spot.max_wait_seconds",
        "must be >= max_runtime_seconds (3600)",
        id="spot-wait-below-runtime",
    ),
    pytest.param(
        put("tuning.training.max_runtime_seconds", 28 * 24 * 3600 + 1),
        "tuning.training.max_runtime_seconds",
        "less than or equal to 2419200",
        id="training-runtime-over-28-days",
    ),
    # compression
    pytest.param(put("compression.method", "distill"), "compression", "does not match", id="compression-method"),
    pytest.param(pruning(target_sparsity=1.0), "compression.target_sparsity", "less than 1", id="pruning-sparsity-one"),
    pytest.param(
        pruning(target_sparsity=0), "compression.target_sparsity", "greater than 0", id="pruning-sparsity-zero"
    ),
    pytest.param(put("compression.dtype", "int4"), "compression.dtype", "'int8', 'fp16' or 'bf16'", id="dtype"),
    pytest.param(
        put("compression.calibration_channel", "test"),
        "compression.calibration_channel",
        "is not a dataset channel (train, validation)",
        id="calibration-channel-unknown",
    ),
    pytest.param(
        neo(target_platform={"os": "LINUX", "arch": "ARM64"}),
        "compression.target_device",
        "exactly one of target_device and target_platform",
        id="neo-device-and-platform",
    ),
    pytest.param(
        neo(target_device=None),
        "compression.target_device",
        "exactly one of target_device and target_platform",
        id="neo-no-target",
    ),
    pytest.param(
        neo(target_device="ml_m99"),
        "compression.target_device",
        "unknown Neo target device 'ml_m99'",
        id="neo-unknown-device",
    ),
    pytest.param(
        neo(target_platform={"os": "WINDOWS", "arch": "X86_64"}, target_device=None),
        "compression.target_platform.os",
        "'ANDROID' or 'LINUX'",
        id="neo-platform-os",
    ),
    pytest.param(
        neo(framework_version="latest"),
        "compression.framework_version",
        "should match pattern",
        id="neo-framework-version",
    ),
    pytest.param(
        both(neo(), drop("registry.inference_image_uri")),
        "registry.inference_image_uri",
        "required with Neo compilation",
        id="neo-without-inference-image",
    ),
    pytest.param(
        both(neo(), put("gate.max_metric_drop_absolute", 0.01)),
        "gate",
        "Neo compilation does not re-evaluate the model",
        id="neo-with-metric-gate",
    ),
    # gate, tags
    pytest.param(
        put("gate.max_metric_drop_absolute", 0.01),
        "gate.max_metric_drop_relative",
        "not both",
        id="gate-absolute-and-relative",
    ),
    pytest.param(
        put("gate.max_metric_drop_relative", 1.5),
        "gate.max_metric_drop_relative",
        "less than or equal to 1",
        id="gate-relative-over-one",
    ),
    pytest.param(
        put("gate.min_size_reduction", 1.0), "gate.min_size_reduction", "less than 1", id="gate-size-reduction-one"
    ),
    pytest.param(put("tags.aws:owner", "me"), "tags.aws:owner", "the aws: prefix is reserved", id="tag-aws-prefix"),
    pytest.param(
        put("tags.AWS:Owner", "me"), "tags.AWS:Owner", "the aws: prefix is reserved", id="tag-aws-prefix-uppercase"
    ),
    pytest.param(put("tags", {f"k{i}": "v" for i in range(41)}), "tags", "at most 40 items", id="tags-too-many"),
    pytest.param(put("tags.team", "x" * 257), "tags.team", "at most 256 characters", id="tag-value-too-long"),
    pytest.param(put("tags.team", "growth;ops"), "tags.team", "should match pattern", id="tag-value-characters"),
]


@pytest.mark.parametrize(("mutation", "field", "fragment"), INVALID)
def test_invalid_spec_is_reported_on_the_exact_field(mutation: Mutation, field: str, fragment: str) -> None:
    errors = errors_of(mutated(mutation))

    assert [e.field for e in errors] == [field], errors
    assert fragment in errors[0].message


def test_invalid_table_is_large_and_ids_are_unique() -> None:
    ids = [p.id for p in INVALID]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)


VALID = [
    pytest.param(both(put("tuning.strategy", "Random"), put("tuning.max_jobs", 10_000)), id="random-10000-jobs"),
    pytest.param(put("tuning.max_jobs", 750), id="bayesian-750-jobs"),
    pytest.param(
        both(
            put("tuning.strategy", "Hyperband"),
            put("tuning.early_stopping", "Off"),
            put("tuning.hyperband", {"min_resource": 1, "max_resource": 27}),
        ),
        id="hyperband",
    ),
    pytest.param(grid_tuning(), id="grid"),
    pytest.param(put("tuning.parameter_ranges", {"continuous": continuous(30)}), id="30-tunable-hyperparameters"),
    pytest.param(put("tuning.metric_definitions", metrics(20)), id="20-metric-definitions"),
    pytest.param(put("tuning.max_parallel_jobs", 12), id="parallel-equals-max-jobs"),
    pytest.param(
        put(
            "tuning.parameter_ranges.continuous.1",
            {"name": "subsample", "min": 0.0, "max": 0.99, "scaling": "ReverseLogarithmic"},
        ),
        id="reverse-log-in-range",
    ),
    pytest.param(
        put("tuning.parameter_ranges.categorical.0.values", [f"v{i}" for i in range(30)]), id="categorical-30-values"
    ),
    pytest.param(put("tuning.training.spot", {"enabled": False, "max_wait_seconds": 60}), id="spot-disabled"),
    pytest.param(put("tuning.training.spot.max_wait_seconds", 3600), id="spot-wait-equals-runtime"),
    pytest.param(pruning(structured=True), id="pruning"),
    pytest.param(drop("compression.calibration_channel"), id="quantization-without-calibration"),
    pytest.param(
        put("dataset.channels", [{"name": "validation"}] + [{"name": f"c{i}"} for i in range(18)]),
        id="19-channels-with-quantization",
    ),
    pytest.param(neo(), id="neo-device"),
    pytest.param(both(neo(), put("dataset.channels.1.name", "model")), id="neo-channel-named-model"),
    pytest.param(neo(target_device=None, target_platform={"os": "LINUX", "arch": "ARM64"}), id="neo-platform"),
    pytest.param(put("tags", {"team": "growth", "awsome": "yes", "cost:aws:center": "1"}), id="tags-with-aws-inside"),
    pytest.param(put("name", "a" * 40), id="name-40-chars"),
    pytest.param(put("role_arn", "arn:aws-cn:iam::123456789012:role/service-role/mlcp"), id="role-arn-china-path"),
    pytest.param(put("output", {"s3_prefix": "s3://my-bucket.example/runs/churn/"}), id="output-prefix-dotted-bucket"),
    pytest.param(put("registry.model_package_group", "a" * 63), id="model-package-group-63-chars"),
]


@pytest.mark.parametrize("mutation", VALID)
def test_valid_variant_parses(mutation: Mutation) -> None:
    doc = mutated(mutation)
    spec = parse_spec(doc)
    assert spec.name == doc["name"]


def test_hyperband_spec_keeps_its_resources() -> None:
    spec = parse_spec(
        mutated(
            put("tuning.strategy", "Hyperband"),
            put("tuning.early_stopping", "Off"),
            put("tuning.hyperband", {"min_resource": 2, "max_resource": 27}),
        )
    )
    assert spec.tuning.strategy is Strategy.HYPERBAND
    assert spec.tuning.hyperband is not None
    assert (spec.tuning.hyperband.min_resource, spec.tuning.hyperband.max_resource) == (2, 27)


def test_neo_spec_serialises_its_input_shape_compactly() -> None:
    spec = parse_spec(mutated(neo(input_shape={"data": [1, 3, 224, 224]})))
    assert isinstance(spec.compression, Neo)
    assert spec.compression.data_input_config() == '{"data":[1,3,224,224]}'


def test_pruning_spec_is_a_pruning_model() -> None:
    spec = parse_spec(mutated(pruning(target_sparsity=0.75)))
    assert isinstance(spec.compression, Pruning)
    assert spec.compression.target_sparsity == 0.75


# --- documents that are not specs at all ---------------------------------------------------------------------
def test_invalid_yaml_reports_the_line() -> None:
    text = "name: churn\ndescription: fine\ntuning: strategy: Grid\n"  # a mapping value cannot start on line 3
    errors = errors_of(text)
    assert errors == [FieldError("", "not valid YAML/JSON at line 3, column 17")]


def test_invalid_json_reports_the_line() -> None:
    errors = errors_of('{\n  "name": "churn",\n  "dataset": {"channels": [}\n}\n')
    assert len(errors) == 1
    assert "line 3" in errors[0].message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("- name: churn\n- name: other\n", id="yaml-list"),
        pytest.param('[{"name": "churn"}]', id="json-list"),
        pytest.param("just a string", id="scalar"),
        pytest.param("", id="empty"),
    ],
)
def test_non_mapping_document_is_rejected(text: str) -> None:
    errors = errors_of(text)
    assert errors == [FieldError("", "must be a mapping (YAML/JSON object) at the top level")]


def test_spec_invalid_names_its_source_and_lists_the_errors() -> None:
    with pytest.raises(SpecInvalid) as info:
        parse_spec(mutated(put("name", "Churn")), source="pipelines/Churn/pipeline.yaml")
    exc = info.value
    assert exc.subject == "pipelines/Churn/pipeline.yaml"
    assert exc.reason.startswith("pipelines/Churn/pipeline.yaml is invalid: name: ")
    assert exc.details["errors"] == [e.as_dict() for e in exc.errors]


def test_tag_key_with_invalid_characters_is_reported_under_its_key() -> None:
    errors = errors_of(mutated(put("tags", {"team!": "growth"})))
    assert len(errors) == 1
    assert errors[0].field.startswith("tags.team!")
    assert "should match pattern" in errors[0].message


def test_all_errors_are_reported_at_once() -> None:
    doc = mutated(
        put("name", "Churn"),
        put("dataset.channels.1.name", "train"),
        drop("tuning.max_jobs"),
        put("compression.dtype", "int4"),
        put("registry.model_package_group", "churn_models"),
        put("tags.aws:owner", "me"),  # a cross-stage rule: not checked while the stages themselves are invalid
    )
    fields = {e.field for e in errors_of(doc)}
    assert fields == {
        "name",
        "dataset.channels[1].name",
        "tuning.max_jobs",
        "compression.dtype",
        "registry.model_package_group",
    }


def test_all_rule_violations_inside_one_model_are_reported() -> None:
    doc = mutated(
        put("tuning.max_jobs", 751),
        put("tuning.objective.metric", "validation:f1"),
        put("tuning.static_hyperparameters.eta", "0.1"),
        put("tuning.hyperband", {}),
    )
    fields = [e.field for e in errors_of(doc)]
    assert sorted(fields) == sorted(
        ["tuning.max_jobs", "tuning.objective.metric", "tuning.static_hyperparameters.eta", "tuning.hyperband"]
    )


def test_all_cross_stage_violations_are_reported() -> None:
    doc = mutated(
        neo(),
        put("gate.max_metric_drop_relative", 0.02),
        drop("registry.inference_image_uri"),
        put("tags.aws:owner", "me"),
    )
    fields = [e.field for e in errors_of(doc)]
    assert fields == ["gate", "registry.inference_image_uri", "tags.aws:owner"]


# --- Grid enumeration ----------------------------------------------------------------------------------------
def test_grid_enumerates_the_product_of_categorical_values_in_order() -> None:
    spec = parse_spec(
        mutated(
            grid_tuning(
                parameter_ranges={
                    "categorical": [
                        {"name": "booster", "values": ["gbtree", "dart"]},
                        {"name": "max_depth", "values": ["3", "6", "9"]},
                    ]
                }
            )
        )
    )
    assert spec.tuning.grid() == [
        {"booster": "gbtree", "max_depth": "3"},
        {"booster": "gbtree", "max_depth": "6"},
        {"booster": "gbtree", "max_depth": "9"},
        {"booster": "dart", "max_depth": "3"},
        {"booster": "dart", "max_depth": "6"},
        {"booster": "dart", "max_depth": "9"},
    ]
    assert spec.tuning.parameter_ranges.grid_size() == 6


def test_grid_of_a_single_range_has_one_entry_per_value() -> None:
    spec = parse_spec(
        mutated(grid_tuning(parameter_ranges={"categorical": [{"name": "booster", "values": ["a", "b", "c"]}]}))
    )
    assert spec.tuning.grid() == [{"booster": "a"}, {"booster": "b"}, {"booster": "c"}]


def test_grid_at_the_750_job_limit_is_accepted() -> None:
    spec = parse_spec(
        mutated(
            grid_tuning(
                parameter_ranges={
                    "categorical": [
                        {"name": "a", "values": [f"a{i}" for i in range(25)]},
                        {"name": "b", "values": [f"b{i}" for i in range(30)]},
                    ]
                }
            )
        )
    )
    grid = spec.tuning.grid()
    assert len(grid) == 750
    assert len({tuple(sorted(g.items())) for g in grid}) == 750


# --- JSON Schema -----------------------------------------------------------------------------------------------
def test_committed_json_schema_matches_the_models() -> None:
    generated = json.loads(json.dumps(spec_json_schema(), indent=2, sort_keys=True) + "\n")
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == generated, (
        f"{SCHEMA_FILE.relative_to(ROOT)} is out of date with mlcp.training.spec; run `make schema` and commit it"
    )


def test_json_schema_is_draft_2020_12_and_forbids_unknown_fields() -> None:
    schema = spec_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"name", "dataset", "tuning", "compression", "registry"}
    assert schema["properties"]["compression"]["discriminator"]["propertyName"] == "method"


# --- behaviour that looks wrong (product bugs; the tests state the correct behaviour) ----------------------------
def test_model_package_group_longer_than_63_characters_is_rejected() -> None:
    errors = errors_of(mutated(put("registry.model_package_group", "a" + "-b" * 40)))  # 81 characters
    assert [e.field for e in errors] == ["registry.model_package_group"]


def test_tab_indented_json_text_parses() -> None:
    _check_example(parse_spec(json.dumps(example_spec(), indent="\t")))


def test_json_text_with_exponent_numbers_parses_like_the_json_data() -> None:
    text = json.dumps(example_spec()).replace('"max_wait_seconds": 7200', '"max_wait_seconds": 7.2e3')
    assert '"max_wait_seconds": 7.2e3' in text
    spec = parse_spec(text)
    assert spec.tuning.training.spot is not None
    assert spec.tuning.training.spot.max_wait_seconds == 7200
