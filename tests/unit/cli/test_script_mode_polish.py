"""Script mode after a fresh-user trial: a dry run's spec never registers, a rejected upload's errors in `mlcp
pipelines get`, a warning for an image_uri that is not its framework's, entry point errors naming source_dir, the
on-disk image cache, and the script-mode rows of `mlcp spec plan`."""

from __future__ import annotations

import io
import json
import shutil
import sys
import types
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from mlcp.errors import SpecInvalid
from mlcp.training.spec import parse_spec
from mlcp_cli import api_commands, imagecache
from mlcp_cli.main import main
from mlcp_cli.scriptmode import CodeTarget
from mlcp_cli.specfile import DRY_RUN_MARKER, load_spec
from tests.unit.builders import install_fake_image_uris

SDK_MODULES = ("sagemaker", "sagemaker.core", "sagemaker.core.image_uris", "sagemaker.image_uris")
DATA = Path(__file__).resolve().parents[2] / "data" / "script_mode"
BUCKET = "mlcp-artifacts-123456789012-eu-west-1"
REGION = "eu-west-1"
ACCOUNTS = {"us-east-1": "683313688378", "eu-west-1": "141502667606"}  # the SDK's sklearn registries
SKLEARN = "{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:{version}-cpu-py3"
PYTORCH_IMAGE = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.3-cpu-py311"


