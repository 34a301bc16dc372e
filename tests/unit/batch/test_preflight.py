"""The batch preflight: SubmitJob / UpdateComputeEnvironment of a plan, checked before anything is resized or
submitted (the case files of tests/data/cases/preflight/batch-*.yaml and the same kinds of fault)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp.aws.service_models import ServiceModels
from mlcp.batch.planner import make_plan
from mlcp.batch.requests import preflight_plan
from mlcp.batch.spec import BatchSpec, parse_batch_spec
from mlcp.common.preflight import BUCKETS_PARAMETER, FARGATE_MEMORY_MIB, StackReach
from mlcp.errors import BatchSpecInvalid, FieldError

CASES = Path(__file__).resolve().parents[2] / "data" / "cases" / "preflight"
CHECKER = ServiceModels()
BUCKET = "mlcp-artifacts-123456789012-us-east-1"


def _document(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CASES / name).read_bytes())
    return data


def _check(spec: BatchSpec, reach: StackReach | None = None) -> None:
    preflight_plan(spec, make_plan(spec, spec.items.count or 1000), reach=reach, checker=CHECKER, source="spec")


def _errors(spec: BatchSpec, reach: StackReach | None = None) -> list[FieldError]:
    with pytest.raises(BatchSpecInvalid) as exc:
        _check(spec, reach)
    return exc.value.errors


def test_a_fractional_vcpu_fargate_does_not_offer_is_refused_with_the_nearest_pairs() -> None:
    [error] = _errors(parse_batch_spec(_document("batch-fargate-0.3vcpu.yaml")))
    assert error.field == "job.vcpus"
    assert "0.3 vCPU with 1024 MiB" in error.message
    assert "0.25 vCPU/1024 MiB" in error.message
    assert "0.5 vCPU/1024 MiB" in error.message


def test_memory_fargate_does_not_pair_with_the_vcpus_is_refused_with_the_nearest_pairs() -> None:
    [error] = _errors(parse_batch_spec(_document("batch-fargate-1vcpu-4000mib.yaml")))
    assert error.field == "job.memory_mib"
    assert "1 vCPU with 4000 MiB" in error.message
    assert "1 vCPU/4096 MiB" in error.message


@pytest.mark.parametrize(("vcpus", "memory"), [(0.25, 3072), (2, 2048), (4, 32768), (8, 18432), (16, 30720), (3, 8192)])
def test_other_pairs_fargate_refuses(vcpus: float, memory: int) -> None:
    data = _document("batch-fargate-1vcpu-4000mib.yaml")
    data["job"].update(vcpus=vcpus, memory_mib=memory)
    [error] = _errors(parse_batch_spec(data))
    assert error.field in {"job.vcpus", "job.memory_mib"}


@pytest.mark.parametrize(("vcpus", "memory"), [(v, m) for v, ms in FARGATE_MEMORY_MIB.items() for m in (ms[0], ms[-1])])
def test_every_documented_fargate_pair_is_accepted(vcpus: float, memory: int) -> None:
    data = _document("batch-fargate-1vcpu-4000mib.yaml")
    data["job"].update(vcpus=vcpus, memory_mib=memory)
    _check(parse_batch_spec(data))


def test_ec2_jobs_are_not_held_to_fargate_pairs_and_fargate_takes_no_gpus() -> None:
    data = _document("batch-fargate-1vcpu-4000mib.yaml")
    data["job"].update(platform="EC2", gpus=1)
    _check(parse_batch_spec(data))
    data["job"].update(platform="FARGATE", memory_mib=4096)
    assert [e.field for e in _errors(parse_batch_spec(data))] == ["job.gpus"]


def test_container_overrides_over_8192_characters_are_refused_with_the_size() -> None:
    [error] = _errors(parse_batch_spec(_document("batch-overrides-over-8192.yaml")))
    assert error.field == "job.environment"
    assert "at most 8,192" in error.message
    size = int(error.message.split("come to ")[1].split(" characters")[0].replace(",", ""))
    assert 12_000 < size < 14_000
    assert "S3" in error.message


def test_a_long_command_counts_toward_the_overrides_too() -> None:
    data = _document("batch-fargate-1vcpu-4000mib.yaml")
    data["job"].update(memory_mib=4096, command=["python", "worker.py", *(["--flag-" + "x" * 90] * 90)])
    [error] = _errors(parse_batch_spec(data))
    assert error.field == "job.command"  # the field that makes up most of the overrides
    assert "job.command about" in error.message


@pytest.mark.parametrize("name", ["AWS_BATCH_FOO", "AWS_BATCHX", "AWS_BATCH"])
def test_environment_names_aws_batch_reserves_are_refused(name: str) -> None:
    data = _document("batch-fargate-1vcpu-4000mib.yaml")
    data["job"].update(memory_mib=4096, environment={name: "1"})
    with pytest.raises(BatchSpecInvalid) as refused:
        parse_batch_spec(data)
    assert [e.field for e in refused.value.errors] == [f"job.environment.{name}"]


def test_items_outputs_and_worker_uris_outside_the_stacks_buckets_are_refused() -> None:
    data = copy.deepcopy(_document("batch-fargate-1vcpu-4000mib.yaml"))
    data["job"]["memory_mib"] = 4096
    data["items"] = {"manifest": "s3://items-elsewhere/m.json"}
    data["output"] = "s3://results-elsewhere/out/"
    data["job"]["environment"] = {"MODEL_URI": "s3://models-elsewhere/model.tar.gz"}
    spec = parse_batch_spec(data)
    errors = _errors(spec, StackReach(artifact_bucket=BUCKET))
    assert [e.field for e in errors] == ["items.manifest", "output", "job.environment.MODEL_URI"]
    assert all(BUCKETS_PARAMETER in e.message for e in errors)
    granted = ("items-elsewhere", "results-elsewhere", "models-elsewhere")
    _check(spec, StackReach(artifact_bucket=BUCKET, data_buckets=granted))


def test_the_example_profile_passes() -> None:
    root = Path(__file__).resolve().parents[3]
    _check(parse_batch_spec((root / "examples" / "batch" / "batch.yaml").read_bytes()))
