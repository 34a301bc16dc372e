"""The node-group scaling policy (uploaded as ``scaling/<cluster>/<name>/policy.yaml``) and the controller's data:
triggers, the node groups' current configs, the controller state (last actions, lease) and decisions.

Policy semantics (docs/architecture.md has the paragraph): a policy covers one EKS managed node group or a group of
them balanced by weight. Alarms in ALARM ask for a step (add N, add P %, set to N; scale-in: remove N, remove P %,
set to N) from the group's current capacity; the result is clamped to the hard min/max and to the floor/ceiling of
the schedule rule that fired last, and moves by at most ``max_step`` nodes per action. Scale-out waits for its
cooldown after the last scale-out; scale-in waits for its cooldown after any action and for a stabilisation window
without scale-out signals. One update is in flight per policy (a lease). Mode ``desired`` sets desiredSize (and the
bounds around it); mode ``bounds`` moves only maxSize/minSize and leaves desiredSize to Cluster Autoscaler.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
    model_validator,
)

from mlcp.common.documents import load_document, validate_document
from mlcp.common.validation import Rules, field_errors, repeated
from mlcp.errors import FieldError, PolicyInvalid
from mlcp.scaling.cron import CronError, parse_cron

# The EventBridge rule of the template forwards state changes of alarms whose names start with this prefix.
ALARM_PREFIX = "mlcp-scaling-"
ClusterName = Annotated[str, Field(pattern=r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")]
NodegroupName = Annotated[str, Field(pattern=r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,62}$")]
PolicyName = Annotated[str, Field(pattern=r"^[a-z0-9](-?[a-z0-9])*$", max_length=63)]


def _prefixed(value: str) -> str:
    if not value.startswith(ALARM_PREFIX) or value == ALARM_PREFIX:
        raise ValueError(f"must start with {ALARM_PREFIX!r} (the EventBridge rule forwards those alarms only)")
    return value


AlarmName = Annotated[str, Field(max_length=255), AfterValidator(_prefixed)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodegroupMember(_Strict):
    name: NodegroupName
    weight: Annotated[int, Field(ge=1, le=100, description="Share of the group's capacity (e.g. one per AZ).")] = 1


class Cooldowns(_Strict):
    scale_out_seconds: Annotated[int, Field(ge=0, le=86400, description="After the last scale-out.")] = 300
    scale_in_seconds: Annotated[int, Field(ge=0, le=86400, description="After the last action of either kind.")] = 600


class _Step(_Strict):
    alarm: AlarmName
    set: Annotated[int | None, Field(ge=0, le=1000, description="Set the capacity to N.")] = None


class ScaleOutRule(_Step):
    """While ``alarm`` is in ALARM: add N nodes, add P % (at least one node), set the capacity to N, or track a
    target: scale to the capacity that brings the alarm's metric back to ``track`` (``ceil(capacity * value /
    track)``, AWS target tracking's rule, for a utilisation-like metric; value: the level the alarm's evaluation
    range held, :func:`mlcp.scaling.decide.sustained_level`, else the metric's latest data point)."""

    add: Annotated[int | None, Field(ge=1, le=1000)] = None
    add_percent: Annotated[float | None, Field(gt=0, le=1000)] = None
    track: Annotated[float | None, Field(gt=0, description="Target value of the alarm's metric.")] = None

    @model_validator(mode="after")
    def _one(self) -> ScaleOutRule:
        if sum(x is not None for x in (self.add, self.add_percent, self.set, self.track)) != 1:
            raise ValueError("give exactly one of add, add_percent, set, track")
        return self

    def target(self, current: int, value: float | None = None) -> int:
        if self.add is not None:
            return current + self.add
        if self.add_percent is not None:
            return current + max(1, round(current * self.add_percent / 100))
        if self.track is not None:
            if value is None:  # in ALARM but no data point to size the step: the smallest step
                return current + 1
            return max(current + 1, math.ceil(current * value / self.track - 1e-9))
        assert self.set is not None
        return self.set


