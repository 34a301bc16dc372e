"""Settings of the Lambda functions: read once from the environment by each handler (never by the core).

Each capability has its own model (mlcp.training.settings, mlcp.batch.settings, mlcp.scaling.settings), built on
:class:`FunctionSettings`, so a function is asked only for the variables its capability uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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

    def data_buckets(self) -> tuple[str, ...]:
        return split_list(self.data_bucket_names)


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
