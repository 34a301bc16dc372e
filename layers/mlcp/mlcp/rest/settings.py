"""Settings of the REST API function (ApiFunction in template.yaml): the training pipeline's, plus idempotency.

/batches and /scaling are served when the function is also given the batch pipeline's and the scaling
controller's variables (mlcp.batch.settings, mlcp.scaling.settings); see mlcp.aws.wiring.api.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mlcp.training.settings import TrainingSettings


class ApiSettings(TrainingSettings):
    # Powertools idempotency records of POST /runs (Idempotency-Key).
    idempotency_table: Annotated[str | None, Field(alias="IDEMPOTENCY_TABLE", min_length=3)] = None
    idempotency_ttl_seconds: Annotated[int, Field(alias="IDEMPOTENCY_TTL_SECONDS", ge=60, le=30 * 86400)] = 86400
