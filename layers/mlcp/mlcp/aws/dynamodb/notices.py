"""The execution notices ledger: one item per execution whose failure was notified (key ``execution``).

Both failure paths claim the execution's notice with a conditional PutItem before they publish — a state machine's
Catch path (the ``Claim Failure Notice`` states, DynamoDB's optimised integration) and the run recorder (the
"Step Functions Execution Status Change" event) — so a failed execution is notified exactly once whichever path gets
there first, and by the recorder alone when no Catch could run (States.DataLimitExceeded, States.Runtime, a timeout,
StopExecution, a Catch path that itself failed). A redrive releases the claim. Items expire (DynamoDB TTL
``expires_at``) after 90 days.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mlcp.aws.dynamodb.table import Table, applied
from mlcp.common.notifications import iso

_RETENTION = timedelta(days=90)


class DynamoNoticeLedger(Table):
    def claim(self, execution_arn: str, by: str, at: datetime) -> bool:
        return applied(
            self.ddb.put_item,
            TableName=self.table,
            Item={
                "execution": {"S": execution_arn},
                "claimed_by": {"S": by},
                "claimed_at": {"S": iso(at)},
                "expires_at": {"N": str(int((at + _RETENTION).timestamp()))},
            },
            ConditionExpression="attribute_not_exists(execution)",
        )

    def release(self, execution_arn: str) -> None:
        self.ddb.delete_item(TableName=self.table, Key={"execution": {"S": execution_arn}})