class ScaleInRule(_Step):
    """While ``alarm`` is in ALARM: remove N nodes, remove P % (at least one node), set the capacity to N, or track a
    target (``ceil(capacity * value / track)``, as :class:`ScaleOutRule`)."""

    remove: Annotated[int | None, Field(ge=1, le=1000)] = None
    remove_percent: Annotated[float | None, Field(gt=0, le=100)] = None
    track: Annotated[float | None, Field(gt=0, description="Target value of the alarm's metric.")] = None

    @model_validator(mode="after")
    def _one(self) -> ScaleInRule:
        if sum(x is not None for x in (self.remove, self.remove_percent, self.set, self.track)) != 1:
            raise ValueError("give exactly one of remove, remove_percent, set, track")
        return self

    def target(self, current: int, value: float | None = None) -> int:
        if self.remove is not None:
            return current - self.remove
        if self.remove_percent is not None:
            return current - max(1, round(current * self.remove_percent / 100))
        if self.track is not None:
            if value is None:
                return current - 1
            return min(current - 1, math.ceil(current * value / self.track - 1e-9))
        assert self.set is not None
        return self.set


class ScheduleRule(_Strict):
    """From each time ``cron`` fires until another schedule rule fires: keep the capacity in [floor, ceiling]."""

    name: PolicyName
    cron: Annotated[str, Field(description="AWS 6-field cron, UTC: 'cron(0 8 ? * MON-FRI *)'.")]
    floor: Annotated[int | None, Field(ge=0, le=1000)] = None
    ceiling: Annotated[int | None, Field(ge=1, le=1000)] = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            parse_cron(value)
        except CronError as exc:
            raise ValueError(str(exc)) from exc
        return value if value.startswith("cron(") else f"cron({value})"


MAX_RULES = 20  # per list (scale_out, scale_in, schedules); alarms: 2 x MAX_RULES


class AlarmDefinition(_Strict):
    """A CloudWatch alarm the policy reacts to (created with the template or by hand; the simulator evaluates it).

    The simulator feeds every alarm the group's utilisation in percent (demand / ready capacity).
    """

    name: AlarmName
    namespace: Annotated[str, Field(min_length=1, max_length=255)] = "ContainerInsights"  # PutMetricAlarm limits
    metric: Annotated[str, Field(min_length=1, max_length=255)] = "node_cpu_utilization"
    statistic: Literal["Average", "Maximum", "Minimum", "Sum", "SampleCount"] = "Average"
    period_seconds: Annotated[int, Field(ge=10, le=86400)] = 60
    evaluation_periods: Annotated[int, Field(ge=1, le=100)] = 3
    datapoints_to_alarm: Annotated[int, Field(ge=1, le=100)] = 3
    threshold: float
    comparison: Literal[
        "GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
    ]
    treat_missing_data: Literal["missing", "ignore", "breaching", "notBreaching"] = "missing"

    @model_validator(mode="after")
    def _datapoints(self) -> AlarmDefinition:
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError("datapoints_to_alarm must be <= evaluation_periods")
        return self