def sklearn_image(region: str = REGION, version: str = "1.2-1") -> str:
    return SKLEARN.format(account=ACCOUNTS[region], region=region, version=version)


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """sagemaker.core.image_uris whose retrieve answers sklearn as the SDK does; the calls it received."""
    calls: list[dict[str, Any]] = []

    def retrieve(**kwargs: Any) -> str:
        calls.append(kwargs)
        if kwargs["framework"] != "sklearn" or kwargs["version"] not in ("1.0-1", "1.2-1"):
            raise ValueError(
                f"Unsupported {kwargs['framework']} version: {kwargs['version']}. You may need to upgrade your SDK "
                "version (pip install -U sagemaker) for newer versions. Supported sklearn version(s): 1.0-1, 1.2-1."
            )
        return sklearn_image(kwargs["region"], kwargs["version"])

    install_fake_image_uris(monkeypatch, retrieve)
    return calls


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The image cache on, in a temporary XDG_CACHE_HOME (tests/conftest.py turns it off everywhere else)."""
    monkeypatch.delenv(imagecache.ENV_DISABLE, raising=False)
    home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home / "mlcp" / "images.json"


def copy_example(tmp_path: Path, **training: Any) -> Path:
    shutil.copytree(DATA, tmp_path / "spec")
    path = tmp_path / "spec" / "pipeline.yaml"
    if training:
        data = yaml.safe_load(path.read_text())
        data["tuning"]["training"].update(training)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# --- 1. a dry run's spec never registers ------------------------------------------------------------------------
@pytest.mark.usefixtures("sdk")
def test_a_dry_run_writes_no_file_and_prints_a_spec_every_command_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = copy_example(tmp_path)
    output = tmp_path / "packaged.yaml"
    args = ["spec", "package", str(path), "--dry-run", "--region", REGION, "--artifact-bucket", BUCKET]
    assert main([*args, "-o", str(output)]) == 2
    assert "--dry-run writes no file" in capsys.readouterr().err
    assert not output.exists()

    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(DRY_RUN_MARKER)
    assert "not uploaded (dry run): s3://" in captured.err
    assert "dry run: nothing uploaded" in captured.err
    spec = parse_spec(captured.out)  # still a readable spec: the marker is a YAML comment
    assert str(spec.tuning.training.source_dir).startswith(f"s3://{BUCKET}/code/script-mode/")

    output.write_text(captured.out)  # `mlcp spec package --dry-run > packaged.yaml`
    for command in (["spec", "validate"], ["spec", "plan"]):
        assert main([*command, str(output)]) == 1
        assert "written by `mlcp spec package --dry-run`" in capsys.readouterr().err


def test_pipelines_put_refuses_a_spec_whose_code_is_not_in_s3(
    tmp_path: Path, sdk: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The dry run's spec without its marker line (copied by hand): `pipelines put` heads the code and refuses it,
    naming the field; once `mlcp spec package` has uploaded the code, the same spec is sent."""
    path = copy_example(tmp_path)
    assert main(["spec", "package", str(path), "--dry-run", "--region", REGION, "--artifact-bucket", BUCKET]) == 0
    packaged = tmp_path / "spec" / "packaged.yaml"
    packaged.write_text(capsys.readouterr().out.split("\n", 1)[1])
    sent: list[dict[str, Any]] = []

    class Api:
        def put_pipeline(self, name: str, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            sent.append(document)
            return 201, {"spec_version": "1"}

    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        target = CodeTarget(bucket=BUCKET, region=REGION, s3=s3, log=io.StringIO())
        monkeypatch.setattr(api_commands, "target_from", lambda _: target)
        monkeypatch.setattr(api_commands, "client", lambda _: Api())
        assert main(["pipelines", "put", str(packaged), "--local"]) == 1
        err = capsys.readouterr().err
        assert "  tuning.training.source_dir: s3://" in err
        assert "does not exist" in err
        assert "  augment.source_dir: s3://" in err  # its runproc.sh too
        assert sent == []

        load_spec(str(path), REGION, target)  # uploads the code, as `mlcp spec package` does
        target.sent.clear()
        assert main(["pipelines", "put", str(packaged), "--local"]) == 0
        assert len(sent) == 1


# --- 2. a rejected upload's errors in `mlcp pipelines get` --------------------------------------------------------
def test_pipelines_get_lists_the_rejected_uploads_field_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    view = {
        "name": "churn",
        "spec_version": "v1",
        "last_rejection": {
            "source": "s3://b/pipelines/churn/pipeline.yaml?versionId=v2",
            "at": "2026-11-30T08:00:00Z",
            "errors": [
                {"field": "tuning.max_parallel_jobs", "message": "must not exceed max_jobs (12)"},
                {"field": "", "message": "not valid YAML/JSON at line 3"},
            ],
        },
    }
    monkeypatch.setattr(api_commands, "client", lambda _: types.SimpleNamespace(get_pipeline=lambda name: view))
    assert main(["pipelines", "get", "churn", "--local"]) == 0
    out = capsys.readouterr().out
    assert "last rejected upload: s3://b/pipelines/churn/pipeline.yaml?versionId=v2 at 2026-11-30T08:00:00Z" in out
    assert "\n  tuning.max_parallel_jobs: must not exceed max_jobs (12)\n" in out
    assert "\n  not valid YAML/JSON at line 3\n" in out


# --- 3. an image_uri that is not its framework's ----------------------------------------------------------------
@pytest.mark.usefixtures("sdk")
@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (PYTORCH_IMAGE, "repository pytorch-training, not sagemaker-scikit-learn"),
        (sklearn_image("us-east-1"), "its registry is in us-east-1, the jobs run in eu-west-1"),
        (sklearn_image(version="1.0-1"), "tag 1.0-1-cpu-py3, not 1.2-1-cpu-py3"),
    ],
)
def test_an_image_uri_that_disagrees_with_framework_is_a_one_line_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], image: str, reason: str
) -> None:
    path = copy_example(tmp_path, image_uri=image)
    assert main(["spec", "validate", str(path), "--region", REGION]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [
        f"warning: tuning.training.image_uri {image} is not the image of framework sklearn 1.2-1 "
        f"({sklearn_image()}): {reason}; image_uri is used (it overrides framework, as in the SageMaker SDK)"
    ]
    _, spec, _ = load_spec(str(path), REGION, CodeTarget(bucket=BUCKET, region=REGION))
    assert spec.tuning.training.image_uri == image  # warned, not refused: the explicit image wins


@pytest.mark.usefixtures("sdk")
def test_the_frameworks_own_image_is_no_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_example(tmp_path, image_uri=sklearn_image())
    assert main(["spec", "validate", str(path), "--region", REGION]) == 0
    assert "warning" not in capsys.readouterr().err


def test_without_the_sdk_another_regions_image_is_still_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in SDK_MODULES:  # import sagemaker[.core].image_uris -> ImportError, even once imported
        monkeypatch.setitem(sys.modules, name, None)
    path = copy_example(tmp_path, image_uri=sklearn_image("us-east-1"))
    data = yaml.safe_load(path.read_text())
    for stage in (data["augment"], data["compression"]):
        stage["image_uri"] = sklearn_image()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["spec", "validate", str(path), "--region", REGION]) == 0
    [warning] = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warning.startswith(f"warning: tuning.training.image_uri {sklearn_image('us-east-1')} is not the image")
    assert "its registry is in us-east-1, the jobs run in eu-west-1" in warning


