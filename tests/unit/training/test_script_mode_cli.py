"""Script mode on the client side: the deterministic, content-addressed sourcedir.tar.gz, its upload (skipped when
the object exists), image resolution through image_uris.retrieve with field-level errors, and the commands that
send a spec (`mlcp spec package|validate|plan`)."""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from mlcp.errors import SpecInvalid
from mlcp.training.script_mode import runproc_script, runproc_uri
from mlcp.training.spec import Quantization, parse_spec
from mlcp_cli.codetarget import stack_bucket, target_from
from mlcp_cli.main import main
from mlcp_cli.scriptmode import CodeTarget
from mlcp_cli.sourcedir import SourceDirInvalid, package
from mlcp_cli.specfile import load_spec
from tests.unit.builders import install_fake_image_uris

SDK_MODULES = ("sagemaker", "sagemaker.core", "sagemaker.core.image_uris", "sagemaker.image_uris")
DATA = Path(__file__).resolve().parents[2] / "data" / "script_mode"
BUCKET = "mlcp-artifacts-123456789012-us-east-1"
SKLEARN_IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:{version}-cpu-py3"
UNSUPPORTED = (
    "Unsupported sklearn version: {arg}. You may need to upgrade your SDK version (pip install -U sagemaker) for "
    "newer sklearn versions. Supported sklearn version(s): 0.23-1, 1.0-1, 1.2-1."
)


