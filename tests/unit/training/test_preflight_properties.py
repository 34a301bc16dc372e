"""Property: a spec the preflight accepts makes requests botocore's model accepts ("valid spec => valid requests"),
and a spec it refuses is refused on spec fields, never on request paths.

The requests of an accepted spec are re-checked by the test's own, independent checker (tests/unit/builders.py:
botocore's ParamValidator plus the model's maxima, enums and patterns), not by the preflight's.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlcp.aws.service_models import ServiceModels
from mlcp.common.preflight import StackReach
from mlcp.errors import FieldError, SpecInvalid
from mlcp.training.preflight import preflight_spec, requests, sample_run
from mlcp.training.spec import PipelineSpec, parse_spec
from tests.unit.builders import request_problems, spec_data

BUCKET = "mlcp-artifacts-123456789012-us-east-1"
STACK_ROLE = "arn:aws:iam::123456789012:role/mlcp-SageMakerExecutionRole"
REACH = StackReach(artifact_bucket=BUCKET, stack_role_arn=STACK_ROLE, data_buckets=("granted-data",))
CHECKER = ServiceModels()
TOP_LEVEL = set(PipelineSpec.model_fields)

_names = st.from_regex(r"[A-Za-z0-9_.\- ]{1,12}", fullmatch=True)
_category = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(alphabet="abcdefghij0123456789_.-", min_size=1, max_size=20),
)


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    data = spec_data()
    data["compression"]["hyperparameters"] = {f"h{i}": "1" for i in range(draw(st.integers(0, 110)))}
    data["tuning"]["training"]["environment"] = dict.fromkeys(draw(st.lists(_names, max_size=4)), "v")
    data["augment"]["environment"] = dict.fromkeys(draw(st.lists(_names, max_size=3)), "v")
    data["augment"]["max_runtime_seconds"] = draw(st.integers(1, 800_000))
    data["tuning"]["parameter_ranges"]["categorical"] = [
        {"name": "choice", "values": draw(st.lists(_category, min_size=1, max_size=6))}
    ]
    data["registry"]["content_types"] = ["text/" + "c" * draw(st.integers(1, 300))]
    data["role_arn"] = draw(st.sampled_from([None, STACK_ROLE, "arn:aws:iam::123456789012:role/someone-else"]))
    bucket = draw(st.sampled_from([BUCKET, "granted-data", "not-granted"]))
    data["output"] = {"s3_prefix": f"s3://{bucket}/runs/churn/"}
    if data["role_arn"] is None:
        del data["role_arn"]
    return data


def _spec_fields_only(errors: list[FieldError]) -> None:
    assert errors
    for error in errors:
        top = re.split(r"[.\[ ]", error.field, maxsplit=1)[0]
        assert top in TOP_LEVEL, error.field
        assert error.message


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_accepted_specs_make_requests_aws_accepts_and_refused_ones_name_spec_fields(data: dict[str, Any]) -> None:
    try:
        spec = parse_spec(data)
        preflight_spec(spec, reach=REACH, checker=CHECKER)
    except SpecInvalid as exc:
        _spec_fields_only(exc.errors)
        return
    for operation, request, _, _ in requests(sample_run(spec, REACH)):
        assert request_problems(operation, request) == [], operation
