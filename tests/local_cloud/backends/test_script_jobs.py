"""The local job runner's contract (cli/mlcp_cli/local/backends/script_jobs.py, script_mode.py, local_process.py):
script-mode training jobs, their tuning trials and FrameworkProcessor processing jobs run as real processes.

Each test uploads a tiny script (no scikit-learn) as ``sourcedir.tar.gz`` and calls the SageMaker API of moto with
the job backend installed on a fast simulated clock, as the state machines do.
"""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from mypy_boto3_s3 import S3Client
from mypy_boto3_sagemaker import SageMakerClient

from mlcp_cli.local.backends import script_mode
from mlcp_cli.local.backends.clock import SimClock
from mlcp_cli.local.backends.jobs import JobBackend
from mlcp_cli.local.faults import Faults
from tests.local_cloud.backends.support import BUCKET, REGION, ROLE, trials_of, wait_for

TERMINAL = ("Completed", "Failed", "Stopped")
SOURCE = f"s3://{BUCKET}/code/test/sourcedir.tar.gz"


@pytest.fixture
def runner(aws: None, faults: Faults) -> Iterator[JobBackend]:
    with JobBackend(SimClock(speed=1000), faults) as installed:
        yield installed


def upload_source(s3: S3Client, files: dict[str, str], key: str = "code/test/sourcedir.tar.gz") -> str:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, text in files.items():
            data = textwrap.dedent(text).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    s3.put_object(Bucket=BUCKET, Key=key, Body=raw.getvalue())
    return f"s3://{BUCKET}/{key}"


def framework_hyperparameters(program: str = "train.py", **user: Any) -> dict[str, str]:
    """What the SageMaker Python SDK's Framework estimator sends: every value JSON-encoded."""
    return {
        "sagemaker_program": json.dumps(program),
        "sagemaker_submit_directory": json.dumps(SOURCE),
        "sagemaker_container_log_level": "20",
        "sagemaker_region": json.dumps(REGION),
        **{k: json.dumps(v) for k, v in user.items()},
    }


def channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "Fully"}},
    }


def training_request(name: str, hyper: dict[str, str], *, max_runtime: int = 60) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": "validation:auc", "Regex": r"validation-auc: ([0-9.]+)"},
                {"Name": "train:loss", "Regex": r"loss: ([0-9.]+)"},
            ],
        },
        "RoleArn": ROLE,
        "HyperParameters": hyper,
        "InputDataConfig": [channel("train", f"s3://{BUCKET}/data/train/")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
    }


def finished(sm: SageMakerClient, name: str, timeout: float = 30.0) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        d = dict(sm.describe_training_job(TrainingJobName=name))
        return d if d["TrainingJobStatus"] in TERMINAL else None

    return wait_for(check, timeout=timeout)


