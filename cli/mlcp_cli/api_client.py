"""A small client of the mlcp REST API: SigV4-signed requests (botocore) to the deployed API, or plain requests to
the local API (`mlcp local serve`). The endpoint comes from ``--endpoint``, the stack's ``ApiUrl`` output
(CloudFormation DescribeStacks) or ``--local``.
"""

from __future__ import annotations

import argparse
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from mlcp.common.api_models import RUN_ID_PATTERN
from mlcp.common.naming import EXECUTION_NAME_MAX

LOCAL_API = "http://127.0.0.1:5001"
DEFAULT_STACK = "mlcp"
TIMEOUT_SECONDS = 30
# Pipeline and job profile names (mlcp.training.sagemaker_limits.PIPELINE_NAME, mlcp.batch.api_models.ProfileName).
_NAME = re.compile(r"[a-z0-9](-?[a-z0-9])*")
MAX_NAME = 40
T = TypeVar("T")


class ApiError(Exception):
    """A non-2xx answer: the HTTP status and the API's error body (code, message, field-level errors)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.code = str(body.get("code") or body.get("message") or status)
        self.message = str(body.get("message") or "")
        self.errors: list[dict[str, str]] = list(body.get("errors") or [])
        super().__init__(f"HTTP {status} {self.code}: {self.message}")


class ApiUnreachable(Exception):
    """The endpoint did not answer (connection refused, DNS, timeout)."""


def endpoint_from_stack(stack: str, region: str | None = None) -> str:
    """The stack's ``ApiUrl`` output."""
    import boto3  # noqa: PLC0415 - only the deployed path needs boto3's credential chain

    cfn = boto3.client("cloudformation", region_name=region)
    outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for output in outputs:
        if output["OutputKey"] == "ApiUrl":
            return str(output["OutputValue"])
    raise LookupError(f"stack {stack} has no ApiUrl output (deploy the REST API first)")