class ScalingPolicy(_Strict):
    """How one node group (or a weighted group of node groups) of one EKS cluster is resized."""

    cluster: ClusterName
    name: PolicyName
    mode: Literal["desired", "bounds"] = "desired"
    nodegroups: Annotated[list[NodegroupMember], Field(min_length=1, max_length=10)]
    min_size: Annotated[int, Field(ge=0, le=1000, description="Hard minimum of the group's capacity.")]
    max_size: Annotated[int, Field(ge=1, le=1000, description="Hard maximum of the group's capacity.")]
    max_step: Annotated[int, Field(ge=1, le=1000, description="Most nodes one action adds or removes.")] = 10
    cooldowns: Cooldowns = Cooldowns()
    scale_in_stabilisation_seconds: Annotated[int, Field(ge=0, le=86400)] = 600
    lease_seconds: Annotated[int, Field(ge=60, le=86400, description="An update in flight blocks others.")] = 3600
    # Bounded so registration (one alarm-index item per rule) and decide stay small: MAX_RULES each.
    scale_out: Annotated[list[ScaleOutRule], Field(max_length=MAX_RULES)] = []
    scale_in: Annotated[list[ScaleInRule], Field(max_length=MAX_RULES)] = []
    schedules: Annotated[list[ScheduleRule], Field(max_length=MAX_RULES)] = []
    alarms: Annotated[list[AlarmDefinition], Field(max_length=2 * MAX_RULES)] = []

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.name}"

    @model_validator(mode="after")
    def _consistent(self) -> ScalingPolicy:
        rules = Rules()
        rules.check(self.min_size <= self.max_size, ["min_size"], f"must be <= max_size ({self.max_size})")
        names = [m.name for m in self.nodegroups]
        for i in repeated(names):
            rules.check(False, ["nodegroups", i, "name"], f"{names[i]!r} is listed twice")
        alarms = self.alarm_names()
        for i in repeated(alarms):
            where: list[str | int] = (
                ["scale_out", i] if i < len(self.scale_out) else ["scale_in", i - len(self.scale_out)]
            )
            rules.check(False, [*where, "alarm"], f"{alarms[i]!r} already drives another rule")
        for i, out in enumerate(self.scale_out):
            if out.set is not None:
                rules.check(out.set <= self.max_size, ["scale_out", i, "set"], "must be <= max_size")
        for i, rule in enumerate(self.schedules):
            for attr in ("floor", "ceiling"):
                value = getattr(rule, attr)
                if value is not None:
                    rules.check(
                        self.min_size <= value <= self.max_size,
                        ["schedules", i, attr],
                        f"must be within min_size..max_size ({self.min_size}..{self.max_size})",
                    )
            if rule.floor is not None and rule.ceiling is not None:
                rules.check(rule.floor <= rule.ceiling, ["schedules", i, "floor"], "must be <= ceiling")
        for i in repeated(r.name for r in self.schedules):
            rules.check(False, ["schedules", i, "name"], "is not unique")
        rules.raise_if_any()
        return self

    def alarm_names(self) -> list[str]:
        return [r.alarm for r in self.scale_out] + [r.alarm for r in self.scale_in]

    def tracked_alarms(self) -> list[str]:
        """The alarms whose metric value a tracking rule needs."""
        outs = [r.alarm for r in self.scale_out if r.track is not None]
        return outs + [r.alarm for r in self.scale_in if r.track is not None]


# Metrics that exist while the policy's node groups have no node at all, so an alarm on them can scale out from zero:
# cluster-level pending pods (Container Insights, reported by the agents of the cluster's other nodes) and queue
# depths (the SQS metrics ApproximateNumberOfMessagesVisible and ApproximateAgeOfOldestMessage, AWS/SQS; not the
# GetQueueAttributes attribute ApproximateNumberOfMessages:
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).
# Container Insights' node_* metrics (node_cpu_utilization, node_gpu_utilization, ...) are per node: with no
# node there is no data point, the alarm goes to INSUFFICIENT_DATA (TreatMissingData "missing") and stays there:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data
FROM_ZERO_METRICS = frozenset(
    {
        "pod_status_pending",
        "cluster_failed_node_count",
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
    }
)


def exists_at_zero(alarm: AlarmDefinition) -> bool:
    """Whether the alarm can be in ALARM while the group has no node (its metric exists then, or missing data
    counts as breaching)."""
    return alarm.metric in FROM_ZERO_METRICS or alarm.treat_missing_data == "breaching"


def from_zero_problems(policy: ScalingPolicy) -> list[FieldError]:
    """Why the policy can never scale out from its minimum of 0 nodes ([] when it can, or cannot tell: a scale-out
    rule whose alarm the policy does not define is assumed able to)."""
    if policy.min_size > 0 or not policy.scale_out:
        return []
    defined = {a.name: a for a in policy.alarms}
    if any(r.alarm not in defined or exists_at_zero(defined[r.alarm]) for r in policy.scale_out):
        return []
    metrics = ", ".join(sorted({defined[r.alarm].metric for r in policy.scale_out}))
    return [
        FieldError(
            "scale_out",
            f"min_size is 0 but every scale-out alarm watches a per-node metric ({metrics}): with no node there is no "
            "data point, the alarm stays INSUFFICIENT_DATA and the group never leaves 0. Add a scale-out alarm on a "
            f"signal that exists at zero ({', '.join(sorted(FROM_ZERO_METRICS))}), set treat_missing_data: breaching, "
            "or raise min_size to 1",
        )
    ]