def tar_members(blob: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


@pytest.fixture
def data(s3: S3Client) -> None:
    s3.put_object(Bucket=BUCKET, Key="data/train/part-0.csv", Body=b"y,x\n1,2\n")
    s3.put_object(Bucket=BUCKET, Key="data/train/sub/part-1.csv", Body=b"y,x\n0,3\n")


ECHO = """
    import json, os, sys
    env = {k: v for k, v in os.environ.items() if k.startswith("SM_")}
    files = sorted(os.path.relpath(os.path.join(d, f), os.environ["SM_CHANNEL_TRAIN"])
                   for d, _, fs in os.walk(os.environ["SM_CHANNEL_TRAIN"]) for f in fs)
    config = open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "hyperparameters.json")).read()
    out = {"argv": sys.argv[1:], "env": env, "files": files, "config": json.loads(config), "cwd": os.getcwd()}
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.json"), "w") as f:
        json.dump(out, f)
    print("loss: 0.5")
    print("loss: 0.25")
    print("validation-auc: 0.875")
"""


def test_env_arguments_channels_metrics_model_and_log(
    sm: SageMakerClient, s3: S3Client, data: None, runner: JobBackend
) -> None:
    upload_source(s3, {"train.py": ECHO})
    hyper = framework_hyperparameters(epochs=3, lr=0.1, optimizer="adam", n=2)
    sm.create_training_job(**training_request("echo-job", hyper))
    d = finished(sm, "echo-job")
    assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
    model = f"s3://{BUCKET}/out/echo-job/output/model.tar.gz"
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == model
    blob = s3.get_object(Bucket=BUCKET, Key="out/echo-job/output/model.tar.gz")["Body"].read()
    seen = json.loads(tar_members(blob)["seen.json"])
    # --name value, sorted by name, values decoded; the toolkit writes a one-letter name as -n
    assert seen["argv"] == ["--epochs", "3", "--lr", "0.1", "-n", "2", "--optimizer", "adam"]
    env = seen["env"]
    assert json.loads(env["SM_HPS"]) == {"epochs": 3, "lr": 0.1, "n": 2, "optimizer": "adam"}
    assert env["SM_HP_EPOCHS"] == "3"
    assert env["SM_HP_OPTIMIZER"] == "adam"
    assert json.loads(env["SM_CHANNELS"]) == ["train"]
    assert env["SM_CHANNEL_TRAIN"].endswith("/input/data/train")
    assert env["SM_MODEL_DIR"].endswith("/model")
    assert env["SM_OUTPUT_DATA_DIR"].endswith("/output/data")
    assert env["SM_NUM_GPUS"] == "0"
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"]
    assert env["SM_CURRENT_HOST"] == "algo-1"
    assert env["SM_MODULE_NAME"] == "train"
    assert json.loads(env["SM_USER_ARGS"]) == seen["argv"]
    assert json.loads(env["SM_TRAINING_ENV"])["hps"]["lr"] == 0.1
    assert seen["files"] == ["part-0.csv", "sub/part-1.csv"]
    assert seen["config"] == hyper  # input/config/hyperparameters.json: the request's values as sent
    assert seen["cwd"].endswith("/code")
    metrics = {m["MetricName"]: m["Value"] for m in d["FinalMetricDataList"]}
    assert metrics == {"validation:auc": 0.875, "train:loss": 0.25}  # the last match of each regex
    assert d["BillableTimeInSeconds"] == d["TrainingTimeInSeconds"]
    assert 1 <= d["TrainingTimeInSeconds"] < 20  # a sub-second script still bills a whole second, never 0
    logs = boto3.client("logs", region_name=REGION)
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs")["logStreams"]
    stream = next(s["logStreamName"] for s in streams if s["logStreamName"].startswith("echo-job/algo-1-"))
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream)["events"]
    assert [e["message"] for e in events] == ["loss: 0.5", "loss: 0.25", "validation-auc: 0.875"]


def test_max_runtime_kills_the_process_and_stops_the_job(
    sm: SageMakerClient, s3: S3Client, data: None, runner: JobBackend
) -> None:
    upload_source(s3, {"train.py": "import time\nprint('started', flush=True)\ntime.sleep(60)\n"})
    sm.create_training_job(**training_request("slow-job", framework_hyperparameters(), max_runtime=1))
    d = finished(sm, "slow-job", timeout=15)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert "FinalMetricDataList" not in d or not d["FinalMetricDataList"]
    assert 1 <= d["TrainingTimeInSeconds"] <= 10  # killed at 1 s (SIGTERM), slack for a loaded machine


def test_stop_training_job_kills_the_process(sm: SageMakerClient, s3: S3Client, data: None, runner: JobBackend) -> None:
    upload_source(s3, {"train.py": "import time\ntime.sleep(60)\n"})
    sm.create_training_job(**training_request("stopped-job", framework_hyperparameters()))
    sm.stop_training_job(TrainingJobName="stopped-job")
    result = runner.wait("stopped-job", timeout=10)
    assert result is not None
    assert result.status in ("Stopping", "Stopped")
    assert finished(sm, "stopped-job", timeout=10)["TrainingJobStatus"] == "Stopped"


def test_failure_file_is_the_failure_reason(sm: SageMakerClient, s3: S3Client, data: None, runner: JobBackend) -> None:
    script = """
        import os, sys
        print("about to fail")
        with open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w") as f:
            f.write("the validation channel is empty")
        sys.exit(3)
    """
    upload_source(s3, {"train.py": script})
    sm.create_training_job(**training_request("failing-job", framework_hyperparameters()))
    d = finished(sm, "failing-job")
    assert d["TrainingJobStatus"] == "Failed"
    assert d["FailureReason"] == "AlgorithmError: the validation channel is empty"


