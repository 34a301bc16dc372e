"""SageMaker script mode: a framework image plus your ``entry_point`` in a ``source_dir``, as the SageMaker Python
SDK (v2) sends it and the SageMaker training toolkit reads it.

The spec fields (:class:`ScriptMode`, mixed into the tuning trials' training resources, the compression job and
the augment processing job) and the pieces of the requests they become:

- training jobs (``Framework._script_mode_hyperparam_update`` and ``EstimatorBase._json_encode_hyperparameters`` in
  sagemaker-python-sdk v2 ``src/sagemaker/estimator.py``): every hyperparameter value JSON-encoded, plus
  ``sagemaker_program``, ``sagemaker_submit_directory``, ``sagemaker_container_log_level``, ``sagemaker_job_name``,
  ``sagemaker_region`` (``src/sagemaker/model.py`` names them); a tuning job's static hyperparameters also carry
  ``sagemaker_estimator_class_name`` / ``sagemaker_estimator_module`` (``src/sagemaker/tuner.py``,
  ``_prepare_static_hyperparameters``). The training toolkit (aws/sagemaker-training-toolkit,
  ``src/sagemaker_training/environment.py``) downloads ``sagemaker_submit_directory`` and runs
  ``sagemaker_program`` from its root.
- processing jobs (``FrameworkProcessor`` in ``src/sagemaker/processing.py``): a ``code`` input with
  ``sourcedir.tar.gz`` at ``/opt/ml/processing/input/code/``, an ``entrypoint`` input with ``runproc.sh`` at
  ``/opt/ml/processing/input/entrypoint/``, and ``ContainerEntrypoint = ["/bin/bash", ".../runproc.sh"]``.

The CLI (never a Lambda) packages a local ``source_dir`` into
``s3://<artifact bucket>/code/<pipeline>/<sha256>/sourcedir.tar.gz`` and resolves ``image_uri``; the service only
ever sees the S3 URI and the image (:func:`lambda_problems` says what is missing).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from mlcp.common.validation import S3_URI, Rules
from mlcp.training.sagemaker_limits import ImageUri, SpecModel

# Hyperparameter names (sagemaker-python-sdk v2 src/sagemaker/model.py, src/sagemaker/tuner.py).
PROGRAM = "sagemaker_program"
SUBMIT_DIRECTORY = "sagemaker_submit_directory"
CONTAINER_LOG_LEVEL = "sagemaker_container_log_level"
JOB_NAME = "sagemaker_job_name"
REGION = "sagemaker_region"
ESTIMATOR_CLASS_NAME = "sagemaker_estimator_class_name"
ESTIMATOR_MODULE = "sagemaker_estimator_module"
RESERVED_PREFIX = "sagemaker_"
LOG_LEVEL_INFO = 20  # logging.INFO, the SDK's default container_log_level

SOURCEDIR_NAME = "sourcedir.tar.gz"
TRAINING_REQUIREMENTS = "requirements.txt"
CODE_PREFIX = "code/"  # s3://<artifact bucket>/code/<pipeline>/<sha256>/sourcedir.tar.gz
PROCESSING_CODE_INPUT = "code"
PROCESSING_ENTRYPOINT_INPUT = "entrypoint"
PROCESSING_CODE_DIR = "/opt/ml/processing/input/code/"
PROCESSING_ENTRYPOINT_DIR = "/opt/ml/processing/input/entrypoint/"
RUNPROC_NAME = "runproc.sh"
PROCESSING_ENTRYPOINT = ["/bin/bash", PROCESSING_ENTRYPOINT_DIR + RUNPROC_NAME]

Framework = Literal["sklearn", "pytorch", "xgboost", "tensorflow", "huggingface", "mxnet"]
# The SDK estimator of each framework (sagemaker_estimator_class_name / _module of a tuning job).
ESTIMATORS: dict[str, tuple[str, str]] = {
    "sklearn": ("SKLearn", "sagemaker.sklearn.estimator"),
    "pytorch": ("PyTorch", "sagemaker.pytorch.estimator"),
    "xgboost": ("XGBoost", "sagemaker.xgboost.estimator"),
    "tensorflow": ("TensorFlow", "sagemaker.tensorflow.estimator"),
    "huggingface": ("HuggingFace", "sagemaker.huggingface.estimator"),
    "mxnet": ("MXNet", "sagemaker.mxnet.estimator"),
}

# A relative path inside source_dir (the validator also refuses a leading "/" and "", "." or ".." segments).
RELATIVE_PATH = r"^[A-Za-z0-9_.\-+=@/]+$"
S3_SOURCEDIR = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/(.+/)?sourcedir\.tar\.gz$"
PACKAGE_COMMAND = "mlcp spec package FILE --region REGION --artifact-bucket BUCKET"

RelativePath = Annotated[str, Field(min_length=1, max_length=256, pattern=RELATIVE_PATH)]


class ScriptMode(SpecModel):
    """``framework`` + ``framework_version`` + ``entry_point`` (+ ``source_dir``, ``requirements``,
    ``py_version``) as an alternative to ``image_uri``; with ``framework``, ``image_uri`` is optional in the file
    (the CLI resolves it for the stack's region) and required once the spec reaches the service."""

    # A training container (the training toolkit's modules.install) pip-installs only requirements.txt at
    # source_dir's root; a processing job's runproc.sh installs the file ``requirements`` names.
    requirements_anywhere: ClassVar[bool] = False

    image_uri: Annotated[
        ImageUri | None,
        Field(description="The container image. Optional with framework (the CLI resolves it for the stack's region)."),
    ] = None
    framework: Annotated[
        Framework | None,
        Field(description="Script mode: the SageMaker framework container (the SDK's image_uris framework name)."),
    ] = None
    framework_version: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=32,
            pattern=r"^[0-9A-Za-z][0-9A-Za-z.\-]*$",
            description='As image_uris.retrieve takes it, e.g. "1.2-1" for sklearn, "2.3" for pytorch.',
        ),
    ] = None
    py_version: Annotated[str | None, Field(pattern=r"^py[0-9]{1,3}$", description='e.g. "py3", "py311".')] = None
    entry_point: Annotated[
        RelativePath | None,
        Field(description="The script the container runs, relative to source_dir's root (no '..', no leading '/')."),
    ] = None
    source_dir: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=1024,
            description="A local directory (relative to the spec file; the CLI packages and uploads it) or the "
            "s3://.../sourcedir.tar.gz the CLI uploaded.",
        ),
    ] = None
    requirements: Annotated[
        RelativePath | None,
        Field(description="A pip requirements file inside source_dir (relative to its root)."),
    ] = None

    @model_validator(mode="after")
    def _script_mode(self) -> ScriptMode:
        rules = Rules()
        if self.framework is None:
            rules.check(self.image_uri is not None, ("image_uri",), "give image_uri, or framework for script mode")
            for name in ("framework_version", "py_version", "entry_point", "source_dir", "requirements"):
                rules.check(getattr(self, name) is None, (name,), "only with framework (script mode)")
        else:
            rules.check(self.framework_version is not None, ("framework_version",), "required with framework")
            rules.check(self.entry_point is not None, ("entry_point",), "required with framework")
            rules.check(self.source_dir is not None, ("source_dir",), "required with framework")
        for name in ("entry_point", "requirements"):
            value = getattr(self, name)
            if value is not None:
                rules.check(
                    all(part not in ("", ".", "..") for part in value.split("/")),
                    (name,),
                    "must be a path inside source_dir: relative, without '..', '.' or empty segments",
                )
        if self.requirements is not None and not self.requirements_anywhere:
            rules.check(
                self.requirements == TRAINING_REQUIREMENTS,
                ("requirements",),
                f"a training container installs only {TRAINING_REQUIREMENTS} at source_dir's root (SageMaker "
                f"training toolkit): name that file, or leave requirements out",
            )
        if self.source_dir is not None and self.source_dir.startswith("s3://"):
            rules.check(
                re.fullmatch(S3_URI, self.source_dir) is not None
                and re.fullmatch(S3_SOURCEDIR, self.source_dir) is not None,
                ("source_dir",),
                f"an S3 source_dir must be the s3://bucket/.../{SOURCEDIR_NAME} the CLI uploads ({PACKAGE_COMMAND})",
            )
        rules.raise_if_any()
        return self

    @property
    def script_mode(self) -> bool:
        return self.framework is not None


