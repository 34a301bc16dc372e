"""``batch_compute_resize``: UpdateComputeEnvironment applies ``computeResources`` (maxvCpus ...) with AWS Batch's
validation (moto: accepted and ignored), so the batch pipeline's resize and restore are observable.

moto's ``BatchBackend.update_compute_environment`` says "TODO Implement resizing": the request is accepted and the
environment keeps its sizes. With the fix maxvCpus, minvCpus and desiredvCpus are merged into the environment's
compute resources, refusing what AWS Batch refuses (minvCpus/desiredvCpus on Fargate, maxvCpus below minvCpus).
The array jobs' lifecycle on the simulated clock is a job backend: :mod:`mlcp_cli.local.backends.batch`.
"""

from __future__ import annotations

from typing import Any

from mlcp_cli.local.patches.context import active

_SIZES = ("maxvCpus", "minvCpus", "desiredvCpus")


def install() -> None:
    from moto.batch.exceptions import ClientException  # noqa: PLC0415
    from moto.batch.models import BatchBackend  # noqa: PLC0415

    original = BatchBackend.update_compute_environment

    def update_compute_environment(
        self: Any, compute_environment_name: str, state: Any, compute_resources: Any, service_role: Any
    ) -> Any:
        result = original(self, compute_environment_name, state, compute_resources, service_role)
        if active() is None or not compute_resources:
            return result
        environment = self.get_compute_environment(compute_environment_name)
        current = dict(environment.compute_resources or {})
        wanted = {k: int(v) for k, v in compute_resources.items() if k in _SIZES}
        merged = {**current, **wanted}
        fargate = "FARGATE" in str(current.get("type", ""))
        if fargate and ({"minvCpus", "desiredvCpus"} & set(wanted)):
            raise ClientException("minvCpus and desiredvCpus are not applicable to Fargate compute environments")
        if int(merged.get("maxvCpus", 0)) < int(merged.get("minvCpus", 0)):
            raise ClientException("maxvCpus must be greater than or equal to minvCpus")
        environment.compute_resources = merged
        return result

    BatchBackend.update_compute_environment = update_compute_environment
