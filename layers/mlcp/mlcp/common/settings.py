"""Settings of the Lambda functions: read once from the environment by each handler (never by the core).

Each capability has its own model (mlcp.training.settings, mlcp.batch.settings, mlcp.scaling.settings), built on
:class:`FunctionSettings`, so a function is asked only for the variables its capability uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlcp.common.images import ImageScope
from mlcp.common.preflight import split_list
from mlcp.common.validation import field_errors
from mlcp.errors import InputInvalid


class FunctionSettings(BaseModel):
    """What every function is given (template.yaml Globals.Function.Environment)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    environment: Annotated[str, Field(alias="MLCP_ENVIRONMENT")] = "dev"
    artifact_bucket: Annotated[str, Field(alias="ARTIFACT_BUCKET", min_length=3)]
    notification_topic_arn: Annotated[str, Field(alias="NOTIFICATION_TOPIC_ARN", min_length=20)]
    # The template parameter DataBucketNames (comma-separated): buckets besides the artifact bucket that jobs may
    # read and write; the preflight refuses any other bucket (mlcp.common.preflight.StackReach).
    data_bucket_names: Annotated[str, Field(alias="DATA_BUCKET_NAMES")] = ""
    # The container image allow-list (mlcp.common.images): the stack's account and Region (its ECR registry and
    # SageMaker's registries there) and the template parameter ExtraImageRegistries (comma-separated). Without
    # the account (the local CLI, tests of other rules) images are not checked.
    stack_account_id: Annotated[str | None, Field(alias="STACK_ACCOUNT_ID", pattern=r"^\d{12}$")] = None
    stack_region: Annotated[str, Field(alias="AWS_REGION", min_length=1)] = "us-east-1"
    extra_image_registries: Annotated[str, Field(alias="EXTRA_IMAGE_REGISTRIES")] = ""

    def data_buckets(self) -> tuple[str, ...]:
        return split_list(self.data_bucket_names)

    def image_scope(self) -> ImageScope | None:
        if self.stack_account_id is None:
            return None
        return ImageScope(self.stack_account_id, self.stack_region, split_list(self.extra_image_registries))


SettingsT = TypeVar("SettingsT", bound=FunctionSettings)


def load_settings(model: type[SettingsT], environ: Mapping[str, str]) -> SettingsT:
    """Validate ``environ`` into ``model``.

    Raises:
        InputInvalid: "function environment", one FieldError per missing or malformed variable (by its name).
    """
    try:
        return model.model_validate(dict(environ))
    except ValidationError as exc:
        raise InputInvalid("function environment", field_errors(exc)) from exc
