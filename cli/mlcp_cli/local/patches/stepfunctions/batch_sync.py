"""``batch_sync``: ``batch:submitJob.sync`` polls with back-off instead of moto's fixed 0.5 s wall sleep, and stopping
the execution terminates the job (moto: it keeps running). Parameters and output are PascalCase through
``task_parameter_names``.

moto's ``StateTaskServiceBatch`` does have ``.sync``; the fix wraps its resolver with the same back-off as the
SageMaker integration (:func:`~.sync.backoff`) and its loop with :func:`~.sync.poll_until_done`, whose stop
terminates the job ("Execution was stopped"), as Step Functions does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

from mlcp_cli.local.patches.context import active
from mlcp_cli.local.patches.stepfunctions.sync import backoff, poll_until_done

LOG = logging.getLogger(__name__)


def install() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_batch,
    )

    cls = state_task_service_batch.StateTaskServiceBatch
    original_build = cls._build_sync_resolver
    original_eval = cls._eval_sync

    def _build_sync_resolver(
        self: Any, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> Any:
        job_id = env.stack[-1].get("JobId") if env.stack and isinstance(env.stack[-1], dict) else None
        resolver = original_build(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        if active() is None or job_id is None:
            return resolver
        client = boto_client_for(
            service="batch", region=resource_runtime_part.region, state_credentials=state_credentials
        )
        self._mlcp_job = (client, job_id)
        pause = backoff(env)

        def resolve() -> Any:
            result = resolver()
            if not result:
                pause()
            return result

        return resolve

    def _eval_sync(self: Any, env: Any, sync_resolver: Callable[[], Any], *args: Any, **kwargs: Any) -> Any:
        job = getattr(self, "_mlcp_job", None)
        if active() is None or job is None:
            return original_eval(self, env, sync_resolver, *args, **kwargs)
        client, job_id = job

        def stop_job() -> None:
            try:
                client.terminate_job(jobId=job_id, reason="Execution was stopped")
            except ClientError:
                LOG.warning("could not terminate Batch job %s after the execution stopped", job_id)

        return poll_until_done(env, sync_resolver, stop_job)

    cls._build_sync_resolver = _build_sync_resolver
    cls._eval_sync = _eval_sync