def is_s3_source(source_dir: str | None) -> bool:
    return source_dir is not None and re.fullmatch(S3_SOURCEDIR, source_dir) is not None


def lambda_problems(stage: ScriptMode) -> list[tuple[str, str]]:
    """(field, message) for a script-mode stage the service cannot send as is: a local source_dir or no image_uri.

    Only the CLI packages and resolves (``mlcp spec package``, ``mlcp pipelines put``)."""
    if not stage.script_mode:
        return []
    found = []
    if not is_s3_source(stage.source_dir):
        found.append(
            (
                "source_dir",
                f"the service runs {stage.source_dir!r} only once it is packaged and uploaded as "
                f"s3://<artifact bucket>/{CODE_PREFIX}<pipeline>/<sha256>/{SOURCEDIR_NAME}: send the spec with "
                f"`mlcp pipelines put FILE` (it packages), or run `{PACKAGE_COMMAND}` and upload what it prints",
            )
        )
    if stage.image_uri is None:
        found.append(
            (
                "image_uri",
                f"required once the spec reaches the service (framework {stage.framework} "
                f"{stage.framework_version} is resolved for the stack's region by the CLI): send the spec with "
                f"`mlcp pipelines put FILE`, or run `{PACKAGE_COMMAND}`",
            )
        )
    return found


