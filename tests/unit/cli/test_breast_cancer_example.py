"""The real example `make demo` trains (examples/pipelines/breast-cancer): the requests it becomes once packaged
(mlcp_cli/local/demo_example.py) against the framework container's contract (sourcedir.tar.gz layout, program
names, hyperparameter names the entry points read) and botocore's model; its entry points import nothing that
SageMaker's scikit-learn container lacks; its dataset is scikit-learn's bundled breast-cancer data."""

from __future__ import annotations

import ast
import io
import json
import sys
import tarfile
from pathlib import Path

import yaml

from mlcp.aws.service_models import ServiceModels
from mlcp.common.preflight import StackReach
from mlcp.training import compression, preparation, tuning
from mlcp.training.preflight import preflight_spec
from mlcp.training.spec import Quantization, parse_spec
from mlcp_cli.local.demo_example import BREAST_CANCER_FEATURES, breast_cancer_channels, packaged_spec
from mlcp_cli.sourcedir import SourceArchive, package
from tests.unit.builders import BUCKET, REGION, make_best, make_run, request_problems

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "pipelines" / "breast-cancer"
SOURCE = EXAMPLE / "src"


def packaged() -> dict[str, object]:
    """The example as the demo sends it (no upload: the URIs only, as `mlcp spec package` computes them)."""
    data: dict[str, object] = yaml.safe_load(packaged_spec(EXAMPLE / "pipeline.yaml", bucket=BUCKET, region=REGION))
    return data


def sourcedir() -> SourceArchive:
    return package(SOURCE, entry_point="train.py", requirements="requirements.txt", field="tuning.training.source_dir")


def argparse_options(script: Path) -> set[str]:
    """The ``--name`` options a script's argparse reads (as the training toolkit passes hyperparameters)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            flags = [str(a.value) for a in node.args if isinstance(a, ast.Constant)]
            names |= {flag[2:] for flag in flags if flag.startswith("--")}
    return names


def test_the_packaged_example_passes_the_preflight_and_botocore() -> None:
    spec = parse_spec(packaged())
    preflight_spec(spec, reach=StackReach(artifact_bucket=BUCKET), checker=ServiceModels())
    run = make_run(spec)
    tuning_request = tuning.tuning_request(run)
    assert request_problems("CreateHyperParameterTuningJob", tuning_request) == []
    method = spec.compression
    assert isinstance(method, Quantization)
    compression_request = compression.training_request(run, make_best(run), method)
    assert request_problems("CreateTrainingJob", compression_request) == []
    processing = preparation.processing_request(run)
    assert processing is not None
    assert request_problems("CreateProcessingJob", processing) == []
    uri = sourcedir().uri(BUCKET, "breast-cancer")  # one content-addressed source for the three stages
    assert spec.tuning.training.source_dir == uri
    assert isinstance(spec.compression, Quantization)
    assert spec.compression.source_dir == uri
    assert spec.augment is not None
    assert spec.augment.source_dir == uri


def test_the_requests_match_what_the_entry_points_read() -> None:
    spec = parse_spec(packaged())
    run = make_run(spec)
    with tarfile.open(fileobj=io.BytesIO(sourcedir().data), mode="r:gz") as tar:
        members = sorted(tar.getnames())
    # files at the archive's root, as the training toolkit and runproc.sh extract them
    assert members == ["augment.py", "compress.py", "mlp.py", "requirements.txt", "train.py"]
    static = tuning.tuning_request(run)["TrainingJobDefinition"]["StaticHyperParameters"]
    assert json.loads(static["sagemaker_program"]) == "train.py"
    ranges = tuning.tuning_request(run)["HyperParameterTuningJobConfig"]["ParameterRanges"]
    tuned = {r["Name"] for kind in ranges.values() for r in kind}
    user = {k for k in static if not k.startswith("sagemaker_")}
    assert tuned | user <= argparse_options(SOURCE / "train.py")
    method = spec.compression
    assert isinstance(method, Quantization)
    hyper = compression.training_request(run, make_best(run), method)["HyperParameters"]
    assert json.loads(hyper["sagemaker_program"]) == "compress.py"
    assert {"mlcp_method", "mlcp_dtype"} <= set(hyper) & argparse_options(SOURCE / "compress.py")
    processing = preparation.processing_request(run)
    assert processing is not None
    arguments = processing["AppSpecification"]["ContainerArguments"]
    assert {a[2:] for a in arguments if a.startswith("--")} <= argparse_options(SOURCE / "augment.py")


def test_the_entry_points_need_only_the_standard_library_and_numpy() -> None:
    siblings = {p.stem for p in SOURCE.glob("*.py")}
    for script in SOURCE.glob("*.py"):
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for name in names:
                    top = name.split(".")[0]
                    assert top in sys.stdlib_module_names or top in {"numpy", *siblings}, (script.name, name)
                    assert not top.startswith("mlcp"), script.name


def test_the_dataset_is_sklearns_breast_cancer_data_split_in_two_channels() -> None:
    channels = breast_cancer_channels()
    assert sorted(channels) == ["train/breast-cancer-train.csv", "validation/breast-cancer-validation.csv"]
    rows = {k: v.decode().splitlines() for k, v in channels.items()}
    for lines in rows.values():
        assert lines[0].split(",") == ["label", *BREAST_CANCER_FEATURES]
        assert all(len(line.split(",")) == 31 for line in lines[1:])
    train, validation = (rows[k][1:] for k in sorted(rows))
    assert (len(train), len(validation)) == (456, 113)  # 569 rows, 20 % held out per class
    labels = [line.split(",")[0] for line in train + validation]
    assert labels.count("1") == 212  # malignant, as scikit-learn's load_breast_cancer counts them
    assert breast_cancer_channels() == channels  # reproducible
