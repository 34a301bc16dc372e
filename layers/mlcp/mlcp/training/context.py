"""The run with its spec, as the stages use it: never in a state (the state carries :class:`RunRef`)."""

from __future__ import annotations

from mlcp.training.payloads import RunRef
from mlcp.training.spec import PipelineSpec


class RunContext(RunRef):
    """A :class:`RunRef` with the run's validated spec (loaded by mlcp.training.stages.run_context)."""

    spec: PipelineSpec

    def ref(self) -> RunRef:
        return RunRef.model_validate(self.model_dump(exclude={"spec"}))
