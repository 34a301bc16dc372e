"""A statement deleted from a role in a copy of template.yaml: the local cloud refuses the call, as AWS would.

A module of its own: it deploys its own cloud (one local cloud at a time per process).
"""

from __future__ import annotations

import uuid

from mlcp_cli.local.cloud import EXAMPLES, LocalCloud
from mlcp_cli.local.deploy import TEMPLATE


def test_a_statement_deleted_from_a_role_fails_offline_with_access_denied() -> None:
    """A copy of template.yaml without StartRunFunction's StepFunctionsExecutionPolicy: no run starts, AccessDenied."""
    text = TEMPLATE.read_text()
    start = text.index("\n  StartRunFunction:\n")
    statement = (
        "        - StepFunctionsExecutionPolicy:\n"
        '            StateMachineName: !Sub "${AWS::StackName}-training-pipeline"\n'
    )
    at = text.index(statement, start)
    assert at < text.index("      Events:", start)  # the statement is StartRunFunction's own
    copy = TEMPLATE.parent / f".template-iam-test-{uuid.uuid4().hex}.yaml"  # beside the original: same CodeUri paths
    copy.write_text(text[:at] + text[at + len(statement) :])
    try:
        with LocalCloud(speed=5000.0, template_path=copy) as local:
            assert local.iam is not None
            local.upload_spec("churn", (EXAMPLES / "pipelines" / "churn" / "pipeline.yaml").read_bytes())
            local.settle()
            local.upload_dataset("churn", "v1", {"description": "no StartExecution"})
            local.settle()
            denied = [d for d in local.iam.decisions if not d.allowed]
            assert {(d.principal.split("/")[1].rsplit("-", 1)[0], d.action) for d in denied} == {
                (f"{local.stack_name}-StartRunFunctionRole", "states:StartExecution")
            }
            assert local.executions() == []
            errors = [error for name, _, error in local.runtime.invocations if "StartRunFunction" in name]
            assert errors, "StartRunFunction never ran"
            assert all(errors), errors  # every attempt failed (then the on-failure destination)
    finally:
        copy.unlink()