def region_of(execution_arn: str) -> str:
    """The region of a run (its Step Functions execution ARN: ``arn:aws:states:<region>:...``)."""
    parts = execution_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"


def encode(value: Any) -> str:
    """A hyperparameter value as the SDK sends it in script mode: ``json.dumps`` (``"200"`` -> ``'"200"'``)."""
    return json.dumps(value)


def training_hyperparameters(stage: ScriptMode, *, job_name: str, region: str, tuning: bool = False) -> dict[str, str]:
    """The script-mode hyperparameters mlcp adds to a training job (or a tuning job's static hyperparameters)."""
    added = {
        PROGRAM: encode(stage.entry_point),
        SUBMIT_DIRECTORY: encode(stage.source_dir),
        CONTAINER_LOG_LEVEL: encode(LOG_LEVEL_INFO),
        JOB_NAME: encode(job_name),
        REGION: encode(region),
    }
    if tuning and stage.framework is not None:
        class_name, module = ESTIMATORS[stage.framework]
        added[ESTIMATOR_CLASS_NAME] = encode(class_name)
        added[ESTIMATOR_MODULE] = encode(module)
    return added


def added_names(*, tuning: bool) -> tuple[str, ...]:
    names = (PROGRAM, SUBMIT_DIRECTORY, CONTAINER_LOG_LEVEL, JOB_NAME, REGION)
    return (*names, ESTIMATOR_CLASS_NAME, ESTIMATOR_MODULE) if tuning else names


def encoded(values: Mapping[str, Any]) -> dict[str, str]:
    return {name: encode(value) for name, value in values.items()}


def runproc_script(entry_point: str, requirements: str | None) -> str:
    """runproc.sh of a processing job, the SDK's FrameworkProcessor._generate_framework_script text (without the
    CodeArtifact login), installing ``requirements`` when given (the SDK: ``requirements.txt``)."""
    requirements_file = requirements or "requirements.txt"
    return (
        "#!/bin/bash\n"
        "\n"
        f"cd {PROCESSING_CODE_DIR}\n"
        f"tar -xzf {SOURCEDIR_NAME}\n"
        "\n"
        "# Exit on any error. SageMaker uses error code to mark failed job.\n"
        "set -e\n"
        "\n"
        f"if [[ -f {_shell_quote(requirements_file)} ]]; then\n"
        "    # Some py3 containers has typing, which may breaks pip install\n"
        "    pip uninstall --yes typing\n"
        "\n"
        f"    python -m pip install -r {_shell_quote(requirements_file)}\n"
        "fi\n"
        "\n"
        f'python {_shell_quote(entry_point)} "$@"\n'
    )


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def runproc_uri(source_dir: str, entry_point: str, requirements: str | None) -> str:
    """Where the CLI uploads runproc.sh: next to sourcedir.tar.gz, under the script's own sha256 (so a spec that
    changes only its entry point never overwrites the runproc.sh of a running job)."""
    digest = hashlib.sha256(runproc_script(entry_point, requirements).encode()).hexdigest()
    return source_dir.removesuffix(SOURCEDIR_NAME) + f"runproc/{digest}/{RUNPROC_NAME}"