@pytest.fixture
def fake_sdk(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """sagemaker.core.image_uris with a retrieve that behaves like the SDK's for sklearn."""
    calls: list[dict[str, Any]] = []

    def retrieve(**kwargs: Any) -> str:
        calls.append(kwargs)
        if kwargs["version"] not in ("0.23-1", "1.0-1", "1.2-1"):
            raise ValueError(UNSUPPORTED.format(arg=kwargs["version"]))
        return SKLEARN_IMAGE.format(region=kwargs["region"], version=kwargs["version"])

    install_fake_image_uris(monkeypatch, retrieve)
    return calls


def _copy_example(tmp_path: Path) -> Path:
    shutil.copytree(DATA, tmp_path / "spec")
    return tmp_path / "spec" / "pipeline.yaml"


# --- the archive ---------------------------------------------------------------------------------------------
def test_the_archive_is_deterministic_and_holds_the_files_at_its_root(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(DATA / "src", source)
    first = package(source, entry_point="train.py", requirements="requirements.txt", field="f.source_dir")
    for path in source.iterdir():  # other mtimes, a cache directory and a .pyc: same archive
        os.utime(path, (1_700_000_000, 1_700_000_000))
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\x00")
    (source / "stale.pyc").write_bytes(b"\x01")
    second = package(source, entry_point="train.py", requirements="requirements.txt", field="f.source_dir")
    assert second.data == first.data
    assert second.sha256 == first.sha256
    assert first.key("churn") == f"code/churn/{first.sha256}/sourcedir.tar.gz"

    assert first.data[4:8] == b"\x00\x00\x00\x00"  # gzip header MTIME
    with tarfile.open(fileobj=io.BytesIO(first.data), mode="r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(["augment.py", "compress.py", "requirements.txt", "train.py"])
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
        extracted = tar.extractfile("train.py")
        assert extracted is not None
        assert extracted.read() == (DATA / "src" / "train.py").read_bytes()

    (source / "train.py").write_text("print('changed')\n")
    changed = package(source, entry_point="train.py", requirements=None, field="f.source_dir")
    assert changed.sha256 != first.sha256


def test_a_missing_entry_point_or_requirements_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(SourceDirInvalid) as info:
        package(DATA / "src", entry_point="nope.py", requirements=None, field="tuning.training.source_dir")
    assert info.value.field == "tuning.training.entry_point"
    with pytest.raises(SourceDirInvalid) as info:
        package(DATA / "src", entry_point="train.py", requirements="reqs.txt", field="compression.source_dir")
    assert info.value.field == "compression.requirements"
    with pytest.raises(SourceDirInvalid) as info:
        package(tmp_path / "absent", entry_point="train.py", requirements=None, field="augment.source_dir")
    assert info.value.field == "augment.source_dir"


def test_a_symlink_out_of_source_dir_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(DATA / "src", source)
    (tmp_path / "secret.txt").write_text("x")
    (source / "link.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(SourceDirInvalid, match="links outside source_dir"):
        package(source, entry_point="train.py", requirements=None, field="f.source_dir")


# --- packaging a spec ----------------------------------------------------------------------------------------
def test_load_spec_uploads_once_and_resolves_images(tmp_path: Path, fake_sdk: list[dict[str, Any]]) -> None:
    with mock_aws():
        _uploads_once(tmp_path, fake_sdk)


def _uploads_once(tmp_path: Path, fake_sdk: list[dict[str, Any]]) -> None:
    path = _copy_example(tmp_path)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    log = io.StringIO()
    target = CodeTarget(bucket=BUCKET, region="eu-west-1", s3=s3, log=log)

    document, spec, changed = load_spec(str(path), "eu-west-1", target)

    archive = package(path.parent / "src", entry_point="train.py", requirements=None, field="x")
    uri = archive.uri(BUCKET, "script-mode")
    assert spec.tuning.training.source_dir == uri
    assert document["compression"]["source_dir"] == uri
    assert spec.tuning.training.image_uri == SKLEARN_IMAGE.format(region="eu-west-1", version="1.2-1")
    assert {c["image_scope"] for c in fake_sdk} == {"training"}
    assert {c["instance_type"] for c in fake_sdk} == {"ml.m5.large", "ml.m5.xlarge"}
    assert f"tuning.training.source_dir: {uri}" in changed
    body = s3.get_object(Bucket=BUCKET, Key=archive.key("script-mode"))["Body"].read()
    assert body == archive.data
    runproc = runproc_uri(uri, "augment.py", "requirements.txt")
    runproc_key = runproc.removeprefix(f"s3://{BUCKET}/")
    assert s3.get_object(Bucket=BUCKET, Key=runproc_key)["Body"].read().decode() == runproc_script(
        "augment.py", "requirements.txt"
    )
    assert log.getvalue().count("uploaded ") == 2  # the archive once (three stages share it), runproc.sh once

    load_spec(str(path), "eu-west-1", CodeTarget(bucket=BUCKET, region="eu-west-1", s3=s3, log=log))
    assert log.getvalue().count("uploaded ") == 2  # sent again: nothing uploaded
    assert "unchanged" in log.getvalue()


def test_an_unsupported_framework_version_lists_the_supported_ones(
    tmp_path: Path, fake_sdk: list[dict[str, Any]]
) -> None:
    path = _copy_example(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["tuning"]["training"]["framework_version"] = "0.99"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecInvalid) as info:
        load_spec(str(path), "us-east-1", CodeTarget(bucket=BUCKET, region="us-east-1"))
    [error] = info.value.errors
    assert error.field == "tuning.training.framework_version"
    assert error.message == "unsupported sklearn version '0.99'; supported: 0.23-1, 1.0-1, 1.2-1"


def test_without_the_extra_script_mode_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in SDK_MODULES:  # import sagemaker[.core].image_uris -> ImportError, even once imported
        monkeypatch.setitem(sys.modules, name, None)
    path = _copy_example(tmp_path)
    assert main(["spec", "validate", str(path)]) == 1
    assert "pip install 'mlcp[sagemaker]'" in capsys.readouterr().err


def test_spec_package_prints_a_spec_that_passes_the_preflight(
    tmp_path: Path, fake_sdk: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)  # source_dir is relative to the spec file, not to the working directory
    code = main(["spec", "package", str(path), "--dry-run", "--region", "eu-west-1", "--artifact-bucket", BUCKET])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    spec = parse_spec(captured.out)
    assert spec.augment is not None
    assert spec.augment.source_dir is not None
    assert spec.augment.source_dir.startswith(f"s3://{BUCKET}/code/script-mode/")
    assert isinstance(spec.compression, Quantization)
    assert spec.compression.image_uri == SKLEARN_IMAGE.format(region="eu-west-1", version="1.2-1")


def test_spec_validate_and_plan_package_without_uploading(
    tmp_path: Path, fake_sdk: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    path = _copy_example(tmp_path)
    assert main(["spec", "validate", str(path), "--artifact-bucket", BUCKET]) == 0
    assert "preflight passed" in capsys.readouterr().out
    assert main(["spec", "plan", str(path), "--json", "--artifact-bucket", BUCKET, "--region", "eu-west-1"]) == 0
    plan = yaml.safe_load(capsys.readouterr().out)
    static = plan["tuning_request"]["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["sagemaker_region"] == '"eu-west-1"'
    assert static["sagemaker_submit_directory"].startswith(f'"s3://{BUCKET}/code/script-mode/')


def test_a_local_source_dir_that_is_missing_is_a_field_error(
    tmp_path: Path, fake_sdk: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    path = _copy_example(tmp_path)
    shutil.rmtree(path.parent / "src")
    assert main(["spec", "validate", str(path)]) == 1
    assert "tuning.training.source_dir: " in capsys.readouterr().err


def test_the_bucket_comes_from_the_stack_outputs() -> None:
    class Cfn:
        def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803 - boto3's parameter name
            return {"Stacks": [{"Outputs": [{"OutputKey": "ArtifactBucketName", "OutputValue": f"{StackName}-b"}]}]}

    assert stack_bucket(Cfn(), "mlcp") == "mlcp-b"


@pytest.fixture
def forget_sdk() -> Any:
    """Unload the SDK after the test (other tests make `import sagemaker` fail through sys.modules)."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.split(".")[0] == "sagemaker":
            del sys.modules[name]


@pytest.mark.usefixtures("forget_sdk")
def test_the_real_sdk_resolves_the_sklearn_image(tmp_path: Path) -> None:
    pytest.importorskip("sagemaker.core.image_uris", reason="the `sagemaker` extra (sagemaker-core) is not installed")
    path = _copy_example(tmp_path)
    _, spec, _ = load_spec(str(path), "eu-west-1", CodeTarget(bucket=BUCKET, region="eu-west-1"))
    assert spec.tuning.training.image_uri == (
        "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )


def test_gzip_member_has_no_file_name() -> None:
    archive = package(DATA / "src", entry_point="train.py", requirements=None, field="f")
    flags = archive.data[3]
    assert flags & 0x08 == 0  # FNAME not set
    assert gzip.decompress(archive.data)[:8] != b""


def test_the_upload_target_is_the_stacks_artifact_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    """`mlcp pipelines put` (deployed): the bucket is the stack output ArtifactBucketName, the region the stack's."""
    template = {
        "Resources": {"ArtifactBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "stack-artifacts"}}},
        "Outputs": {"ArtifactBucketName": {"Value": {"Ref": "ArtifactBucket"}}},
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        boto3.client("cloudformation", region_name="eu-west-1").create_stack(
            StackName="mlcp", TemplateBody=json.dumps(template)
        )
        args = argparse.Namespace(local=False, region="eu-west-1", stack="mlcp", artifact_bucket=None)
        target = target_from(args)
        assert (target.bucket, target.region) == ("stack-artifacts", "eu-west-1")
        assert target.s3 is not None
        named = target_from(argparse.Namespace(local=False, region="eu-west-1", stack="x", artifact_bucket="b"))
        assert named.bucket == "b"
        bare = {"Resources": {"Other": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "other-bucket"}}}}
        boto3.client("cloudformation", region_name="eu-west-1").create_stack(
            StackName="bare", TemplateBody=json.dumps(bare)
        )
        bare_args = argparse.Namespace(local=False, region="eu-west-1", stack="bare", artifact_bucket=None)
        with pytest.raises(LookupError, match="no ArtifactBucketName output"):
            target_from(bare_args)
