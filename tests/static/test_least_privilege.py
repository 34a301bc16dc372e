"""Issue 18, over the SAM-transformed template: no job role can write a trigger prefix, no function deletes
objects, and the hygiene checks checkov would make (access logging, retained tables and dead-letter queue,
TLS-only topic/queue/bucket policies). checkov itself is not a dependency: the same checks, by hand, here."""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import cache
from typing import Any

import pytest

from mlcp_cli.local.deploy import transform
from tests.support import load_template

BUCKET = "arn:aws:s3:::mlcp-artifacts"
STACK = "mlcp"
# Keys that start runs or register specs and policies (README "S3 conventions"; batch manifests at any depth).
TRIGGER_KEYS = [
    "pipelines/churn/pipeline.yaml",
    "scaling/ml-inference/gpu/policy.yaml",
    "datasets/churn/2026-11-30/manifest.json",
    "batches/image-scoring/batch.yaml",
    "batches/image-scoring/2026-11-30/manifest.json",
    "batches/image-scoring/runs/r1/results/manifest.json",
]
WRITES = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
JOB_PRINCIPALS = {"sagemaker.amazonaws.com", "ecs-tasks.amazonaws.com"}


def _resolve(value: Any) -> Any:
    """The few intrinsics the policies use, with fixed names (the bucket, the stack, us-east-1)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Fn::GetAtt":
            target = arg if isinstance(arg, list) else arg.split(".")
            return {"ArtifactBucket": BUCKET}.get(target[0], f"arn:aws:unresolved:::{target[0]}")
        if key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            for name, sub in {
                "${ArtifactBucket.Arn}": BUCKET,
                "${ArtifactBucket}": BUCKET.rsplit(":", 1)[-1],
                "${AWS::Partition}": "aws",
                "${AWS::Region}": "us-east-1",
                "${AWS::AccountId}": "123456789012",
                "${AWS::StackName}": STACK,
            }.items():
                text = text.replace(name, sub)
            return text
        if key == "Fn::If":  # default parameters: the conditions used in these policies (HasExtra*) are false
            return _resolve(arg[2])
        if key == "Fn::Join":
            parts = [_resolve(v) for v in _resolve(arg[1])]
            return arg[0].join(str(p) for p in parts if p is not None)
        if key == "Fn::Split":
            return str(_resolve(arg[1])).split(arg[0])
        if key == "Ref" and arg == "AWS::NoValue":
            return None
        if key == "Ref":
            return {"ArtifactBucket": BUCKET.rsplit(":", 1)[-1]}.get(arg, arg)
        return value
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


@cache
def _transformed() -> dict[str, Any]:
    template = load_template()
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = "s3://deploy/code.zip"
        if isinstance(properties.get("DefinitionUri"), str):
            properties.pop("DefinitionUri")
            properties["Definition"] = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    resources: dict[str, Any] = transform(template, {})["Resources"]
    return resources


def _conditional(value: Any) -> Any:
    """A policy or statement under ``Fn::If`` (false with the default parameters): its else branch; None: NoValue."""
    return _resolve(value) if isinstance(value, dict) and "Fn::If" in value else value


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for listed in role["Properties"].get("Policies", []):
        policy = _conditional(listed)
        if policy is None:
            continue
        for entry in policy["PolicyDocument"]["Statement"]:
            statement = _conditional(entry)
            if statement is not None:
                found.append(statement)
    return found


def _listed(value: Any) -> list[Any]:
    resolved = _resolve(value)
    return [_resolve(v) for v in resolved] if isinstance(resolved, list) else [resolved]


def _matches(statement: dict[str, Any], action: str, resource: str) -> bool:
    actions = _listed(statement.get("Action", []))
    resources = _listed(statement.get("Resource", []))
    return any(fnmatchcase(action.lower(), str(a).lower()) for a in actions) and any(
        isinstance(r, str) and fnmatchcase(resource, r) for r in resources
    )


def allowed(role: dict[str, Any], action: str, resource: str) -> bool:
    """IAM's evaluation within one identity policy set: an explicit Deny wins, else any Allow."""
    statements = _statements(role)
    if any(s["Effect"] == "Deny" and _matches(s, action, resource) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _matches(s, action, resource) for s in statements)


