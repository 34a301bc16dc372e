"""The demo's batch part: the registered breast-cancer model scores the validation rows in the batch pipeline.

The reference worker's job definition (``python worker.py``, so the local Batch backend runs each array child as a
real process of examples/batch/worker.py) and the profile examples/batch/breast-cancer.yaml, whose MODEL_URI is the
registered model package's ModelDataUrl; a manifest listing the validation channel's rows starts the run. Everything
the summary shows is read back through AWS APIs: DescribeModelPackage, the batch execution, the shard results in S3.
"""

from __future__ import annotations

import json
import time
from typing import Any, Final

from mlcp_cli.local.cloud import EXAMPLES, LocalCloud

PROFILE: Final = "breast-cancer-scoring"
VALIDATION_KEY: Final = "validation/breast-cancer-validation.csv"


def register_reference_worker(cloud: LocalCloud) -> str:
    """RegisterJobDefinition ``<stack>-batch-worker-local``: the stack's worker image and resources, the command
    ``python worker.py`` (what the local Batch backend runs for real). Returns its name."""
    name = f"{cloud.stack_name}-batch-worker-local"
    cloud.client("batch").register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={
            "image": "public.ecr.aws/sam/build-python3.13:latest",
            "command": ["python", "worker.py"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
            "environment": [{"name": "AWS_DEFAULT_REGION", "value": cloud.region}],
        },
    )
    return name


def model_data_url(cloud: LocalCloud, package_arn: str) -> str:
    described = cloud.client("sagemaker").describe_model_package(ModelPackageName=package_arn)
    return str(described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"])


def score_validation(cloud: LocalCloud, package_arn: str, dataset_prefix: str, rows: int) -> dict[str, Any]:
    """Run the batch pipeline over ``rows`` validation rows of ``s3://<bucket>/<dataset_prefix>`` with the model
    package's artifact; return the run's status, children, rows scored, accuracy (score >= 0.5 vs the label) and
    where the results are."""
    started = time.monotonic()
    definition = register_reference_worker(cloud)
    model_uri = model_data_url(cloud, package_arn)
    text = (EXAMPLES / "batch" / "breast-cancer.yaml").read_text()
    text = text.replace("mlcp-batch-", f"{cloud.stack_name}-batch-").replace("mlcp-artifacts-example", cloud.bucket)
    text = text.replace(f"s3://{cloud.bucket}/models/breast-cancer/model.tar.gz", model_uri)
    cloud.upload(f"batches/{PROFILE}/batch.yaml", text)
    cloud.dispatcher.drain()
    csv_uri = f"s3://{cloud.bucket}/{dataset_prefix.strip('/')}/{VALIDATION_KEY}"
    items = [f"{csv_uri}#{row}" for row in range(rows)]
    batch_arn = cloud.output("BatchPipelineArn")
    before = {e["executionArn"] for e in cloud.executions(batch_arn)}
    cloud.upload(f"batches/{PROFILE}/demo/manifest.json", json.dumps({"items": items}))
    cloud.settle(timeout=120)
    new = [e for e in cloud.executions(batch_arn) if e["executionArn"] not in before]
    if not new:
        return {"status": "NOT STARTED", "definition": definition}
    run_id = str(new[0]["name"])
    prefix = f"batches/{PROFILE}/runs/{run_id}/results/"
    results = _results(cloud, prefix)
    scored = [r for r in results if "label" in r]
    correct = sum(1 for r in scored if (float(r["score"]) >= 0.5) == (int(r["label"]) == 1))
    return {
        "status": new[0]["status"],
        "run_id": run_id,
        "definition": definition,
        "model_uri": model_uri,
        "children": _children(cloud, run_id),
        "rows": len(results),
        "accuracy": correct / len(scored) if scored else None,
        "results": f"s3://{cloud.bucket}/{prefix}",
        "shards": len(_keys(cloud, prefix)),
        "wall_seconds": time.monotonic() - started,
    }


def _keys(cloud: LocalCloud, prefix: str) -> list[str]:
    listed = cloud.client("s3").list_objects_v2(Bucket=cloud.bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents") or [])


def _results(cloud: LocalCloud, prefix: str) -> list[dict[str, Any]]:
    s3 = cloud.client("s3")
    lines: list[dict[str, Any]] = []
    for key in _keys(cloud, prefix):
        body = s3.get_object(Bucket=cloud.bucket, Key=key)["Body"].read().decode()
        lines += [json.loads(line) for line in body.splitlines() if line.strip()]
    return lines


def _children(cloud: LocalCloud, run_id: str) -> int | None:
    key = f"batches/{PROFILE}/runs/{run_id}/stats.json"
    try:
        stats = json.loads(cloud.client("s3").get_object(Bucket=cloud.bucket, Key=key)["Body"].read())
    except Exception:
        return None
    children = stats.get("children")
    return int(children) if children is not None else None


def render_batch(batch: dict[str, Any]) -> list[str]:
    """The summary's batch lines."""
    if batch.get("rows") is None:
        return [f"  batch scoring   {batch.get('status')}"]
    accuracy = "-" if batch["accuracy"] is None else f"{batch['accuracy']:.4f}"
    return [
        f"  batch scoring   {batch['status']}: {batch['rows']} validation rows scored by the registered model in "
        f"{batch['children'] or '-'} array children ({batch['wall_seconds']:.1f} s wall; real processes of "
        f"examples/batch/worker.py, job definition {batch['definition']})",
        f"  batch accuracy  {accuracy} (score >= 0.5 against the labels)",
        f"  batch results   {batch['results']} ({batch['shards']} shard-*.jsonl)",
    ]
