"""mlcp.aws.service_models: botocore's request rules, including those botocore's ParamValidator skips."""

from __future__ import annotations

from mlcp.aws.service_models import ServiceModels

CHECKER = ServiceModels()


def _messages(service: str, operation: str, params: dict[str, object]) -> dict[tuple[str | int, ...], str]:
    return {p.path: p.message for p in CHECKER.check(service, operation, params)}


def test_required_unknown_types_patterns_enums_and_ranges_are_reported() -> None:
    found = _messages(
        "sagemaker",
        "CreateTrainingJob",
        {
            "TrainingJobName": "a_b",  # pattern
            "AlgorithmSpecification": {"TrainingInputMode": "Sometimes", "TrainingImage": "x"},  # enum
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "OutputDataConfig": {"S3OutputPath": "s3://b/o/"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": "1", "VolumeSizeInGB": 30},  # type
            "StoppingCondition": {"MaxRuntimeInSeconds": 0},  # minimum
            "HyperParameters": {str(i): "1" for i in range(101)},  # map size
            "Environment": {"MY-VAR": "x"},  # key pattern
            "Bogus": 1,  # unknown member
        },
    )
    assert "does not match" in found[("TrainingJobName",)]
    assert "is not one of" in found[("AlgorithmSpecification", "TrainingInputMode")]
    assert "must be an integer" in found[("ResourceConfig", "InstanceCount")]
    assert found[("StoppingCondition", "MaxRuntimeInSeconds")] == "is 0; at least 1"
    assert found[("HyperParameters",)] == "has 101 entries; at most 100"
    assert "does not match" in found[("Environment", "MY-VAR")]
    assert found[("Bogus",)] == "is not a member of the request"
    assert not CHECKER.unchecked


def test_step_functions_pascal_case_parameters_match_the_apis_camel_case_members() -> None:
    request = {
        "JobName": "run-1",
        "JobQueue": "q",
        "JobDefinition": "d",
        "ContainerOverrides": {"Environment": [{"Name": "A", "Value": "b"}], "Command": ["python"]},
        "ArrayProperties": {"Size": 10},
    }
    assert CHECKER.check("batch", "SubmitJob", request) == []
    missing = _messages("batch", "SubmitJob", {"JobName": "run-1"})
    assert set(missing) == {("jobQueue",), ("jobDefinition",)}


def test_a_map_key_problem_is_marked_as_a_name() -> None:
    [problem] = CHECKER.check(
        "sagemaker",
        "CreateProcessingJob",
        {
            "ProcessingJobName": "p",
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "AppSpecification": {"ImageUri": "i"},
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
            },
            "Environment": {"1ABC": "x"},
        },
    )
    assert problem.key
    assert problem.path == ("Environment", "1ABC")