# --- 4. entry point errors name source_dir ----------------------------------------------------------------------
@pytest.mark.usefixtures("sdk")
def test_a_missing_entry_point_names_source_dir_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_example(tmp_path, entry_point="nope.py", source_dir="./src")
    assert main(["spec", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"  tuning.training.entry_point: nope.py is not a file in source_dir ./src ({path.parent / 'src'})" in err


# --- 5. the image cache -----------------------------------------------------------------------------------------
def test_a_cached_image_needs_no_sdk_and_a_new_sdk_version_asks_again(
    tmp_path: Path, sdk: list[dict[str, Any]], cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_example(tmp_path)
    target = CodeTarget(bucket=BUCKET, region=REGION)
    _, first, _ = load_spec(str(path), REGION, target)
    assert len(sdk) == 2  # two distinct lookups (py3 on ml.m5.large; no py_version on ml.m5.xlarge), then cached
    stored = json.loads(cache_home.read_text())
    assert stored["sdk"] == imagecache.sdk_identity()
    assert set(stored["images"].values()) == {sklearn_image()}
    key = json.loads(min(stored["images"]))
    assert set(key) == {"framework", "version", "py_version", "region", "instance_type", "image_scope"}

    for name in SDK_MODULES:  # a later command: the SDK cannot even be imported
        monkeypatch.setitem(sys.modules, name, None)
    _, again, _ = load_spec(str(path), REGION, CodeTarget(bucket=BUCKET, region=REGION))
    assert again.tuning.training.image_uri == first.tuning.training.image_uri == sklearn_image()
    assert len(sdk) == 2
    assert main(["spec", "validate", str(path), "--region", REGION, "--no-cache"]) == 1  # bypassed: needs the SDK

    monkeypatch.setattr(imagecache, "sdk_identity", lambda: "sagemaker-core==9.9.9 sagemaker=absent")
    with pytest.raises(Exception, match=r"mlcp\[sagemaker\]"):  # another SDK version: the file is ignored
        load_spec(str(path), REGION, CodeTarget(bucket=BUCKET, region=REGION))


@pytest.mark.parametrize("disable", ["flag", "env"])
def test_no_cache_and_the_env_var_neither_read_nor_write_it(
    tmp_path: Path,
    sdk: list[dict[str, Any]],
    cache_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    disable: str,
) -> None:
    path = copy_example(tmp_path)
    extra = ["--no-cache"] if disable == "flag" else []
    if disable == "env":
        monkeypatch.setenv(imagecache.ENV_DISABLE, "1")
    for _ in range(2):
        assert main(["spec", "validate", str(path), "--region", REGION, *extra]) == 0, capsys.readouterr().err
    assert len(sdk) == 4
    assert not cache_home.exists()


@pytest.mark.usefixtures("cache_home")
def test_a_corrupt_or_unwritable_cache_only_costs_time(
    tmp_path: Path, sdk: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_example(tmp_path)
    cache_file = imagecache.cache_dir() / imagecache.FILE_NAME
    cache_file.parent.mkdir(parents=True)
    cache_file.write_text("{not json")
    load_spec(str(path), REGION, CodeTarget(bucket=BUCKET, region=REGION))
    assert len(json.loads(cache_file.read_text())["images"]) == 2  # rewritten

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file-not-dir"))
    (tmp_path / "file-not-dir").write_text("x")  # the cache directory cannot be made
    _, spec, _ = load_spec(str(path), REGION, CodeTarget(bucket=BUCKET, region=REGION))
    assert spec.tuning.training.image_uri == sklearn_image()


def test_an_unsupported_version_is_not_cached(tmp_path: Path, sdk: list[dict[str, Any]], cache_home: Path) -> None:
    path = copy_example(tmp_path, framework_version="0.99")
    for _ in range(2):
        with pytest.raises(SpecInvalid, match=r"unsupported sklearn version '0\.99'"):
            load_spec(str(path), REGION, CodeTarget(bucket=BUCKET, region=REGION))
    assert [c["version"] for c in sdk if c["version"] == "0.99"] == ["0.99", "0.99"]


def test_the_cache_lives_under_xdg_cache_home_else_the_home_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert imagecache.cache_dir() == tmp_path / "mlcp"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # the XDG spec: a relative path is ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert imagecache.cache_dir() == tmp_path / "home" / ".cache" / "mlcp"


# --- 6. script-mode rows in `mlcp spec plan` --------------------------------------------------------------------
@pytest.mark.usefixtures("sdk")
def test_spec_plan_shows_each_script_mode_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_example(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["compression"]["image_uri"] = sklearn_image()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["spec", "plan", str(path), "--region", REGION, "--artifact-bucket", BUCKET]) == 0
    rows = {}
    for line in capsys.readouterr().out.splitlines()[1:]:
        key, _, value = line.strip().partition("  ")
        rows[key] = value.strip()
    _, spec, _ = load_spec(str(path), REGION, CodeTarget(bucket=BUCKET, region=REGION))
    uri = spec.tuning.training.source_dir
    assert str(uri).startswith(f"s3://{BUCKET}/code/script-mode/")
    assert rows["tuning script"] == "sklearn 1.2-1 py3: train.py"
    assert rows["tuning code"] == f"src -> {uri}"
    assert rows["tuning image"] == f"{sklearn_image()} (resolved for {REGION})"
    assert rows["compression script"] == "sklearn 1.2-1: compress.py"
    assert rows["compression image"] == f"{sklearn_image()} (image_uri as given)"
    assert rows["augment script"] == "sklearn 1.2-1: augment.py"
    assert rows["augment code"] == f"src -> {uri}"
