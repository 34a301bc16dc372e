"""Which AWS Batch resources a batch spec may use: the stack's own (named ``<stack>-*``) and those the operator
granted by template parameter (BatchExtraJobDefinitions, BatchExtraJobQueues, BatchExtraComputeEnvironments:
ARNs, ``*`` wildcards allowed as in IAM). The batch state machine's role allows exactly these, so a spec naming
another team's job definition, queue or compute environment is refused at validation, naming the parameter,
instead of failing (or, before, succeeding) at SubmitJob / UpdateComputeEnvironment.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from mlcp.batch.settings import BatchSettings
from mlcp.batch.spec import BatchSpec
from mlcp.errors import BatchSpecInvalid, FieldError


def _resource(name_or_arn: str) -> str:
    """``job-queue/name`` from an ARN, or the name itself (the part after the resource type's slash)."""
    return name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn


def _split(value: str) -> tuple[str, ...]:
    return tuple(_resource(v.strip()) for v in value.split(",") if v.strip())


@dataclass(frozen=True)
class BatchScope:
    own_prefix: str  # "<stack>-"
    job_definitions: tuple[str, ...] = ()  # name:revision patterns
    job_queues: tuple[str, ...] = ()
    compute_environments: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: BatchSettings) -> BatchScope | None:
        """None when the function was given no scope (the local CLI, tests of other rules)."""
        if not settings.batch_resource_prefix:
            return None
        return cls.from_parameters(
            settings.batch_resource_prefix,
            job_definitions=settings.batch_extra_job_definitions,
            job_queues=settings.batch_extra_job_queues,
            compute_environments=settings.batch_extra_compute_environments,
        )

    @classmethod
    def from_parameters(
        cls, own_prefix: str, *, job_definitions: str = "", job_queues: str = "", compute_environments: str = ""
    ) -> BatchScope:
        """From the template parameters as comma-separated text (the functions' env, `mlcp batch plan`'s flags)."""
        return cls(
            own_prefix=own_prefix,
            job_definitions=_split(job_definitions),
            job_queues=_split(job_queues),
            compute_environments=_split(compute_environments),
        )

    def _job_definition_allowed(self, definition: str) -> bool:
        name, _, revision = _resource(definition).partition(":")
        if name.startswith(self.own_prefix):
            return True
        for pattern in self.job_definitions:
            pattern_name, _, pattern_revision = pattern.partition(":")
            # Without a revision SubmitJob uses the latest one: only a pattern allowing every revision covers it.
            revision_ok = fnmatchcase(revision, pattern_revision or "*") if revision else pattern_revision in ("", "*")
            if fnmatchcase(name, pattern_name) and revision_ok:
                return True
        return False

    def _allowed(self, name: str, granted: tuple[str, ...]) -> bool:
        name = _resource(name)
        return name.startswith(self.own_prefix) or any(fnmatchcase(name, pattern) for pattern in granted)

    def problems(self, spec: BatchSpec) -> list[FieldError]:
        """A FieldError for each Batch resource of ``spec`` outside the scope, naming the template parameter."""
        found = []
        own = f"the stack's own ({self.own_prefix}*)"
        if not self._job_definition_allowed(spec.job.definition):
            found.append(
                FieldError("job.definition", f"is not {own} nor granted by the parameter BatchExtraJobDefinitions")
            )
        for i, queue in enumerate(spec.queues):
            if not self._allowed(queue.name, self.job_queues):
                found.append(
                    FieldError(f"queues[{i}].name", f"is not {own} nor granted by the parameter BatchExtraJobQueues")
                )
            if queue.compute_environment and not self._allowed(queue.compute_environment, self.compute_environments):
                found.append(
                    FieldError(
                        f"queues[{i}].compute_environment",
                        f"is not {own} nor granted by the parameter BatchExtraComputeEnvironments",
                    )
                )
        return found


def check_scope(spec: BatchSpec, settings: BatchSettings, *, source: str) -> BatchSpec:
    """``spec`` if its Batch resources are in the function's scope; BatchSpecInvalid naming each one otherwise."""
    scope = BatchScope.from_settings(settings)
    problems = scope.problems(spec) if scope is not None else []
    if problems:
        raise BatchSpecInvalid(source, problems)
    return spec