def registration_problems(policy: ScalingPolicy, environment: str) -> list[FieldError]:
    """What keeps a valid policy from working in the stack of ``environment``: an alarm outside the stack's alarm
    names (``mlcp-scaling-<environment>-``, the prefix its EventBridge rule forwards), or no scale-out signal that
    exists at its minimum of 0 nodes (:func:`from_zero_problems`). Registration refuses such a policy with these
    field errors; ``mlcp scaling validate`` reports them."""
    prefix = f"{ALARM_PREFIX}{environment}-"
    problems = [
        FieldError(
            f"{kind}.{i}.alarm", f"must start with {prefix!r}: this stack ({environment}) forwards those alarms only"
        )
        for kind, rules in (("scale_out", policy.scale_out), ("scale_in", policy.scale_in))
        for i, rule in enumerate(rules)
        if not rule.alarm.startswith(prefix)
    ]
    return problems + from_zero_problems(policy)


def parse_policy(document: str | bytes | dict[str, Any], *, source: str = "scaling policy") -> ScalingPolicy:
    """Parse a policy from YAML/JSON text or a dict; raise PolicyInvalid with field-level errors."""
    data = load_document(document, source=source, error=PolicyInvalid)
    return validate_document(ScalingPolicy, data, source=source, error=PolicyInvalid, errors_of=field_errors)


def policy_json_schema() -> dict[str, Any]:
    schema = ScalingPolicy.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://mlcp.dev/schemas/scaling-policy.schema.json"
    return schema


# --- controller data ---------------------------------------------------------------------------------------------
class AlarmTrigger(_Strict):
    """A "CloudWatch Alarm State Change" event, reduced to what the decision needs."""

    kind: Literal["alarm"] = "alarm"
    alarm: str
    state: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    previous_state: str = ""
    at: dt.datetime
    state_at: dt.datetime | None = None  # detail.state.timestamp: when the alarm entered ``state``
    event_id: str = ""

    @property
    def changed_at(self) -> dt.datetime:
        """When the alarm entered its state (the event's state timestamp; its time if absent)."""
        return self.state_at or self.at


class ScheduleTrigger(_Strict):
    """A Scheduler schedule (a schedule rule's cron, or a periodic re-evaluation) for one policy."""

    kind: Literal["schedule"] = "schedule"
    policy: str
    schedule: str = ""
    at: dt.datetime


class ManualTrigger(_Strict):
    """A manual change of one node group (POST /scaling/{cluster}/{nodegroup}/actions), decided like any trigger:
    clamped to the policy's hard min/max (the node group's share of them) and ``max_step``, refused while another
    update holds the lease. Cooldowns do not hold it (an operator's decision); a success starts them."""

    kind: Literal["manual"] = "manual"
    policy: str
    nodegroup: str
    desired: Annotated[int | None, Field(ge=0, le=1000)] = None
    min: Annotated[int | None, Field(ge=0, le=1000)] = None
    max: Annotated[int | None, Field(ge=1, le=1000)] = None
    requested_by: Annotated[str, Field(max_length=2048)] = ""
    note: Annotated[str, Field(max_length=256, description="The operator's reason, kept on the decision.")] = ""
    request_id: Annotated[str, Field(max_length=128)] = ""
    at: dt.datetime


AnyTrigger = AlarmTrigger | ScheduleTrigger | ManualTrigger
Trigger = Annotated[AnyTrigger, Field(discriminator="kind")]


# Node-group statuses during which EKS runs an operation of its own and a config update must wait. Every other
# status (ACTIVE, DEGRADED, CREATE_FAILED, DELETE_FAILED) takes UpdateNodegroupConfig; DEGRADED and the *_FAILED ones
# list why in ``health.issues``: https://docs.aws.amazon.com/eks/latest/APIReference/API_Nodegroup.html
BUSY_STATUSES = frozenset({"CREATING", "UPDATING", "DELETING"})