@dataclass
class ApiClient:
    endpoint: str
    sign: bool = True  # SigV4 (service execute-api) with the default credential chain
    region: str | None = None

    def _signed_headers(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        import boto3  # noqa: PLC0415
        from botocore.auth import SigV4Auth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415

        session = boto3.Session(region_name=self.region)
        credentials = session.get_credentials()
        if credentials is None:
            from botocore.exceptions import NoCredentialsError  # noqa: PLC0415

            raise NoCredentialsError  # mlcp_cli.errors: exit 6 with the variables that fix it
        region = self.region or session.region_name or _region_of(url)
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
        return dict(request.headers.items())

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, parsed JSON body) of a 2xx answer; raises ApiError otherwise."""
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        url = self.endpoint.rstrip("/") + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        if self.sign:
            all_headers = self._signed_headers(method, url, data, all_headers)
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - http(s) only
                return int(response.status), _json(response.read())
        except urllib.error.HTTPError as exc:
            parsed = _json(exc.read())
            raise ApiError(exc.code, parsed if isinstance(parsed, dict) else {"message": str(parsed)}) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise ApiUnreachable(f"{self.endpoint}: {getattr(exc, 'reason', exc)}") from exc

    def owned(self, resource_id: str, owner: str | None, call: Callable[[str], T]) -> T:
        """``call(owner)``; without an owner (pipeline or job profile), ``call`` on each of :func:`owners` until
        one is not 404 (nor 403: IAM may grant the caller only the right one). Raises the ApiError otherwise."""
        if owner:
            return call(owner)
        denied: ApiError | None = None
        for name in owners(resource_id):
            try:
                return call(name)
            except ApiError as exc:
                if exc.status not in (403, 404):
                    raise
                denied = denied or (exc if exc.status == 403 else None)
        raise denied or ApiError(
            404, {"code": "NotFound", "message": f"{resource_id!r} is no run of a pipeline or job profile you can read"}
        )

    # --- routes (each names the resource it acts on: README "Authorization") -----------------------------------
    def start_run(
        self, pipeline: str, request: dict[str, Any], idempotency_key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        status, body = self.request("POST", f"{_pipeline(pipeline)}/runs", body=request, headers=headers)
        return status, dict(body)

    def get_run(self, pipeline: str, run_id: str) -> dict[str, Any]:
        return dict(self.request("GET", _run(pipeline, run_id))[1])

    def get_run_trials(self, pipeline: str, run_id: str) -> dict[str, Any]:
        """GET .../runs/{run_id}/trials: the run's tuning job trials, oldest first (a reason when there are none)."""
        return dict(self.request("GET", f"{_run(pipeline, run_id)}/trials")[1])

    def list_runs(self, pipeline: str | None = None, **query: Any) -> dict[str, Any]:
        """GET /pipelines/{pipeline}/runs, or GET /runs (every pipeline) without one."""
        return dict(self.request("GET", f"{_pipeline(pipeline)}/runs" if pipeline else "/runs", query=query)[1])

    def cancel_run(self, pipeline: str, run_id: str) -> dict[str, Any]:
        return dict(self.request("POST", f"{_run(pipeline, run_id)}/cancel")[1])

    def redrive_run(self, pipeline: str, run_id: str) -> dict[str, Any]:
        return dict(self.request("POST", f"{_run(pipeline, run_id)}/redrive")[1])

    def put_pipeline(self, name: str, spec: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, body = self.request("PUT", f"/pipelines/{urllib.parse.quote(name)}", body=spec)
        return status, dict(body)

    def list_pipelines(self, **query: Any) -> dict[str, Any]:
        return dict(self.request("GET", "/pipelines", query=query)[1])

    def get_pipeline(self, name: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/pipelines/{urllib.parse.quote(name)}")[1])

    def start_batch(
        self, profile: str, request: dict[str, Any], idempotency_key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        status, body = self.request("POST", f"/batches/{_quote(profile)}", body=request, headers=headers)
        return status, dict(body)

    def get_batch(self, profile: str, batch_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/batches/{_quote(profile)}/{_quote(batch_id)}")[1])

    def get_scaling(self, cluster: str, nodegroup: str, limit: int | None = None) -> dict[str, Any]:
        path = f"/scaling/{urllib.parse.quote(cluster)}/{urllib.parse.quote(nodegroup)}"
        return dict(self.request("GET", path, query={"limit": limit})[1])

    def scaling_action(
        self, cluster: str, nodegroup: str, change: dict[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        path = f"/scaling/{urllib.parse.quote(cluster)}/{urllib.parse.quote(nodegroup)}/actions"
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return dict(self.request("POST", path, body=change, headers=headers)[1])


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _pipeline(name: str | None) -> str:
    return f"/pipelines/{_quote(name or '')}"


def _run(pipeline: str, run_id: str) -> str:
    return f"{_pipeline(pipeline)}/runs/{_quote(run_id)}"


def run_id_argument(value: str) -> str:
    """argparse ``type`` of a RUN_ID argument: a run id as the API's routes accept it (mlcp.common.api_models.RunId,
    a Step Functions execution name), else a usage error (exit 2) before any request, not the 404 of a run that
    no pipeline has."""
    if len(value) <= EXECUTION_NAME_MAX and re.fullmatch(RUN_ID_PATTERN, value):
        return value
    raise argparse.ArgumentTypeError(
        f"{value!r} is not a run id: run ids are 1..{EXECUTION_NAME_MAX} characters matching {RUN_ID_PATTERN} "
        "(letters, digits, '-' and '_'), e.g. churn-v1-0a1b2c3d4e"
    )


def owners(resource_id: str) -> list[str]:
    """The pipelines (or job profiles) a run id may belong to, shortest first: every run is named
    ``<pipeline>-<label>-<hash>`` (mlcp.common.naming.execution_name) and names may contain hyphens, so
    ``churn-eu-v1-api-0a1b`` may be pipeline ``churn``'s or ``churn-eu``'s. The API answers 404 for a run
    addressed under another pipeline, so trying these in order finds the one it belongs to."""
    parts = resource_id.split("-")
    candidates = ("-".join(parts[:n]) for n in range(1, len(parts)))
    return [name for name in candidates if len(name) <= MAX_NAME and _NAME.fullmatch(name)]


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return {"message": raw.decode("utf-8", "replace")[:500]}


def _region_of(url: str) -> str:
    """https://<id>.execute-api.<region>.amazonaws.com/<stage>"""
    host = urllib.parse.urlsplit(url).hostname or ""
    parts = host.split(".")
    return parts[2] if len(parts) > 3 and parts[1] == "execute-api" else "us-east-1"
