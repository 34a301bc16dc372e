"""No silent failure: a failed execution is notified exactly once, also when its own Catch path cannot do it.

GIVEN the deployed template, WHEN the run fails and Record Failure itself fails (so the Catch path ends the run
without claiming the notice), THEN the run recorder (execution status change -> record_execution) records and
notifies it, once.
"""

from __future__ import annotations

from mlcp_cli.local.cloud import LocalCloud
from mlcp_cli.local.faults import ApiFault, JobFault
from tests.local_cloud.conftest import start_run, states_entered


def test_when_record_failure_fails_the_recorder_notifies_once(cloud: LocalCloud) -> None:
    cloud.faults.jobs.append(JobFault(job="*-hpo", reason="injected tuning failure"))
    cloud.faults.api.append(
        ApiFault("lambda", "Invoke", code="ResourceNotFoundException", status=404, times=None, target="*RecordFailure*")
    )

    execution = start_run(cloud)

    assert execution["status"] == "FAILED"
    entered = states_entered(cloud, execution["executionArn"])
    assert entered[-2:] == ["Record Failure", "Run Failed"]
    assert "Notify Failure" not in entered
    run = cloud.run(execution["name"])
    assert run is not None
    assert run["status"] == "FAILED"
    assert run["failure"]["stage"] == "execution"
    assert run["failure"]["error"] == "States.TaskFailed"
    notes = cloud.notifications()
    assert [n["subject"] for n in notes] == [f"mlcp: run {execution['name']} FAILED at execution"]


def test_a_caught_failure_is_notified_once_not_again_by_the_recorder(cloud: LocalCloud) -> None:
    cloud.faults.jobs.append(JobFault(job="*-hpo", reason="injected tuning failure"))

    execution = start_run(cloud)

    assert execution["status"] == "FAILED"
    assert "Claim Failure Notice" in states_entered(cloud, execution["executionArn"])
    notes = cloud.notifications()
    assert [n["subject"] for n in notes] == [f"mlcp: run {execution['name']} FAILED at tune"]