def _job_roles() -> dict[str, dict[str, Any]]:
    roles = {}
    for logical_id, resource in _transformed().items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        principals = set()
        for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            service = statement.get("Principal", {}).get("Service", [])
            principals |= set(service if isinstance(service, list) else [service])
        if principals & JOB_PRINCIPALS:
            roles[logical_id] = resource
    return roles


def test_the_job_roles_are_found() -> None:
    assert {"SageMakerExecutionRole", "BatchJobRole", "BatchExecutionRole"} <= set(_job_roles())


@pytest.mark.parametrize("key", TRIGGER_KEYS)
@pytest.mark.parametrize("action", WRITES)
def test_no_job_role_can_write_or_delete_a_trigger(key: str, action: str) -> None:
    for logical_id, role in _job_roles().items():
        assert not allowed(role, action, f"{BUCKET}/{key}"), f"{logical_id} may {action} {key}"
        for managed in role["Properties"].get("ManagedPolicyArns", []):
            # the ECS task execution policy: ECR pulls and logs only, no S3; the stack's KMS key use (KmsKeyUsePolicy:
            # kms only, checked below)
            reviewed = "AmazonECSTaskExecutionRolePolicy" in str(managed) or "KmsKeyUsePolicy" in str(managed)
            assert reviewed, f"{logical_id}: unreviewed {managed}"


def test_job_roles_write_their_run_outputs_and_delete_nothing() -> None:
    roles = _job_roles()
    sagemaker, worker = roles["SageMakerExecutionRole"], roles["BatchJobRole"]
    assert allowed(sagemaker, "s3:PutObject", f"{BUCKET}/runs/churn/run-1/tuning/model.tar.gz")
    assert allowed(worker, "s3:PutObject", f"{BUCKET}/batches/image-scoring/runs/r1/results/part-0.json")
    assert not allowed(worker, "s3:PutObject", f"{BUCKET}/runs/churn/run-1/tuning/model.tar.gz")
    for role in (sagemaker, worker):
        assert not allowed(role, "s3:DeleteObject", f"{BUCKET}/runs/churn/run-1/tuning/model.tar.gz")


CODE_KEYS = [  # script mode (mlcp.training.script_mode): what the CLI uploads, what the jobs read
    "code/churn/" + "a" * 64 + "/sourcedir.tar.gz",
    "code/churn/" + "a" * 64 + "/runproc/" + "b" * 64 + "/runproc.sh",
]


@pytest.mark.parametrize("key", CODE_KEYS)
def test_the_jobs_read_the_script_mode_code_and_never_write_it(key: str) -> None:
    roles = _job_roles()
    assert allowed(roles["SageMakerExecutionRole"], "s3:GetObject", f"{BUCKET}/{key}")
    for logical_id, role in roles.items():
        for action in WRITES:
            assert not allowed(role, action, f"{BUCKET}/{key}"), f"{logical_id} may {action} {key}"


def test_no_function_may_delete_objects() -> None:
    for logical_id, resource in _transformed().items():
        if resource["Type"] == "AWS::IAM::Role" and logical_id.endswith("FunctionRole"):
            assert not allowed(resource, "s3:DeleteObject", f"{BUCKET}/pipelines/churn/pipeline.yaml"), logical_id


def test_the_batch_state_machine_may_use_only_the_stacks_own_batch_resources_by_default() -> None:
    role = _transformed()["BatchPipelineRole"]
    own = "arn:aws:batch:us-east-1:123456789012"
    assert allowed(role, "batch:SubmitJob", f"{own}:job-definition/mlcp-batch-worker:3")
    assert allowed(role, "batch:SubmitJob", f"{own}:job-queue/mlcp-batch-spot")
    assert allowed(role, "batch:UpdateComputeEnvironment", f"{own}:compute-environment/mlcp-batch-spot")
    assert not allowed(role, "batch:SubmitJob", f"{own}:job-definition/another-teams-job:1")
    assert not allowed(role, "batch:SubmitJob", f"{own}:job-queue/prod")
    assert not allowed(role, "batch:UpdateComputeEnvironment", f"{own}:compute-environment/prod")


