"""Settings of the training pipeline's functions (template.yaml: Globals and each function's Environment)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mlcp.common.preflight import StackReach, split_list
from mlcp.common.settings import FunctionSettings


class TrainingSettings(FunctionSettings):
    """register_pipeline, start_run, the training_pipeline stages, the run recorder, and the API."""

    runs_table: Annotated[str, Field(alias="RUNS_TABLE", min_length=3)]
    pipelines_table: Annotated[str, Field(alias="PIPELINES_TABLE", min_length=3)]
    sagemaker_role_arn: Annotated[str, Field(alias="SAGEMAKER_ROLE_ARN", min_length=20)]
    training_state_machine_arn: Annotated[str, Field(alias="TRAINING_STATE_MACHINE_ARN", min_length=20)]
    notices_table: Annotated[
        str | None,
        Field(alias="NOTICES_TABLE", min_length=3, description="The run recorder's notices ledger (exactly-once)."),
    ] = None
    neo_poll_seconds: Annotated[int, Field(alias="NEO_POLL_SECONDS", ge=1, le=3600)] = 30
    neo_max_polls: Annotated[int, Field(alias="NEO_MAX_POLLS", ge=1, le=1000)] = 120
    # The template parameter ExtraSageMakerExecutionRoleArns (comma-separated): roles a spec's role_arn may name
    # besides the stack's own (the template grants iam:PassRole on exactly these).
    extra_sagemaker_role_arns: Annotated[str, Field(alias="EXTRA_SAGEMAKER_ROLE_ARNS")] = ""
    # The template parameter KmsKeyArn: SageMaker jobs' OutputDataConfig/ProcessingOutputConfig/OutputConfig
    # KmsKeyId (validate_spec puts it on the run; "": the bucket's default encryption).
    kms_key_arn: Annotated[str, Field(alias="KMS_KEY_ARN", max_length=2048)] = ""

    def stack_state_machine_arns(self) -> frozenset[str]:
        """The stack's three state machines (template.yaml names them ``<stack>-training-pipeline``,
        ``<stack>-batch-pipeline`` and ``<stack>-nodegroup-scaling``): the ones the run recorder answers for."""
        prefix = self.training_state_machine_arn.removesuffix("training-pipeline")
        return frozenset(prefix + name for name in ("training-pipeline", "batch-pipeline", "nodegroup-scaling"))

    def reach(self) -> StackReach:
        """What the deployed stack may pass and read: the preflight refuses specs that need more."""
        return StackReach(
            artifact_bucket=self.artifact_bucket,
            stack_role_arn=self.sagemaker_role_arn,
            extra_role_arns=split_list(self.extra_sagemaker_role_arns),
            data_buckets=self.data_buckets(),
            images=self.image_scope(),
        )