def test_without_a_failure_file_the_reason_is_the_log_tail(
    sm: SageMakerClient, s3: S3Client, data: None, runner: JobBackend
) -> None:
    upload_source(s3, {"train.py": "print('line one')\nraise ValueError('bad learning rate')\n"})
    sm.create_training_job(**training_request("crashing-job", framework_hyperparameters()))
    d = finished(sm, "crashing-job")
    assert d["TrainingJobStatus"] == "Failed"
    reason = d["FailureReason"]
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError: ExitCode 1")
    assert "ValueError: bad learning rate" in reason
    assert "line one" in reason
    assert len(reason) <= script_mode.FAILURE_REASON_LIMIT


def test_a_missing_requirement_fails_the_job_naming_it(
    sm: SageMakerClient, s3: S3Client, data: None, runner: JobBackend
) -> None:
    upload_source(s3, {"train.py": "print('never runs')\n", "requirements.txt": "packaging>=1\nno-such-pkg-xyz==1.0\n"})
    sm.create_training_job(**training_request("needs-job", framework_hyperparameters()))
    d = finished(sm, "needs-job")
    assert d["TrainingJobStatus"] == "Failed"
    assert "no-such-pkg-xyz (not installed)" in d["FailureReason"]
    assert "packaging" not in d["FailureReason"]  # installed: satisfied


def test_missing_channel_data_fails_the_job(sm: SageMakerClient, s3: S3Client, runner: JobBackend) -> None:
    upload_source(s3, {"train.py": "print('never runs')\n"})
    sm.create_training_job(**training_request("nodata-job", framework_hyperparameters()))
    d = finished(sm, "nodata-job")
    assert d["TrainingJobStatus"] == "Failed"
    assert d["FailureReason"].startswith(f'ClientError: No S3 objects found under S3 URL "s3://{BUCKET}/data/train/"')


PEAKED = """
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float)
    parser.add_argument("--depth", type=int)
    args, _ = parser.parse_known_args()  # SageMaker also passes --_tuning_objective_metric
    print(f"validation-auc: {1 - (args.lr - 0.3) ** 2 - 0.01 * abs(args.depth - 4):.6f}")
"""


