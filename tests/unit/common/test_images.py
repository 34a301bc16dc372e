"""The container image allow-list (mlcp.common.images) with real SageMaker image URIs."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from mlcp.common.images import IMAGES_PARAMETER, ImageScope, sagemaker_registries

STACK = ImageScope("123456789012", "us-east-1")

ALLOWED = [
    # the stack account's own ECR in the stack's Region (the local cloud's account: the examples' images)
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-train:1.4",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/compress@sha256:" + "a" * 64,
    # SageMaker's registries in us-east-1 (sagemaker.image_uris.retrieve's answers)
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker",
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
    "811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:1",
]

REFUSED = [
    "999999999999.dkr.ecr.us-east-1.amazonaws.com/evil:latest",  # another account
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-train:1.4",  # own account, another Region
    "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",  # SageMaker's, eu-west-1
    "public.ecr.aws/sam/build-python3.13:latest",
    "docker.io/library/python:3.13",
    "ghcr.io/someone/trainer:1",
]


@pytest.mark.parametrize("image", ALLOWED)
def test_own_account_and_sagemaker_registries_in_the_stack_region_are_allowed(image: str) -> None:
    assert STACK.problem(image) is None


@pytest.mark.parametrize("image", REFUSED)
def test_any_other_registry_is_refused_naming_the_parameter(image: str) -> None:
    problem = STACK.problem(image)
    assert problem is not None
    assert IMAGES_PARAMETER in problem
    assert image.split("/", 1)[0] in problem


def test_sagemaker_registries_follow_the_stack_region() -> None:
    eu = ImageScope("123456789012", "eu-west-1")
    assert eu.problem("141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3") is None
    assert eu.problem("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3")


@pytest.mark.parametrize(
    ("entry", "image", "allowed"),
    [
        ("111122223333.dkr.ecr.eu-west-1.amazonaws.com", "111122223333.dkr.ecr.eu-west-1.amazonaws.com/x:1", True),
        (
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team-a/",
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team-a/t:1",
            True,
        ),
        (
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team-a/",
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team-b/t:1",
            False,
        ),
        (
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/train",
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/train:2",
            True,
        ),
        (
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/train",
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/trainer:2",
            False,
        ),
        ("111122223333.dkr.ecr.*.amazonaws.com", "111122223333.dkr.ecr.ap-south-1.amazonaws.com/x:1", True),
        ("public.ecr.aws/sam/", "public.ecr.aws/sam/build-python3.13:latest", True),
        ("public.ecr.aws/sam/", "public.ecr.aws/evil/x:1", False),
    ],
)
def test_extra_image_registries_grant_hosts_or_repository_prefixes(entry: str, image: str, allowed: bool) -> None:
    scope = ImageScope("123456789012", "us-east-1", (entry,))
    assert (scope.problem(image) is None) is allowed


def test_the_shipped_table_names_its_source_and_covers_every_commercial_region() -> None:
    table = json.loads(resources.files("mlcp.common").joinpath("sagemaker_registries.json").read_text())
    assert table["source"].startswith("https://github.com/aws/sagemaker-python-sdk")
    assert len(table["sdk_commit"]) == 40
    assert table["sdk_commit_date"][:2] == "20"
    registries = sagemaker_registries()
    for region in ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"):
        assert len(registries[region]) >= 5
        assert all(len(a) == 12 and a.isdigit() for a in registries[region])