class HealthIssue(_Strict):
    """One of DescribeNodegroup's ``health.issues`` (https://docs.aws.amazon.com/eks/latest/APIReference/API_Issue.html)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    code: str = "Unknown"
    message: str = ""
    resource_ids: Annotated[list[str], Field(alias="resourceIds")] = []


class NodegroupConfig(_Strict):
    """The part of DescribeNodegroup's ``nodegroup`` that the decision reads."""

    name: str
    status: str = "ACTIVE"
    min_size: Annotated[int, Field(ge=0)]
    max_size: Annotated[int, Field(ge=0)]
    desired_size: Annotated[int, Field(ge=0)]
    health_issues: list[HealthIssue] = []

    @property
    def busy(self) -> bool:
        return self.status in BUSY_STATUSES

    @classmethod
    def from_describe(cls, nodegroup: dict[str, Any]) -> NodegroupConfig:
        scaling = nodegroup.get("scalingConfig") or {}
        issues = (nodegroup.get("health") or {}).get("issues") or []
        return cls(
            name=nodegroup["nodegroupName"],
            status=nodegroup.get("status", "ACTIVE"),
            min_size=scaling.get("minSize", 0),
            max_size=scaling.get("maxSize", 1),
            desired_size=scaling.get("desiredSize", 0),
            health_issues=[HealthIssue.model_validate(i) for i in issues if isinstance(i, dict)],
        )


class AlarmMemory(_Strict):
    state: str
    since: dt.datetime


class AlarmReading(_Strict):
    """One alarm as CloudWatch DescribeAlarms returned it at decision time (StateValue, StateUpdatedTimestamp);
    ``MISSING`` when DescribeAlarms does not know the alarm (deleted, misspelt, another account or region)."""

    state: Literal["OK", "ALARM", "INSUFFICIENT_DATA", "MISSING"]
    since: dt.datetime | None = None
    value: Annotated[float | None, Field(description="The metric's latest data point (tracking rules).")] = None
    level: Annotated[
        float | None, Field(description="The level its evaluation range held (mlcp.scaling.decide.sustained_level).")
    ] = None


class Lease(_Strict):
    holder: str
    expires_at: dt.datetime
    direction: Literal["out", "in", "schedule"]


class ControllerState(_Strict):
    """One item per policy in the controller-state table; ``version`` guards every write (conditional put)."""

    policy: str
    version: int = 0
    lease: Lease | None = None
    last_scale_out_at: dt.datetime | None = None
    last_scale_in_at: dt.datetime | None = None
    last_scale_out_signal_at: dt.datetime | None = None
    alarms: dict[str, AlarmMemory] = {}
    # Why the last decision failed outside ScalingNodegroupArns (notified once); cleared by the next in-scope one.
    not_granted: str | None = None


class ScalingConfig(_Strict):
    """UpdateNodegroupConfig's scalingConfig (desiredSize absent in bounds mode)."""

    minSize: int  # noqa: N815 - EKS's own field names
    maxSize: int  # noqa: N815
    desiredSize: int | None = None  # noqa: N815

    def request(self) -> dict[str, int]:
        return self.model_dump(exclude_none=True)


class NodegroupUpdate(_Strict):
    model_config = ConfigDict(extra="ignore", frozen=True)  # its JSON carries the computed sdk_scaling_config

    nodegroup: str
    scaling_config: ScalingConfig

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sdk_scaling_config(self) -> dict[str, int]:
        """The ScalingConfig parameter as the aws-sdk Step Functions integration takes it (PascalCase)."""
        return {key[0].upper() + key[1:]: value for key, value in self.scaling_config.request().items()}


class Decision(_Strict):
    """What the controller decided, with its inputs (written to the decisions table, applied or not)."""

    decision_id: str
    policy: str
    cluster: str
    at: dt.datetime
    action: Literal["noop", "update"]
    direction: Literal["out", "in", "schedule"] | None = None
    reason: str
    capacity: int  # the group's capacity the decision started from (desired or max, by mode)
    target: int
    updates: list[NodegroupUpdate] = []
    trigger: Annotated[AnyTrigger, Field(discriminator="kind")]
    nodegroups: list[NodegroupConfig]
    state_version: int
    alarms_read: Annotated[
        dict[str, AlarmReading], Field(description="The policy's alarms as DescribeAlarms returned them.")
    ] = {}
    decided_at: Annotated[dt.datetime | None, Field(description="The controller's clock when it decided.")] = None

    @property
    def applied(self) -> bool:
        return self.action == "update"