def test_a_tuning_job_runs_real_trials_and_picks_the_real_best(
    sm: SageMakerClient, s3: S3Client, data: None, runner: JobBackend
) -> None:
    upload_source(s3, {"train.py": PEAKED})
    definition = training_request("unused", framework_hyperparameters())
    definition.pop("TrainingJobName")
    definition["StaticHyperParameters"] = definition.pop("HyperParameters")
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="real-hpo",
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0.01", "MaxValue": "0.9"}],
                "IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": "8"}],
            },
        },
        TrainingJobDefinition=definition,  # type: ignore[arg-type]
    )

    def done() -> dict[str, Any] | None:
        d = dict(sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="real-hpo"))
        return d if d["HyperParameterTuningJobStatus"] != "InProgress" else None

    d = wait_for(done, timeout=40)
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    trials = trials_of(sm, "real-hpo")
    assert len(trials) == 4
    assert all(t["TrainingJobStatus"] == "Completed" for t in trials)

    def expected(hp: dict[str, str]) -> float:
        return round(1 - (float(hp["lr"]) - 0.3) ** 2 - 0.01 * abs(int(hp["depth"]) - 4), 6)

    for trial in trials:  # each objective is what that trial's process computed from its own hyperparameters
        value = trial["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        assert value == pytest.approx(expected(trial["TunedHyperParameters"]), abs=1e-6)
    best = max(trials, key=lambda t: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert d["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
    assert d["BestTrainingJob"]["TunedHyperParameters"] == best["TunedHyperParameters"]
    one = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert json.loads(one["HyperParameters"]["sagemaker_program"]) == "train.py"
    assert one["HyperParameters"]["_tuning_objective_metric"] == "validation:auc"
    s3.head_object(Bucket=BUCKET, Key=f"out/{best['TrainingJobName']}/output/model.tar.gz")


RUNPROC = """#!/bin/bash

cd /opt/ml/processing/input/code/
tar -xzf sourcedir.tar.gz

# Exit on any error. SageMaker uses error code to mark failed job.
set -e

if [[ -f 'requirements.txt' ]]; then
    pip install -r requirements.txt
fi

python augment.py "$@"
"""

AUGMENT = """
    import argparse, os
    parser = argparse.ArgumentParser()
    parser.add_argument("--input")
    parser.add_argument("--output")
    parser.add_argument("--factor", type=int)
    args = parser.parse_args()
    rows = open(os.path.join(args.input, "part-0.csv")).read().splitlines()
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "augmented.csv"), "w") as f:
        f.write("\\n".join([rows[0]] + rows[1:] * args.factor) + "\\n")
    print("augmented", len(rows) - 1, "rows")
"""


def processing_request(name: str) -> dict[str, Any]:
    """A FrameworkProcessor job as the SageMaker Python SDK sends it (code + entrypoint inputs, runproc.sh)."""

    def proc_input(input_name: str, uri: str, local: str) -> dict[str, Any]:
        return {
            "InputName": input_name,
            "S3Input": {"S3Uri": uri, "LocalPath": local, "S3DataType": "S3Prefix", "S3InputMode": "File"},
        }

    return {
        "ProcessingJobName": name,
        "ProcessingInputs": [
            proc_input("input-1", f"s3://{BUCKET}/data/train/", "/opt/ml/processing/input/data"),
            # the SDK's FrameworkProcessor: the objects themselves (sourcedir.tar.gz, runproc.sh) as S3Prefix inputs
            proc_input("code", SOURCE, "/opt/ml/processing/input/code/"),
            proc_input("entrypoint", f"s3://{BUCKET}/code/entry/runproc.sh", "/opt/ml/processing/input/entrypoint/"),
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "train",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/augmented/train/",
                        "LocalPath": "/opt/ml/processing/output/train",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        "AppSpecification": {
            "ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "ContainerEntrypoint": ["/bin/bash", "/opt/ml/processing/input/entrypoint/runproc.sh"],
            "ContainerArguments": [
                "--input",
                "/opt/ml/processing/input/data",
                "--output",
                "/opt/ml/processing/output/train",
                "--factor",
                "2",
            ],
        },
        "RoleArn": ROLE,
    }


def test_a_framework_processor_job_runs_its_entry_point(
    sm: SageMakerClient, s3: S3Client, data: None, runner: JobBackend
) -> None:
    upload_source(s3, {"augment.py": AUGMENT})
    s3.put_object(Bucket=BUCKET, Key="code/entry/runproc.sh", Body=RUNPROC.encode())
    sm.create_processing_job(**processing_request("aug-job"))

    def check() -> dict[str, Any] | None:
        d = dict(sm.describe_processing_job(ProcessingJobName="aug-job"))
        return d if d["ProcessingJobStatus"] in TERMINAL else None

    d = wait_for(check, timeout=30)
    assert d["ProcessingJobStatus"] == "Completed", d.get("FailureReason")
    body = s3.get_object(Bucket=BUCKET, Key="augmented/train/augmented.csv")["Body"].read()
    assert body == b"y,x\n1,2\n1,2\n"
    logs = boto3.client("logs", region_name=REGION)
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs")["logStreams"]
    assert any(s["logStreamName"].startswith("aug-job/algo-1-") for s in streams)


def test_runproc_entry_point_and_cmd_args() -> None:
    assert script_mode.runproc_entry_point(RUNPROC) == "augment.py"
    assert script_mode.runproc_entry_point("#!/bin/bash\necho hi\n") is None
    assert script_mode.cmd_args({"b": 1, "alpha": "x", "d": {"k": 1, "a": 2}}) == [
        "--alpha",
        "x",
        "-b",
        "1",
        "-d",
        "a=2,k=1",
    ]
    assert script_mode.decode('"200"') == "200"
    assert script_mode.decode("gbtree") == "gbtree"
    assert script_mode.decode("0.1") == 0.1
    log = "x=1\nauc: 0.5\nauc: nan-ish\nauc: 0.75\n"
    assert script_mode.final_metrics(
        log, [{"Name": "auc", "Regex": r"auc: ([0-9.]+)"}, {"Name": "bad", "Regex": "("}]
    ) == {"auc": 0.75}