# --- hygiene (checkov's CKV_AWS_18, CKV_AWS_28-style retention, TLS-only policies), by hand -----------------------
def test_the_artifact_bucket_logs_access_to_the_log_bucket() -> None:
    resources = load_template()["Resources"]
    logging = resources["ArtifactBucket"]["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
    assert all(resources["AccessLogsBucket"]["Properties"]["PublicAccessBlockConfiguration"].values())


def test_stateful_resources_are_retained_on_stack_deletion_and_replacement() -> None:
    for logical_id, resource in load_template()["Resources"].items():
        if resource["Type"] in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket"):
            assert resource.get("DeletionPolicy") == "Retain", logical_id
            assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


def _deny_without_tls(statements: list[dict[str, Any]]) -> bool:
    return any(
        s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in statements
    )


def test_topic_queue_and_buckets_refuse_requests_without_tls() -> None:
    resources = load_template()["Resources"]
    policies = {
        "NotificationTopicPolicy": "Topics",
        "FailedTriggersQueuePolicy": "Queues",
        "ArtifactBucketPolicy": "Bucket",
        "AccessLogsBucketPolicy": "Bucket",
    }
    for logical_id in policies:
        assert _deny_without_tls(resources[logical_id]["Properties"]["PolicyDocument"]["Statement"]), logical_id


EKS_WRITES = ["eks:UpdateNodegroupConfig", "eks:DescribeNodegroup"]


def _roles() -> dict[str, dict[str, Any]]:
    return {k: r for k, r in _transformed().items() if r["Type"] == "AWS::IAM::Role"}


@pytest.mark.parametrize("action", EKS_WRITES)
def test_no_role_may_touch_a_node_group_by_default(action: str) -> None:
    """The stack default of ScalingNodegroupArns is none: no role may update or describe any node group."""
    nodegroup = "arn:aws:eks:us-east-1:123456789012:nodegroup/ml-inference/gpu/0b2c6c2a-1d2e-4f00-9e1b-000000000000"
    assert [name for name, role in _roles().items() if allowed(role, action, nodegroup)] == []


def test_node_group_permissions_are_exactly_the_granted_arns() -> None:
    """Every statement that allows a node group action is under HasScalingNodegroups and names exactly the
    parameter ScalingNodegroupArns as its resources (no wildcard over the account's node groups)."""
    found = []
    for name, role in _roles().items():
        for listed in role["Properties"].get("Policies", []):
            for entry in _resolve_policy(listed):
                statement, condition = entry
                actions = _listed(statement.get("Action", []))
                if any(str(a).lower() in {x.lower() for x in EKS_WRITES} for a in actions):
                    found.append((name, condition, statement["Resource"]))
    assert {name for name, _, _ in found} == {"NodegroupScalingRole", "DecideScalingFunctionRole", "ApiFunctionRole"}
    for name, condition, resource in found:
        assert condition == "HasScalingNodegroups", name
        assert resource == {"Ref": "ScalingNodegroupArns"}, name


def _resolve_policy(listed: Any) -> list[tuple[dict[str, Any], str | None]]:
    """(statement, the condition it is under or None) of one role policy, with both branches' conditions taken."""
    policy = listed
    if isinstance(policy, dict) and "Fn::If" in policy:
        policy = policy["Fn::If"][1]
    found = []
    for entry in policy["PolicyDocument"]["Statement"]:
        if isinstance(entry, dict) and "Fn::If" in entry:
            condition, statement, _ = entry["Fn::If"]
            if isinstance(statement, dict) and "Effect" in statement:
                found.append((statement, condition))
        else:
            found.append((entry, None))
    return found


# --- the optional customer managed key (KmsKeyArn) ----------------------------------------------------------------
KEY_IF = {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
KEY_USE = {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyUsePolicy"}, {"Ref": "AWS::NoValue"}]}


def test_with_a_key_every_store_is_encrypted_with_it() -> None:
    """Artifact bucket (SSE-KMS with a Bucket Key), topic, dead-letter queue, every table and log group, and the
    functions' environment use KmsKeyArn when it is set (AWS managed keys otherwise)."""
    resources = load_template()["Resources"]
    sse = resources["ArtifactBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": {"Fn::If": ["HasKmsKey", "aws:kms", "AES256"]},
        "KMSMasterKeyID": KEY_IF,
    }
    assert sse["BucketKeyEnabled"] is True
    assert resources["NotificationTopic"]["Properties"]["KmsMasterKeyId"] == {
        "Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, "alias/aws/sns"]
    }
    assert resources["FailedTriggersQueue"]["Properties"]["KmsMasterKeyId"] == KEY_IF
    tables = {k: r for k, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert len(tables) >= 8
    for name, table in tables.items():
        assert table["Properties"]["SSESpecification"]["KMSMasterKeyId"] == KEY_IF, name
    logs = {k: r for k, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    for name, group in logs.items():
        assert group["Properties"]["KmsKeyId"] == KEY_IF, name
    assert load_template()["Globals"]["Function"]["KmsKeyArn"] == KEY_IF


def test_the_key_may_be_used_by_the_stacks_roles_for_encrypt_and_decrypt_only() -> None:
    """One managed policy: kms:Decrypt and kms:GenerateDataKey on KmsKeyArn only, attached (when set) to every
    function, state machine and job role that touches the bucket, topic, queue or tables."""
    resources = load_template()["Resources"]
    policy = resources["KmsKeyUsePolicy"]
    assert policy["Condition"] == "HasKmsKey"
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Resource"] == {"Ref": "KmsKeyArn"}
    users = {
        k: r
        for k, r in resources.items()
        if r["Type"] in {"AWS::Serverless::Function", "AWS::Serverless::StateMachine"}
    }
    for name, resource in users.items():
        assert KEY_USE in resource["Properties"]["Policies"], name
    for name in ("SageMakerExecutionRole", "BatchJobRole"):
        assert KEY_USE in resources[name]["Properties"]["ManagedPolicyArns"], name
    # with the default (no key) the transformed roles carry no KMS permission at all
    for name, role in _roles().items():
        assert not allowed(role, "kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/any"), name


TRIAL_READS = ["sagemaker:ListTrainingJobsForHyperParameterTuningJob", "sagemaker:DescribeHyperParameterTuningJob"]


@pytest.mark.parametrize("action", TRIAL_READS)
def test_the_api_reads_the_trials_of_tuning_jobs_only(action: str) -> None:
    """GET /pipelines/{name}/runs/{run_id}/trials: the API function may list and describe tuning jobs of its own
    account and region, nothing else of SageMaker (no other job type, no other region)."""
    role = _transformed()["ApiFunctionRole"]
    own = "arn:aws:sagemaker:us-east-1:123456789012"
    assert allowed(role, action, f"{own}:hyper-parameter-tuning-job/churn-v1-api-0a1b-3c4d5e6f-hpo")
    assert not allowed(role, action, "arn:aws:sagemaker:eu-west-1:123456789012:hyper-parameter-tuning-job/x-hpo")
    assert not allowed(role, action, f"{own}:training-job/churn-v1-api-0a1b-3c4d5e6f-hpo-001-0a1b2c3d")
    for write in ("sagemaker:CreateHyperParameterTuningJob", "sagemaker:StopHyperParameterTuningJob"):
        assert not allowed(role, write, f"{own}:hyper-parameter-tuning-job/churn-v1-api-0a1b-3c4d5e6f-hpo")


def test_warm_start_parents_stay_within_the_stacks_own_tuning_jobs() -> None:
    """WarmStartConfig names parent tuning jobs of this account and region (the pipeline's earlier runs): the
    training state machine may create and describe those and no other account's; build_tuning finds the parents in
    the runs table (Query on its by_pipeline index) and calls no SageMaker API."""
    machine = _transformed()["TrainingPipelineRole"]
    parent = "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/churn-2026-11-20-ab-1a2b3c4d-hpo"
    assert allowed(machine, "sagemaker:CreateHyperParameterTuningJob", parent)
    assert allowed(machine, "sagemaker:DescribeHyperParameterTuningJob", parent)
    elsewhere = "arn:aws:sagemaker:us-west-2:210987654321:hyper-parameter-tuning-job/churn-2026-11-20-ab-1a2b3c4d-hpo"
    assert not allowed(machine, "sagemaker:DescribeHyperParameterTuningJob", elsewhere)
    build = _transformed()["BuildTuningFunctionRole"]
    index = "arn:aws:dynamodb:us-east-1:123456789012:table/${tableName}/index/by_pipeline"  # SAM's Sub, unresolved
    assert allowed(build, "dynamodb:Query", index)
    assert not allowed(build, "sagemaker:DescribeHyperParameterTuningJob", parent)


# --- the run's cost (issue 15): who may read the jobs' billable seconds ----------------------------------------
_COST_READERS = {"RecordSuccessFunctionRole", "RecordFailureFunctionRole", "RecordExecutionFunctionRole"}
_COST_ACTIONS = (
    "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:DescribeProcessingJob",
)


def _cost_statement(role: dict[str, Any]) -> dict[str, Any]:
    (statement,) = [s for s in _statements(role) if s.get("Sid") == "RunCost"]
    return statement


@pytest.mark.parametrize("name", sorted(_COST_READERS))
def test_the_cost_readers_may_read_exactly_the_jobs_of_a_run(name: str) -> None:
    """The functions that put a run's cost on its record list a tuning job's trials and describe training and
    processing jobs of the stack's account and Region: exactly these three read actions, nothing else."""
    role = _roles()[name]
    statement = _cost_statement(role)
    assert statement["Effect"] == "Allow"
    assert sorted(_listed(statement["Action"])) == sorted(_COST_ACTIONS)
    prefix = "arn:aws:sagemaker:us-east-1:123456789012:"
    assert sorted(_listed(statement["Resource"])) == [
        f"{prefix}hyper-parameter-tuning-job/*",
        f"{prefix}processing-job/*",
        f"{prefix}training-job/*",
    ]
    assert allowed(role, "sagemaker:DescribeTrainingJob", f"{prefix}training-job/churn-20261127-t-001")
    assert not allowed(role, "sagemaker:DescribeTrainingJob", "arn:aws:sagemaker:eu-west-1:123456789012:training-job/x")
    for write in ("sagemaker:StopTrainingJob", "sagemaker:StopProcessingJob", "sagemaker:CreateTrainingJob"):
        assert not allowed(role, write, f"{prefix}training-job/x"), write


def test_only_the_cost_readers_list_trials_and_describe_processing_jobs() -> None:
    """No other function role gained these reads (the state machine role's own .sync grants are not function
    roles). The API may list a tuning job's trials too (the run report's trials route, issue 15)."""
    prefix = "arn:aws:sagemaker:us-east-1:123456789012:"
    listing = {
        name
        for name, role in _roles().items()
        if allowed(
            role, "sagemaker:ListTrainingJobsForHyperParameterTuningJob", f"{prefix}hyper-parameter-tuning-job/t"
        )
    }
    assert listing >= _COST_READERS
    assert listing - _COST_READERS <= {"ApiFunctionRole"}
    processing = {
        name
        for name, role in _roles().items()
        if name.endswith("FunctionRole")
        and allowed(role, "sagemaker:DescribeProcessingJob", f"{prefix}processing-job/p")
    }
    assert processing == _COST_READERS
