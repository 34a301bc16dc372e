"""Issue 18: hostile client input against the real handlers (moto). Every case is a 4xx naming the field or limit
(415 for content types) or a recorded, notified rejection; never a 5xx, a crash or a stack trace."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mlcp.common.documents import MAX_DEPTH, MAX_DOCUMENT_BYTES
from tests.functional.conftest import Cloud
from tests.functional.test_api import api, call  # noqa: F401 - the API handler fixture
from tests.functional.test_scaling import POLICY_TEXT, Scaling, scaling  # noqa: F401 - the scaling fixture
from tests.functional.test_triggers import SPEC_KEY, register, s3_event
from tests.support import FakeLambdaContext, example_spec, example_spec_text

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")

CASES = Path(__file__).resolve().parent.parent / "data" / "cases"


def _no_internals(body: Any) -> None:
    text = json.dumps(body)
    for leak in ("Traceback", 'File "', "/var/task", "/opt/python", ".py", "site-packages"):
        assert leak not in text


def test_case_put_pipeline_with_a_yaml_body_is_415_naming_the_accepted_type(api: ModuleType) -> None:  # noqa: F811
    # GIVEN the case file: PUT /pipelines/churn with Content-Type application/x-yaml (was a 500)
    event = json.loads((CASES / "events" / "api-put-pipeline-yaml-body.json").read_text())

    response = api.lambda_handler(event, FakeLambdaContext())

    body = json.loads(response["body"])
    assert response["statusCode"] == 415
    assert body["code"] == "UnsupportedMediaType"
    assert "application/json" in body["message"]
    assert body["errors"][0]["field"] == "Content-Type"
    assert body["errors"][0]["location"] == "header"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_json_under_another_content_type_is_415(api: ModuleType, content_type: str) -> None:  # noqa: F811
    for method, path in (("PUT", "/pipelines/churn"), ("POST", "/pipelines/churn/runs")):
        status, body = call(api, method, path, raw=json.dumps(example_spec()), headers={"Content-Type": content_type})
        assert status == 415, (method, path, body)
        assert f"Content-Type {content_type!r} is not supported; send the body as application/json" in body["message"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"name": ' + "[" * 5000 + "]" * 5000 + "}", f"is nested deeper than {MAX_DEPTH} levels"),
        ('{"name": ' + "9" * 4301 + "}", "a number has more than 4,300 digits"),
        (json.dumps({"name": "x" * MAX_DOCUMENT_BYTES}), f"the limit is {MAX_DOCUMENT_BYTES:,} bytes"),
        ('{"name": NaN}', "NaN is not a JSON number"),
    ],
    ids=["nested-5000", "digits-4301", "over-256KiB", "nan"],
)
def test_hostile_json_bodies_are_400_naming_the_limit(api: ModuleType, raw: str, message: str) -> None:  # noqa: F811
    for method, path in (("PUT", "/pipelines/churn"), ("POST", "/pipelines/churn/runs")):
        status, body = call(api, method, path, raw=raw)
        assert status == 400, (method, path, body)
        (problem,) = body["errors"]
        assert (problem["field"], problem["location"]) == ("body", "body")
        assert message in problem["message"]
        _no_internals(body)


def test_an_inline_spec_over_the_execution_input_limit_is_400(api: ModuleType) -> None:  # noqa: F811
    # GIVEN an inline spec that alone is larger than Step Functions' 256 KiB execution input
    spec = example_spec()
    spec["description"] = "x" * (MAX_DOCUMENT_BYTES + 1)

    status, body = call(api, "POST", "/pipelines/churn/runs", {"spec": spec, "dataset_version": "v1"})

    assert status == 400
    assert "262,144 bytes" in body["message"]


def test_the_largest_accepted_spec_fits_a_dynamodb_item(api: ModuleType, cloud: Cloud) -> None:  # noqa: F811
    # GIVEN a spec just under the body limit, its every bounded map filled (environment names were unbounded)
    spec = example_spec()
    env = {f"K{i:03d}": "v" * 256 for i in range(100)}
    spec["augment"]["environment"] = env
    spec["description"] = "d" * 256
    text = json.dumps(spec)
    assert len(text) < MAX_DOCUMENT_BYTES

    status, body = call(api, "PUT", "/pipelines/churn", raw=text)

    # THEN it is registered: the item, with under 256 KiB of spec, stays below DynamoDB's 400 KB
    assert status == 201, body
    item = cloud.dynamodb.get_item(TableName=cloud.pipelines_table, Key={"name": {"S": "churn"}})["Item"]
    assert len(json.dumps(item)) < 400_000


def test_a_deeply_nested_spec_upload_is_a_recorded_notified_rejection(cloud: Cloud) -> None:
    # GIVEN pipeline.yaml nested 5,000 deep (RecursionError, three attempts and the DLQ before)
    version = cloud.put(SPEC_KEY, "name: " + "[" * 5000 + "]" * 5000)

    result = register(s3_event("s3/pipeline_uploaded", SPEC_KEY, version, "0062E99A88DC407460"))

    assert result["status"] == "rejected"
    assert result["errors"] == [{"field": "", "message": f"is nested deeper than {MAX_DEPTH} levels"}]
    (note,) = cloud.notifications()
    assert "rejected" in note["Subject"]


def test_an_oversized_spec_object_is_refused_from_its_size(cloud: Cloud) -> None:
    text = example_spec_text() + "\n# " + "x" * (10 * 1024 * 1024) + "\n"
    version = cloud.put(SPEC_KEY, text)

    result = register(s3_event("s3/pipeline_uploaded", SPEC_KEY, version, "0062E99A88DC407460"))

    assert result["status"] == "rejected"
    assert result["errors"][0]["message"] == f"is {len(text.encode()):,} bytes; the limit is 262,144 bytes"
    assert len(cloud.notifications()) == 1


def test_a_policy_with_2000_alarms_is_a_recorded_notified_rejection(scaling: Scaling) -> None:  # noqa: F811
    rule = "\n  - {alarm: mlcp-scaling-local-gpu-x%d, add: 1}"
    head, rest = POLICY_TEXT.split("\nscale_out:", 1)
    first_line, others = rest.split("\n", 1)
    text = f"{head}\nscale_out:{first_line}" + "".join(rule % i for i in range(2000)) + "\n" + others

    result = scaling.upload_policy(text)

    assert result["status"] == "rejected"
    assert any(e["field"] == "scale_out" and "at most 20 items" in e["message"] for e in result["errors"])
    (note,) = scaling.cloud.notifications()
    assert "rejected" in note["Subject"]


def test_a_deeply_nested_policy_is_a_recorded_notified_rejection(scaling: Scaling) -> None:  # noqa: F811
    result = scaling.upload_policy("cluster: " + "[" * 5000 + "]" * 5000)

    assert result["status"] == "rejected"
    assert result["errors"] == [{"field": "", "message": f"is nested deeper than {MAX_DEPTH} levels"}]
    assert len(scaling.cloud.notifications()) == 1


def test_aliases_that_expand_past_the_limit_are_rejected(cloud: Cloud) -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
    )
    version = cloud.put(SPEC_KEY, copy.copy(laughs))

    result = register(s3_event("s3/pipeline_uploaded", SPEC_KEY, version, "0062E99A88DC407460"))

    assert result["status"] == "rejected"
    assert "has more than 100,000 values" in result["errors"][0]["message"]


def test_a_second_policy_over_a_covered_node_group_is_refused_naming_the_holder(scaling: Scaling) -> None:  # noqa: F811
    # GIVEN the registered gpu policy over gpu-a and gpu-b
    assert scaling.upload_policy()["status"] == "registered"
    planted = POLICY_TEXT.replace("name: gpu\n", "name: planted\n").replace("max_step: 8", "max_step: 1000")

    # WHEN a second policy claims gpu-b (the planted max_step: 1000 took the group over before)
    result = scaling.upload_policy(planted, key="scaling/ml-inference/planted/policy.yaml")

    # THEN it is rejected, naming the policy that holds each node group; the holder may still be re-registered
    assert result["status"] == "rejected"
    assert {e["field"] for e in result["errors"]} == {"nodegroups[0].name", "nodegroups[1].name"}
    assert "registered policy 'ml-inference/gpu'" in result["errors"][0]["message"]
    assert scaling.upload_policy()["status"] == "registered"
